//! Real-ESRGAN `realesr-animevideov3`, the 4× upscaler that turns the generator's 64 px
//! landscapes into the 256 px pictures people see (Xintao Wang et al., BSD-3; see
//! `models/upscaler-x4.md` for origin, licence, attribution and the conversion command).
//!
//! SRVGGNetCompact: a plain chain of 3×3 convolutions (3→64, 16 × 64→64, 64→48), each but the
//! last followed by a per-channel PReLU; the 48 channels are pixel-shuffled ×4 into RGB and added
//! to the nearest-upsampled input, so the network only learns the detail. All the work runs at
//! the input resolution. Convolutions reuse the landscape's NHWC im2col + gemm [`Conv3x3`]; bias
//! and PReLU, and pixel shuffle and residual, each run as one fused single-threaded pass.
//!
//! Like [`crate::landscape::Generator`], [`Upscaler`] runs every candle call inside its own
//! one-thread rayon pool, so a 64→256 upscale costs one core and never fans out over the host.

use candle_core::{CpuStorage, CustomOp2, DType, Device, Layout, Shape, Tensor};
use candle_nn::VarBuilder;
use image::RgbImage;
use std::collections::HashMap;

use super::{load_checked, PretrainedError};
use crate::landscape::layers::Conv3x3;
use crate::matmul::contiguous_f32;

/// The network's name in error messages.
const NETWORK: &str = "Real-ESRGAN upscaler";

/// Upscaling factor.
pub const SCALE: usize = 4;
/// Feature width of every hidden layer.
const FEATURES: usize = 64;
/// 64→64 convolutions between the first and the last.
const BODY_CONVS: usize = 16;
/// All convolutions: first, body, last.
const CONVS: usize = BODY_CONVS + 2;

/// The committed weights, built into the binary (1.2 MB of float16).
static EMBEDDED: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/upscaler-x4.safetensors"
));

/// `(in, out)` channels of convolution `index`.
fn conv_channels(index: usize) -> (usize, usize) {
    match index {
        0 => (3, FEATURES),
        i if i == CONVS - 1 => (FEATURES, 3 * SCALE * SCALE),
        _ => (FEATURES, FEATURES),
    }
}

/// Every tensor the weights file must hold, with its shape (PyTorch layouts, as converted).
fn expected_tensors() -> Vec<(String, Vec<usize>)> {
    let mut expected = Vec::new();
    for index in 0..CONVS {
        let (cin, cout) = conv_channels(index);
        expected.push((format!("conv{index}.weight"), vec![cout, cin, 3, 3]));
        expected.push((format!("conv{index}.bias"), vec![cout]));
        if index < CONVS - 1 {
            expected.push((format!("prelu{index}.weight"), vec![cout]));
        }
    }
    expected
}

/// One convolution with what follows it.
#[derive(Clone, Debug)]
struct Layer {
    /// The 3×3 convolution (im2col weight layout).
    conv: Conv3x3,
    /// `(2, C_out)`: the bias, then the PReLU slopes (all 1, the identity, for the last layer).
    bias_and_slope: Tensor,
}

/// The network itself (no threading policy; see [`Upscaler`]).
#[derive(Clone, Debug)]
pub struct UpscalerNet {
    /// First, body and last convolutions, in order.
    layers: Vec<Layer>,
}

