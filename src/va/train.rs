//! The training job behind `cargo xtask train-va`: targets, features, repeated grouped
//! cross-validation, permutation importance, the final fit, the model file and its card.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::dataset::{column_medians, sanitise, Dataset};
use super::evaluation::{score_variant, VariantScores, CLIP_F1};
use super::features::{extract_all, Extractor, Job};
use super::folds::stratified_clip_folds;
use super::forest::{fit_forest, ForestParams};
use super::linear::fit_ridge;
use super::model::{Linear, Payload, TargetModel, VaModel};
use super::targets::{load_labels, sign_agreement};
use super::Va;
use crate::analysis;

/// Everything a training run needs; the defaults are the committed model's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Shared data root (`../shared/data`).
    pub data_dir: PathBuf,
    /// Root of the per-clip feature cache.
    pub cache_dir: PathBuf,
    /// Where the model file goes.
    pub model_out: PathBuf,
    /// Where the model card goes.
    pub card_out: PathBuf,
    /// Folds per repeat.
    pub folds: usize,
    /// Repeats of the cross-validation, each with its own fold assignment.
    pub repeats: usize,
    /// Forest hyper-parameters (fixed in advance, used in every fold and the final fit).
    pub forest: ForestParams,
    /// Ridge penalty per training row on standardised features (fixed in advance).
    pub ridge_lambda: f64,
    /// Threads for feature extraction and tree growing.
    pub workers: usize,
    /// Bootstrap resamples for the intervals.
    pub resamples: usize,
    /// Use at most this many clips per quadrant (smoke runs); `None` = all.
    pub clips_per_quadrant: Option<usize>,
    /// The command line, written into the card.
    pub command: String,
}

/// One candidate predictor evaluated in cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Variant {
    /// smartcore random forest, raw output.
    Forest,
    /// The forest with a linear calibration fitted on its out-of-bag predictions in the training folds.
    ForestCalibrated,
    /// Ridge regression on standardised features.
    Ridge,
    /// Mean of the calibrated forest and ridge.
    Blend,
    /// The blend with its quadrant boundaries moved: one valence and one arousal shift, chosen to
    /// maximise per-clip macro-F1 on out-of-fold predictions inside the training folds.
    BlendShifted,
}

impl Variant {
    /// All candidates, in report order.
    pub const ALL: [Variant; 5] = [
        Variant::Forest,
        Variant::ForestCalibrated,
        Variant::Ridge,
        Variant::Blend,
        Variant::BlendShifted,
    ];

    /// Human-readable name for the card.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Forest => "random forest",
            Variant::ForestCalibrated => "random forest + OOB calibration",
            Variant::Ridge => "ridge (standardised)",
            Variant::Blend => "½ calibrated forest + ½ ridge",
            Variant::BlendShifted => "blend + quadrant shifts",
        }
    }
}

/// Importance of one feature: mean loss of R² when it is permuted in held-out folds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Importance {
    /// Feature name.
    pub feature: String,
    /// R² lost on valence.
    pub valence: f64,
    /// R² lost on arousal.
    pub arousal: f64,
}

/// Everything the model card reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    /// The options used.
    pub options: TrainOptions,
    /// Clips with features.
    pub clips: usize,
    /// Clips per quadrant Q1-Q4.
    pub clips_per_quadrant: [usize; 4],
    /// Rows (analysis windows).
    pub rows: usize,
    /// Feature count.
    pub features: usize,
    /// Analysis schema version.
    pub schema_version: u32,
    /// Mood tags not found in the norms.
    pub missing_tags: usize,
    /// Share of clips whose target signs match their quadrant (ceiling for sign metrics).
    pub sign_ceiling: f64,
    /// Clips that failed to decode.
    pub failed_clips: Vec<String>,
    /// Share of held-out clips whose artist also appears in the training folds (first repeat).
    pub artist_overlap: f64,
    /// Target spread (valence, arousal) over clips.
    pub target_spread: (f64, f64),
    /// Scores of each candidate.
    pub variants: Vec<VariantScores>,
    /// The variant shipped in the model file.
    pub shipped: Variant,
    /// Top features by permutation importance (first repeat, held-out folds).
    pub importance: Vec<Importance>,
    /// Seconds spent extracting features (0 when all came from the cache).
    pub extraction_seconds: f64,
    /// Seconds of cross-validation.
    pub cv_seconds: f64,
    /// Seconds for one forest fit (mean over CV fits).
    pub seconds_per_forest: f64,
    /// Seconds for the final fit.
    pub final_seconds: f64,
    /// Model file size in bytes.
    pub model_bytes: usize,
    /// Total tree nodes (valence + arousal).
    pub model_nodes: usize,
    /// Microseconds per `VaModel::predict` call, measured on training rows.
    pub predict_micros: f64,
    /// Calibration of the shipped model (offset, slope) for valence and arousal.
    pub calibration: [(f32, f32); 2],
    /// Quadrant shifts (valence, arousal) learned on all clips; applied only if shipped.
    pub shifts: [f32; 2],
}

