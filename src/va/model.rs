//! The valence/arousal model the plugin and the CLI run, and its file format.
//!
//! File layout (little endian):
//! `b"MSCAPEVA"`, format version (u32), analysis `SCHEMA_VERSION` (u32), feature count (u32),
//! then each feature name as u16 length + UTF-8, then a bincode payload ([`Payload`]).
//! Everything is verified on load: a file that fails any check is rejected with a message that
//! says which check failed, and nothing in it can make prediction panic.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::forest::Forest;
use super::Va;
use crate::analysis;

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"MSCAPEVA";
/// Bumped whenever the payload layout changes.
pub const FORMAT_VERSION: u32 = 2;
/// Largest payload we agree to decode, so a corrupt length can never trigger a huge allocation.
const PAYLOAD_LIMIT: u64 = 256 << 20;
/// Standardised inputs of the linear part are clipped here so hostile values cannot overflow it.
const Z_CLIP: f32 = 8.0;

/// Why a model could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum VaModelError {
    /// No model was committed when this binary was built.
    Missing,
    /// The bytes are not a valid model file (wrong magic, truncated, inconsistent, undecodable).
    Corrupt(String),
    /// A model file from a newer or older file format.
    FormatVersion {
        /// Version written in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The model was trained on another analysis feature schema.
    SchemaMismatch {
        /// Schema version the model was trained on.
        model: u32,
        /// Schema version of this build's analysis engine.
        engine: u32,
        /// What differs, for the message.
        detail: String,
    },
}

impl fmt::Display for VaModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(
                f,
                "no valence/arousal model is built into this binary (models/va-forest.bin was \
                 missing at build time); train one with `cargo xtask train-va` and rebuild"
            ),
            Self::Corrupt(why) => write!(f, "the valence/arousal model file is corrupt: {why}"),
            Self::FormatVersion { found, expected } => write!(
                f,
                "the valence/arousal model uses file format v{found}, this build reads \
                 v{expected}; retrain with `cargo xtask train-va`"
            ),
            Self::SchemaMismatch {
                model,
                engine,
                detail,
            } => write!(
                f,
                "the valence/arousal model was trained on analysis feature schema v{model}, but \
                 this engine produces schema v{engine} ({detail}); retrain with \
                 `cargo xtask train-va`"
            ),
        }
    }
}

impl std::error::Error for VaModelError {}

/// A standardised linear model (ridge regression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Linear {
    /// Per-feature training mean, subtracted first.
    pub mean: Vec<f32>,
    /// Per-feature training standard deviation, divided by next.
    pub scale: Vec<f32>,
    /// One weight per standardised feature.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
}

impl Linear {
    /// Prediction from a feature accessor.
    pub fn predict_by(&self, feature: impl Fn(usize) -> f32) -> f32 {
        let mut sum = self.bias;
        for (index, ((&mean, &scale), &weight)) in self
            .mean
            .iter()
            .zip(&self.scale)
            .zip(&self.weights)
            .enumerate()
        {
            let z = ((feature(index) - mean) / scale).clamp(-Z_CLIP, Z_CLIP);
            sum += if z.is_finite() { z * weight } else { 0.0 };
        }
        sum
    }

    fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.weights.is_empty() {
            return Ok(());
        }
        if self.mean.len() != n_features
            || self.scale.len() != n_features
            || self.weights.len() != n_features
        {
            return Err("linear model has the wrong width".into());
        }
        let finite = self.mean.iter().chain(&self.weights).all(|v| v.is_finite())
            && self.scale.iter().all(|s| s.is_finite() && *s > 0.0)
            && self.bias.is_finite();
        if finite {
            Ok(())
        } else {
            Err("linear model holds non-finite or non-positive values".into())
        }
    }
}

/// The predictor of one axis: a forest, optionally blended with a linear model, then calibrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TargetModel {
    /// The random forest.
    pub forest: Forest,
    /// Optional ridge model (empty weights = unused).
    pub linear: Linear,
    /// Share of the forest in the blend `w * forest + (1 - w) * linear`.
    pub forest_weight: f32,
    /// Calibration intercept, fitted on out-of-bag predictions of the training clips.
    pub offset: f32,
    /// Calibration slope; counters the forest's shrinkage toward the mean.
    pub slope: f32,
}

