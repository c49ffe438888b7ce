//! The VA-conditioned generator: the network (shared by training and inference) and the public,
//! single-threaded [`Generator`].
//!
//! Architecture: VA → 2-layer MLP embedding `e`; `[z, e]` → linear → 4×4×C₀; then per stage
//! 2× upsampling (nearest, or bilinear for weights trained with it; see [`Upsampling`]), 3×3
//! convolution, pixel norm, FiLM (`γ(e)`, `β(e)`, the conditional-norm form of Park & Lee's
//! emotional residual unit: VA rescales every feature map at every resolution) and leaky ReLU;
//! finally a 3×3 convolution to RGB and tanh.

use super::latent::{Latent, LATENT_DIM};
use super::layers::{film_activation, leaky_relu, pixel_norm, Conv3x3, Upsampling};
use super::LandscapeError;
use crate::va::Va;
use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};
use image::RgbImage;

/// Width of the VA embedding that drives every FiLM layer.
pub const EMBED_DIM: usize = 64;

/// Channel widths: the 4×4 seed, then one entry per 2× upsampling stage (64×64 output).
pub const DEFAULT_CHANNELS: [usize; 5] = [128, 96, 64, 32, 16];

/// Name of the tensor that records the channel list inside the weights file.
const CONFIG_TENSOR: &str = "config.channels";

/// Name of the tensor that records the upsampling (0 nearest, 1 bilinear); files written before
/// it existed lack it and are nearest.
const UPSAMPLING_TENSOR: &str = "config.upsampling";

/// Which convolution implementation a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPath {
    /// NHWC im2col + one gemm per layer (what training and inference use).
    Im2colMatmul,
    /// candle's built-in NCHW `conv2d` on the same weights (the benchmark baseline).
    CandleConv2d,
}

/// One upsampling stage.
#[derive(Clone, Debug)]
struct Stage {
    /// 3×3 convolution after upsampling.
    conv: Conv3x3,
    /// FiLM scale (around 1) from the VA embedding.
    gamma: Linear,
    /// FiLM shift from the VA embedding.
    beta: Linear,
}

/// The generator network.
#[derive(Clone, Debug)]
pub struct GeneratorNet {
    /// Channel widths (see [`DEFAULT_CHANNELS`]); fixes the output size.
    channels: Vec<usize>,
    /// How each stage doubles its input: the weights were trained for one method.
    upsampling: Upsampling,
    /// First layer of the VA embedding MLP.
    va_embed_in: Linear,
    /// Second layer of the VA embedding MLP.
    va_embed_out: Linear,
    /// `[z, e]` to the 4×4 seed feature map.
    input: Linear,
    /// Upsampling stages.
    stages: Vec<Stage>,
    /// Last features to RGB.
    to_rgb: Conv3x3,
    /// Scale of the normalised latent where it enters the stem (the truncation trick; 1 in
    /// training and in the product). The stem is linear in the latent, so scaling it pulls each
    /// picture towards the average picture of its mood. `eval-landscape --truncation` measures
    /// it: on v2 it buys little consistency and costs realism (`models/landscape-gen.md`).
    truncation: f32,
}

impl GeneratorNet {
    /// Creates (training) or loads (inference) the network under `vb`.
    pub fn new(channels: &[usize], upsampling: Upsampling, vb: VarBuilder) -> Result<Self> {
        if channels.len() < 2 {
            candle_core::bail!("generator needs at least one upsampling stage");
        }
        let va_embed_in = candle_nn::linear(2, EMBED_DIM, vb.pp("va_embed_in"))?;
        let va_embed_out = candle_nn::linear(EMBED_DIM, EMBED_DIM, vb.pp("va_embed_out"))?;
        let input = candle_nn::linear(LATENT_DIM + EMBED_DIM, 16 * channels[0], vb.pp("input"))?;
        let mut stages = Vec::new();
        for (i, pair) in channels.windows(2).enumerate() {
            let vb = vb.pp(format!("stage{i}"));
            stages.push(Stage {
                conv: Conv3x3::new(pair[0], pair[1], vb.pp("conv"))?,
                gamma: candle_nn::linear(EMBED_DIM, pair[1], vb.pp("gamma"))?,
                beta: candle_nn::linear(EMBED_DIM, pair[1], vb.pp("beta"))?,
            });
        }
        let to_rgb = Conv3x3::new(*channels.last().unwrap_or(&1), 3, vb.pp("to_rgb"))?;
        Ok(Self {
            channels: channels.to_vec(),
            upsampling,
            va_embed_in,
            va_embed_out,
            input,
            stages,
            to_rgb,
            truncation: 1.0,
        })
    }

