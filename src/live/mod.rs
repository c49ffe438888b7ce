//! The live pipeline between the audio thread and everything that reads the mood.
//!
//! Nothing here knows about plugin types, so the same pieces are tested and benchmarked alone and
//! reused by the CLI's `demo`.
//!
//! Real-time guarantees, in the spirit of rubato's: [`CaptureWriter::write_block`] and
//! [`CcScheduler::poll`] never allocate, lock, block or make system calls; they only copy samples
//! into a pre-allocated lock-free SPSC ring and touch atomics. Everything that may allocate (the
//! analyser, the VA model) runs on the [`AnalysisWorker`] thread.

mod analysis_worker;
mod capture;
mod keyframes;
mod landscape_worker;
mod level_meter;
mod midi_cc;
mod model;
mod morph;
pub mod osc;
mod state;

pub use analysis_worker::{
    AnalysisControls, AnalysisWorker, LivePipeline, MoodEstimator, VaPredictor,
    DEFAULT_SMOOTHING_MS,
};
pub use capture::{capture_ring, CaptureReader, CaptureWriter, RING_SECONDS};
pub use keyframes::{KeyframePolicy, KeyframeRequest};
pub use landscape_worker::{Keyframe, LandscapeUpdate, LandscapeWorker};
pub use level_meter::LevelMeter;
pub use midi_cc::{va_to_cc, CcEvent, CcScheduler, CcTarget};
pub use model::load_predictor;
pub use morph::{drift_view, render_view, Morph, View};
pub use osc::{OscConfig, OscFrame, OscSender, OscSettings};
pub use state::LiveState;

/// The highest sample rate the plugin promises to handle; the ring is sized for it.
pub const MAX_SAMPLE_RATE: f32 = 192_000.0;