impl TargetModel {
    /// Uncalibrated blend.
    pub fn raw_by(&self, feature: impl Fn(usize) -> f32 + Copy) -> f32 {
        let forest = self.forest.predict_by(feature);
        if self.linear.weights.is_empty() {
            return forest;
        }
        let linear = self.linear.predict_by(feature);
        self.forest_weight * forest + (1.0 - self.forest_weight) * linear
    }

    /// Calibrated prediction on [-1, 1].
    pub fn predict_by(&self, feature: impl Fn(usize) -> f32 + Copy) -> f32 {
        let value = self.offset + self.slope * self.raw_by(feature);
        if value.is_finite() {
            value.clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }

    fn validate(&self, n_features: usize) -> Result<(), String> {
        // A linear-only head carries no trees and gives the forest no weight.
        let linear_only = self.forest.trees.is_empty() && self.forest_weight == 0.0;
        if linear_only && self.linear.weights.is_empty() {
            return Err("neither trees nor linear weights".into());
        }
        if !linear_only {
            self.forest.validate(n_features)?;
        }
        self.linear.validate(n_features)?;
        let finite = [self.forest_weight, self.offset, self.slope]
            .iter()
            .all(|v| v.is_finite());
        if !finite || !(0.0..=1.0).contains(&self.forest_weight) {
            return Err("blend or calibration values are invalid".into());
        }
        Ok(())
    }
}

/// Everything after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// Value used for a non-finite feature: the training median of that feature.
    pub fill: Vec<f32>,
    /// Valence predictor.
    pub valence: TargetModel,
    /// Arousal predictor.
    pub arousal: TargetModel,
    /// One line on how the model was made (clips, command), shown by the CLI.
    pub provenance: String,
}

/// A loaded, verified valence/arousal model.
#[derive(Debug, Clone, PartialEq)]
pub struct VaModel {
    /// Analysis schema the model was trained on.
    pub schema_version: u32,
    /// Feature names the model was trained on, in column order.
    pub feature_names: Vec<String>,
    /// Predictors and fill values.
    pub payload: Payload,
}

#[cfg(has_va_model)]
static EMBEDDED: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/va-forest.bin"));

/// Reads little-endian fields from a byte slice, reporting truncation instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], VaModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| VaModelError::Corrupt(format!("file truncated in {what}")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self, what: &str) -> Result<u32, VaModelError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u16(&mut self, what: &str) -> Result<u16, VaModelError> {
        let bytes = self.take(2, what)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .with_limit(PAYLOAD_LIMIT)
}

impl VaModel {
    /// The model committed in `models/va-forest.bin`, carried inside this binary.
    pub fn embedded() -> Result<VaModel, VaModelError> {
        #[cfg(has_va_model)]
        {
            Self::from_bytes(EMBEDDED)
        }
        #[cfg(not(has_va_model))]
        {
            Err(VaModelError::Missing)
        }
    }

    /// Reads a model file from disk.
    pub fn load(path: &std::path::Path) -> Result<VaModel, VaModelError> {
        let bytes = std::fs::read(path).map_err(|error| {
            VaModelError::Corrupt(format!("cannot read {}: {error}", path.display()))
        })?;
        Self::from_bytes(&bytes)
    }