    /// The same weights with the latent scaled by `truncation` in the stem (see the field).
    pub fn with_truncation(&self, truncation: f32) -> Self {
        Self {
            truncation,
            ..self.clone()
        }
    }

    /// Output side in pixels.
    pub fn image_size(&self) -> usize {
        4 << self.stages.len()
    }

    /// Channel widths (written into weight files so they load without a separate config).
    pub fn channels(&self) -> &[usize] {
        &self.channels
    }

    /// `z`: `(B, LATENT_DIM)`, `va`: `(B, 2)` → images `(B, S, S, 3)` in [-1, 1].
    pub fn forward(&self, z: &Tensor, va: &Tensor) -> Result<Tensor> {
        self.forward_with(z, va, ConvPath::Im2colMatmul)
    }

    /// The VA embedding and the 4×4 starting feature map, shared by training and inference.
    fn stem(&self, z: &Tensor, va: &Tensor) -> Result<(usize, Tensor, Tensor)> {
        let batch = z.dims2()?.0;
        let embed = leaky_relu(
            &self
                .va_embed_out
                .forward(&leaky_relu(&self.va_embed_in.forward(va)?)?)?,
        )?;
        let z = (pixel_norm(z)? * f64::from(self.truncation))?;
        let seed = self.input.forward(&Tensor::cat(&[&z, &embed], 1)?)?;
        let h = leaky_relu(&pixel_norm(&seed.reshape((
            batch,
            4,
            4,
            self.channels[0],
        ))?)?)?;
        Ok((batch, embed, h))
    }

    /// [`Self::forward`] with a choice of convolution implementation (the bench's baseline).
    pub fn forward_with(&self, z: &Tensor, va: &Tensor, path: ConvPath) -> Result<Tensor> {
        let conv = |layer: &Conv3x3, x: &Tensor| match path {
            ConvPath::Im2colMatmul => layer.forward(x),
            ConvPath::CandleConv2d => layer.forward_builtin(x),
        };
        let (batch, embed, mut h) = self.stem(z, va)?;
        for stage in &self.stages {
            h = conv(&stage.conv, &self.upsampling.apply(&h)?)?;
            let channels = stage.conv.out_channels();
            let gamma = (stage.gamma.forward(&embed)? + 1.0)?.reshape((batch, 1, 1, channels))?;
            let beta = stage
                .beta
                .forward(&embed)?
                .reshape((batch, 1, 1, channels))?;
            h = leaky_relu(
                &pixel_norm(&h)?
                    .broadcast_mul(&gamma)?
                    .broadcast_add(&beta)?,
            )?;
        }
        conv(&self.to_rgb, &h)?.tanh()
    }

    /// The same function as [`Self::forward`] (up to float rounding) for inference: each stage's
    /// bias, pixel norm, FiLM and activation run as one fused single-threaded pass.
    pub fn forward_inference(&self, z: &Tensor, va: &Tensor) -> Result<Tensor> {
        let (_, embed, mut h) = self.stem(z, va)?;
        for stage in &self.stages {
            let pre_bias = stage.conv.forward_no_bias(&self.upsampling.apply(&h)?)?;
            let gamma = (stage.gamma.forward(&embed)? + 1.0)?;
            let beta = stage.beta.forward(&embed)?;
            h = film_activation(&pre_bias, stage.conv.bias(), &gamma, &beta)?;
        }
        self.to_rgb.forward(&h)?.tanh()
    }

