//! The training job behind `cargo xtask train-va`: targets, the two feature caches (engine and
//! MusiCNN), mood rows, repeated grouped cross-validation of ridge heads on feature groups, the
//! full-range calibration, the final fit, the model file and its card.
//!
//! Ridge regression is fitted from sufficient statistics: one pass over a fold's rows gives its
//! moments (Σx, Σxxᵀ, Σxy), and any union of folds is a sum of fold moments. So a whole repeat
//! of k-fold CV, every feature group of the ablation (a sub-matrix of the same moments) and the
//! inner folds that choose the penalty and fit the calibration cost one pass over the rows plus
//! small solves.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::dataset::{column_medians, sanitise, Dataset};
use super::evaluation::{score_variant, VariantScores};
use super::features::{extract_all, ClipFeatures, Job};
use super::folds::{grouped_folds, stratified_clip_folds};
use super::model::{Linear, Payload, TargetModel, VaModel};
use super::mood::{assemble_row, mood_feature_names, FeatureGroup, PatchRecord, PatchWindow};
use super::targets::{load_labels, sign_agreement};
use super::Va;
use crate::analysis;

/// Computes one clip's engine rows (the real one is [`super::features::extract_clip`]).
pub type EngineExtractor = dyn Fn(&std::path::Path) -> anyhow::Result<ClipFeatures> + Sync;
/// Computes one clip's MusiCNN patches.
pub type PatchExtractor = dyn Fn(&std::path::Path) -> anyhow::Result<Vec<PatchRecord>> + Sync;

/// The two expensive steps, passed in so tests can substitute them.
pub struct Extractors<'a> {
    /// Engine summaries per clip (cheap; recomputed whenever the engine changes).
    pub engine: &'a EngineExtractor,
    /// MusiCNN patches per clip (expensive; cached apart from the engine's rows).
    pub patches: &'a PatchExtractor,
    /// Names the patch cache, so a changed network or hop never reads stale patches.
    pub patch_cache_key: String,
}

/// Everything a training run needs; the defaults are the committed model's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Shared data root (`../shared/data`).
    pub data_dir: PathBuf,
    /// Root of the per-clip feature caches.
    pub cache_dir: PathBuf,
    /// Where the model file goes.
    pub model_out: PathBuf,
    /// Where the model card goes.
    pub card_out: PathBuf,
    /// Folds per repeat.
    pub folds: usize,
    /// Repeats of the cross-validation, each with its own fold assignment.
    pub repeats: usize,
    /// Ridge penalties (per training row, standardised features) the inner folds choose from.
    pub lambdas: Vec<f64>,
    /// Analysis window of one row (the live default), seconds.
    pub window_seconds: f32,
    /// Rows keep every n-th engine summary (0.5 s apart), to bound the cost.
    pub row_step: usize,
    /// Threads for feature extraction and the cross-validation.
    pub workers: usize,
    /// Bootstrap resamples for the intervals.
    pub resamples: usize,
    /// Use at most this many clips per quadrant (smoke runs); `None` = all.
    pub clips_per_quadrant: Option<usize>,
    /// The command line, written into the card.
    pub command: String,
}

/// A set of feature groups evaluated in the ablation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupSet {
    /// Engine features only.
    Engine,
    /// MusiCNN embedding only.
    Embedding,
    /// MusiCNN taggram only.
    Taggram,
    /// Embedding and taggram.
    Musicnn,
    /// Everything (the shipped set).
    All,
}

impl GroupSet {
    /// Ablation order; the last is shipped.
    pub const ALL: [GroupSet; 5] = [
        GroupSet::Engine,
        GroupSet::Embedding,
        GroupSet::Taggram,
        GroupSet::Musicnn,
        GroupSet::All,
    ];

