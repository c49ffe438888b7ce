//! Scores out-of-fold predictions: regression metrics per window and per clip, quadrant metrics
//! from the signs of (valence, arousal), each with a 95 % interval from a bootstrap over clips.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::metrics::{self, Estimate};
use super::Va;

/// Names of the entries of [`score`]'s vector, in order.
pub const METRIC_NAMES: [&str; 16] = [
    "valence R² (window)",
    "valence r (window)",
    "valence RMSE (window)",
    "arousal R² (window)",
    "arousal r (window)",
    "arousal RMSE (window)",
    "valence R² (clip)",
    "valence r (clip)",
    "valence RMSE (clip)",
    "arousal R² (clip)",
    "arousal r (clip)",
    "arousal RMSE (clip)",
    "quadrant accuracy (window)",
    "quadrant macro-F1 (window)",
    "quadrant accuracy (clip)",
    "quadrant macro-F1 (clip)",
];

/// Index of per-clip macro-F1 in the metric vector.
pub const CLIP_F1: usize = 15;

/// What is being scored: one repeat's out-of-fold predictions for every row.
pub struct Scored<'a> {
    /// Predicted VA per row.
    pub predicted: &'a [Va],
    /// Clip of each row.
    pub clip_of_row: &'a [usize],
    /// Tag-derived target per clip.
    pub truth: &'a [Va],
    /// Dataset quadrant label per clip.
    pub quadrant: &'a [u8],
}

/// Weighted accumulators for R², r and RMSE in one pass.
#[derive(Default)]
struct Moments {
    n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    fn add(&mut self, truth: f32, predicted: f32, weight: f64) {
        let (x, y) = (truth as f64, predicted as f64);
        self.n += weight;
        self.sx += weight * x;
        self.sy += weight * y;
        self.sxx += weight * x * x;
        self.syy += weight * y * y;
        self.sxy += weight * x * y;
    }

    /// (R², r, RMSE) of predictions y against truth x.
    fn finish(&self) -> [f64; 3] {
        let n = self.n.max(f64::MIN_POSITIVE);
        let sse = self.sxx - 2.0 * self.sxy + self.syy;
        let sst = self.sxx - self.sx * self.sx / n;
        let cov = self.sxy - self.sx * self.sy / n;
        let var_y = self.syy - self.sy * self.sy / n;
        [
            1.0 - sse / sst,
            cov / (sst * var_y).sqrt(),
            (sse.max(0.0) / n).sqrt(),
        ]
    }
}

// Classes index both a row and a column of the confusion matrix.
#[allow(clippy::needless_range_loop)]
fn macro_f1_from(confusion: &[[f64; 4]; 4]) -> f64 {
    let mut total = 0.0;
    for class in 0..4 {
        let tp = confusion[class][class];
        let predicted: f64 = (0..4).map(|t| confusion[t][class]).sum();
        let actual: f64 = confusion[class].iter().sum();
        if predicted + actual > 0.0 {
            total += 2.0 * tp / (predicted + actual);
        }
    }
    total / 4.0
}

fn accuracy_from(confusion: &[[f64; 4]; 4]) -> f64 {
    let correct: f64 = (0..4).map(|c| confusion[c][c]).sum();
    let total: f64 = confusion.iter().flatten().sum();
    correct / total.max(f64::MIN_POSITIVE)
}

/// Mean predicted VA of each clip over its windows.
pub fn clip_means(scored: &Scored<'_>) -> Vec<Va> {
    let mut sums = vec![(0f64, 0f64, 0u32); scored.truth.len()];
    for (va, &clip) in scored.predicted.iter().zip(scored.clip_of_row) {
        let slot = &mut sums[clip];
        slot.0 += va.valence as f64;
        slot.1 += va.arousal as f64;
        slot.2 += 1;
    }
    sums.iter()
        .map(|&(v, a, n)| Va {
            valence: (v / n.max(1) as f64) as f32,
            arousal: (a / n.max(1) as f64) as f32,
        })
        .collect()
}

/// Every metric of [`METRIC_NAMES`], with each clip counted `weights[clip]` times.
pub fn score(scored: &Scored<'_>, clip_predictions: &[Va], weights: &[u32]) -> [f64; 16] {
    let mut out = [0.0; 16];
    let (mut window_v, mut window_a) = (Moments::default(), Moments::default());
    let mut window_confusion = [[0f64; 4]; 4];
    for (va, &clip) in scored.predicted.iter().zip(scored.clip_of_row) {
        let weight = weights[clip] as f64;
        if weight == 0.0 {
            continue;
        }
        let truth = scored.truth[clip];
        window_v.add(truth.valence, va.valence, weight);
        window_a.add(truth.arousal, va.arousal, weight);
        window_confusion[scored.quadrant[clip] as usize - 1][va.quadrant() as usize - 1] += weight;
    }
    let (mut clip_v, mut clip_a) = (Moments::default(), Moments::default());
    let mut clip_confusion = [[0f64; 4]; 4];
    for (clip, va) in clip_predictions.iter().enumerate() {
        let weight = weights[clip] as f64;
        if weight == 0.0 {
            continue;
        }
        let truth = scored.truth[clip];
        clip_v.add(truth.valence, va.valence, weight);
        clip_a.add(truth.arousal, va.arousal, weight);
        clip_confusion[scored.quadrant[clip] as usize - 1][va.quadrant() as usize - 1] += weight;
    }
    out[0..3].copy_from_slice(&window_v.finish());
    out[3..6].copy_from_slice(&window_a.finish());
    out[6..9].copy_from_slice(&clip_v.finish());
    out[9..12].copy_from_slice(&clip_a.finish());
    out[12] = accuracy_from(&window_confusion);
    out[13] = macro_f1_from(&window_confusion);
    out[14] = accuracy_from(&clip_confusion);
    out[15] = macro_f1_from(&clip_confusion);
    out
}

