//! Regression and quadrant metrics, and their intervals.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Coefficient of determination of `predicted` against `truth` (1 - SSE / SST).
pub fn r2(truth: &[f32], predicted: &[f32]) -> f64 {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return f64::NAN;
    }
    let mean = truth[..n].iter().map(|&t| t as f64).sum::<f64>() / n as f64;
    let (mut sse, mut sst) = (0.0, 0.0);
    for i in 0..n {
        sse += (truth[i] as f64 - predicted[i] as f64).powi(2);
        sst += (truth[i] as f64 - mean).powi(2);
    }
    1.0 - sse / sst
}

/// Pearson correlation.
pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let mean_a = a[..n].iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let mean_b = b[..n].iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (da, db) = (a[i] as f64 - mean_a, b[i] as f64 - mean_b);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    sab / (saa * sbb).sqrt()
}

/// Root mean squared error.
pub fn rmse(truth: &[f32], predicted: &[f32]) -> f64 {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return f64::NAN;
    }
    let sse: f64 = (0..n)
        .map(|i| (truth[i] as f64 - predicted[i] as f64).powi(2))
        .sum();
    (sse / n as f64).sqrt()
}

/// Standard deviation (population), to show how much the regressors shrink.
pub fn spread(values: &[f32]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    (values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// 4x4 confusion matrix, rows = true quadrant, columns = predicted (quadrants 1-4).
pub fn confusion(truth: &[u8], predicted: &[u8]) -> [[usize; 4]; 4] {
    let mut matrix = [[0; 4]; 4];
    for (&t, &p) in truth.iter().zip(predicted) {
        if (1..=4).contains(&t) && (1..=4).contains(&p) {
            matrix[t as usize - 1][p as usize - 1] += 1;
        }
    }
    matrix
}

/// Share of correct quadrants.
pub fn accuracy(truth: &[u8], predicted: &[u8]) -> f64 {
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    correct as f64 / truth.len().max(1) as f64
}

/// Unweighted mean over the four quadrants of F1 (a class never predicted nor present scores 0).
// Classes index both a row and a column of the confusion matrix.
#[allow(clippy::needless_range_loop)]
pub fn macro_f1(truth: &[u8], predicted: &[u8]) -> f64 {
    let matrix = confusion(truth, predicted);
    let mut total = 0.0;
    for class in 0..4 {
        let tp = matrix[class][class] as f64;
        let predicted_as: f64 = (0..4).map(|t| matrix[t][class] as f64).sum();
        let actually: f64 = matrix[class].iter().map(|&c| c as f64).sum();
        let denominator = predicted_as + actually;
        if denominator > 0.0 {
            total += 2.0 * tp / denominator;
        }
    }
    total / 4.0
}

/// A point estimate with a 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// Mean over the repeats.
    pub mean: f64,
    /// Lower bound of the 95 % interval.
    pub low: f64,
    /// Upper bound of the 95 % interval.
    pub high: f64,
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} [{:.3}, {:.3}]", self.mean, self.low, self.high)
    }
}

/// Two-sided 97.5 % quantile of Student's t for `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => 1.96,
    }
}

/// Mean with a t-interval (the spread across repeats: how much the result depends on the seed).
pub fn t_interval(values: &[f64]) -> Estimate {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return Estimate {
            mean,
            low: mean,
            high: mean,
        };
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile_975(n - 1) * (variance / n as f64).sqrt();
    Estimate {
        mean,
        low: mean - half,
        high: mean + half,
    }
}

/// Percentile bootstrap over clips. `statistic(weights)` gets how often each clip was drawn
/// (all ones for the point estimate) and returns the metric computed on that weighted sample.
pub fn bootstrap_clips(
    n_clips: usize,
    resamples: usize,
    seed: u64,
    mut statistic: impl FnMut(&[u32]) -> f64,
) -> Estimate {
    let mean = statistic(&vec![1; n_clips]);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = vec![0u32; n_clips];
    let mut values: Vec<f64> = (0..resamples)
        .map(|_| {
            weights.iter_mut().for_each(|w| *w = 0);
            for _ in 0..n_clips {
                weights[rng.gen_range(0..n_clips)] += 1;
            }
            statistic(&weights)
        })
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return Estimate {
            mean,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    values.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Estimate {
        mean,
        low: at(0.025),
        high: at(0.975),
    }
}

/// Expands `values` by integer `weights` (a bootstrap sample as plain slices).
pub fn expand<T: Copy>(values: &[T], weights: &[u32]) -> Vec<T> {
    let mut out = Vec::with_capacity(values.len());
    for (&value, &weight) in values.iter().zip(weights) {
        for _ in 0..weight {
            out.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_on_known_values() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        assert!((r2(&truth, &truth) - 1.0).abs() < 1e-12);
        assert!((pearson(&truth, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&truth, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!((rmse(&truth, &[2.0, 3.0, 4.0, 5.0]) - 1.0).abs() < 1e-12);
        // Predicting the mean explains nothing.
        assert!(r2(&truth, &[2.5; 4]).abs() < 1e-12);
    }

    #[test]
    fn quadrant_metrics_on_known_values() {
        let truth = [1, 1, 2, 2, 3, 3, 4, 4];
        assert_eq!(macro_f1(&truth, &truth), 1.0);
        let predicted = [1, 1, 2, 2, 3, 4, 4, 4];
        assert_eq!(accuracy(&truth, &predicted), 7.0 / 8.0);
        // Q3: p=1 r=0.5 F1=2/3; Q4: p=2/3 r=1 F1=0.8; others 1.
        let expected = (1.0 + 1.0 + 2.0 / 3.0 + 0.8) / 4.0;
        assert!((macro_f1(&truth, &predicted) - expected).abs() < 1e-12);
    }

    #[test]
    fn intervals_cover_the_mean() {
        let estimate = t_interval(&[0.5, 0.52, 0.48, 0.51, 0.49]);
        assert!(estimate.low < 0.5 && estimate.high > 0.5);
        let values: Vec<f32> = (0..200).map(|i| (i % 7) as f32).collect();
        let boot = bootstrap_clips(200, 200, 1, |w| {
            let sample = expand(&values, w);
            sample.iter().map(|&v| v as f64).sum::<f64>() / sample.len() as f64
        });
        assert!(boot.low < boot.mean && boot.mean < boot.high);
    }
}
