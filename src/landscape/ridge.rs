//! Ridge regression from image embeddings to valence and arousal, with one intercept per data
//! set and the penalty chosen by an inner cross-validation on the training rows only.
//!
//! Why per-data-set intercepts: OASIS (1-7) and Emotion6 (1-9) are both bipolar SAM-style scales
//! with a neutral midpoint, mapped to [-1, 1] with (x − 4)/3 and (x − 5)/4, but their raters, image
//! pools and anchoring differ, so the same picture need not get the same mean rating in both. A
//! shared slope with a free offset per data set learns what the two agree on (which picture is
//! more pleasant or more exciting than another) without forcing their zero points to coincide.
//! Features and targets are centred within each data set; predictions use the offset of a chosen
//! reference data set (OASIS for the shipped labeller).

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::LandscapeError;
use crate::matmul::dot;

/// Penalties tried by the inner cross-validation, as multiples of the number of training rows
/// (the features are standardised, so each diagonal entry of the Gram matrix is about `n`).
pub const PENALTY_GRID: [f64; 7] = [0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0];

/// Folds of the inner cross-validation that picks the penalty.
const INNER_FOLDS: usize = 3;

/// A fitted two-output ridge model on standardised, per-data-set-centred features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RidgeModel {
    /// Feature means of each data set (`groups × dim`), subtracted before the weights.
    pub group_feature_mean: Vec<Vec<f32>>,
    /// Target means (valence, arousal) of each data set: the per-data-set intercepts.
    pub group_target_mean: Vec<[f32; 2]>,
    /// Pooled within-data-set standard deviation of each feature.
    pub feature_scale: Vec<f32>,
    /// Weights on the standardised features, one vector per target.
    pub weights: [Vec<f32>; 2],
    /// Chosen penalty multiplier (of `PENALTY_GRID`) per target.
    pub penalty: [f64; 2],
}

impl RidgeModel {
    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.feature_scale.len()
    }

    /// Prediction for `row` with the intercept of data set `group`.
    pub fn predict(&self, row: &[f32], group: usize) -> [f32; 2] {
        let mean = &self.group_feature_mean[group];
        let mut out = self.group_target_mean[group];
        for (t, weights) in self.weights.iter().enumerate() {
            let mut sum = 0.0f64;
            for j in 0..row.len().min(weights.len()) {
                sum += ((row[j] - mean[j]) / self.feature_scale[j]) as f64 * weights[j] as f64;
            }
            out[t] += sum as f32;
        }
        out
    }
}

/// Rows, targets and data-set indices, all the same length.
pub struct RidgeData<'a> {
    /// Feature rows (all the same length).
    pub rows: &'a [Vec<f32>],
    /// (valence, arousal) targets on [-1, 1].
    pub targets: &'a [[f32; 2]],
    /// Data set of each row (0-based).
    pub groups: &'a [usize],
    /// Number of data sets.
    pub group_count: usize,
}

/// Solves `a x = b` for a symmetric positive definite `a` (`p × p`, row-major, overwritten by its
/// Cholesky factor) and `k` right-hand sides `b` (`p × k`, overwritten by the solution). The
/// row products go through the pipelined [`dot`]: a single running sum made the factorisation
/// latency-bound, several times slower at the 2048 features the labeller solves for.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], p: usize, k: usize) -> Result<(), LandscapeError> {
    for j in 0..p {
        let row_j = &mut a[j * p..(j + 1) * p];
        // Diagonal.
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d <= 0.0 || !d.is_finite() {
            return Err(LandscapeError::Model(
                "ridge system is not positive definite".into(),
            ));
        }
        let d = d.sqrt();
        row_j[j] = d;
        // Column j below the diagonal: L[i][j] = (A[i][j] - L[i][..j]·L[j][..j]) / d, i > j.
        let row_j_copy: Vec<f64> = a[j * p..j * p + j].to_vec();
        for i in j + 1..p {
            let row_i = &mut a[i * p..(i + 1) * p];
            row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j_copy)) / d;
        }
    }
    // Forward: L y = b.
    for i in 0..p {
        for c in 0..k {
            let mut s = b[i * k + c];
            for m in 0..i {
                s -= a[i * p + m] * b[m * k + c];
            }
            b[i * k + c] = s / a[i * p + i];
        }
    }
    // Backward: Lᵀ x = y.
    for i in (0..p).rev() {
        for c in 0..k {
            let mut s = b[i * k + c];
            for m in i + 1..p {
                s -= a[m * p + i] * b[m * k + c];
            }
            b[i * k + c] = s / a[i * p + i];
        }
    }
    Ok(())
}

/// Centring and scaling fitted on a subset of rows.
struct Standardiser {
    /// Per data set feature means.
    feature_mean: Vec<Vec<f64>>,
    /// Per data set target means.
    target_mean: Vec<[f64; 2]>,
    /// Pooled within-set standard deviations.
    scale: Vec<f64>,
}

