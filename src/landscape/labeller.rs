//! Image valence/arousal labeller (v2): ridge regression on EfficientNet-Lite0's multi-level
//! features (the 1280-d pooled embedding and the channel means of stages 2-7,
//! [`EfficientNetLite0::multi_level_features`]), trained on people's ratings of photographs
//! (OASIS and Emotion6, see `models/image-va.md`). It labels the unlabelled landscape photographs
//! the GAN learns from, judges the GAN's own pictures, and rates pictures in the survey kit.
//!
//! Its output is on the OASIS raters' scale mapped to [-1, 1] ((x − 4) / 3), recalibrated by a
//! straight line fitted to its own cross-validated predictions against those ratings, so that a
//! label of +0.5 means "people would rate this about +0.5" rather than a ridge-shrunk value.
//!
//! The small ridge head (`models/image-va.bin`) is built into the binary; the network weights
//! (`models/efficientnet-lite0.safetensors`, 18.5 MB) are read from disk when a labeller is loaded.

use super::ridge::{self, RidgeData, RidgeModel};
use super::LandscapeError;
use crate::pretrained::efficientnet::{EfficientNetLite0, MULTI_LEVEL_DIM};
use crate::va::Va;
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Bumped whenever the head's layout or features change, so an old file is refused, not misread.
const FORMAT_VERSION: u32 = 3;

/// The committed labeller head, when it existed at build time.
#[cfg(has_image_va_model)]
static EMBEDDED: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/image-va.bin"
)));
#[cfg(not(has_image_va_model))]
static EMBEDDED: Option<&[u8]> = None;

/// The trained part of the labeller: the ridge model and its calibration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabellerHead {
    /// Guards against loading a head trained on a different feature layout.
    format_version: u32,
    /// Feature length the ridge expects ([`MULTI_LEVEL_DIM`]).
    feature_count: usize,
    /// Names of the data sets the ridge has an intercept for, in group order.
    pub group_names: Vec<String>,
    /// The data set whose intercept (rating scale) labels are given on.
    pub reference_group: usize,
    /// Per-data-set-intercept ridge regression on the embedding.
    pub ridge: RidgeModel,
    /// Per axis `(offset, slope)`: label = offset + slope × ridge output, fitted by least squares
    /// of the reference data set's ratings on its out-of-fold predictions.
    pub calibration: [(f32, f32); 2],
}

impl LabellerHead {
    /// Fits the ridge on all rows and attaches a calibration (fitted beforehand from
    /// cross-validated predictions).
    pub fn train(
        data: &RidgeData,
        group_names: Vec<String>,
        reference_group: usize,
        calibration: [(f32, f32); 2],
        seed: u64,
    ) -> Result<Self, LandscapeError> {
        if group_names.len() != data.group_count || reference_group >= data.group_count {
            return Err(LandscapeError::Model(
                "data set names do not match the groups".into(),
            ));
        }
        let all: Vec<usize> = (0..data.rows.len()).collect();
        let ridge = ridge::fit(data, &all, seed)?;
        Ok(Self {
            format_version: FORMAT_VERSION,
            feature_count: ridge.dim(),
            group_names,
            reference_group,
            ridge,
            calibration,
        })
    }