/// Least-squares line `y = offset + slope * x` over finite pairs; identity when degenerate.
pub fn fit_calibration(x: &[f32], y: &[f32]) -> (f32, f32) {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a as f64, b as f64))
        .collect();
    let n = pairs.len() as f64;
    if n < 3.0 {
        return (0.0, 1.0);
    }
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 1e-12 {
        return (0.0, 1.0);
    }
    // A negative or wild slope would mean the forest learned nothing; keep it sane.
    let slope = (sxy / sxx).clamp(0.25, 4.0);
    ((my - slope * mx) as f32, slope as f32)
}

/// Both axes' models for one training set.
struct FoldModels {
    forest: [TargetModel; 2],
    ridge: [Linear; 2],
    /// Valence and arousal shifts of the `BlendShifted` variant.
    shifts: [f32; 2],
}

impl FoldModels {
    fn fit(
        dataset: &Dataset,
        targets: &[Vec<f32>; 2],
        train_rows: &[usize],
        options: &TrainOptions,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let mut forest = [TargetModel::default(), TargetModel::default()];
        let mut ridge = [Linear::default(), Linear::default()];
        // Out-of-fold blend predictions for the training rows, to place the quadrant boundaries.
        let mut training_blend = [vec![0f32; train_rows.len()], vec![0f32; train_rows.len()]];
        for axis in 0..2 {
            let fitted = fit_forest(
                &dataset.rows,
                train_rows,
                &dataset.clip_of_row,
                &targets[axis],
                &options.forest,
                seed.wrapping_mul(31).wrapping_add(axis as u64),
                options.workers,
            )?;
            let truth: Vec<f32> = train_rows.iter().map(|&r| targets[axis][r]).collect();
            let (offset, slope) = fit_calibration(&fitted.oob, &truth);
            let ridge_oof = inner_ridge_predictions(dataset, targets, train_rows, axis, options);
            for (i, slot) in training_blend[axis].iter_mut().enumerate() {
                let forest_oob = offset + slope * fitted.oob[i];
                *slot = if forest_oob.is_finite() {
                    0.5 * (forest_oob + ridge_oof[i])
                } else {
                    ridge_oof[i]
                };
            }
            forest[axis] = TargetModel {
                forest: fitted.forest,
                linear: Linear::default(),
                forest_weight: 1.0,
                offset,
                slope,
            };
            ridge[axis] = fit_ridge(
                &dataset.rows,
                train_rows,
                &targets[axis],
                options.ridge_lambda,
            );
        }
        let shifts = fit_quadrant_shifts(dataset, train_rows, &training_blend);
        Ok(Self {
            forest,
            ridge,
            shifts,
        })
    }

