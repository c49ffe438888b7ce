//! Image valence/arousal labeller: random forests from [`super::features`] to VA, trained on
//! OASIS (Kurdi et al. 2017). It labels the unlabelled landscape photographs the GAN learns from
//! and, later, the GAN's own images to measure whether their mood follows the conditioning.

use super::features::{image_features, FEATURE_COUNT};
use super::LandscapeError;
use crate::va::Va;
use image::RgbImage;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// Bumped whenever the feature set changes, so an old model file is refused instead of misread.
const FORMAT_VERSION: u32 = 1;

/// One forest per target.
type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// The committed labeller, when it existed at build time.
#[cfg(has_image_va_model)]
static EMBEDDED: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/image-va.bin"
)));
#[cfg(not(has_image_va_model))]
static EMBEDDED: Option<&[u8]> = None;

/// Forests fitted once; the hyperparameters are fixed in advance, never tuned on test folds.
pub fn forest_parameters(seed: u64) -> RandomForestRegressorParameters {
    RandomForestRegressorParameters::default()
        .with_n_trees(100)
        .with_min_samples_leaf(5)
        .with_m(12)
        .with_seed(seed)
}

/// Valence and arousal regressors over image features.
#[derive(Serialize, Deserialize)]
pub struct ImageVaLabeller {
    /// Guards against loading a model trained on a different feature layout.
    format_version: u32,
    /// Number of features the forests expect (checked before predicting).
    feature_count: usize,
    /// Valence on [-1, 1] from features.
    valence: Forest,
    /// Arousal on [-1, 1] from features.
    arousal: Forest,
}

/// Converts feature rows to smartcore's matrix type.
fn to_matrix(rows: &[[f32; FEATURE_COUNT]]) -> Result<DenseMatrix<f64>, LandscapeError> {
    let values: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| row.iter().map(|&v| v as f64).collect())
        .collect();
    DenseMatrix::from_2d_vec(&values)
        .map_err(|e| LandscapeError::Model(format!("feature matrix: {e}")))
}

impl ImageVaLabeller {
    /// Fits both forests on all given images.
    pub fn train(
        rows: &[[f32; FEATURE_COUNT]],
        targets: &[Va],
        seed: u64,
    ) -> Result<Self, LandscapeError> {
        if rows.len() != targets.len() || rows.len() < 10 {
            return Err(LandscapeError::Model(format!(
                "need matching features and targets (at least 10), got {} and {}",
                rows.len(),
                targets.len()
            )));
        }
        let x = to_matrix(rows)?;
        let fit = |y: Vec<f64>, seed: u64| {
            Forest::fit(&x, &y, forest_parameters(seed))
                .map_err(|e| LandscapeError::Model(format!("forest fit: {e}")))
        };
        Ok(Self {
            format_version: FORMAT_VERSION,
            feature_count: FEATURE_COUNT,
            valence: fit(targets.iter().map(|va| va.valence as f64).collect(), seed)?,
            arousal: fit(
                targets.iter().map(|va| va.arousal as f64).collect(),
                seed + 1,
            )?,
        })
    }

    /// Loads a labeller written by [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LandscapeError> {
        let model: Self = bincode::deserialize(bytes).map_err(|e| {
            LandscapeError::Model(format!("image VA labeller file is corrupt: {e}"))
        })?;
        if model.format_version != FORMAT_VERSION || model.feature_count != FEATURE_COUNT {
            return Err(LandscapeError::Model(format!(
                "image VA labeller has format {} with {} features, expected {FORMAT_VERSION} with {FEATURE_COUNT}",
                model.format_version, model.feature_count
            )));
        }
        Ok(model)
    }

    /// Serialises the labeller (bincode).
    pub fn to_bytes(&self) -> Result<Vec<u8>, LandscapeError> {
        bincode::serialize(self)
            .map_err(|e| LandscapeError::Model(format!("serialise labeller: {e}")))
    }

    /// The labeller committed in `models/image-va.bin`, built into the binary.
    pub fn embedded() -> Result<Self, LandscapeError> {
        match EMBEDDED {
            Some(bytes) => Self::from_bytes(bytes),
            None => Err(LandscapeError::NoModel(
                "no image VA labeller was built in (models/image-va.bin missing at build time; run `moodscape label-images`)",
            )),
        }
    }

    /// VA of many feature rows at once (much faster than one by one).
    pub fn label_features(&self, rows: &[[f32; FEATURE_COUNT]]) -> Result<Vec<Va>, LandscapeError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let x = to_matrix(rows)?;
        let predict = |forest: &Forest| {
            forest
                .predict(&x)
                .map_err(|e| LandscapeError::Model(format!("forest predict: {e}")))
        };
        let valence = predict(&self.valence)?;
        let arousal = predict(&self.arousal)?;
        Ok(valence
            .iter()
            .zip(&arousal)
            .map(|(&v, &a)| Va {
                valence: (v as f32).clamp(-1.0, 1.0),
                arousal: (a as f32).clamp(-1.0, 1.0),
            })
            .collect())
    }

    /// VA of one image.
    pub fn label(&self, image: &RgbImage) -> Result<Va, LandscapeError> {
        Ok(self.label_features(&[image_features(image)])?[0])
    }
}

/// Coefficient of determination and Pearson correlation of predictions against targets.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FitScore {
    /// Share of target variance explained (can be negative).
    pub r2: f64,
    /// Pearson correlation between predictions and targets.
    pub r: f64,
}

/// Scores `predicted` against `actual`.
pub fn fit_score(predicted: &[f64], actual: &[f64]) -> FitScore {
    let n = actual.len().max(1) as f64;
    let mean_a = actual.iter().sum::<f64>() / n;
    let mean_p = predicted.iter().sum::<f64>() / n;
    let ss_res: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).powi(2))
        .sum();
    let ss_tot: f64 = actual.iter().map(|a| (a - mean_a).powi(2)).sum();
    let cov: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - mean_p) * (a - mean_a))
        .sum();
    let var_p: f64 = predicted.iter().map(|p| (p - mean_p).powi(2)).sum();
    FitScore {
        r2: 1.0 - ss_res / ss_tot.max(1e-12),
        r: cov / (var_p * ss_tot).sqrt().max(1e-12),
    }
}

/// Out-of-fold predictions of a k-fold cross-validation where every image is its own group.
pub fn cross_validated_predictions(
    rows: &[[f32; FEATURE_COUNT]],
    targets: &[Va],
    folds: usize,
    seed: u64,
) -> Result<Vec<Va>, LandscapeError> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut predictions = vec![Va::default(); rows.len()];
    for fold in 0..folds {
        let test: Vec<usize> = order.iter().copied().skip(fold).step_by(folds).collect();
        let train: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !test.contains(i))
            .collect();
        let model = ImageVaLabeller::train(
            &train.iter().map(|&i| rows[i]).collect::<Vec<_>>(),
            &train.iter().map(|&i| targets[i]).collect::<Vec<_>>(),
            seed + fold as u64 * 2,
        )?;
        let predicted = model.label_features(&test.iter().map(|&i| rows[i]).collect::<Vec<_>>())?;
        for (&i, va) in test.iter().zip(predicted) {
            predictions[i] = va;
        }
    }
    Ok(predictions)
}
