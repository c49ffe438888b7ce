//! `moodscape label-images`: trains the image VA labeller (ridge on EfficientNet-Lite0's
//! multi-level features) on OASIS and Emotion6, reports its repeated cross-validated accuracy per
//! data set, writes the head, and labels a folder of photographs (the landscapes by default).

use crate::landscape::dataset::{list_images, read_oasis_csv};
use crate::landscape::embedding::cached_embeddings;
use crate::landscape::features::{image_features, square_thumbnail, FEATURE_SIZE};
use crate::landscape::labeller::{calibration_line, fit_score, LabellerHead};
use crate::landscape::ridge::{cross_validated_predictions, RidgeData};
use crate::pretrained::efficientnet::{EfficientNetLite0, EMBEDDING_DIM};
use crate::va::Va;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// OASIS folder (with OASIS.csv and images/).
    #[arg(long, default_value = "../shared/data/images-oasis")]
    oasis: PathBuf,
    /// Emotion6 folder (with ground_truth.txt and images/).
    #[arg(long, default_value = "../shared/data/images-emotion6")]
    emotion6: PathBuf,
    /// Where to write the trained labeller head.
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
    /// Repetitions of the cross-validation with different fold assignments.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Seed of fold assignments.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Cache folder (embeddings go to its `embeddings/` subfolder).
    #[arg(long, default_value = "target/landscape-cache")]
    cache: PathBuf,
    /// Also cross-validate embedding + the 52 colour/texture features (ablation; not shipped).
    #[arg(long)]
    with_colour: bool,
    /// Also cross-validate the 1280-d pooled embedding alone, without the stage summary
    /// (ablation; not shipped).
    #[arg(long)]
    without_stage_summary: bool,
    /// Write the cross-validation table as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
}

/// One rated picture.
struct Rated {
    /// Image file.
    path: PathBuf,
    /// Ratings on [-1, 1].
    va: Va,
    /// 0 = OASIS, 1 = Emotion6.
    group: usize,
    /// OASIS category ("" for Emotion6).
    category: String,
}

/// Emotion6's `ground_truth.txt`: path, valence, arousal (1-9 SAM), emotion distribution.
fn read_emotion6(dir: &Path) -> anyhow::Result<Vec<Rated>> {
    let file = dir.join("ground_truth.txt");
    let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
    let mut rated = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 {
            continue;
        }
        let parse = |s: &str| {
            s.trim()
                .parse::<f32>()
                .with_context(|| format!("{} line {}", file.display(), number + 1))
        };
        rated.push(Rated {
            path: dir.join("images").join(fields[0].trim()),
            va: Va {
                valence: (parse(fields[1])? - 5.0) / 4.0,
                arousal: (parse(fields[2])? - 5.0) / 4.0,
            },
            group: 1,
            category: String::new(),
        });
    }
    Ok(rated)
}

/// OASIS pictures that have ratings.
fn read_oasis(dir: &Path) -> anyhow::Result<Vec<Rated>> {
    let records = read_oasis_csv(&dir.join("OASIS.csv"))?;
    let mut rated = Vec::new();
    for path in list_images(&dir.join("images"))? {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if let Some(record) = records.iter().find(|r| r.theme == stem) {
            rated.push(Rated {
                path,
                va: record.va,
                group: 0,
                category: record.category.clone(),
            });
        }
    }
    Ok(rated)
}

/// Mean, min and max of r over repeats, and a 95 % interval of the mean r (Fisher z, n pictures).
#[derive(serde::Serialize, Clone, Copy)]
struct Summary {
    /// Mean Pearson r over repeats.
    mean: f64,
    /// Smallest repeat.
    min: f64,
    /// Largest repeat.
    max: f64,
    /// 95 % interval of r for `n` pictures (Fisher z).
    low: f64,
    /// Upper end of that interval.
    high: f64,
}

fn summarise(values: &[f64], n: usize) -> Summary {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let z = mean.clamp(-0.999, 0.999).atanh();
    let half = 1.96 / ((n as f64 - 3.0).max(1.0)).sqrt();
    Summary {
        mean,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        low: (z - half).tanh(),
        high: (z + half).tanh(),
    }
}

/// Subsets the table reports: (name, membership).
fn subsets(rated: &[Rated]) -> Vec<(&'static str, Vec<usize>)> {
    let pick = |keep: &dyn Fn(&Rated) -> bool| -> Vec<usize> {
        (0..rated.len()).filter(|&i| keep(&rated[i])).collect()
    };
    vec![
        ("OASIS + Emotion6", pick(&|_| true)),
        ("OASIS", pick(&|r| r.group == 0)),
        ("OASIS Scenery", pick(&|r| r.category == "Scenery")),
        ("Emotion6", pick(&|r| r.group == 1)),
    ]
}

