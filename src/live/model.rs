//! Loads the embedded VA model once per process for every analysis thread, reporting why when it
//! cannot.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use super::{LiveState, VaPredictor};
use crate::va::VaModel;

/// The embedded model, parsed on first use and shared by every plugin instance in the process.
fn shared_model() -> &'static Result<Arc<VaModel>, String> {
    static MODEL: OnceLock<Result<Arc<VaModel>, String>> = OnceLock::new();
    MODEL.get_or_init(|| VaModel::embedded().map(Arc::new).map_err(|e| e.to_string()))
}

/// Returns a predictor for the embedded model, or `None` with the reason in the live status.
/// The plugin keeps passing audio and metering either way.
pub fn load_predictor(live: &LiveState) -> Option<VaPredictor> {
    match shared_model() {
        Ok(model) => {
            live.model_ready.store(true, Ordering::Relaxed);
            live.set_model_status(format!(
                "VA model ready ({} features, schema v{})",
                model.feature_names.len(),
                model.schema_version
            ));
            let model = model.clone();
            Some(Box::new(move |summary| model.predict(summary)))
        }
        Err(error) => {
            live.model_ready.store(false, Ordering::Relaxed);
            live.set_model_status(error.clone());
            None
        }
    }
}
