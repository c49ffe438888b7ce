//! Valence/arousal prediction from analysis summaries.
//!
//! CONTRACT: `VaModel::from_bytes`, `VaModel::embedded()`, `VaModel::predict(&FeatureSummary) -> Va`.
//! VA is on [-1, 1] everywhere public.

use serde::{Deserialize, Serialize};

/// A point on Russell's circumplex, both axes on [-1, 1], 0 neutral.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Va {
    /// Unpleasant (-1) to pleasant (+1).
    pub valence: f32,
    /// Calm (-1) to excited (+1).
    pub arousal: f32,
}

impl Va {
    /// Quadrant of Russell's circumplex as in the 4Q dataset: Q1 +V+A (pleasant-excited), Q2 -V+A
    /// (unpleasant-excited), Q3 -V-A (unpleasant-calm), Q4 +V-A (pleasant-calm).
    ///
    /// Convention on the axes: exactly 0 (and -0.0) counts as positive, so neutral (0, 0) is Q1,
    /// (0, -0.1) is Q4 and (-0.1, 0) is Q2. A non-finite axis (never produced by the model)
    /// counts as negative.
    pub fn quadrant(self) -> u8 {
        match (self.valence >= 0.0, self.arousal >= 0.0) {
            (true, true) => 1,
            (false, true) => 2,
            (false, false) => 3,
            (true, false) => 4,
        }
    }
}

pub mod card;
pub mod dataset;
pub mod evaluation;
pub mod features;
pub mod folds;
pub mod forest;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod mood;
pub mod mood_analyzer;
pub mod silence;
pub mod summary;
pub mod targets;
pub mod train;

pub use model::{VaModel, VaModelError};
pub use silence::{SilenceGate, SILENCE_THRESHOLD_DB, SILENCE_WINDOW_SECONDS};
pub use summary::{ClipAccumulator, ClipSummary, VaColumns};

#[cfg(test)]
mod tests {
    use super::Va;

    fn quadrant(valence: f32, arousal: f32) -> u8 {
        Va { valence, arousal }.quadrant()
    }

    #[test]
    fn zero_counts_as_positive_on_both_axes() {
        assert_eq!(quadrant(0.0, 0.0), 1);
        assert_eq!(quadrant(-0.0, -0.0), 1);
        assert_eq!(quadrant(0.0, -1e-6), 4);
        assert_eq!(quadrant(-1e-6, 0.0), 2);
        assert_eq!(quadrant(-1e-6, -1e-6), 3);
        assert_eq!(quadrant(f32::NAN, f32::NAN), 3);
    }
}
