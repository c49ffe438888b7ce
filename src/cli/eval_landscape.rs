//! `moodscape eval-landscape`: the generator metrics of the model card.

use crate::landscape::dataset::{build_training_set, LabelFrom};
use crate::landscape::evaluation::evaluate;
use crate::landscape::labeller::ImageVaLabeller;
use image::RgbImage;
use std::path::PathBuf;

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// Generator weights (default: the model built into the binary).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seeds per VA cell.
    #[arg(long, default_value_t = 16)]
    seeds: usize,
    /// VA steps per axis.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Training photo folders (for the realism and spread references).
    #[arg(long, default_value = "../shared/data/landscapes/images")]
    data: Vec<PathBuf>,
    /// OASIS folder (its scenery was part of the training data).
    #[arg(long, default_value = "../shared/data/images-oasis")]
    oasis: PathBuf,
    /// Thumbnail cache.
    #[arg(long, default_value = "target/landscape-cache")]
    cache: PathBuf,
    /// Label the training photos from their full-size files, as a run trained with
    /// `train-landscape --label-full-size` did (only the data-ceiling row depends on it).
    #[arg(long)]
    label_full_size: bool,
    /// Where to write the metrics as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let generator = super::render::load_generator(args.weights.as_ref())?;
    let labeller = ImageVaLabeller::embedded()?;
    let size = generator.image_size() as u32;
    let set = build_training_set(
        &args.data,
        Some(&args.oasis),
        &labeller,
        if args.label_full_size {
            LabelFrom::FullSize
        } else {
            LabelFrom::Thumbnail
        },
        size,
        &args.cache,
    )?;
    let training: Vec<RgbImage> = (0..set.len())
        .map(|i| RgbImage::from_raw(size, size, set.image(i).to_vec()).expect("thumbnail size"))
        .collect();
    let report = evaluate(
        |l, m| generator.generate_batch(l, m),
        &labeller,
        &training,
        &set.conditioning,
        args.seeds,
        args.steps,
    )?;
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(out) = &args.out {
        std::fs::write(out, &json)?;
    }
    Ok(())
}