    /// Parses and verifies a model file against this build's analysis engine.
    pub fn from_bytes(bytes: &[u8]) -> Result<VaModel, VaModelError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len(), "the header").ok() != Some(MAGIC.as_slice()) {
            return Err(VaModelError::Corrupt(
                "it does not start with the Moodscape VA model signature".into(),
            ));
        }
        let format = reader.u32("the format version")?;
        if format != FORMAT_VERSION {
            return Err(VaModelError::FormatVersion {
                found: format,
                expected: FORMAT_VERSION,
            });
        }
        let schema_version = reader.u32("the schema version")?;
        let n_features = reader.u32("the feature count")? as usize;
        // Each name takes at least two bytes, which bounds a corrupt count before allocating.
        if n_features > bytes.len() / 2 {
            return Err(VaModelError::Corrupt("impossible feature count".into()));
        }
        let mut feature_names = Vec::with_capacity(n_features);
        for _ in 0..n_features {
            let length = reader.u16("a feature name")? as usize;
            let name = reader.take(length, "a feature name")?;
            let name = std::str::from_utf8(name)
                .map_err(|_| VaModelError::Corrupt("a feature name is not UTF-8".into()))?;
            feature_names.push(name.to_string());
        }
        let engine_names = super::mood::mood_feature_names();
        if schema_version != analysis::SCHEMA_VERSION {
            return Err(VaModelError::SchemaMismatch {
                model: schema_version,
                engine: analysis::SCHEMA_VERSION,
                detail: format!(
                    "{} features in the model, {} in the engine",
                    feature_names.len(),
                    engine_names.len()
                ),
            });
        }
        if feature_names.len() != engine_names.len()
            || feature_names.iter().zip(engine_names).any(|(a, b)| a != b)
        {
            let first_difference = feature_names
                .iter()
                .zip(engine_names)
                .position(|(a, b)| a != b)
                .unwrap_or(feature_names.len().min(engine_names.len()));
            return Err(VaModelError::SchemaMismatch {
                model: schema_version,
                engine: analysis::SCHEMA_VERSION,
                detail: format!(
                    "same version number but different features: {} in the model, {} in the \
                     engine, first difference at column {first_difference}",
                    feature_names.len(),
                    engine_names.len()
                ),
            });
        }
        let rest = &bytes[reader.at..];
        // bincode reports malformed input as errors; the guard only adds certainty that no
        // future decoder change can turn a corrupt file into a crash of the host.
        let decoded = std::panic::catch_unwind(|| {
            use bincode::Options;
            bincode_options().deserialize::<Payload>(rest)
        });
        let payload = match decoded {
            Ok(Ok(payload)) => payload,
            Ok(Err(error)) => {
                return Err(VaModelError::Corrupt(format!(
                    "payload undecodable: {error}"
                )))
            }
            Err(_) => return Err(VaModelError::Corrupt("payload decoder panicked".into())),
        };
        if payload.fill.len() != n_features || payload.fill.iter().any(|v| !v.is_finite()) {
            return Err(VaModelError::Corrupt(
                "fill values do not match the features".into(),
            ));
        }
        for (axis, model) in [("valence", &payload.valence), ("arousal", &payload.arousal)] {
            model
                .validate(n_features)
                .map_err(|why| VaModelError::Corrupt(format!("{axis} predictor: {why}")))?;
        }
        Ok(VaModel {
            schema_version,
            feature_names,
            payload,
        })
    }

    /// Serialises the model in the file format [`from_bytes`](Self::from_bytes) reads.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        use bincode::Options;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&self.schema_version.to_le_bytes());
        bytes.extend_from_slice(&(self.feature_names.len() as u32).to_le_bytes());
        for name in &self.feature_names {
            let length = u16::try_from(name.len())?;
            bytes.extend_from_slice(&length.to_le_bytes());
            bytes.extend_from_slice(name.as_bytes());
        }
        bytes.extend(bincode_options().serialize(&self.payload)?);
        Ok(bytes)
    }

    /// Valence and arousal of one mood row ([`super::mood::assemble_row`]): finite, on
    /// [-1, 1], never panics and never allocates. Non-finite features are replaced by their
    /// training median; missing ones too.
    pub fn predict_values(&self, values: &[f32]) -> Va {
        let fill = &self.payload.fill;
        let feature = |index: usize| match values.get(index) {
            Some(value) if value.is_finite() => *value,
            _ => fill.get(index).copied().unwrap_or(0.0),
        };
        Va {
            valence: self.payload.valence.predict_by(feature),
            arousal: self.payload.arousal.predict_by(feature),
        }
    }
}
