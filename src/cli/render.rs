//! `moodscape render`: one landscape for a mood.

use crate::landscape::{Generator, Latent};
use crate::va::Va;
use anyhow::Context;
use image::imageops::FilterType;
use std::path::PathBuf;

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// Valence on [-1, 1] (unpleasant to pleasant).
    #[arg(long, allow_hyphen_values = true)]
    valence: f32,
    /// Arousal on [-1, 1] (calm to excited).
    #[arg(long, allow_hyphen_values = true)]
    arousal: f32,
    /// Noise seed: the same seed and mood always give the same image.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output side in pixels (the generator's own size, upscaled when larger).
    #[arg(long)]
    size: Option<u32>,
    /// Generator weights (default: the model built into the binary).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

/// Loads the generator from `weights` or the embedded model.
pub fn load_generator(weights: Option<&PathBuf>) -> anyhow::Result<Generator> {
    Ok(match weights {
        Some(path) => Generator::from_bytes(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => Generator::embedded()?,
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    for (name, value) in [("valence", args.valence), ("arousal", args.arousal)] {
        anyhow::ensure!(
            value.is_finite() && (-1.0..=1.0).contains(&value),
            "--{name} must be within [-1, 1], got {value}"
        );
    }
    let generator = load_generator(args.weights.as_ref())?;
    let started = std::time::Instant::now();
    let image = generator.generate(
        &Latent::from_seed(args.seed),
        Va {
            valence: args.valence,
            arousal: args.arousal,
        },
    )?;
    let elapsed = started.elapsed();
    let size = args.size.unwrap_or(image.width());
    anyhow::ensure!(
        (8..=4096).contains(&size),
        "--size must be between 8 and 4096 pixels"
    );
    let image = if size == image.width() {
        image
    } else {
        image::imageops::resize(&image, size, size, FilterType::CatmullRom)
    };
    image
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({}px, generated in {:.2} ms)",
        args.out.display(),
        size,
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