    /// Name for the card.
    pub fn name(self) -> &'static str {
        match self {
            Self::Engine => "engine features alone",
            Self::Embedding => "MusiCNN embedding alone",
            Self::Taggram => "MusiCNN taggram alone",
            Self::Musicnn => "embedding + taggram",
            Self::All => "all (engine + embedding + taggram)",
        }
    }

    fn contains(self, group: FeatureGroup) -> bool {
        match self {
            Self::Engine => group == FeatureGroup::Engine,
            Self::Embedding => group == FeatureGroup::Embedding,
            Self::Taggram => group == FeatureGroup::Taggram,
            Self::Musicnn => group != FeatureGroup::Engine,
            Self::All => true,
        }
    }

    /// Column indices of the set.
    pub fn columns(self, width: usize) -> Vec<usize> {
        (0..width)
            .filter(|&c| self.contains(FeatureGroup::of(c)))
            .collect()
    }
}

/// One engine feature's link to the targets, for "which features carry valence".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureLink {
    /// Feature name.
    pub feature: String,
    /// Pearson r of the clip mean with the valence target.
    pub valence_r: f64,
    /// Pearson r of the clip mean with the arousal target.
    pub arousal_r: f64,
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
    /// Distinct artists.
    pub artists: usize,
    /// Rows (analysis windows with at least one patch).
    pub rows: usize,
    /// Feature count.
    pub features: usize,
    /// Analysis schema version.
    pub schema_version: u32,
    /// Mood tags not found in the norms.
    pub missing_tags: usize,
    /// Share of clips whose target signs match their quadrant (ceiling for sign metrics).
    pub sign_ceiling: f64,
    /// Clips that failed to decode or gave no row.
    pub failed_clips: Vec<String>,
    /// Share of held-out clips whose artist also appears in the training folds (clip folds).
    pub artist_overlap: f64,
    /// Target spread (valence, arousal) over clips.
    pub target_spread: (f64, f64),
    /// The ablation, calibrated, folds grouped by clip, in [`GroupSet::ALL`] order.
    pub ablation: Vec<VariantScores>,
    /// The shipped set without the calibration, folds grouped by clip.
    pub uncalibrated: VariantScores,
    /// The shipped set, calibrated, folds grouped by artist.
    pub by_artist: VariantScores,
    /// Penalties the inner folds chose for the shipped set (valence, arousal), per outer fold.
    pub chosen_lambdas: Vec<(f64, f64)>,
    /// Engine features most correlated with the targets at the clip level.
    pub engine_links: Vec<FeatureLink>,
    /// Seconds spent extracting engine features (and reading the cache).
    pub engine_seconds: f64,
    /// Seconds spent extracting MusiCNN patches (and reading the cache).
    pub patch_seconds: f64,
    /// Seconds of cross-validation.
    pub cv_seconds: f64,
    /// Seconds for the final fit.
    pub final_seconds: f64,
    /// Model file size in bytes.
    pub model_bytes: usize,
    /// Microseconds per `VaModel::predict_values` call.
    pub predict_micros: f64,
    /// Penalties of the shipped model (valence, arousal).
    pub final_lambdas: (f64, f64),
    /// Calibration of the shipped model (offset, slope) for valence and arousal.
    pub calibration: [(f32, f32); 2],
}

/// Index of the shipped set in the ablation.
pub const SHIPPED: usize = GroupSet::ALL.len() - 1;

/// Sufficient statistics of a set of rows for ridge on both axes.
#[derive(Debug, Clone)]
struct Moments {
    /// Width.
    p: usize,
    /// Rows.
    n: f64,
    /// Σx.
    sx: Vec<f64>,
    /// Σxxᵀ, lower triangle filled (row-major p × p).
    xx: Vec<f64>,
    /// Σy per axis.
    sy: [f64; 2],
    /// Σxy per axis.
    xy: [Vec<f64>; 2],
}

impl Moments {
    fn new(p: usize) -> Self {
        Self {
            p,
            n: 0.0,
            sx: vec![0.0; p],
            xx: vec![0.0; p * p],
            sy: [0.0; 2],
            xy: [vec![0.0; p], vec![0.0; p]],
        }
    }

    fn add_row(&mut self, x: &[f32], y: [f32; 2], scratch: &mut [f64]) {
        for (s, &v) in scratch.iter_mut().zip(x) {
            *s = f64::from(v);
        }
        self.n += 1.0;
        for i in 0..self.p {
            let xi = scratch[i];
            self.sx[i] += xi;
            let row = &mut self.xx[i * self.p..i * self.p + i + 1];
            for (slot, &xj) in row.iter_mut().zip(&scratch[..=i]) {
                *slot += xi * xj;
            }
        }
        for axis in 0..2 {
            let y = f64::from(y[axis]);
            self.sy[axis] += y;
            for (slot, &xi) in self.xy[axis].iter_mut().zip(scratch.iter()) {
                *slot += xi * y;
            }
        }
    }

