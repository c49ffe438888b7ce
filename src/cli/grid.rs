//! `moodscape grid`: a labelled 5×5 valence/arousal grid of landscapes for several seeds.

use crate::landscape::grid::render_grid;
use anyhow::Context;
use std::path::PathBuf;

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
    /// Seeds, one grid block each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    seeds: Vec<u64>,
    /// Steps per axis (5 gives -1, -0.5, 0, 0.5, 1).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Tile side in pixels.
    #[arg(long, default_value_t = 96)]
    tile: u32,
    /// Generator weights (default: the model built into the binary).
    #[arg(long)]
    weights: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.seeds.is_empty() && args.seeds.len() <= 64,
        "give 1 to 64 seeds"
    );
    anyhow::ensure!(
        (2..=11).contains(&args.steps),
        "--steps must be between 2 and 11"
    );
    anyhow::ensure!(
        (16..=512).contains(&args.tile),
        "--tile must be between 16 and 512"
    );
    let painter = super::render::load_painter(args.weights.as_ref())?;
    let grid = render_grid(
        |latents, moods| {
            let paintings = painter.paint_batch(latents, moods, args.tile)?;
            Ok(paintings.into_iter().map(|p| p.display).collect())
        },
        &args.seeds,
        args.steps,
        args.tile,
    )?;
    grid.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({}×{})",
        args.out.display(),
        grid.width(),
        grid.height()
    );
    Ok(())
}
