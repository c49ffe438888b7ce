//! The music analysis engine: one code path for the plugin, the CLI and the trainer.
//!
//! CONTRACT (shared by the plugin thread, the CLI and the VA trainer; keep these signatures):
//! - `Analyzer::new(input_rate, channels, AnalyzerConfig)` allocates everything up front.
//! - `Analyzer::push_interleaved(&mut self, &[f32], |&FeatureSummary| ..)` accepts any block length.
//! - a `FeatureSummary` is emitted every `hop_seconds` (0.5 s) over the last `window_seconds` (10 s).
//! - `feature_names()` names `FeatureSummary::values` in order; `SCHEMA_VERSION` changes whenever
//!   that list or any definition changes.

use serde::{Deserialize, Serialize};

/// Sample rate every input is resampled to before framing.
pub const INTERNAL_RATE: u32 = 22_050;

/// Bumped whenever the meaning or order of `FeatureSummary::values` changes.
pub const SCHEMA_VERSION: u32 = 0;

/// How the rolling summary is taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    /// Length of the rolling window that one summary describes.
    pub window_seconds: f32,
    /// Time between two summaries.
    pub hop_seconds: f32,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            window_seconds: 10.0,
            hop_seconds: 0.5,
        }
    }
}

/// Major or minor, as estimated by key finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Major,
    Minor,
}

/// One rolling summary: the headline values plus the whole named vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FeatureSummary {
    /// Seconds of input consumed when this summary was taken (end of its window).
    pub t: f64,
    /// Tempo estimate in beats per minute.
    pub tempo_bpm: f32,
    /// Tonic pitch class, 0 = C … 11 = B.
    pub key: u8,
    /// Major or minor.
    pub mode: Mode,
    /// K-weighted loudness of the window, LUFS-style (dB).
    pub loudness_db: f32,
    /// RMS level of the window in dBFS.
    pub rms_db: f32,
    /// Every feature, in the order of [`feature_names`].
    pub values: Vec<f32>,
}

/// Names of `FeatureSummary::values`, in order.
pub fn feature_names() -> &'static [&'static str] {
    &[]
}

/// Streaming analyser (placeholder body until the engine lands: emits level only).
pub struct Analyzer {
    _config: AnalyzerConfig,
}

impl Analyzer {
    pub fn new(_input_rate: f64, _channels: usize, config: AnalyzerConfig) -> Self {
        Self { _config: config }
    }

    pub fn push_interleaved(&mut self, _samples: &[f32], _on_summary: impl FnMut(&FeatureSummary)) {}

    pub fn reset(&mut self) {}
}