    /// `self += sign * other`.
    fn accumulate(&mut self, other: &Moments, sign: f64) {
        self.n += sign * other.n;
        for (a, b) in self.sx.iter_mut().zip(&other.sx) {
            *a += sign * b;
        }
        for (a, b) in self.xx.iter_mut().zip(&other.xx) {
            *a += sign * b;
        }
        for axis in 0..2 {
            self.sy[axis] += sign * other.sy[axis];
            for (a, b) in self.xy[axis].iter_mut().zip(&other.xy[axis]) {
                *a += sign * b;
            }
        }
    }
}

/// A fitted ridge head on a column subset, in raw feature units.
#[derive(Debug, Clone)]
struct Head {
    /// Columns used.
    columns: Vec<usize>,
    /// Per-column mean.
    mean: Vec<f64>,
    /// Per-column deviation (1 for constant columns).
    scale: Vec<f64>,
    /// Standardised weights per axis.
    weights: [Vec<f64>; 2],
    /// Intercept per axis (the target mean).
    bias: [f64; 2],
}

impl Head {
    fn predict(&self, x: &[f32], axis: usize) -> f64 {
        let mut sum = self.bias[axis];
        for (k, &c) in self.columns.iter().enumerate() {
            let z = ((f64::from(x[c]) - self.mean[k]) / self.scale[k]).clamp(-8.0, 8.0);
            sum += z * self.weights[axis][k];
        }
        sum
    }
}

