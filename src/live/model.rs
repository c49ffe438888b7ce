//! Loads the embedded VA model and the MusiCNN network once per process for every analysis
//! thread, reporting why when it cannot.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use super::{LiveState, MoodEstimator};
use crate::va::mood_analyzer::shared_network;
use crate::va::VaModel;

/// The embedded model, parsed on first use and shared by every plugin instance in the process.
fn shared_model() -> &'static Result<Arc<VaModel>, String> {
    static MODEL: OnceLock<Result<Arc<VaModel>, String>> = OnceLock::new();
    MODEL.get_or_init(|| VaModel::embedded().map(Arc::new).map_err(|e| e.to_string()))
}

/// Returns the model and the network it needs, or `None` with the reason in the live status.
/// The plugin keeps passing audio and metering either way.
pub fn load_predictor(live: &LiveState) -> Option<MoodEstimator> {
    estimator_from(shared_model(), shared_network(), live)
}

/// The estimator for a model and a network, or `None` with the first reason in the status.
pub(crate) fn estimator_from(
    model: &Result<Arc<VaModel>, String>,
    network: &Result<Arc<crate::pretrained::musicnn::Musicnn>, String>,
    live: &LiveState,
) -> Option<MoodEstimator> {
    let outcome = match (model, network) {
        (Ok(model), Ok(network)) => Ok((model.clone(), network.clone())),
        (Err(error), _) | (_, Err(error)) => Err(error.clone()),
    };
    match outcome {
        Ok((model, network)) => {
            live.model_ready.store(true, Ordering::Relaxed);
            live.set_model_status(format!(
                "VA model ready (MusiCNN + {} features, engine schema v{})",
                model.feature_names.len(),
                model.schema_version
            ));
            Some(MoodEstimator {
                predict: Box::new(move |row| model.predict_values(row)),
                network: Some(network),
            })
        }
        Err(error) => {
            live.model_ready.store(false, Ordering::Relaxed);
            live.set_model_status(format!("no mood estimate: {error}"));
            None
        }
    }
}