    /// How each stage upsamples.
    pub fn upsampling(&self) -> Upsampling {
        self.upsampling
    }

    /// The same weights with another upsampling (the bench's cost comparison; the pictures
    /// are only right with the method the weights were trained for).
    pub fn with_upsampling(&self, upsampling: Upsampling) -> Self {
        Self {
            upsampling,
            ..self.clone()
        }
    }

    /// The channel list and the upsampling as the tensors stored beside the weights.
    pub fn config_tensors(&self) -> Result<[(String, Tensor); 2]> {
        let values: Vec<f32> = self.channels.iter().map(|&c| c as f32).collect();
        let upsampling = match self.upsampling {
            Upsampling::Nearest => 0f32,
            Upsampling::Bilinear => 1.0,
        };
        Ok([
            (
                CONFIG_TENSOR.to_string(),
                Tensor::new(values, &Device::Cpu)?,
            ),
            (
                UPSAMPLING_TENSOR.to_string(),
                Tensor::new(&[upsampling], &Device::Cpu)?,
            ),
        ])
    }
}

/// Reads the upsampling a weights file records (nearest when it records none).
pub fn upsampling_from_tensors(
    tensors: &std::collections::HashMap<String, Tensor>,
) -> std::result::Result<Upsampling, LandscapeError> {
    let Some(tensor) = tensors.get(UPSAMPLING_TENSOR) else {
        return Ok(Upsampling::Nearest);
    };
    let values: Vec<f32> = tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    match values.as_slice() {
        [v] if *v == 0.0 => Ok(Upsampling::Nearest),
        [v] if *v == 1.0 => Ok(Upsampling::Bilinear),
        _ => Err(LandscapeError::Model(format!(
            "generator weights have an unknown upsampling {values:?}"
        ))),
    }
}

/// Reads the channel list a weights file records.
pub fn channels_from_tensors(
    tensors: &std::collections::HashMap<String, Tensor>,
) -> std::result::Result<Vec<usize>, LandscapeError> {
    let config = tensors.get(CONFIG_TENSOR).ok_or_else(|| {
        LandscapeError::Model(format!("generator weights lack `{CONFIG_TENSOR}`"))
    })?;
    let values: Vec<f32> = config.to_dtype(DType::F32)?.to_vec1()?;
    let channels: Vec<usize> = values.iter().map(|&v| v as usize).collect();
    if channels.len() < 2 || channels.len() > 8 || channels.iter().any(|&c| c == 0 || c > 1024) {
        return Err(LandscapeError::Model(format!(
            "generator weights have an invalid channel list {channels:?}"
        )));
    }
    Ok(channels)
}

/// The committed generator, when it existed at build time.
#[cfg(has_landscape_model)]
static EMBEDDED: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/landscape-gen.safetensors"
)));
#[cfg(not(has_landscape_model))]
static EMBEDDED: Option<&[u8]> = None;

/// Single-image, single-thread landscape generator for the plugin and the CLI.
pub struct Generator {
    /// The trained network (EMA weights).
    net: GeneratorNet,
    /// One-thread pool every candle call runs in: candle's gemm splits work over rayon tasks,
    /// and inside this pool they all run on one thread, whatever the host has.
    pool: rayon::ThreadPool,
}

impl Generator {
    /// The generator committed in `models/landscape-gen.safetensors`, built into the binary.
    pub fn embedded() -> std::result::Result<Generator, LandscapeError> {
        match EMBEDDED {
            Some(bytes) => Self::from_bytes(bytes),
            None => Err(LandscapeError::NoModel(
                "no landscape generator was built in (models/landscape-gen.safetensors missing at build time; run `cargo xtask train-landscape`)",
            )),
        }
    }

