//! `moodscape train-va`: trains and cross-validates the valence/arousal forest, writes
//! `models/va-forest.bin` and its card `models/va-forest.md`.

use std::path::PathBuf;

use crate::va::forest::ForestParams;
use crate::va::train::{train, TrainOptions};

/// Options of `train-va`; the defaults made the committed model.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shared data root holding `music-4q/` and `word-norms/`.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Feature cache (resumable; keyed by the analysis schema).
    #[arg(long, default_value = ".cache/va-features")]
    pub cache: PathBuf,
    /// Model file to write.
    #[arg(long, default_value = "models/va-forest.bin")]
    pub out: PathBuf,
    /// Model card to write.
    #[arg(long, default_value = "models/va-forest.md")]
    pub card: PathBuf,
    /// Folds per cross-validation repeat (grouped by clip).
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Cross-validation repeats (different fold assignments).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Trees per forest.
    #[arg(long, default_value_t = 60)]
    pub trees: usize,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 12)]
    pub max_depth: u16,
    /// Minimum training windows per leaf.
    #[arg(long, default_value_t = 5)]
    pub min_leaf: usize,
    /// Features tried per split (0 = √features, smartcore's default).
    #[arg(long, default_value_t = 0)]
    pub mtry: usize,
    /// Share of training clips each tree sees.
    #[arg(long, default_value_t = 0.632)]
    pub clip_fraction: f32,
    /// Each tree takes every n-th window of its clips.
    #[arg(long, default_value_t = 8)]
    pub thin: usize,
    /// Ridge penalty per training row (standardised features).
    #[arg(long, default_value_t = 0.01)]
    pub ridge_lambda: f64,
    /// Worker threads for extraction and tree growing.
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
    let n_features = crate::analysis::feature_names().len();
    let mtry = if args.mtry == 0 {
        ((n_features as f64).sqrt().floor() as usize).max(1)
    } else {
        args.mtry
    };
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
        forest: ForestParams {
            n_trees: args.trees,
            max_depth: args.max_depth,
            min_samples_leaf: args.min_leaf,
            mtry,
            clip_fraction: args.clip_fraction,
            thin: args.thin,
        },
        ridge_lambda: args.ridge_lambda,
        workers: args.workers.max(1),
        resamples: args.resamples,
        clips_per_quadrant: args.clips_per_quadrant,
        command: command.trim().to_string(),
    };
    let report = train(&options, &crate::va::features::extract_clip)?;
    let shipped = report
        .variants
        .iter()
        .find(|v| v.name == report.shipped.name())
        .ok_or_else(|| anyhow::anyhow!("shipped variant missing from the report"))?;
    eprintln!(
        "train-va: shipped {} — per-clip macro-F1 {}, valence r {}, arousal r {} \
         (wrote {} and {})",
        report.shipped.name(),
        shipped.bootstrap[crate::va::evaluation::CLIP_F1],
        shipped.bootstrap[7],
        shipped.bootstrap[10],
        options.model_out.display(),
        options.card_out.display()
    );
    Ok(())
}