impl UpscalerNet {
    /// Loads converted weights, checking every tensor's name, shape and values.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PretrainedError> {
        let expected = expected_tensors();
        let expected_refs: Vec<(&str, &[usize])> = expected
            .iter()
            .map(|(name, shape)| (name.as_str(), shape.as_slice()))
            .collect();
        let tensors = load_checked(NETWORK, bytes, &expected_refs)?;
        Self::from_tensors(&tensors).map_err(|error| {
            PretrainedError::new(NETWORK, format!("weights do not fit the network: {error}"))
        })
    }

    fn from_tensors(tensors: &HashMap<String, Tensor>) -> Result<Self, PretrainedError> {
        let get = |name: &str| -> Result<Tensor, PretrainedError> {
            let tensor = tensors[name]
                .to_dtype(DType::F32)
                .map_err(|e| PretrainedError::new(NETWORK, format!("`{name}`: {e}")))?;
            let finite = tensor
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| PretrainedError::new(NETWORK, format!("`{name}`: {e}")))?
                .iter()
                .all(|v| v.is_finite());
            if !finite {
                return Err(PretrainedError::new(
                    NETWORK,
                    format!("tensor `{name}` holds NaN or infinite values"),
                ));
            }
            Ok(tensor)
        };
        let candle = |e: candle_core::Error| PretrainedError::new(NETWORK, e.to_string());
        let mut layers = Vec::with_capacity(CONVS);
        for index in 0..CONVS {
            let (cin, cout) = conv_channels(index);
            // (out, in, dy, dx) → rows ordered (dy, dx, in), the im2col layout of `Conv3x3`.
            let weight = get(&format!("conv{index}.weight"))?
                .permute((2, 3, 1, 0))
                .and_then(|w| w.contiguous())
                .and_then(|w| w.reshape((9 * cin, cout)))
                .map_err(candle)?;
            let bias = get(&format!("conv{index}.bias"))?;
            let slope = if index < CONVS - 1 {
                get(&format!("prelu{index}.weight"))?
            } else {
                Tensor::ones(cout, DType::F32, &Device::Cpu).map_err(candle)?
            };
            let conv_tensors = HashMap::from([
                ("weight".to_string(), weight),
                ("bias".to_string(), bias.clone()),
            ]);
            let vb = VarBuilder::from_tensors(conv_tensors, DType::F32, &Device::Cpu);
            layers.push(Layer {
                conv: Conv3x3::new(cin, cout, vb).map_err(candle)?,
                bias_and_slope: Tensor::stack(&[&bias, &slope], 0).map_err(candle)?,
            });
        }
        Ok(Self { layers })
    }

    /// `x`: `(B, H, W, 3)` RGB in [0, 1] → `(B, 4H, 4W, 3)`, not clamped.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let x = x.contiguous()?;
        let mut h = x.clone();
        for layer in &self.layers {
            let pre_bias = layer.conv.forward_no_bias(&h)?;
            h = pre_bias
                .contiguous()?
                .apply_op2_no_bwd(&layer.bias_and_slope, &BiasPrelu)?;
        }
        h.apply_op2_no_bwd(&x, &PixelShuffleAddNearest)
    }
}

/// `x + bias` then PReLU with per-channel slopes, in one pass over NHWC data.
struct BiasPrelu;

