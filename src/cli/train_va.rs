//! `moodscape train-va`: cross-validates ridge heads on MusiCNN + engine features, writes
//! `models/va-forest.bin` and its card `models/va-forest.md`.

use std::path::PathBuf;

use anyhow::Context;

use crate::analysis::AnalyzerConfig;
use crate::va::features::extract_clip_with;
use crate::va::mood::MOOD_WINDOW_SECONDS;
use crate::va::mood_analyzer::{extract_patches, shared_network, PATCH_HOP_SECONDS};
use crate::va::train::{train, Extractors, TrainOptions, SHIPPED};

/// Options of `train-va`; the defaults made the committed model.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shared data root holding `music-4q/` and `word-norms/`.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Feature caches (resumable; engine rows and MusiCNN patches apart).
    #[arg(long, default_value = "target/va-features")]
    pub cache: PathBuf,
    /// Model file to write.
    #[arg(long, default_value = "models/va-forest.bin")]
    pub out: PathBuf,
    /// Model card to write.
    #[arg(long, default_value = "models/va-forest.md")]
    pub card: PathBuf,
    /// Folds per cross-validation repeat.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Cross-validation repeats (different fold assignments).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Ridge penalties per training row the inner folds choose from (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.03,0.1,0.3,1")]
    pub lambdas: Vec<f64>,
    /// Keep every n-th 0.5 s summary as a row.
    #[arg(long, default_value_t = 2)]
    pub row_step: usize,
    /// Worker threads (extraction: one clip and a one-thread network each; CV: folds).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Bootstrap resamples for the 95 % intervals.
    #[arg(long, default_value_t = 500)]
    pub resamples: usize,
    /// Use only this many clips per quadrant (quick smoke runs; the card says so).
    #[arg(long)]
    pub clips_per_quadrant: Option<usize>,
}

/// Runs the training job.
pub fn run(args: Args) -> anyhow::Result<()> {
    // `cargo xtask train-va` runs the release binary; say so only when that is what ran.
    let arguments = std::env::args().skip(2).collect::<Vec<_>>().join(" ");
    let executable = std::env::args().next().unwrap_or_default();
    let command = if executable.contains("target/release/") {
        format!("cargo xtask train-va {arguments}")
    } else {
        format!("{executable} train-va {arguments}")
    };
    let options = TrainOptions {
        data_dir: args.data,
        cache_dir: args.cache,
        model_out: args.out,
        card_out: args.card,
        folds: args.folds,
        repeats: args.repeats,
        lambdas: args.lambdas,
        window_seconds: MOOD_WINDOW_SECONDS,
        row_step: args.row_step.max(1),
        workers: args.workers.max(1),
        resamples: args.resamples,
        clips_per_quadrant: args.clips_per_quadrant,
        command: command.trim().to_string(),
    };
    let network = shared_network()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("train-va needs the MusiCNN network")?;
    let config = AnalyzerConfig {
        window_seconds: options.window_seconds,
        ..AnalyzerConfig::default()
    };
    let extractors = Extractors {
        engine: &move |path| extract_clip_with(path, config),
        patches: &|path| extract_patches(path, network),
        patch_cache_key: format!("musicnn-msd-hop{PATCH_HOP_SECONDS}"),
    };
    let report = train(&options, &extractors)?;
    let shipped = &report.ablation[SHIPPED];
    eprintln!(
        "train-va: shipped {} — per-clip macro-F1 {}, valence r {}, arousal r {}; artist folds: \
         F1 {}, V r {}, A r {} (wrote {} and {})",
        shipped.name,
        shipped.bootstrap[crate::va::evaluation::CLIP_F1],
        shipped.bootstrap[7],
        shipped.bootstrap[10],
        report.by_artist.bootstrap[crate::va::evaluation::CLIP_F1],
        report.by_artist.bootstrap[7],
        report.by_artist.bootstrap[10],
        options.model_out.display(),
        options.card_out.display()
    );
    Ok(())
}
