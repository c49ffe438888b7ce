//! Ridge regression on standardised features: a cheap, fast comparison for the forest.

use super::dataset::Rows;
use super::model::Linear;

/// Fits ridge regression on `train_rows` with penalty `lambda_per_row * rows` on the
/// standardised weights (fixed in advance; see the model card).
pub fn fit_ridge(
    rows: &Rows,
    train_rows: &[usize],
    targets: &[f32],
    lambda_per_row: f64,
) -> Linear {
    let p = rows.n_features;
    let n = train_rows.len().max(1) as f64;
    let mut mean = vec![0f64; p];
    for &row in train_rows {
        for (m, &x) in mean.iter_mut().zip(rows.row(row)) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut scale = vec![0f64; p];
    for &row in train_rows {
        for ((s, &x), m) in scale.iter_mut().zip(rows.row(row)).zip(&mean) {
            *s += (x as f64 - m).powi(2);
        }
    }
    // Constant columns get scale 1 so they standardise to 0 and carry no weight.
    scale
        .iter_mut()
        .for_each(|s| *s = if *s > 0.0 { (*s / n).sqrt() } else { 1.0 });
    let y_mean = train_rows.iter().map(|&r| targets[r] as f64).sum::<f64>() / n;

    let mut gram = vec![0f64; p * p];
    let mut xty = vec![0f64; p];
    let mut z = vec![0f64; p];
    for &row in train_rows {
        for (j, &x) in rows.row(row).iter().enumerate() {
            z[j] = (x as f64 - mean[j]) / scale[j];
        }
        let y = targets[row] as f64 - y_mean;
        for i in 0..p {
            xty[i] += z[i] * y;
            for j in 0..=i {
                gram[i * p + j] += z[i] * z[j];
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            gram[j * p + i] = gram[i * p + j];
        }
        gram[i * p + i] += lambda_per_row * n;
    }
    let weights = solve_spd(gram, xty, p);
    Linear {
        mean: mean.iter().map(|&m| m as f32).collect(),
        scale: scale.iter().map(|&s| s as f32).collect(),
        weights: weights.iter().map(|&w| w as f32).collect(),
        bias: y_mean as f32,
    }
}

/// Solves `a x = b` for symmetric positive definite `a` (row-major p x p) by Cholesky.
pub(crate) fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>, p: usize) -> Vec<f64> {
    for j in 0..p {
        let mut diagonal = a[j * p + j];
        for k in 0..j {
            diagonal -= a[j * p + k] * a[j * p + k];
        }
        let diagonal = diagonal.max(1e-12).sqrt();
        a[j * p + j] = diagonal;
        for i in j + 1..p {
            let mut value = a[i * p + j];
            for k in 0..j {
                value -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = value / diagonal;
        }
    }
    for i in 0..p {
        for k in 0..i {
            b[i] -= a[i * p + k] * b[k];
        }
        b[i] /= a[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            b[i] -= a[k * p + i] * b[k];
        }
        b[i] /= a[i * p + i];
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_linear_relation() {
        let mut rows = Rows::new(2);
        let mut targets = Vec::new();
        for i in 0..200 {
            let (a, b) = ((i % 17) as f32, (i % 5) as f32 * 3.0);
            rows.push(&[a, b]);
            targets.push(2.0 * a - b + 1.0);
        }
        let all: Vec<usize> = (0..200).collect();
        let model = fit_ridge(&rows, &all, &targets, 1e-9);
        for i in [0, 37, 199] {
            let row = rows.row(i);
            let predicted = model.predict_by(|j| row[j]);
            assert!(
                (predicted - targets[i]).abs() < 1e-3,
                "{predicted} vs {}",
                targets[i]
            );
        }
    }
}