impl CustomOp2 for BiasPrelu {
    fn name(&self) -> &'static str {
        "bias_prelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let data = contiguous_f32(self.name(), s1, l1)?;
        let params = contiguous_f32(self.name(), s2, l2)?;
        let channels = l1.shape().dims().last().copied().unwrap_or(0);
        if channels == 0 || params.len() != 2 * channels {
            candle_core::bail!(
                "bias_prelu: {} parameters for {channels} channels",
                params.len()
            );
        }
        let (bias, slope) = params.split_at(channels);
        let mut out = vec![0f32; data.len()];
        for (src, dst) in data
            .chunks_exact(channels)
            .zip(out.chunks_exact_mut(channels))
        {
            for c in 0..channels {
                let v = src[c] + bias[c];
                dst[c] = if v > 0.0 { v } else { v * slope[c] };
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Pixel shuffle ×4 of `(B, H, W, 48)` (PyTorch order: channel `c·16 + i·4 + j` becomes pixel
/// `(4y + i, 4x + j)` of colour `c`) plus the nearest-upsampled `(B, H, W, 3)` input.
struct PixelShuffleAddNearest;

impl CustomOp2 for PixelShuffleAddNearest {
    fn name(&self) -> &'static str {
        "pixel_shuffle_add_nearest"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let features = contiguous_f32(self.name(), s1, l1)?;
        let image = contiguous_f32(self.name(), s2, l2)?;
        let (b, h, w, c) = l1.shape().dims4()?;
        if c != 3 * SCALE * SCALE || l2.shape().dims4()? != (b, h, w, 3) {
            candle_core::bail!(
                "pixel_shuffle_add_nearest: shapes {:?} and {:?} do not fit",
                l1.shape(),
                l2.shape()
            );
        }
        let (oh, ow) = (h * SCALE, w * SCALE);
        let mut out = vec![0f32; b * oh * ow * 3];
        for bi in 0..b {
            for y in 0..h {
                for x in 0..w {
                    let pixel = (bi * h + y) * w + x;
                    let src = &features[pixel * c..(pixel + 1) * c];
                    let base = &image[pixel * 3..pixel * 3 + 3];
                    for i in 0..SCALE {
                        for j in 0..SCALE {
                            let dst = ((bi * oh + y * SCALE + i) * ow + x * SCALE + j) * 3;
                            for colour in 0..3 {
                                out[dst + colour] =
                                    src[colour * SCALE * SCALE + i * SCALE + j] + base[colour];
                            }
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, oh, ow, 3))))
    }
}

/// The upscaler for the plugin and the CLI: one image at a time, on one thread.
pub struct Upscaler {
    /// The network.
    net: UpscalerNet,
    /// One-thread pool every candle call runs in, so candle's gemm cannot fan out over the
    /// host's cores (the same policy as the generator's).
    pool: rayon::ThreadPool,
}

impl Upscaler {
    /// The upscaler committed in `models/upscaler-x4.safetensors`, built into the binary.
    pub fn embedded() -> Result<Self, PretrainedError> {
        Self::from_bytes(EMBEDDED)
    }

    /// Loads converted weights (see `xtask/convert/upscaler.py`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PretrainedError> {
        let net = UpscalerNet::from_bytes(bytes)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "moodscape-upscaler".into())
            .build()
            .map_err(|e| PretrainedError::new(NETWORK, format!("cannot start its thread: {e}")))?;
        Ok(Self { net, pool })
    }

    /// The network (for benches and the fixture test).
    pub fn net(&self) -> &UpscalerNet {
        &self.net
    }

    /// Runs `f` on the upscaler's single thread.
    pub fn on_upscaler_thread<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.pool.install(f)
    }

    /// [`UpscalerNet::forward`] on the upscaler's thread.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, PretrainedError> {
        self.pool
            .install(|| self.net.forward(x))
            .map_err(|e| PretrainedError::new(NETWORK, e.to_string()))
    }

    /// `image` four times larger on each side.
    pub fn upscale(&self, image: &RgbImage) -> Result<RgbImage, PretrainedError> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width == 0 || height == 0 || width > 1024 || height > 1024 {
            return Err(PretrainedError::new(
                NETWORK,
                format!("cannot upscale a {width}×{height} picture (1 to 1024 pixels a side)"),
            ));
        }
        let input: Vec<f32> = image
            .as_raw()
            .iter()
            .map(|&v| f32::from(v) / 255.0)
            .collect();
        let pixels = self
            .pool
            .install(|| -> candle_core::Result<Vec<f32>> {
                let x = Tensor::from_vec(input, (1, height, width, 3), &Device::Cpu)?;
                self.net.forward(&x)?.flatten_all()?.to_vec1::<f32>()
            })
            .map_err(|e| PretrainedError::new(NETWORK, e.to_string()))?;
        let bytes = pixels
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        RgbImage::from_raw((width * SCALE) as u32, (height * SCALE) as u32, bytes)
            .ok_or_else(|| PretrainedError::new(NETWORK, "output has the wrong size"))
    }
}
