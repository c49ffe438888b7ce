//! Pretrained networks, ported to candle: each one converted once from a registry package into
//! `models/*.safetensors` (see its model card for origin, licence, sha256 and the conversion
//! command) and proven against its reference implementation by a committed fixture test.
//!
//! - [`musicnn`]: MSD-MusiCNN (Pons & Serra 2019), music embeddings and tags for the mood model.
//! - [`efficientnet`]: EfficientNet-Lite0 (ImageNet), image embeddings for the image mood judge.
//! - [`upscaler`]: Real-ESRGAN `realesr-animevideov3`, the 4× landscape upscaler.
//!
//! Like the rest of the DSP and ML code, nothing here knows about the plugin.

pub mod efficientnet;
pub mod musicnn;
pub mod upscaler;

use std::collections::HashMap;
use std::fmt;

use candle_core::{Device, Tensor};

/// Why a pretrained network could not be loaded or run.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainedError {
    /// Which network, as users know it (e.g. "MusiCNN").
    pub network: &'static str,
    /// What went wrong, one line.
    pub reason: String,
}

impl PretrainedError {
    pub fn new(network: &'static str, reason: impl Into<String>) -> Self {
        Self {
            network,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for PretrainedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.network, self.reason)
    }
}

impl std::error::Error for PretrainedError {}

/// Reads a safetensors file's bytes and checks that it holds exactly the tensors `expected`
/// names with exactly those shapes, so a corrupt, truncated or foreign file is rejected with a
/// message instead of failing (or panicking) later inside a forward pass.
pub fn load_checked(
    network: &'static str,
    bytes: &[u8],
    expected: &[(&str, &[usize])],
) -> Result<HashMap<String, Tensor>, PretrainedError> {
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|error| PretrainedError::new(network, format!("unreadable weights: {error}")))?;
    for (name, shape) in expected {
        let tensor = tensors.get(*name).ok_or_else(|| {
            PretrainedError::new(network, format!("weights lack tensor `{name}`"))
        })?;
        if tensor.dims() != *shape {
            return Err(PretrainedError::new(
                network,
                format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    tensor.dims()
                ),
            ));
        }
    }
    if tensors.len() != expected.len() {
        return Err(PretrainedError::new(
            network,
            format!(
                "weights hold {} tensors, expected {}",
                tensors.len(),
                expected.len()
            ),
        ));
    }
    Ok(tensors)
}