impl Standardiser {
    fn fit(data: &RidgeData, index: &[usize]) -> Self {
        let dim = data.rows[0].len();
        let mut feature_mean = vec![vec![0.0; dim]; data.group_count];
        let mut target_mean = vec![[0.0; 2]; data.group_count];
        let mut counts = vec![0usize; data.group_count];
        for &i in index {
            let g = data.groups[i];
            counts[g] += 1;
            for (m, &x) in feature_mean[g].iter_mut().zip(&data.rows[i]) {
                *m += x as f64;
            }
            target_mean[g][0] += data.targets[i][0] as f64;
            target_mean[g][1] += data.targets[i][1] as f64;
        }
        for g in 0..data.group_count {
            let n = counts[g].max(1) as f64;
            feature_mean[g].iter_mut().for_each(|m| *m /= n);
            target_mean[g][0] /= n;
            target_mean[g][1] /= n;
        }
        let mut scale = vec![0.0; dim];
        for &i in index {
            let mean = &feature_mean[data.groups[i]];
            for ((s, &x), m) in scale.iter_mut().zip(&data.rows[i]).zip(mean) {
                *s += (x as f64 - m).powi(2);
            }
        }
        let n = index.len().max(1) as f64;
        scale
            .iter_mut()
            .for_each(|s| *s = (*s / n).sqrt().max(1e-6));
        Self {
            feature_mean,
            target_mean,
            scale,
        }
    }

    /// Standardised features (`index.len() × dim`) and centred targets (`index.len() × 2`).
    fn apply(&self, data: &RidgeData, index: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let dim = self.scale.len();
        let mut z = Vec::with_capacity(index.len() * dim);
        let mut y = Vec::with_capacity(index.len() * 2);
        for &i in index {
            let g = data.groups[i];
            for j in 0..dim {
                z.push((data.rows[i][j] as f64 - self.feature_mean[g][j]) / self.scale[j]);
            }
            y.push(data.targets[i][0] as f64 - self.target_mean[g][0]);
            y.push(data.targets[i][1] as f64 - self.target_mean[g][1]);
        }
        (z, y)
    }
}

/// `zᵀz` (`dim × dim`) and `zᵀy` (`dim × 2`) through candle's matrix product.
fn gram(
    z: &[f64],
    y: &[f64],
    rows: usize,
    dim: usize,
) -> Result<(Vec<f64>, Vec<f64>), LandscapeError> {
    let zt = Tensor::from_slice(z, (rows, dim), &Device::Cpu)?.t()?;
    let g = zt.matmul(&Tensor::from_slice(z, (rows, dim), &Device::Cpu)?)?;
    let b = zt.matmul(&Tensor::from_slice(y, (rows, 2), &Device::Cpu)?)?;
    Ok((g.flatten_all()?.to_vec1()?, b.flatten_all()?.to_vec1()?))
}

/// Ridge weights for penalty `lambda` from a Gram matrix and right-hand side.
fn solve(g: &[f64], b: &[f64], dim: usize, lambda: f64) -> Result<Vec<f64>, LandscapeError> {
    let mut a = g.to_vec();
    for j in 0..dim {
        a[j * dim + j] += lambda;
    }
    let mut x = b.to_vec();
    cholesky_solve(&mut a, &mut x, dim, 2)?;
    Ok(x)
}

