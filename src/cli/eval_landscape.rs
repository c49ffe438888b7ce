//! `moodscape eval-landscape`: the generator metrics of the model card.

use crate::landscape::dataset::{build_training_set, LabelFrom};
use crate::landscape::evaluation::{evaluate, EVALUATION_FIRST_SEED};
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
    /// The grid's first seed. Settings chosen on one seed range are reported on another, so a
    /// choice is not tuned on the numbers it is judged by.
    #[arg(long, default_value_t = EVALUATION_FIRST_SEED)]
    first_seed: u64,
    /// Latent scale (the truncation trick; the product runs at 1): below 1 pulls every seed
    /// towards its mood's average picture.
    #[arg(long)]
    truncation: Option<f32>,
    /// Where to write the metrics as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut generator = super::render::load_generator(args.weights.as_ref())?;
    if let Some(truncation) = args.truncation {
        anyhow::ensure!(
            truncation.is_finite() && truncation > 0.0 && truncation <= 1.0,
            "--truncation must lie in (0, 1], got {truncation}"
        );
        generator = generator.with_truncation(truncation);
    }
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
        |latents, moods| generator.generate_batch(latents, moods),
        &labeller,
        &training,
        &set.conditioning,
        args.seeds,
        args.steps,
        args.first_seed,
    )?;
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(out) = &args.out {
        std::fs::write(out, &json)?;
    }
    Ok(())
}
