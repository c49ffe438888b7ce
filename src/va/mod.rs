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
    /// Quadrant of Russell's circumplex as in the 4Q dataset: Q1 +V+A, Q2 -V+A, Q3 -V-A, Q4 +V-A.
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
pub mod summary;
pub mod targets;
pub mod train;

pub use model::{VaModel, VaModelError};
pub use summary::{ClipAccumulator, ClipSummary, VaColumns};