    /// Predictions of every variant for one row.
    // `axis` picks the same slot in several parallel arrays.
    #[allow(clippy::needless_range_loop)]
    fn predict(&self, x: &[f32]) -> [Va; 5] {
        let feature = |j: usize| x[j];
        let mut out = [Va::default(); 5];
        let mut values = [[0f32; 2]; 5];
        for axis in 0..2 {
            let model = &self.forest[axis];
            let raw = model.forest.predict(x);
            let calibrated = model.offset + model.slope * raw;
            let ridge = self.ridge[axis].predict_by(feature);
            values[0][axis] = raw;
            values[1][axis] = calibrated;
            values[2][axis] = ridge;
            values[3][axis] = 0.5 * (calibrated + ridge);
            values[4][axis] = values[3][axis] - self.shifts[axis];
        }
        for (slot, [valence, arousal]) in out.iter_mut().zip(values) {
            *slot = Va {
                valence: valence.clamp(-1.0, 1.0),
                arousal: arousal.clamp(-1.0, 1.0),
            };
        }
        out
    }
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let progress = ProgressBar::new(len as u64);
    progress.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}}  {{elapsed_precise}} (eta {{eta}})  {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

/// What [`load_dataset`] returns.
pub struct Loaded {
    /// The sanitised table.
    pub dataset: Dataset,
    /// Per-feature fill values (training medians) used for non-finite inputs.
    pub fill: Vec<f32>,
    /// Mood tags not found in the norms.
    pub missing_tags: usize,
    /// Clips whose audio failed to decode or gave no summary.
    pub failed_clips: Vec<String>,
    /// Seconds spent extracting (and reading cached) features.
    pub extraction_seconds: f64,
}

/// Loads labels and features (from the cache where possible) into a sanitised dataset.
pub fn load_dataset(options: &TrainOptions, extract: &Extractor) -> anyhow::Result<Loaded> {
    let (mut labels, missing_tags) = load_labels(&options.data_dir)?;
    if let Some(limit) = options.clips_per_quadrant {
        let mut taken = [0usize; 4];
        labels.retain(|clip| {
            let slot = &mut taken[clip.quadrant as usize - 1];
            *slot += 1;
            *slot <= limit
        });
    }
    let jobs: Vec<Job<'_>> = labels
        .iter()
        .map(|clip| Job {
            song: &clip.song,
            path: &clip.audio_path,
        })
        .collect();
    let started = Instant::now();
    let features = extract_all(&jobs, &options.cache_dir, options.workers, extract)?;
    let extraction_seconds = started.elapsed().as_secs_f64();
    let mut failed = Vec::new();
    let mut clip_rows = Vec::new();
    for (label, features) in labels.into_iter().zip(features) {
        match features {
            Some(features) if !features.rows.is_empty() => clip_rows.push((label, features.rows)),
            _ => failed.push(label.song.clone()),
        }
    }
    let names: Vec<String> = analysis::feature_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if names.is_empty() {
        bail!(
            "the analysis engine reports no features (schema v{})",
            analysis::SCHEMA_VERSION
        );
    }
    let mut dataset = Dataset::from_clip_rows(names, clip_rows);
    if dataset.clips.len() < options.folds.max(2) * 2 {
        bail!(
            "only {} clips have features; need at least {} for {}-fold cross-validation",
            dataset.clips.len(),
            options.folds.max(2) * 2,
            options.folds
        );
    }
    let fill = column_medians(&dataset.rows);
    let width = dataset.rows.n_features;
    for row in dataset.rows.data.chunks_mut(width) {
        sanitise(row, &fill);
    }
    Ok(Loaded {
        dataset,
        fill,
        missing_tags,
        failed_clips: failed,
        extraction_seconds,
    })
}

/// Runs the whole job and writes the model and its card.
// `repeat` indexes the per-variant prediction tables as well as seeding the folds.
#[allow(clippy::needless_range_loop)]
pub fn train(options: &TrainOptions, extract: &Extractor) -> anyhow::Result<TrainReport> {
    let Loaded {
        dataset,
        fill,
        missing_tags,
        failed_clips,
        extraction_seconds,
    } = load_dataset(options, extract)?;
    let targets = [dataset.row_targets(false), dataset.row_targets(true)];
    let truth: Vec<Va> = dataset.clips.iter().map(|clip| clip.va).collect();
    let quadrants: Vec<u8> = dataset.clips.iter().map(|clip| clip.quadrant).collect();
    let n_rows = dataset.rows.len();
    eprintln!(
        "train-va: {} clips, {} windows, {} features (schema v{})",
        dataset.clips.len(),
        n_rows,
        dataset.rows.n_features,
        analysis::SCHEMA_VERSION
    );

    // Cross-validation: out-of-fold predictions of every variant, per repeat.
    let cv_started = Instant::now();
    let mut oof: Vec<Vec<Vec<Va>>> = vec![vec![Vec::new(); options.repeats]; Variant::ALL.len()];
    let mut importance_loss = vec![[0f64; 2]; dataset.rows.n_features];
    let mut artist_overlap = 0.0;
    let progress = bar(options.repeats * options.folds, "cross-validation");
    let mut forest_seconds = Vec::new();
    for repeat in 0..options.repeats {
        let fold_of_clip = stratified_clip_folds(&quadrants, options.folds, 1000 + repeat as u64);
        let mut predictions = vec![vec![Va::default(); n_rows]; Variant::ALL.len()];
        for fold in 0..options.folds {
            let (mut train_rows, mut test_rows) = (Vec::new(), Vec::new());
            for (row, &clip) in dataset.clip_of_row.iter().enumerate() {
                if fold_of_clip[clip] == fold {
                    test_rows.push(row);
                } else {
                    train_rows.push(row);
                }
            }
            if repeat == 0 {
                let train_artists: std::collections::HashSet<&str> = dataset
                    .clips
                    .iter()
                    .enumerate()
                    .filter(|(clip, _)| fold_of_clip[*clip] != fold)
                    .map(|(_, clip)| clip.artist.as_str())
                    .collect();
                artist_overlap += dataset
                    .clips
                    .iter()
                    .enumerate()
                    .filter(|(clip, c)| {
                        fold_of_clip[*clip] == fold && train_artists.contains(c.artist.as_str())
                    })
                    .count() as f64;
            }
            let started = Instant::now();
            let models = FoldModels::fit(
                &dataset,
                &targets,
                &train_rows,
                options,
                (repeat * options.folds + fold) as u64,
            )?;
            forest_seconds.push(started.elapsed().as_secs_f64() / 2.0);
            for &row in &test_rows {
                let all = models.predict(dataset.rows.row(row));
                for (variant, va) in all.into_iter().enumerate() {
                    predictions[variant][row] = va;
                }
            }
            if repeat == 0 {
                permutation_importance(
                    &dataset,
                    &targets,
                    &models,
                    &test_rows,
                    fold as u64,
                    &mut importance_loss,
                );
            }
            progress.inc(1);
            progress.set_message(format!("repeat {} fold {}", repeat + 1, fold + 1));
            if progress.is_hidden() {
                // No terminal (a log file): still show that the job advances.
                eprintln!(
                    "train-va: repeat {}/{} fold {}/{} done after {:.0} s",
                    repeat + 1,
                    options.repeats,
                    fold + 1,
                    options.folds,
                    cv_started.elapsed().as_secs_f64()
                );
            }
        }
        for (variant, predicted) in predictions.into_iter().enumerate() {
            oof[variant][repeat] = predicted;
        }
    }
    progress.finish();
    let cv_seconds = cv_started.elapsed().as_secs_f64();

    let scoring = bar(Variant::ALL.len(), "scoring");
    let variants: Vec<VariantScores> = Variant::ALL
        .iter()
        .zip(&oof)
        .map(|(variant, repeats)| {
            let scores = score_variant(
                variant.name(),
                repeats,
                &dataset.clip_of_row,
                &truth,
                &quadrants,
                options.resamples,
                7,
            );
            scoring.inc(1);
            scores
        })
        .collect();
    scoring.finish();

    // Ship the forest-based candidate with the best per-clip macro-F1 (the headline goal).
    let shipped = [
        Variant::ForestCalibrated,
        Variant::Forest,
        Variant::Blend,
        Variant::BlendShifted,
    ]
    .into_iter()
    .max_by(|a, b| {
        let score = |v: &Variant| {
            let index = Variant::ALL.iter().position(|x| x == v).unwrap_or(0);
            variants[index].bootstrap[CLIP_F1].mean
        };
        score(a).total_cmp(&score(b))
    })
    .unwrap_or(Variant::ForestCalibrated);

    let mut importance: Vec<Importance> = importance_loss
        .iter()
        .zip(&dataset.feature_names)
        .map(|(loss, name)| Importance {
            feature: name.clone(),
            valence: loss[0] / options.folds as f64,
            arousal: loss[1] / options.folds as f64,
        })
        .collect();
    importance.sort_by(|a, b| (b.valence + b.arousal).total_cmp(&(a.valence + a.arousal)));
    importance.truncate(20);

    // Final model: every clip, same hyper-parameters.
    let final_started = Instant::now();
    eprintln!(
        "train-va: fitting the final model on all {} clips",
        dataset.clips.len()
    );
    let all_rows: Vec<usize> = (0..n_rows).collect();
    let final_models = FoldModels::fit(&dataset, &targets, &all_rows, options, 999_983)?;
    let final_seconds = final_started.elapsed().as_secs_f64();
    let FoldModels {
        forest,
        ridge,
        shifts,
    } = final_models;
    let [mut valence, mut arousal] = forest;
    let [ridge_valence, ridge_arousal] = ridge;
    match shipped {
        Variant::Forest => {
            for model in [&mut valence, &mut arousal] {
                model.offset = 0.0;
                model.slope = 1.0;
            }
        }
        Variant::Blend | Variant::BlendShifted => {
            // Calibrate the forest first, then blend 50/50 with ridge, exactly as evaluated.
            for (model, ridge) in [(&mut valence, ridge_valence), (&mut arousal, ridge_arousal)] {
                let (offset, slope) = (model.offset, model.slope);
                model.linear = Linear {
                    bias: (ridge.bias - offset) / slope,
                    weights: ridge.weights.iter().map(|w| w / slope).collect(),
                    ..ridge
                };
                model.forest_weight = 0.5;
                // offset + slope * (0.5 f + 0.5 l') = 0.5 (offset + slope f) + 0.5 ridge
                // holds when l' = (ridge - offset) / slope.
            }
            if shipped == Variant::BlendShifted {
                // Subtracting the shift from the offset shifts the whole blend.
                valence.offset -= shifts[0];
                arousal.offset -= shifts[1];
            }
        }
        Variant::ForestCalibrated | Variant::Ridge => {}
    }
    let calibration = [
        (valence.offset, valence.slope),
        (arousal.offset, arousal.slope),
    ];
    let model = VaModel {
        schema_version: analysis::SCHEMA_VERSION,
        feature_names: dataset.feature_names.clone(),
        payload: Payload {
            fill,
            valence,
            arousal,
            provenance: format!(
                "{} on {} 4Q clips ({} windows); `{}`",
                shipped.name(),
                dataset.clips.len(),
                n_rows,
                options.command
            ),
        },
    };
    let bytes = model.to_bytes()?;
    let reloaded =
        VaModel::from_bytes(&bytes).context("the freshly written model does not load")?;
    let timing_rows = n_rows.min(2000);
    let started = Instant::now();
    let mut checksum = 0f32;
    for row in 0..timing_rows {
        let va = reloaded.predict_values(dataset.rows.row(row));
        checksum += va.valence + va.arousal;
    }
    let predict_micros = started.elapsed().as_secs_f64() * 1e6 / timing_rows.max(1) as f64;
    if !checksum.is_finite() {
        bail!("the final model predicts non-finite values");
    }
    if let Some(parent) = options.model_out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&options.model_out, &bytes)
        .with_context(|| format!("writing {}", options.model_out.display()))?;

    let mut per_quadrant = [0usize; 4];
    for &q in &quadrants {
        per_quadrant[q as usize - 1] += 1;
    }
    let truth_v: Vec<f32> = truth.iter().map(|va| va.valence).collect();
    let truth_a: Vec<f32> = truth.iter().map(|va| va.arousal).collect();
    let report = TrainReport {
        options: options.clone(),
        clips: dataset.clips.len(),
        clips_per_quadrant: per_quadrant,
        rows: n_rows,
        features: dataset.rows.n_features,
        schema_version: analysis::SCHEMA_VERSION,
        missing_tags,
        sign_ceiling: sign_agreement(&dataset.clips),
        failed_clips,
        artist_overlap: artist_overlap / dataset.clips.len() as f64,
        target_spread: (
            super::metrics::spread(&truth_v),
            super::metrics::spread(&truth_a),
        ),
        variants,
        shipped,
        importance,
        extraction_seconds,
        cv_seconds,
        seconds_per_forest: forest_seconds.iter().sum::<f64>() / forest_seconds.len().max(1) as f64,
        final_seconds,
        model_bytes: bytes.len(),
        model_nodes: model.payload.valence.forest.node_count()
            + model.payload.arousal.forest.node_count(),
        predict_micros,
        calibration,
        shifts,
    };
    std::fs::write(&options.card_out, super::card::render(&report))
        .with_context(|| format!("writing {}", options.card_out.display()))?;
    let json_path = options.cache_dir.join("last-train-report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?).ok();
    Ok(report)
}

/// Ridge predictions for `train_rows` from 4 inner folds grouped by clip (each row predicted by a
/// model that never saw its clip), fitted on every 2nd window to bound the cost.
fn inner_ridge_predictions(
    dataset: &Dataset,
    targets: &[Vec<f32>; 2],
    train_rows: &[usize],
    axis: usize,
    options: &TrainOptions,
) -> Vec<f32> {
    const INNER_FOLDS: usize = 4;
    let inner_fold = |row: usize| {
        let clip = dataset.clip_of_row[row];
        // A fixed hash of the clip spreads clips evenly and keeps all windows of one together.
        (clip.wrapping_mul(2_654_435_761) >> 7) % INNER_FOLDS
    };
    let mut predictions = vec![0f32; train_rows.len()];
    for fold in 0..INNER_FOLDS {
        let fit_rows: Vec<usize> = train_rows
            .iter()
            .copied()
            .filter(|&row| inner_fold(row) != fold)
            .step_by(2)
            .collect();
        let model = fit_ridge(
            &dataset.rows,
            &fit_rows,
            &targets[axis],
            options.ridge_lambda,
        );
        for (i, &row) in train_rows.iter().enumerate() {
            if inner_fold(row) == fold {
                let values = dataset.rows.row(row);
                predictions[i] = model.predict_by(|j| values[j]).clamp(-1.0, 1.0);
            }
        }
    }
    predictions
}

/// The valence and arousal shifts (subtracted from the predictions) that maximise per-clip
/// macro-F1 against the quadrant labels of the training clips; ties go to the smaller shift.
fn fit_quadrant_shifts(
    dataset: &Dataset,
    train_rows: &[usize],
    predictions: &[Vec<f32>; 2],
) -> [f32; 2] {
    let mut sums: std::collections::HashMap<usize, (f64, f64, u32)> = Default::default();
    for (i, &row) in train_rows.iter().enumerate() {
        let slot = sums.entry(dataset.clip_of_row[row]).or_default();
        slot.0 += predictions[0][i] as f64;
        slot.1 += predictions[1][i] as f64;
        slot.2 += 1;
    }
    let clips: Vec<(f32, f32, u8)> = sums
        .iter()
        .map(|(&clip, &(v, a, n))| {
            let n = n.max(1) as f64;
            ((v / n) as f32, (a / n) as f32, dataset.clips[clip].quadrant)
        })
        .collect();
    let truth: Vec<u8> = clips.iter().map(|c| c.2).collect();
    let grid: Vec<f32> = (-25..=25).map(|i| i as f32 * 0.01).collect();
    let mut best = (f64::NEG_INFINITY, 0f32, [0f32; 2]);
    for &dv in &grid {
        for &da in &grid {
            let predicted: Vec<u8> = clips
                .iter()
                .map(|&(v, a, _)| {
                    Va {
                        valence: v - dv,
                        arousal: a - da,
                    }
                    .quadrant()
                })
                .collect();
            let f1 = super::metrics::macro_f1(&truth, &predicted);
            let size = dv.abs() + da.abs();
            if f1 > best.0 + 1e-12 || ((f1 - best.0).abs() <= 1e-12 && size < best.1) {
                best = (f1, size, [dv, da]);
            }
        }
    }
    best.2
}

/// Adds, per feature, the loss of held-out R² when that feature is shuffled across the fold's
/// test rows (every 4th row, to bound the cost), for the calibrated forest.
fn permutation_importance(
    dataset: &Dataset,
    targets: &[Vec<f32>; 2],
    models: &FoldModels,
    test_rows: &[usize],
    seed: u64,
    loss: &mut [[f64; 2]],
) {
    let rows: Vec<usize> = test_rows.iter().copied().step_by(4).collect();
    if rows.len() < 4 {
        return;
    }
    let width = dataset.rows.n_features;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for axis in 0..2 {
        let truth: Vec<f32> = rows.iter().map(|&r| targets[axis][r]).collect();
        let mean = truth.iter().map(|&t| t as f64).sum::<f64>() / truth.len() as f64;
        let variance = truth
            .iter()
            .map(|&t| (t as f64 - mean).powi(2))
            .sum::<f64>()
            .max(1e-12);
        let model = &models.forest[axis];
        let sse = |values: &dyn Fn(usize, &mut [f32])| -> f64 {
            let mut row_values = vec![0f32; width];
            rows.iter()
                .enumerate()
                .map(|(i, _)| {
                    values(i, &mut row_values);
                    let predicted = model.offset + model.slope * model.forest.predict(&row_values);
                    (predicted as f64 - truth[i] as f64).powi(2)
                })
                .sum()
        };
        let base = sse(&|i, out: &mut [f32]| out.copy_from_slice(dataset.rows.row(rows[i])));
        for (feature, slot) in loss.iter_mut().enumerate() {
            let mut permuted: Vec<usize> = rows.clone();
            permuted.shuffle(&mut rng);
            let shuffled = sse(&|i, out: &mut [f32]| {
                out.copy_from_slice(dataset.rows.row(rows[i]));
                out[feature] = dataset.rows.row(permuted[i])[feature];
            });
            slot[axis] += (shuffled - base) / variance;
        }
    }
}
