//! Loads the VA model for the analysis thread, reporting why when it cannot.

use super::{LiveState, VaPredictor};

/// Returns a predictor for the embedded model, or `None` with the reason in the live status.
/// The plugin keeps passing audio and metering either way.
pub fn load_predictor(live: &LiveState) -> Option<VaPredictor> {
    live.model_ready
        .store(false, std::sync::atomic::Ordering::Relaxed);
    live.set_model_status("no VA model in this build: the mood stays neutral");
    None
}