/// Fits on the rows in `index`; the penalty of each target is the grid value with the lowest
/// inner cross-validated squared error (computed on those rows only).
pub fn fit(data: &RidgeData, index: &[usize], seed: u64) -> Result<RidgeModel, LandscapeError> {
    if index.len() < 20 {
        return Err(LandscapeError::Model(format!(
            "ridge needs at least 20 rows, got {}",
            index.len()
        )));
    }
    let dim = data.rows[0].len();
    if data.rows.iter().any(|r| r.len() != dim) {
        return Err(LandscapeError::Model(
            "feature rows differ in length".into(),
        ));
    }
    let standardiser = Standardiser::fit(data, index);
    let (z, y) = standardiser.apply(data, index);
    let n = index.len();

    // Inner folds: Gram matrices of each part, so "all but part k" is a subtraction.
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut part_of = vec![0usize; n];
    for (position, &row) in order.iter().enumerate() {
        part_of[row] = position % INNER_FOLDS;
    }
    let mut parts = Vec::new();
    for k in 0..INNER_FOLDS {
        let rows: Vec<usize> = (0..n).filter(|&r| part_of[r] == k).collect();
        let zk: Vec<f64> = rows
            .iter()
            .flat_map(|&r| z[r * dim..(r + 1) * dim].iter().copied())
            .collect();
        let yk: Vec<f64> = rows
            .iter()
            .flat_map(|&r| [y[r * 2], y[r * 2 + 1]])
            .collect();
        let (g, b) = gram(&zk, &yk, rows.len(), dim)?;
        parts.push((rows, zk, yk, g, b));
    }
    let total_g: Vec<f64> = (0..dim * dim)
        .map(|e| parts.iter().map(|p| p.3[e]).sum())
        .collect();
    let total_b: Vec<f64> = (0..dim * 2)
        .map(|e| parts.iter().map(|p| p.4[e]).sum())
        .collect();
    let mut errors = vec![[0.0f64; 2]; PENALTY_GRID.len()];
    for (rows, zk, yk, g, b) in &parts {
        let g_rest: Vec<f64> = total_g.iter().zip(g).map(|(t, p)| t - p).collect();
        let b_rest: Vec<f64> = total_b.iter().zip(b).map(|(t, p)| t - p).collect();
        let n_rest = (n - rows.len()) as f64;
        for (e, &multiplier) in PENALTY_GRID.iter().enumerate() {
            let w = solve(&g_rest, &b_rest, dim, multiplier * n_rest)?;
            for r in 0..rows.len() {
                for t in 0..2 {
                    let mut prediction = 0.0;
                    for j in 0..dim {
                        prediction += zk[r * dim + j] * w[j * 2 + t];
                    }
                    errors[e][t] += (prediction - yk[r * 2 + t]).powi(2);
                }
            }
        }
    }
    let mut weights: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
    let mut penalty = [0.0; 2];
    for t in 0..2 {
        let best = (0..PENALTY_GRID.len())
            .min_by(|&a, &b| errors[a][t].total_cmp(&errors[b][t]))
            .unwrap_or(0);
        penalty[t] = PENALTY_GRID[best];
        let w = solve(&total_g, &total_b, dim, penalty[t] * n as f64)?;
        weights[t] = (0..dim).map(|j| w[j * 2 + t] as f32).collect();
    }
    Ok(RidgeModel {
        group_feature_mean: standardiser
            .feature_mean
            .iter()
            .map(|m| m.iter().map(|&v| v as f32).collect())
            .collect(),
        group_target_mean: standardiser
            .target_mean
            .iter()
            .map(|m| [m[0] as f32, m[1] as f32])
            .collect(),
        feature_scale: standardiser.scale.iter().map(|&s| s as f32).collect(),
        weights,
        penalty,
    })
}

/// Out-of-fold (valence, arousal) predictions, one per row, and the penalties chosen per fold.
pub type CrossValidated = (Vec<[f32; 2]>, Vec<[f64; 2]>);

/// Out-of-fold predictions of one `folds`-fold cross-validation (every row its own group), each
/// with the intercept of its own data set, plus the penalties chosen per fold.
pub fn cross_validated_predictions(
    data: &RidgeData,
    folds: usize,
    seed: u64,
) -> Result<CrossValidated, LandscapeError> {
    let n = data.rows.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut fold_of = vec![0usize; n];
    for (position, &row) in order.iter().enumerate() {
        fold_of[row] = position % folds;
    }
    let mut predictions = vec![[0.0f32; 2]; n];
    let mut penalties = Vec::new();
    for fold in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != fold).collect();
        let model = fit(data, &train, seed.wrapping_add(fold as u64 + 1))?;
        penalties.push(model.penalty);
        for i in (0..n).filter(|&i| fold_of[i] == fold) {
            predictions[i] = model.predict(&data.rows[i], data.groups[i]);
        }
    }
    Ok((predictions, penalties))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [[2, 1], [1, 2]]
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0, 1.0, 2.0];
        cholesky_solve(&mut a, &mut b, 2, 2).unwrap();
        // Solution columns: [0.5, 0] and [-0.125, 0.75].
        let expected = [0.5, -0.125, 0.0, 0.75];
        for (x, e) in b.iter().zip(expected) {
            assert!((x - e).abs() < 1e-12, "{b:?}");
        }
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(cholesky_solve(&mut singular, &mut [1.0, 1.0], 2, 1).is_err());
    }

    #[test]
    fn recovers_a_linear_rule_with_group_offsets() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let rows: Vec<Vec<f32>> = (0..300)
            .map(|_| (0..8).map(|_| rng.gen_range(-1.0..1.0)).collect())
            .collect();
        let groups: Vec<usize> = (0..300).map(|i| i % 2).collect();
        let targets: Vec<[f32; 2]> = rows
            .iter()
            .zip(&groups)
            .map(|(r, &g)| [0.5 * r[0] - 0.3 * r[1] + 0.2 * g as f32, 0.4 * r[2]])
            .collect();
        let data = RidgeData {
            rows: &rows,
            targets: &targets,
            groups: &groups,
            group_count: 2,
        };
        let (predictions, _) = cross_validated_predictions(&data, 5, 1).unwrap();
        let error: f32 = predictions
            .iter()
            .zip(&targets)
            .map(|(p, t)| (p[0] - t[0]).abs() + (p[1] - t[1]).abs())
            .sum::<f32>()
            / 300.0;
        assert!(error < 0.05, "mean error {error}");
    }
}
