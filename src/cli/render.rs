//! `moodscape render`: one landscape for a mood.

use crate::landscape::{Generator, LandscapePainter, Latent};
use crate::pretrained::upscaler::Upscaler;
use crate::va::Va;
use anyhow::Context;
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
    /// Output side in pixels (default: the generator's own 64). Larger sizes go through the
    /// learned 4× upscaler (256 px), then a bicubic resize for any other size.
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

/// Generator from `weights` (or the embedded one) with the embedded upscaler: the painter every
/// picture-writing command uses.
pub fn load_painter(weights: Option<&PathBuf>) -> anyhow::Result<LandscapePainter> {
    let generator = load_generator(weights)?;
    let upscaler = Upscaler::embedded()?;
    Ok(LandscapePainter::new(generator, upscaler))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    for (name, value) in [("valence", args.valence), ("arousal", args.arousal)] {
        anyhow::ensure!(
            value.is_finite() && (-1.0..=1.0).contains(&value),
            "--{name} must be within [-1, 1], got {value}"
        );
    }
    let painter = load_painter(args.weights.as_ref())?;
    let size = args.size.unwrap_or(painter.generator().image_size() as u32);
    anyhow::ensure!(
        (8..=4096).contains(&size),
        "--size must be between 8 and 4096 pixels"
    );
    let started = std::time::Instant::now();
    let image = painter.paint(
        &Latent::from_seed(args.seed),
        Va {
            valence: args.valence,
            arousal: args.arousal,
        },
        size,
    )?;
    let elapsed = started.elapsed();
    image
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({}px, painted in {:.2} ms)",
        args.out.display(),
        size,
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
