//! `moodscape label-images`: trains the image VA labeller on OASIS, reports its cross-validated
//! accuracy, writes the model, and labels a folder of photographs (the landscapes by default).

use crate::landscape::dataset::{cached_thumbnails, read_oasis_csv};
use crate::landscape::features::image_features;
use crate::landscape::labeller::{cross_validated_predictions, fit_score, ImageVaLabeller};
use crate::va::Va;
use anyhow::Context;
use std::path::PathBuf;

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// OASIS folder (with OASIS.csv and images/).
    #[arg(long, default_value = "../shared/data/images-oasis")]
    oasis: PathBuf,
    /// Where to write the trained labeller.
    #[arg(long, default_value = "models/image-va.bin")]
    out: PathBuf,
    /// Photos to label with the trained model (labels go to --labels-csv).
    #[arg(long, default_value = "../shared/data/landscapes/images")]
    label: PathBuf,
    /// Where the labels of --label go (a gitignored cache by default).
    #[arg(long, default_value = ".cache/landscape-labels.csv")]
    labels_csv: PathBuf,
    /// Cross-validation folds (each image is its own group).
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Seed of fold assignment and forests.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Thumbnail cache.
    #[arg(long, default_value = "target/landscape-cache")]
    cache: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let records = read_oasis_csv(&args.oasis.join("OASIS.csv"))?;
    let thumbnails = cached_thumbnails(
        &args.oasis.join("images"),
        crate::landscape::features::FEATURE_SIZE,
        &args.cache,
    )?;
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut scenery = Vec::new();
    for (name, image) in &thumbnails {
        if let Some(record) = records.iter().find(|r| &r.theme == name) {
            rows.push(image_features(image));
            targets.push(record.va);
            scenery.push(record.category == "Scenery");
        }
    }
    println!(
        "OASIS images with ratings: {} ({} scenery)",
        rows.len(),
        scenery.iter().filter(|&&s| s).count()
    );
    let predictions = cross_validated_predictions(&rows, &targets, args.folds, args.seed)?;
    let report = |label: &str, keep: &dyn Fn(usize) -> bool| {
        let index: Vec<usize> = (0..rows.len()).filter(|&i| keep(i)).collect();
        for (axis, get) in [
            ("valence", (|va: &Va| va.valence) as fn(&Va) -> f32),
            ("arousal", |va: &Va| va.arousal),
        ] {
            let predicted: Vec<f64> = index.iter().map(|&i| get(&predictions[i]) as f64).collect();
            let actual: Vec<f64> = index.iter().map(|&i| get(&targets[i]) as f64).collect();
            let score = fit_score(&predicted, &actual);
            println!(
                "{}-fold CV ({label}, n={}): {axis} R2 {:.3} r {:.3}",
                args.folds,
                index.len(),
                score.r2,
                score.r
            );
        }
    };
    report("all OASIS", &|_| true);
    report("scenery only", &|i| scenery[i]);

    let model = ImageVaLabeller::train(&rows, &targets, args.seed)?;
    let bytes = model.to_bytes()?;
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());

    let photos = cached_thumbnails(
        &args.label,
        crate::landscape::features::FEATURE_SIZE,
        &args.cache,
    )?;
    let features: Vec<_> = photos
        .iter()
        .map(|(_, image)| image_features(image))
        .collect();
    let labels = model.label_features(&features)?;
    if let Some(parent) = args.labels_csv.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut csv = String::from("name,valence,arousal\n");
    for ((name, _), va) in photos.iter().zip(&labels) {
        csv.push_str(&format!("{name},{:.4},{:.4}\n", va.valence, va.arousal));
    }
    std::fs::write(&args.labels_csv, csv)?;
    let stats = |get: fn(&Va) -> f32| {
        let values: Vec<f32> = labels.iter().map(get).collect();
        let mean = values.iter().sum::<f32>() / values.len().max(1) as f32;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>()
            / values.len().max(1) as f32)
            .sqrt();
        let min = values.iter().copied().fold(f32::INFINITY, f32::min);
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (mean, std, min, max)
    };
    let (vm, vs, vmin, vmax) = stats(|va| va.valence);
    let (am, as_, amin, amax) = stats(|va| va.arousal);
    println!(
        "labelled {} photos in {} -> {}: valence mean {vm:.3} sd {vs:.3} [{vmin:.2}, {vmax:.2}], arousal mean {am:.3} sd {as_:.3} [{amin:.2}, {amax:.2}]",
        labels.len(),
        args.label.display(),
        args.labels_csv.display()
    );
    Ok(())
}