    /// Loads a head written by [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LandscapeError> {
        let head: Self = bincode::deserialize(bytes).map_err(|e| {
            LandscapeError::Model(format!("image VA labeller file is corrupt: {e}"))
        })?;
        let consistent = head
            .ridge
            .weights
            .iter()
            .all(|w| w.len() == head.feature_count)
            && head.ridge.feature_scale.len() == head.feature_count
            && head.ridge.group_feature_mean.len() == head.group_names.len()
            && head.ridge.group_target_mean.len() == head.group_names.len()
            && head
                .ridge
                .group_feature_mean
                .iter()
                .all(|m| m.len() == head.feature_count)
            && head.reference_group < head.group_names.len();
        if head.format_version != FORMAT_VERSION || head.feature_count != MULTI_LEVEL_DIM {
            return Err(LandscapeError::Model(format!(
                "image VA labeller file has format {} with {} features, expected {FORMAT_VERSION} with {MULTI_LEVEL_DIM} (retrain with `moodscape label-images`)",
                head.format_version, head.feature_count
            )));
        }
        if !consistent {
            return Err(LandscapeError::Model(
                "image VA labeller file is inconsistent (array lengths disagree)".into(),
            ));
        }
        Ok(head)
    }

    /// Serialises the head (bincode).
    pub fn to_bytes(&self) -> Result<Vec<u8>, LandscapeError> {
        bincode::serialize(self)
            .map_err(|e| LandscapeError::Model(format!("serialise labeller: {e}")))
    }

    /// The uncalibrated ridge output of an embedding on the reference data set's scale.
    pub fn raw(&self, embedding: &[f32]) -> [f32; 2] {
        self.ridge.predict(embedding, self.reference_group)
    }

    /// VA of an embedding: calibrated, clamped to [-1, 1].
    pub fn label_embedding(&self, embedding: &[f32]) -> Va {
        let raw = self.raw(embedding);
        let calibrated = |t: usize| {
            let (offset, slope) = self.calibration[t];
            (offset + slope * raw[t]).clamp(-1.0, 1.0)
        };
        Va {
            valence: calibrated(0),
            arousal: calibrated(1),
        }
    }
}

/// The image labeller: EfficientNet-Lite0 embedding + ridge head.
pub struct ImageVaLabeller {
    /// The trained head.
    head: LabellerHead,
    /// The embedding network.
    net: EfficientNetLite0,
}

impl ImageVaLabeller {
    /// The committed head (built in) with the network weights from
    /// [`EfficientNetLite0::default_weights_path`].
    pub fn embedded() -> Result<Self, LandscapeError> {
        let bytes = EMBEDDED.ok_or(LandscapeError::NoModel(
            "no image VA labeller was built in (models/image-va.bin missing at build time; run `moodscape label-images`)",
        ))?;
        let head = LabellerHead::from_bytes(bytes)?;
        let net =
            EfficientNetLite0::load_default().map_err(|e| LandscapeError::Model(e.to_string()))?;
        Ok(Self { head, net })
    }

    /// A labeller from a head and a loaded network.
    pub fn new(head: LabellerHead, net: EfficientNetLite0) -> Self {
        Self { head, net }
    }

    /// The head (for reports).
    pub fn head(&self) -> &LabellerHead {
        &self.head
    }

    /// The embedding network.
    pub fn net(&self) -> &EfficientNetLite0 {
        &self.net
    }

    /// The embedding of a picture the head reads ([`MULTI_LEVEL_DIM`] values).
    pub fn embed(&self, image: &RgbImage) -> Result<Vec<f32>, LandscapeError> {
        self.net
            .multi_level_features(image)
            .map_err(|e| LandscapeError::Model(e.to_string()))
    }

    /// VA of one picture (any size: it is resized as the network expects).
    pub fn label(&self, image: &RgbImage) -> Result<Va, LandscapeError> {
        Ok(self.head.label_embedding(&self.embed(image)?))
    }

    /// VA of many pictures.
    pub fn label_images(&self, images: &[RgbImage]) -> Result<Vec<Va>, LandscapeError> {
        images.iter().map(|image| self.label(image)).collect()
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

/// Least-squares line `actual ≈ offset + slope × predicted`.
pub fn calibration_line(predicted: &[f64], actual: &[f64]) -> (f32, f32) {
    let n = actual.len().max(1) as f64;
    let mean_a = actual.iter().sum::<f64>() / n;
    let mean_p = predicted.iter().sum::<f64>() / n;
    let cov: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - mean_p) * (a - mean_a))
        .sum();
    let var_p: f64 = predicted.iter().map(|p| (p - mean_p).powi(2)).sum();
    let slope = cov / var_p.max(1e-12);
    ((mean_a - slope * mean_p) as f32, slope as f32)
}