/// Solves ridge on `columns` from `m` with penalty `lambda × rows` on standardised weights, for
/// each axis's penalty.
fn fit_head(m: &Moments, columns: &[usize], lambdas: [f64; 2]) -> Head {
    let q = columns.len();
    let n = m.n.max(1.0);
    let mean: Vec<f64> = columns.iter().map(|&c| m.sx[c] / n).collect();
    let at = |i: usize, j: usize| {
        let (a, b) = if i >= j { (i, j) } else { (j, i) };
        m.xx[a * m.p + b]
    };
    let scale: Vec<f64> = columns
        .iter()
        .zip(&mean)
        .map(|(&c, &mu)| {
            let var = at(c, c) / n - mu * mu;
            if var > 1e-12 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut gram = vec![0f64; q * q];
    for a in 0..q {
        for b in 0..=a {
            let cov = at(columns[a], columns[b]) - n * mean[a] * mean[b];
            gram[a * q + b] = cov / (scale[a] * scale[b]);
        }
    }
    let mut weights = [vec![], vec![]];
    let mut bias = [0.0; 2];
    for axis in 0..2 {
        let y_mean = m.sy[axis] / n;
        bias[axis] = y_mean;
        let rhs: Vec<f64> = columns
            .iter()
            .enumerate()
            .map(|(k, &c)| (m.xy[axis][c] - n * mean[k] * y_mean) / scale[k])
            .collect();
        let mut system = gram.clone();
        for k in 0..q {
            system[k * q + k] += lambdas[axis] * n;
        }
        weights[axis] = super::linear::solve_spd(system, rhs, q);
    }
    Head {
        columns: columns.to_vec(),
        mean,
        scale,
        weights,
        bias,
    }
}

/// Mean-and-spread calibration `offset + slope × raw`: it maps the clip-mean predictions' mean
/// and standard deviation onto the targets', so the predictions span the targets' range.
/// Degenerate input gives the identity.
pub fn fit_spread_calibration(predicted: &[f64], truth: &[f64]) -> (f64, f64) {
    let n = predicted.len().min(truth.len());
    if n < 3 {
        return (0.0, 1.0);
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mp, mt) = (mean(predicted), mean(truth));
    let sd =
        |v: &[f64], m: f64| (v[..n].iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt();
    let (sp, st) = (sd(predicted, mp), sd(truth, mt));
    if sp <= 1e-9 || !sp.is_finite() || !st.is_finite() {
        return (0.0, 1.0);
    }
    let slope = (st / sp).clamp(0.25, 6.0);
    (mt - slope * mp, slope)
}

/// The valence and arousal shifts (subtracted from the predictions) that maximise macro-F1 of
/// the predicted signs against `labels`, on a 0.01 grid over [-0.2, 0.2]; ties go to the
/// smaller shift.
pub fn fit_quadrant_shift(predicted: &[[f64; 2]], labels: &[u8]) -> [f64; 2] {
    let grid: Vec<f64> = (-20..=20).map(|i| f64::from(i) * 0.01).collect();
    let mut best = (f64::NEG_INFINITY, f64::INFINITY, [0.0; 2]);
    let mut guessed = vec![0u8; labels.len()];
    for &dv in &grid {
        for &da in &grid {
            for (slot, p) in guessed.iter_mut().zip(predicted) {
                *slot = Va {
                    valence: (p[0] - dv) as f32,
                    arousal: (p[1] - da) as f32,
                }
                .quadrant();
            }
            let f1 = super::metrics::macro_f1(labels, &guessed);
            let size = dv.abs() + da.abs();
            if f1 > best.0 + 1e-12 || ((f1 - best.0).abs() <= 1e-12 && size < best.1) {
                best = (f1, size, [dv, da]);
            }
        }
    }
    best.2
}

/// The dataset plus per-clip mean rows (a linear head's clip mean is its prediction on them).
struct Table {
    dataset: Dataset,
    /// Mean row of each clip.
    clip_means: Vec<Vec<f32>>,
    /// Targets per clip (valence, arousal).
    clip_targets: Vec<[f64; 2]>,
    /// Quadrant label per clip.
    quadrants: Vec<u8>,
}

/// The penalty and calibration chosen inside some training folds, plus the head fitted on all
/// of them.
struct FittedHead {
    head: Head,
    lambdas: [f64; 2],
    calibration: [(f64, f64); 2],
}

/// Fits a head on the folds `train_folds` (moments per fold given), choosing each axis's penalty
/// and fitting the spread calibration on inner leave-one-fold-out predictions of the training
/// clips only.
fn fit_inside(
    table: &Table,
    fold_moments: &[Moments],
    fold_of_clip: &[usize],
    train_folds: &[usize],
    columns: &[usize],
    lambdas: &[f64],
) -> FittedHead {
    let p = fold_moments[0].p;
    let mut total = Moments::new(p);
    for &fold in train_folds {
        total.accumulate(&fold_moments[fold], 1.0);
    }
    // Inner predictions per lambda for every training clip.
    let train_clips: Vec<usize> = (0..table.clip_means.len())
        .filter(|&c| train_folds.contains(&fold_of_clip[c]))
        .collect();
    let mut inner = vec![vec![[0f64; 2]; train_clips.len()]; lambdas.len()];
    for &held in train_folds {
        let mut rest = total.clone();
        rest.accumulate(&fold_moments[held], -1.0);
        for (l, &lambda) in lambdas.iter().enumerate() {
            let head = fit_head(&rest, columns, [lambda, lambda]);
            for (i, &clip) in train_clips.iter().enumerate() {
                if fold_of_clip[clip] == held {
                    let x = &table.clip_means[clip];
                    inner[l][i] = [head.predict(x, 0), head.predict(x, 1)];
                }
            }
        }
    }
    let mut chosen = [0usize; 2];
    let mut calibration = [(0.0, 1.0); 2];
    for axis in 0..2 {
        let truth: Vec<f64> = train_clips
            .iter()
            .map(|&c| table.clip_targets[c][axis])
            .collect();
        let mut best = f64::INFINITY;
        for (l, predictions) in inner.iter().enumerate() {
            let sse: f64 = predictions
                .iter()
                .zip(&truth)
                .map(|(p, t)| (p[axis] - t).powi(2))
                .sum();
            if sse < best {
                best = sse;
                chosen[axis] = l;
            }
        }
        let predicted: Vec<f64> = inner[chosen[axis]].iter().map(|p| p[axis]).collect();
        calibration[axis] = fit_spread_calibration(&predicted, &truth);
    }
    // Quadrant boundaries: shift the calibrated inner predictions so their signs best match the
    // training clips' quadrant labels.
    let calibrated: Vec<[f64; 2]> = (0..train_clips.len())
        .map(|i| {
            [0, 1].map(|axis| {
                let (offset, slope) = calibration[axis];
                offset + slope * inner[chosen[axis]][i][axis]
            })
        })
        .collect();
    let labels: Vec<u8> = train_clips.iter().map(|&c| table.quadrants[c]).collect();
    let shift = fit_quadrant_shift(&calibrated, &labels);
    for axis in 0..2 {
        calibration[axis].0 -= shift[axis];
    }
    let lambdas = [lambdas[chosen[0]], lambdas[chosen[1]]];
    FittedHead {
        head: fit_head(&total, columns, lambdas),
        lambdas,
        calibration,
    }
}

/// Out-of-fold predictions of one fold assignment for every group set, calibrated and raw.
struct FoldRun {
    /// Calibrated row predictions per group set.
    calibrated: Vec<Vec<Va>>,
    /// Uncalibrated row predictions of the shipped set.
    raw: Vec<Va>,
    /// Penalties chosen for the shipped set per fold.
    lambdas: Vec<(f64, f64)>,
}

fn moments_per_fold(table: &Table, fold_of_clip: &[usize], folds: usize) -> Vec<Moments> {
    let rows = &table.dataset.rows;
    let p = rows.n_features;
    let mut moments = vec![Moments::new(p); folds];
    let mut scratch = vec![0f64; p];
    let targets: Vec<[f32; 2]> = table
        .dataset
        .clips
        .iter()
        .map(|c| [c.va.valence, c.va.arousal])
        .collect();
    for (row, &clip) in table.dataset.clip_of_row.iter().enumerate() {
        moments[fold_of_clip[clip]].add_row(rows.row(row), targets[clip], &mut scratch);
    }
    moments
}

fn run_folds(
    table: &Table,
    fold_of_clip: &[usize],
    folds: usize,
    sets: &[GroupSet],
    options: &TrainOptions,
) -> FoldRun {
    let moments = moments_per_fold(table, fold_of_clip, folds);
    let rows = &table.dataset.rows;
    let n_rows = rows.len();
    let width = rows.n_features;
    let mut calibrated = vec![vec![Va::default(); n_rows]; sets.len()];
    let mut raw = vec![Va::default(); n_rows];
    let mut lambdas = vec![(0.0, 0.0); folds];
    let columns: Vec<Vec<usize>> = sets.iter().map(|s| s.columns(width)).collect();
    // Folds are independent: spread them over the workers.
    let results: Vec<(usize, Vec<FittedHead>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.workers.max(1))
            .map(|worker| {
                let (moments, columns) = (&moments, &columns);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for fold in (worker..folds).step_by(options.workers.max(1)) {
                        let train_folds: Vec<usize> = (0..folds).filter(|&f| f != fold).collect();
                        let heads = columns
                            .iter()
                            .map(|cols| {
                                fit_inside(
                                    table,
                                    moments,
                                    fold_of_clip,
                                    &train_folds,
                                    cols,
                                    &options.lambdas,
                                )
                            })
                            .collect();
                        out.push((fold, heads));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (fold, heads) in results {
        for (row, &clip) in table.dataset.clip_of_row.iter().enumerate() {
            if fold_of_clip[clip] != fold {
                continue;
            }
            let x = rows.row(row);
            for (s, fitted) in heads.iter().enumerate() {
                let va = predict_calibrated(fitted, x);
                calibrated[s][row] = va;
                if s == sets.len() - 1 {
                    raw[row] = Va {
                        valence: fitted.head.predict(x, 0).clamp(-1.0, 1.0) as f32,
                        arousal: fitted.head.predict(x, 1).clamp(-1.0, 1.0) as f32,
                    };
                }
            }
        }
        if let Some(last) = heads.last() {
            lambdas[fold] = (last.lambdas[0], last.lambdas[1]);
        }
    }
    FoldRun {
        calibrated,
        raw,
        lambdas,
    }
}

fn predict_calibrated(fitted: &FittedHead, x: &[f32]) -> Va {
    let axis = |a: usize| {
        let (offset, slope) = fitted.calibration[a];
        (offset + slope * fitted.head.predict(x, a)).clamp(-1.0, 1.0) as f32
    };
    Va {
        valence: axis(0),
        arousal: axis(1),
    }
}

/// What [`load_dataset`] returns.
pub struct Loaded {
    /// The sanitised table of mood rows.
    pub dataset: Dataset,
    /// Per-feature fill values (training medians) used for non-finite inputs.
    pub fill: Vec<f32>,
    /// Mood tags not found in the norms.
    pub missing_tags: usize,
    /// Clips whose audio failed to decode or gave no row.
    pub failed_clips: Vec<String>,
    /// Seconds for the engine features.
    pub engine_seconds: f64,
    /// Seconds for the MusiCNN patches.
    pub patch_seconds: f64,
}

/// Loads labels, engine rows and MusiCNN patches (from the caches where possible) and builds
/// the mood rows the live pipeline would build, through [`assemble_row`].
pub fn load_dataset(options: &TrainOptions, extractors: &Extractors<'_>) -> anyhow::Result<Loaded> {
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
    let config = analysis::AnalyzerConfig {
        window_seconds: options.window_seconds,
        ..analysis::AnalyzerConfig::default()
    };
    let started = Instant::now();
    let engine_dir = options
        .cache_dir
        .join(format!("engine-{}", super::features::cache_key(config)));
    let engine = extract_all(
        &jobs,
        &engine_dir,
        "engine",
        options.workers,
        &|path| (extractors.engine)(path),
        |features: &ClipFeatures| {
            let width = analysis::feature_names().len();
            features.rows.iter().all(|row| row.len() == width)
        },
    )?;
    let engine_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let patch_dir = options.cache_dir.join(&extractors.patch_cache_key);
    let patches = extract_all(
        &jobs,
        &patch_dir,
        "musicnn",
        options.workers,
        &|path| (extractors.patches)(path),
        |patches: &Vec<PatchRecord>| {
            patches.iter().all(|p| {
                p.embedding.len() == super::mood::EMBEDDING_DIM
                    && p.taggram.len() == super::mood::TAG_COUNT
            })
        },
    )?;
    let patch_seconds = started.elapsed().as_secs_f64();

    let names: Vec<String> = mood_feature_names().to_vec();
    let width = names.len();
    let mut failed = Vec::new();
    let mut clip_rows = Vec::new();
    for ((label, engine), patches) in labels.into_iter().zip(engine).zip(patches) {
        let (Some(engine), Some(patches)) = (engine, patches) else {
            failed.push(label.song.clone());
            continue;
        };
        let mut window = PatchWindow::new();
        // As live: patches of silence are left out.
        for patch in patches
            .iter()
            .filter(|p| p.rms_db >= super::silence::SILENCE_THRESHOLD_DB)
        {
            window.push_record(patch);
        }
        let mut rows = Vec::new();
        for (index, (values, &t)) in engine.rows.iter().zip(&engine.times).enumerate() {
            if index % options.row_step.max(1) != 0 {
                continue;
            }
            let mut row = vec![0f32; width];
            let pooled = assemble_row(
                values,
                t,
                f64::from(options.window_seconds),
                &mut window,
                &mut row,
            );
            // As live: no estimate before the first patch.
            if pooled > 0 {
                rows.push(row);
            }
        }
        if rows.is_empty() {
            failed.push(label.song.clone());
        } else {
            clip_rows.push((label, rows));
        }
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
    for row in dataset.rows.data.chunks_mut(width) {
        sanitise(row, &fill);
    }
    Ok(Loaded {
        dataset,
        fill,
        missing_tags,
        failed_clips: failed,
        engine_seconds,
        patch_seconds,
    })
}

fn clip_means(dataset: &Dataset) -> Vec<Vec<f32>> {
    let width = dataset.rows.n_features;
    let mut sums = vec![vec![0f64; width]; dataset.clips.len()];
    let mut counts = vec![0usize; dataset.clips.len()];
    for (row, &clip) in dataset.clip_of_row.iter().enumerate() {
        for (s, &x) in sums[clip].iter_mut().zip(dataset.rows.row(row)) {
            *s += f64::from(x);
        }
        counts[clip] += 1;
    }
    sums.into_iter()
        .zip(counts)
        .map(|(s, n)| s.iter().map(|v| (v / n.max(1) as f64) as f32).collect())
        .collect()
}

/// Runs the whole job and writes the model and its card.
pub fn train(options: &TrainOptions, extractors: &Extractors<'_>) -> anyhow::Result<TrainReport> {
    let Loaded {
        dataset,
        fill,
        missing_tags,
        failed_clips,
        engine_seconds,
        patch_seconds,
    } = load_dataset(options, extractors)?;
    let truth: Vec<Va> = dataset.clips.iter().map(|clip| clip.va).collect();
    let quadrants: Vec<u8> = dataset.clips.iter().map(|clip| clip.quadrant).collect();
    let n_rows = dataset.rows.len();
    let width = dataset.rows.n_features;
    eprintln!(
        "train-va: {} clips, {} rows, {} features (engine schema v{})",
        dataset.clips.len(),
        n_rows,
        width,
        analysis::SCHEMA_VERSION
    );
    let table = Table {
        clip_means: clip_means(&dataset),
        clip_targets: truth
            .iter()
            .map(|va| [f64::from(va.valence), f64::from(va.arousal)])
            .collect(),
        quadrants: quadrants.clone(),
        dataset,
    };
    let dataset = &table.dataset;
    let artists: Vec<String> = dataset.clips.iter().map(|c| c.artist.clone()).collect();

    let cv_started = Instant::now();
    let sets = GroupSet::ALL;
    let mut by_set: Vec<Vec<Vec<Va>>> = vec![Vec::new(); sets.len()];
    let mut raw_repeats = Vec::new();
    let mut chosen_lambdas = Vec::new();
    let mut artist_overlap = 0.0;
    for repeat in 0..options.repeats {
        let fold_of_clip = stratified_clip_folds(&quadrants, options.folds, 1000 + repeat as u64);
        if repeat == 0 {
            artist_overlap = overlap(&artists, &fold_of_clip, options.folds);
        }
        let run = run_folds(&table, &fold_of_clip, options.folds, &sets, options);
        for (s, predicted) in run.calibrated.into_iter().enumerate() {
            by_set[s].push(predicted);
        }
        raw_repeats.push(run.raw);
        chosen_lambdas.extend(run.lambdas);
        eprintln!(
            "train-va: repeat {}/{} done after {:.0} s",
            repeat + 1,
            options.repeats,
            cv_started.elapsed().as_secs_f64()
        );
    }
    let mut artist_repeats = Vec::new();
    for repeat in 0..options.repeats {
        let fold_of_clip = grouped_folds(&artists, options.folds, 2000 + repeat as u64);
        let run = run_folds(
            &table,
            &fold_of_clip,
            options.folds,
            &[GroupSet::All],
            options,
        );
        artist_repeats.extend(run.calibrated);
    }
    eprintln!(
        "train-va: artist-grouped folds done after {:.0} s",
        cv_started.elapsed().as_secs_f64()
    );
    let cv_seconds = cv_started.elapsed().as_secs_f64();
    let score = |name: &str, repeats: &[Vec<Va>]| {
        score_variant(
            name,
            repeats,
            &dataset.clip_of_row,
            &truth,
            &quadrants,
            options.resamples,
            7,
        )
    };
    let ablation: Vec<VariantScores> = sets
        .iter()
        .zip(&by_set)
        .map(|(set, repeats)| score(set.name(), repeats))
        .collect();
    let uncalibrated = score("all, without the spread calibration", &raw_repeats);
    let by_artist = score("all, folds grouped by artist", &artist_repeats);

    // Final model: every clip; penalty and calibration from 10 folds over all clips.
    let final_started = Instant::now();
    let fold_of_clip = stratified_clip_folds(&quadrants, options.folds, 1000);
    let moments = moments_per_fold(&table, &fold_of_clip, options.folds);
    let all_folds: Vec<usize> = (0..options.folds).collect();
    let fitted = fit_inside(
        &table,
        &moments,
        &fold_of_clip,
        &all_folds,
        &GroupSet::All.columns(width),
        &options.lambdas,
    );
    let final_seconds = final_started.elapsed().as_secs_f64();
    let target_model = |axis: usize| {
        let head = &fitted.head;
        let (offset, slope) = fitted.calibration[axis];
        TargetModel {
            linear: Linear {
                mean: head.mean.iter().map(|&v| v as f32).collect(),
                scale: head.scale.iter().map(|&v| v as f32).collect(),
                weights: head.weights[axis].iter().map(|&v| v as f32).collect(),
                bias: head.bias[axis] as f32,
            },
            forest_weight: 0.0,
            offset: offset as f32,
            slope: slope as f32,
            ..TargetModel::default()
        }
    };
    let model = VaModel {
        schema_version: analysis::SCHEMA_VERSION,
        feature_names: dataset.feature_names.clone(),
        payload: Payload {
            fill,
            valence: target_model(0),
            arousal: target_model(1),
            provenance: format!(
                "ridge + spread calibration on {} 4Q clips ({} rows); `{}`",
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
    let mut distinct_artists = artists.clone();
    distinct_artists.sort();
    distinct_artists.dedup();
    let report = TrainReport {
        options: options.clone(),
        clips: dataset.clips.len(),
        clips_per_quadrant: per_quadrant,
        artists: distinct_artists.len(),
        rows: n_rows,
        features: width,
        schema_version: analysis::SCHEMA_VERSION,
        missing_tags,
        sign_ceiling: sign_agreement(&dataset.clips),
        failed_clips,
        artist_overlap,
        target_spread: (
            super::metrics::spread(&truth_v),
            super::metrics::spread(&truth_a),
        ),
        ablation,
        uncalibrated,
        by_artist,
        chosen_lambdas,
        engine_links: engine_links(&table),
        engine_seconds,
        patch_seconds,
        cv_seconds,
        final_seconds,
        model_bytes: bytes.len(),
        predict_micros,
        final_lambdas: (fitted.lambdas[0], fitted.lambdas[1]),
        calibration: [
            (
                fitted.calibration[0].0 as f32,
                fitted.calibration[0].1 as f32,
            ),
            (
                fitted.calibration[1].0 as f32,
                fitted.calibration[1].1 as f32,
            ),
        ],
    };
    std::fs::write(&options.card_out, super::card::render(&report))
        .with_context(|| format!("writing {}", options.card_out.display()))?;
    let json_path = options.cache_dir.join("last-train-report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?).ok();
    Ok(report)
}

/// Share of held-out clips whose artist also appears in the training folds.
fn overlap(artists: &[String], fold_of_clip: &[usize], folds: usize) -> f64 {
    let mut shared = 0usize;
    for fold in 0..folds {
        let train: std::collections::HashSet<&str> = artists
            .iter()
            .zip(fold_of_clip)
            .filter(|(_, &f)| f != fold)
            .map(|(a, _)| a.as_str())
            .collect();
        shared += artists
            .iter()
            .zip(fold_of_clip)
            .filter(|(a, &f)| f == fold && train.contains(a.as_str()))
            .count();
    }
    shared as f64 / artists.len().max(1) as f64
}

/// Engine features ranked by their clip-level correlation with valence.
fn engine_links(table: &Table) -> Vec<FeatureLink> {
    let engine = analysis::feature_names();
    let truth_v: Vec<f32> = table.clip_targets.iter().map(|t| t[0] as f32).collect();
    let truth_a: Vec<f32> = table.clip_targets.iter().map(|t| t[1] as f32).collect();
    let mut links: Vec<FeatureLink> = engine
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let column: Vec<f32> = table.clip_means.iter().map(|row| row[c]).collect();
            let r = |truth: &[f32]| {
                let value = super::metrics::pearson(&column, truth);
                if value.is_finite() {
                    value
                } else {
                    0.0
                }
            };
            FeatureLink {
                feature: name.to_string(),
                valence_r: r(&truth_v),
                arousal_r: r(&truth_a),
            }
        })
        .collect();
    links.sort_by(|a, b| b.valence_r.abs().total_cmp(&a.valence_r.abs()));
    links.truncate(10);
    links
}