    /// Loads generator weights (a safetensors file as written by training).
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Generator, LandscapeError> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
            LandscapeError::Model(format!(
                "generator weights are not a valid safetensors file: {e}"
            ))
        })?;
        let channels = channels_from_tensors(&tensors)?;
        let upsampling = upsampling_from_tensors(&tensors)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let net = GeneratorNet::new(&channels, upsampling, vb.pp("g")).map_err(|e| {
            LandscapeError::Model(format!("generator weights do not match the network: {e}"))
        })?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "moodscape-generator".into())
            .build()
            .map_err(|e| {
                LandscapeError::Model(format!("cannot start the generator thread: {e}"))
            })?;
        Ok(Generator { net, pool })
    }

    /// Output side in pixels.
    pub fn image_size(&self) -> usize {
        self.net.image_size()
    }

    /// The network (for evaluation and benches).
    pub fn net(&self) -> &GeneratorNet {
        &self.net
    }

    /// The same weights with the latent scaled by `truncation` (see [`GeneratorNet`]).
    pub fn with_truncation(self, truncation: f32) -> Self {
        Generator {
            net: self.net.with_truncation(truncation),
            pool: self.pool,
        }
    }

    /// Runs `f` on the generator's single thread.
    pub fn on_generator_thread<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.pool.install(f)
    }

    /// One landscape for `latent` in the mood `va` (clamped to [-1, 1]; NaN counts as neutral).
    pub fn generate(
        &self,
        latent: &Latent,
        va: Va,
    ) -> std::result::Result<RgbImage, LandscapeError> {
        let images = self.generate_batch(std::slice::from_ref(latent), &[va])?;
        Ok(images.into_iter().next().expect("one image per latent"))
    }

    /// Several landscapes in one pass (evaluation and grids); still one thread.
    pub fn generate_batch(
        &self,
        latents: &[Latent],
        moods: &[Va],
    ) -> std::result::Result<Vec<RgbImage>, LandscapeError> {
        if latents.len() != moods.len() {
            return Err(LandscapeError::Model(format!(
                "{} latents for {} moods",
                latents.len(),
                moods.len()
            )));
        }
        if latents.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(bad) = latents.iter().find(|l| l.values.len() != LATENT_DIM) {
            return Err(LandscapeError::Model(format!(
                "latent has {} values, expected {LATENT_DIM}",
                bad.values.len()
            )));
        }
        // NaN means "no mood estimate": neutral. Infinities are only far out of range: clamp.
        let clean = |x: f32| if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) };
        let z: Vec<f32> = latents
            .iter()
            .flat_map(|l| {
                l.values
                    .iter()
                    .map(|&v| if v.is_finite() { v } else { 0.0 })
            })
            .collect();
        let va: Vec<f32> = moods
            .iter()
            .flat_map(|m| [clean(m.valence), clean(m.arousal)])
            .collect();
        let count = latents.len();
        let pixels = self.pool.install(|| -> Result<Vec<f32>> {
            let z = Tensor::from_vec(z, (count, LATENT_DIM), &Device::Cpu)?;
            let va = Tensor::from_vec(va, (count, 2), &Device::Cpu)?;
            self.net
                .forward_inference(&z, &va)?
                .flatten_all()?
                .to_vec1::<f32>()
        })?;
        Ok(tensor_pixels_to_images(&pixels, count, self.image_size()))
    }
}

/// `(B, S, S, 3)` values in [-1, 1] (flattened) to 8-bit images.
pub fn tensor_pixels_to_images(pixels: &[f32], count: usize, size: usize) -> Vec<RgbImage> {
    let per_image = size * size * 3;
    (0..count)
        .map(|i| {
            let bytes = pixels[i * per_image..(i + 1) * per_image]
                .iter()
                .map(|&v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8)
                .collect();
            RgbImage::from_raw(size as u32, size as u32, bytes)
                .expect("buffer matches the image size")
        })
        .collect()
}