/// Metrics of one model variant over all repeats.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantScores {
    /// Variant name.
    pub name: String,
    /// Mean over repeats with a 95 % percentile interval from a bootstrap over clips.
    pub bootstrap: Vec<Estimate>,
    /// Mean over repeats with a 95 % t-interval across the repeats (seed sensitivity only).
    pub across_repeats: Vec<Estimate>,
    /// Per-clip confusion matrix of the first repeat (rows true Q1-Q4, columns predicted).
    pub confusion_clip: [[usize; 4]; 4],
    /// Standard deviation of the per-clip predictions (valence, arousal), first repeat.
    pub spread_clip: (f64, f64),
}

/// Scores one variant over all repeats. `repeats[s]` are repeat s's out-of-fold predictions.
pub fn score_variant(
    name: &str,
    repeats: &[Vec<Va>],
    clip_of_row: &[usize],
    truth: &[Va],
    quadrant: &[u8],
    resamples: usize,
    seed: u64,
) -> VariantScores {
    let scoreds: Vec<Scored<'_>> = repeats
        .iter()
        .map(|predicted| Scored {
            predicted,
            clip_of_row,
            truth,
            quadrant,
        })
        .collect();
    let clip_predictions: Vec<Vec<Va>> = scoreds.iter().map(clip_means).collect();
    let n_clips = truth.len();
    let ones = vec![1u32; n_clips];
    let per_repeat: Vec<[f64; 16]> = scoreds
        .iter()
        .zip(&clip_predictions)
        .map(|(scored, clips)| score(scored, clips, &ones))
        .collect();
    let mean_over_repeats = |weights: &[u32]| -> [f64; 16] {
        let mut sum = [0.0; 16];
        for (scored, clips) in scoreds.iter().zip(&clip_predictions) {
            let values = score(scored, clips, weights);
            for (s, v) in sum.iter_mut().zip(values) {
                *s += v;
            }
        }
        sum.map(|s| s / scoreds.len().max(1) as f64)
    };
    let point = mean_over_repeats(&ones);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = vec![0u32; n_clips];
    let mut samples: Vec<[f64; 16]> = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        weights.iter_mut().for_each(|w| *w = 0);
        for _ in 0..n_clips {
            weights[rng.gen_range(0..n_clips)] += 1;
        }
        samples.push(mean_over_repeats(&weights));
    }
    let bootstrap = (0..16)
        .map(|metric| {
            let mut values: Vec<f64> = samples
                .iter()
                .map(|s| s[metric])
                .filter(|v| v.is_finite())
                .collect();
            values.sort_unstable_by(f64::total_cmp);
            let at = |q: f64| {
                values
                    .get(((values.len().max(1) - 1) as f64 * q).round() as usize)
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            Estimate {
                mean: point[metric],
                low: at(0.025),
                high: at(0.975),
            }
        })
        .collect();
    let across_repeats = (0..16)
        .map(|metric| {
            let values: Vec<f64> = per_repeat.iter().map(|r| r[metric]).collect();
            metrics::t_interval(&values)
        })
        .collect();
    let first_clips = clip_predictions.first().cloned().unwrap_or_default();
    let predicted_quadrants: Vec<u8> = first_clips.iter().map(|va| va.quadrant()).collect();
    let valence: Vec<f32> = first_clips.iter().map(|va| va.valence).collect();
    let arousal: Vec<f32> = first_clips.iter().map(|va| va.arousal).collect();
    VariantScores {
        name: name.to_string(),
        bootstrap,
        across_repeats,
        confusion_clip: metrics::confusion(quadrant, &predicted_quadrants),
        spread_clip: (metrics::spread(&valence), metrics::spread(&arousal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_score_matches_plain_metrics() {
        let truth: Vec<Va> = (0..40)
            .map(|i| Va {
                valence: ((i * 7) % 11) as f32 / 5.0 - 1.0,
                arousal: ((i * 3) % 13) as f32 / 6.0 - 1.0,
            })
            .collect();
        let quadrant: Vec<u8> = truth.iter().map(|va| va.quadrant()).collect();
        let clip_of_row: Vec<usize> = (0..120).map(|row| row / 3).collect();
        let predicted: Vec<Va> = clip_of_row
            .iter()
            .enumerate()
            .map(|(row, &clip)| Va {
                valence: truth[clip].valence * 0.5 + (row % 3) as f32 * 0.1,
                arousal: truth[clip].arousal * 0.8 - 0.05,
            })
            .collect();
        let scored = Scored {
            predicted: &predicted,
            clip_of_row: &clip_of_row,
            truth: &truth,
            quadrant: &quadrant,
        };
        let clips = clip_means(&scored);
        let values = score(&scored, &clips, &[1; 40]);
        let row_truth: Vec<f32> = clip_of_row.iter().map(|&c| truth[c].valence).collect();
        let row_predicted: Vec<f32> = predicted.iter().map(|va| va.valence).collect();
        assert!((values[0] - metrics::r2(&row_truth, &row_predicted)).abs() < 1e-9);
        assert!((values[1] - metrics::pearson(&row_truth, &row_predicted)).abs() < 1e-9);
        assert!((values[2] - metrics::rmse(&row_truth, &row_predicted)).abs() < 1e-9);
        let clip_quadrants: Vec<u8> = clips.iter().map(|va| va.quadrant()).collect();
        assert!((values[15] - metrics::macro_f1(&quadrant, &clip_quadrants)).abs() < 1e-9);
        assert!((values[14] - metrics::accuracy(&quadrant, &clip_quadrants)).abs() < 1e-9);
    }
}