/// Runs the repeated cross-validation and prints the table; returns all out-of-fold predictions
/// (repeat-major) and the JSON rows.
fn cross_validate(
    label: &str,
    rows: &[Vec<f32>],
    rated: &[Rated],
    args: &Args,
) -> anyhow::Result<(Vec<Vec<[f32; 2]>>, serde_json::Value)> {
    let targets: Vec<[f32; 2]> = rated.iter().map(|r| [r.va.valence, r.va.arousal]).collect();
    let groups: Vec<usize> = rated.iter().map(|r| r.group).collect();
    let data = RidgeData {
        rows,
        targets: &targets,
        groups: &groups,
        group_count: 2,
    };
    let mut all_predictions = Vec::new();
    let mut penalties = Vec::new();
    let started = Instant::now();
    for repeat in 0..args.repeats {
        let (predictions, chosen) =
            cross_validated_predictions(&data, args.folds, args.seed + repeat as u64 * 1000)?;
        penalties.extend(chosen);
        all_predictions.push(predictions);
        eprintln!(
            "{label}: repeat {}/{} done ({:.0} s)",
            repeat + 1,
            args.repeats,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "\n{label}: {}x{}-fold CV, Pearson r mean over repeats [min, max] (95 % interval)",
        args.repeats, args.folds
    );
    println!("| subset | n | valence r | arousal r |\n|---|---|---|---|");
    let mut json_rows = Vec::new();
    for (name, members) in subsets(rated) {
        let mut per_axis = Vec::new();
        for axis in 0..2 {
            let values: Vec<f64> = all_predictions
                .iter()
                .map(|predictions| {
                    let predicted: Vec<f64> = members
                        .iter()
                        .map(|&i| predictions[i][axis] as f64)
                        .collect();
                    let actual: Vec<f64> =
                        members.iter().map(|&i| targets[i][axis] as f64).collect();
                    fit_score(&predicted, &actual).r
                })
                .collect();
            per_axis.push(summarise(&values, members.len()));
        }
        let cell = |s: &Summary| {
            format!(
                "{:.3} [{:.3}, {:.3}] ({:.2}-{:.2})",
                s.mean, s.min, s.max, s.low, s.high
            )
        };
        println!(
            "| {name} | {} | {} | {} |",
            members.len(),
            cell(&per_axis[0]),
            cell(&per_axis[1])
        );
        json_rows.push(serde_json::json!({
            "subset": name, "n": members.len(), "valence": per_axis[0], "arousal": per_axis[1]
        }));
    }
    let count = |axis: usize, value: f64| penalties.iter().filter(|p| p[axis] == value).count();
    let grid: Vec<String> = crate::landscape::ridge::PENALTY_GRID
        .iter()
        .map(|&v| format!("{v}×n: V {} A {}", count(0, v), count(1, v)))
        .collect();
    println!(
        "penalties chosen by the inner CV over all folds: {}",
        grid.join(", ")
    );
    Ok((
        all_predictions,
        serde_json::json!({"features": label, "rows": json_rows}),
    ))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let net = EfficientNetLite0::load_default()?;
    let mut rated = read_oasis(&args.oasis)?;
    rated.extend(read_emotion6(&args.emotion6)?);
    let embedding_cache = args.cache.join("embeddings");
    let paths: Vec<PathBuf> = rated.iter().map(|r| r.path.clone()).collect();
    let embeddings = cached_embeddings(&net, &paths, &embedding_cache)?;
    let (rated, rows): (Vec<Rated>, Vec<Vec<f32>>) = rated
        .into_iter()
        .zip(embeddings)
        .filter_map(|(r, e)| e.map(|e| (r, e)))
        .unzip();
    println!(
        "rated pictures with embeddings: {} OASIS ({} Scenery), {} Emotion6",
        rated.iter().filter(|r| r.group == 0).count(),
        rated.iter().filter(|r| r.category == "Scenery").count(),
        rated.iter().filter(|r| r.group == 1).count()
    );

    let (predictions, table) = cross_validate(
        "EfficientNet-Lite0 embedding + stage summary, ridge",
        &rows,
        &rated,
        &args,
    )?;
    let mut tables = vec![table];
    if args.without_stage_summary {
        let pooled: Vec<Vec<f32>> = rows.iter().map(|r| r[..EMBEDDING_DIM].to_vec()).collect();
        let (_, table) = cross_validate(
            "pooled embedding alone, ridge (ablation)",
            &pooled,
            &rated,
            &args,
        )?;
        tables.push(table);
    }
    if args.with_colour {
        let with_colour: Vec<Vec<f32>> = rated
            .iter()
            .zip(&rows)
            .map(|(r, e)| {
                let thumbnail = image::open(&r.path)
                    .map(|img| square_thumbnail(&img, FEATURE_SIZE))
                    .unwrap_or_else(|_| image::RgbImage::new(FEATURE_SIZE, FEATURE_SIZE));
                e.iter()
                    .copied()
                    .chain(image_features(&thumbnail))
                    .collect()
            })
            .collect();
        let (_, table) = cross_validate(
            "embedding + 52 colour/texture features, ridge (ablation)",
            &with_colour,
            &rated,
            &args,
        )?;
        tables.push(table);
    }

    // Calibration on OASIS: ratings against the out-of-fold predictions of every repeat.
    let oasis: Vec<usize> = (0..rated.len()).filter(|&i| rated[i].group == 0).collect();
    let mut calibration = [(0.0f32, 1.0f32); 2];
    for (axis, line) in calibration.iter_mut().enumerate() {
        let predicted: Vec<f64> = predictions
            .iter()
            .flat_map(|p| oasis.iter().map(move |&i| p[i][axis] as f64))
            .collect();
        let actual: Vec<f64> = predictions
            .iter()
            .flat_map(|_| {
                oasis
                    .iter()
                    .map(|&i| rated[i].va.valence_or_arousal(axis) as f64)
            })
            .collect();
        *line = calibration_line(&predicted, &actual);
    }
    println!(
        "calibration on OASIS (rating = offset + slope × prediction): valence {:.3} + {:.3}x, arousal {:.3} + {:.3}x",
        calibration[0].0, calibration[0].1, calibration[1].0, calibration[1].1
    );

    let targets: Vec<[f32; 2]> = rated.iter().map(|r| [r.va.valence, r.va.arousal]).collect();
    let groups: Vec<usize> = rated.iter().map(|r| r.group).collect();
    let data = RidgeData {
        rows: &rows,
        targets: &targets,
        groups: &groups,
        group_count: 2,
    };
    let head = LabellerHead::train(
        &data,
        vec!["OASIS".into(), "Emotion6".into()],
        0,
        calibration,
        args.seed,
    )?;
    println!(
        "final penalties: valence {}×n, arousal {}×n",
        head.ridge.penalty[0], head.ridge.penalty[1]
    );
    let bytes = head.to_bytes()?;
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());

    // Cost per picture: decode + resize + embed + head, one thread, on a few rated pictures.
    let probe: Vec<&PathBuf> = rated.iter().step_by(97).take(20).map(|r| &r.path).collect();
    let started = Instant::now();
    for path in &probe {
        let image = image::open(path)?.to_rgb8();
        let embedding = net.multi_level_features(&image)?;
        std::hint::black_box(head.label_embedding(&embedding));
    }
    let per_image = started.elapsed().as_secs_f64() * 1000.0 / probe.len().max(1) as f64;
    println!(
        "cost per picture (decode + resize + EfficientNet-Lite0 + ridge, one thread): {per_image:.1} ms over {} pictures",
        probe.len()
    );

    let photos = list_images(&args.label)?;
    let photo_embeddings = cached_embeddings(&net, &photos, &embedding_cache)?;
    let mut csv = String::from("name,valence,arousal\n");
    let mut labels = Vec::new();
    for (path, embedding) in photos.iter().zip(&photo_embeddings) {
        if let Some(embedding) = embedding {
            let va = head.label_embedding(embedding);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            csv.push_str(&format!("{name},{:.4},{:.4}\n", va.valence, va.arousal));
            labels.push(va);
        }
    }
    if let Some(parent) = args.labels_csv.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.labels_csv, csv)?;
    let stats = |values: Vec<f32>| {
        let mut sorted = values.clone();
        sorted.sort_by(f32::total_cmp);
        let n = sorted.len().max(1);
        let mean = values.iter().sum::<f32>() / n as f32;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n as f32).sqrt();
        let at = |q: f32| {
            sorted
                .get(((n - 1) as f32 * q) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        format!(
            "mean {mean:.3} sd {sd:.3} p2 {:.3} p50 {:.3} p98 {:.3} [{:.2}, {:.2}]",
            at(0.02),
            at(0.5),
            at(0.98),
            at(0.0),
            at(1.0)
        )
    };
    println!(
        "labelled {} photos in {} -> {}:\n  valence {}\n  arousal {}",
        labels.len(),
        args.label.display(),
        args.labels_csv.display(),
        stats(labels.iter().map(|v| v.valence).collect()),
        stats(labels.iter().map(|v| v.arousal).collect())
    );
    let scenery: Vec<Va> = rated
        .iter()
        .zip(&rows)
        .filter(|(r, _)| r.category == "Scenery")
        .map(|(_, e)| head.label_embedding(e))
        .collect();
    println!(
        "OASIS Scenery labelled by the final head (in-sample):\n  valence {}\n  arousal {}",
        stats(scenery.iter().map(|v| v.valence).collect()),
        stats(scenery.iter().map(|v| v.arousal).collect())
    );
    if let Some(report) = &args.report {
        std::fs::write(report, serde_json::to_string_pretty(&tables)?)?;
    }
    Ok(())
}

/// Axis access by index (0 valence, 1 arousal).
trait AxisIndex {
    fn valence_or_arousal(&self, axis: usize) -> f32;
}

impl AxisIndex for Va {
    fn valence_or_arousal(&self, axis: usize) -> f32 {
        if axis == 0 {
            self.valence
        } else {
            self.arousal
        }
    }
}
