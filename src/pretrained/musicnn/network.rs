//! The MSD-MusiCNN network (musicnn's `models.py`, `build_musicnn` with 64 mid-end filters and
//! 200 back-end units), inference only.
//!
//! Layout: every activation is row-major with time first, `(time, channels)`. Each convolution
//! is one or a few matrix products, so the cost is the gemm kernel's:
//! - timbral convs (7×38 and 7×67 over time × mel, 204 filters): im2col of the single-channel
//!   input in blocks of a few frames, one product per block (K = 266 or 469);
//! - temporal convs (128, 64, 32 frames × 1 band, 51 filters): per mel band, the padded band is a
//!   Hankel matrix, i.e. a strided view with row and column stride 1, so no copy is needed;
//! - mid-end convs (7 frames over all channels): the padded `(time, channels)` map read with row
//!   stride `channels` is already the im2col matrix.
//!
//! Port details that matter (checked by `tests/musicnn_reference.rs` against TensorFlow):
//! TF "same" padding puts 63 frames before and 64 after for k = 128 (31/32, 15/16); the back end
//! flattens `concat([max, mean], axis=2)`, so the 1506-vector interleaves max and mean per
//! channel; batch-norm ε is 1e-3; the penultimate layer is dense → ReLU → batch norm.

use candle_core::Tensor;

use super::{MusicnnOutput, EMBEDDING_DIM, MEL_BANDS, NETWORK_NAME, PATCH_FRAMES, TAG_COUNT};
use crate::matmul::matmul;
use crate::pretrained::{load_checked, PretrainedError};

/// Batch-norm ε of `tf.compat.v1.layers.batch_normalization`.
const BN_EPSILON: f32 = 1e-3;
/// Filters of each timbral conv (int(1.6 · 128)).
const TIMBRAL_FILTERS: usize = 204;
/// Filters of each temporal conv (int(1.6 · 32)).
const TEMPORAL_FILTERS: usize = 51;
/// Mid-end filters (MSD_musicnn: 64).
const MIDEND_FILTERS: usize = 64;
/// Time extent of the timbral and mid-end kernels.
const SHORT_KERNEL: usize = 7;
/// Zero frames on each side for the 7-frame kernels (`tf.pad` [3, 3]).
const SHORT_PAD: usize = SHORT_KERNEL / 2;
/// Mel widths of the two timbral kernels (int(0.4 · 96), int(0.7 · 96)).
const TIMBRAL_WIDTHS: [usize; 2] = [38, 67];
/// Time extents of the three temporal kernels.
const TEMPORAL_LENGTHS: [usize; 3] = [128, 64, 32];
/// Longest temporal kernel: the band buffers are padded for it.
const LONGEST_TEMPORAL: usize = 128;
/// Front-end channels: two timbral blocks and three temporal blocks, concatenated.
const FRONTEND_CHANNELS: usize = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS;
/// Channels the back end pools: the front end plus the three mid-end layers (dense connections).
const POOLED_CHANNELS: usize = FRONTEND_CHANNELS + 3 * MIDEND_FILTERS;
/// Frames per im2col block of the timbral convs: keeps the column block and the product in the
/// CPU's mid-level cache.
const TIMBRAL_BLOCK_FRAMES: usize = 4;

/// TF "same" padding before the data for a kernel of length `k` (the rest goes after).
const fn same_pad_before(k: usize) -> usize {
    (k - 1) / 2
}

/// Every tensor in `models/musicnn-msd.safetensors`, with its shape (TF's HWIO kernels).
fn expected_tensors() -> Vec<(String, Vec<usize>)> {
    let mut expected = Vec::new();
    let mut bn = |name: &str, width: usize| {
        for leaf in ["gamma", "beta", "mean", "var"] {
            expected.push((format!("{name}.{leaf}"), vec![width]));
        }
    };
    bn("input_bn", 1);
    bn("timbral_7x38.bn", TIMBRAL_FILTERS);
    bn("timbral_7x67.bn", TIMBRAL_FILTERS);
    for k in TEMPORAL_LENGTHS {
        bn(&format!("temporal_{k}.bn"), TEMPORAL_FILTERS);
    }
    for i in 1..=3 {
        bn(&format!("midend_{i}.bn"), MIDEND_FILTERS);
    }
    bn("pool_bn", 2 * POOLED_CHANNELS);
    bn("penultimate.bn", EMBEDDING_DIM);
    let mut layer = |name: &str, weight: Vec<usize>, out: usize| {
        expected.push((format!("{name}.weight"), weight));
        expected.push((format!("{name}.bias"), vec![out]));
    };
    for w in TIMBRAL_WIDTHS {
        layer(
            &format!("timbral_7x{w}.conv"),
            vec![SHORT_KERNEL, w, 1, TIMBRAL_FILTERS],
            TIMBRAL_FILTERS,
        );
    }
    for k in TEMPORAL_LENGTHS {
        layer(
            &format!("temporal_{k}.conv"),
            vec![k, 1, 1, TEMPORAL_FILTERS],
            TEMPORAL_FILTERS,
        );
    }
    layer(
        "midend_1.conv",
        vec![SHORT_KERNEL, FRONTEND_CHANNELS, 1, MIDEND_FILTERS],
        MIDEND_FILTERS,
    );
    for i in 2..=3 {
        layer(
            &format!("midend_{i}.conv"),
            vec![SHORT_KERNEL, MIDEND_FILTERS, 1, MIDEND_FILTERS],
            MIDEND_FILTERS,
        );
    }
    layer(
        "penultimate.dense",
        vec![2 * POOLED_CHANNELS, EMBEDDING_DIM],
        EMBEDDING_DIM,
    );
    layer("tags.dense", vec![EMBEDDING_DIM, TAG_COUNT], TAG_COUNT);
    expected
}

/// Inference batch norm folded into one affine map per channel.
#[derive(Debug, Clone)]
struct BatchNorm {
    /// gamma / sqrt(var + ε).
    scale: Vec<f32>,
    /// beta − mean · scale.
    shift: Vec<f32>,
}

impl BatchNorm {
    #[inline]
    fn apply(&self, channel: usize, x: f32) -> f32 {
        x * self.scale[channel] + self.shift[channel]
    }
}

/// A layer's weight matrix and bias.
#[derive(Debug, Clone)]
struct Linear {
    /// `(rows, out)` row-major: TF's HWIO kernel flattened, rows ordered (time, width, in).
    weight: Vec<f32>,
    /// `(out)`.
    bias: Vec<f32>,
}

impl Linear {
    fn out(&self) -> usize {
        self.bias.len()
    }
}

/// The network, loaded once (weights embedded in the binary with `include_bytes!`).
#[derive(Debug, Clone)]
pub struct Musicnn {
    /// Batch norm of the raw log-mel input (one channel).
    input_bn: BatchNorm,
    /// The 7×38 and 7×67 timbral convs, each followed by ReLU and its batch norm.
    timbral: [(Linear, BatchNorm); 2],
    /// The 128, 64 and 32-frame temporal convs, each followed by ReLU and its batch norm.
    temporal: [(Linear, BatchNorm); 3],
    /// The three 7-frame mid-end convs, each followed by ReLU and its batch norm.
    midend: [(Linear, BatchNorm); 3],
    /// Batch norm of the interleaved (max, mean) pooled vector.
    pool_bn: BatchNorm,
    /// Dense 1506 → 200 (ReLU).
    penultimate: Linear,
    /// Batch norm after the penultimate dense layer: its output is the embedding.
    penultimate_bn: BatchNorm,
    /// Dense 200 → 50 (sigmoid): the taggram.
    tags: Linear,
}

/// `models/musicnn-msd.safetensors`, compiled in so the plugin never reads weights at run time.
static EMBEDDED: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/musicnn-msd.safetensors"
));

impl Musicnn {
    /// The network from the weights compiled into the binary.
    pub fn embedded() -> Result<Musicnn, PretrainedError> {
        Self::from_bytes(EMBEDDED)
    }

    /// The network from a safetensors file's bytes. A corrupt, truncated or foreign file gives
    /// an error (never a panic), and so do non-finite weights.
    pub fn from_bytes(bytes: &[u8]) -> Result<Musicnn, PretrainedError> {
        let expected = expected_tensors();
        let expected_refs: Vec<(&str, &[usize])> = expected
            .iter()
            .map(|(name, shape)| (name.as_str(), shape.as_slice()))
            .collect();
        let tensors = load_checked(NETWORK_NAME, bytes, &expected_refs)?;
        let values = |name: &str| -> Result<Vec<f32>, PretrainedError> {
            let tensor: &Tensor = tensors.get(name).ok_or_else(|| {
                PretrainedError::new(NETWORK_NAME, format!("weights lack tensor `{name}`"))
            })?;
            let flat = tensor
                .flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F32))
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| PretrainedError::new(NETWORK_NAME, format!("tensor `{name}`: {e}")))?;
            if flat.iter().any(|v| !v.is_finite()) {
                return Err(PretrainedError::new(
                    NETWORK_NAME,
                    format!("tensor `{name}` holds non-finite values"),
                ));
            }
            Ok(flat)
        };
        let bn = |name: &str| -> Result<BatchNorm, PretrainedError> {
            let gamma = values(&format!("{name}.gamma"))?;
            let beta = values(&format!("{name}.beta"))?;
            let mean = values(&format!("{name}.mean"))?;
            let var = values(&format!("{name}.var"))?;
            let scale: Vec<f32> = gamma
                .iter()
                .zip(&var)
                .map(|(g, v)| g / (v + BN_EPSILON).max(f32::MIN_POSITIVE).sqrt())
                .collect();
            let shift = beta
                .iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((b, m), s)| b - m * s)
                .collect();
            Ok(BatchNorm { scale, shift })
        };
        let linear = |name: &str| -> Result<Linear, PretrainedError> {
            Ok(Linear {
                weight: values(&format!("{name}.weight"))?,
                bias: values(&format!("{name}.bias"))?,
            })
        };
        let block = |name: &str| -> Result<(Linear, BatchNorm), PretrainedError> {
            Ok((linear(&format!("{name}.conv"))?, bn(&format!("{name}.bn"))?))
        };
        Ok(Musicnn {
            input_bn: bn("input_bn")?,
            timbral: [block("timbral_7x38")?, block("timbral_7x67")?],
            temporal: [
                block("temporal_128")?,
                block("temporal_64")?,
                block("temporal_32")?,
            ],
            midend: [block("midend_1")?, block("midend_2")?, block("midend_3")?],
            pool_bn: bn("pool_bn")?,
            penultimate: linear("penultimate.dense")?,
            penultimate_bn: bn("penultimate.bn")?,
            tags: linear("tags.dense")?,
        })
    }

    /// `mel` holds `n` patches of [`PATCH_FRAMES`] × [`MEL_BANDS`] log-mel values (row-major,
    /// time first). Runs on the calling thread only (no thread fan-out: it shares the analysis
    /// thread). Non-finite inputs are treated as 0 so that the outputs stay finite.
    pub fn forward(&self, mel: &[f32], n: usize) -> Result<Vec<MusicnnOutput>, PretrainedError> {
        let patch_len = PATCH_FRAMES * MEL_BANDS;
        if n.checked_mul(patch_len) != Some(mel.len()) {
            return Err(PretrainedError::new(
                NETWORK_NAME,
                format!(
                    "forward got {} values for {n} patches of {PATCH_FRAMES}×{MEL_BANDS}",
                    mel.len()
                ),
            ));
        }
        let mut scratch = Scratch::new();
        let mut outputs = vec![MusicnnOutput::default(); n];
        for (patch, output) in mel.chunks_exact(patch_len).zip(&mut outputs) {
            self.forward_patch(patch, &mut scratch, output);
        }
        Ok(outputs)
    }

    /// One patch through the whole network.
    fn forward_patch(&self, mel: &[f32], scratch: &mut Scratch, output: &mut MusicnnOutput) {
        let frames = PATCH_FRAMES;
        // Input batch norm, then 3 zero frames either side (the timbral blocks' `tf.pad`).
        let padded = &mut scratch.input_padded;
        padded.fill(0.0);
        for (dst, &x) in padded[SHORT_PAD * MEL_BANDS..(SHORT_PAD + frames) * MEL_BANDS]
            .iter_mut()
            .zip(mel)
        {
            let x = if x.is_finite() { x } else { 0.0 };
            *dst = self.input_bn.apply(0, x);
        }
        // The same normalised input, band-major, with "same" padding for the temporal convs.
        let band_len = frames + LONGEST_TEMPORAL - 1;
        let before = same_pad_before(LONGEST_TEMPORAL);
        let bands = &mut scratch.bands;
        bands.fill(0.0);
        for t in 0..frames {
            let row = &padded[(SHORT_PAD + t) * MEL_BANDS..(SHORT_PAD + t + 1) * MEL_BANDS];
            for (m, &x) in row.iter().enumerate() {
                bands[m * band_len + before + t] = x;
            }
        }

        // Front end, written into its padded map for the first mid-end conv.
        let front = &mut scratch.front_padded;
        front.fill(0.0);
        let mut channel_offset = 0;
        for ((conv, bn), width) in self.timbral.iter().zip(TIMBRAL_WIDTHS) {
            timbral_block(
                padded,
                conv,
                bn,
                width,
                &mut scratch.columns,
                &mut scratch.product,
                front,
                channel_offset,
            );
            channel_offset += TIMBRAL_FILTERS;
        }
        for ((conv, bn), length) in self.temporal.iter().zip(TEMPORAL_LENGTHS) {
            temporal_block(
                bands,
                band_len,
                before,
                conv,
                bn,
                length,
                &mut scratch.product,
                &mut scratch.band_max,
                front,
                channel_offset,
            );
            channel_offset += TEMPORAL_FILTERS;
        }

        // Mid-end: three 7-frame convs with dense (residual) connections.
        let (conv, bn) = &self.midend[0];
        midend_conv(
            front,
            FRONTEND_CHANNELS,
            conv,
            bn,
            None,
            &mut scratch.product,
            &mut scratch.midend[0],
        );
        for layer in 1..3 {
            let (done, rest) = scratch.midend.split_at_mut(layer);
            let (conv, bn) = &self.midend[layer];
            midend_conv(
                &done[layer - 1],
                MIDEND_FILTERS,
                conv,
                bn,
                Some(&done[layer - 1]),
                &mut scratch.product,
                &mut rest[0],
            );
        }

        // Back end: max and mean over time of all 753 channels, interleaved.
        let pooled = &mut scratch.pooled;
        let mut channel = 0;
        let mut pool = |map: &[f32], width: usize| {
            for c in 0..width {
                let mut max = f32::NEG_INFINITY;
                let mut sum = 0.0f32;
                for t in 0..frames {
                    let x = map[(SHORT_PAD + t) * width + c];
                    max = max.max(x);
                    sum += x;
                }
                pooled[2 * channel] = self.pool_bn.apply(2 * channel, max);
                pooled[2 * channel + 1] = self.pool_bn.apply(2 * channel + 1, sum / frames as f32);
                channel += 1;
            }
        };
        pool(front, FRONTEND_CHANNELS);
        for map in &scratch.midend {
            pool(map, MIDEND_FILTERS);
        }

        dense(&self.penultimate, pooled, &mut output.embedding);
        for (c, e) in output.embedding.iter_mut().enumerate() {
            *e = self.penultimate_bn.apply(c, e.max(0.0));
        }
        dense(&self.tags, &output.embedding, &mut output.taggram);
        for p in &mut output.taggram {
            *p = 1.0 / (1.0 + (-*p).exp());
        }
    }
}

/// Working buffers of one forward call.
struct Scratch {
    /// Normalised input with [`SHORT_PAD`] zero frames either side, `(time, band)`.
    input_padded: Vec<f32>,
    /// Normalised input band-major, padded for the longest temporal kernel.
    bands: Vec<f32>,
    /// im2col block of a timbral conv.
    columns: Vec<f32>,
    /// Output of one matrix product before its activation.
    product: Vec<f32>,
    /// Running max over bands of a temporal conv, `(time, filter)`.
    band_max: Vec<f32>,
    /// Front-end features `(time, 561)` with [`SHORT_PAD`] zero frames either side.
    front_padded: Vec<f32>,
    /// The three mid-end outputs `(time, 64)`, each with [`SHORT_PAD`] zero frames either side.
    midend: [Vec<f32>; 3],
    /// The interleaved, normalised (max, mean) vector.
    pooled: Vec<f32>,
}

impl Scratch {
    fn new() -> Self {
        let padded_frames = PATCH_FRAMES + 2 * SHORT_PAD;
        let widest = TIMBRAL_WIDTHS[0];
        let most_positions = MEL_BANDS - widest + 1;
        let product = (TIMBRAL_BLOCK_FRAMES * most_positions * TIMBRAL_FILTERS)
            .max(PATCH_FRAMES * TEMPORAL_FILTERS)
            .max(PATCH_FRAMES * MIDEND_FILTERS);
        let columns = TIMBRAL_WIDTHS
            .iter()
            .map(|w| TIMBRAL_BLOCK_FRAMES * (MEL_BANDS - w + 1) * SHORT_KERNEL * w)
            .max()
            .unwrap_or(0);
        Self {
            input_padded: vec![0.0; padded_frames * MEL_BANDS],
            bands: vec![0.0; MEL_BANDS * (PATCH_FRAMES + LONGEST_TEMPORAL - 1)],
            columns: vec![0.0; columns],
            product: vec![0.0; product],
            band_max: vec![0.0; PATCH_FRAMES * TEMPORAL_FILTERS],
            front_padded: vec![0.0; padded_frames * FRONTEND_CHANNELS],
            midend: std::array::from_fn(|_| vec![0.0; padded_frames * MIDEND_FILTERS]),
            pooled: vec![0.0; 2 * POOLED_CHANNELS],
        }
    }
}

/// A timbral block: 7×`width` conv over the padded input, ReLU, batch norm, max over mel
/// positions; writes `(time, 204)` into `front` at `channel_offset`.
#[allow(clippy::too_many_arguments)]
fn timbral_block(
    padded: &[f32],
    conv: &Linear,
    bn: &BatchNorm,
    width: usize,
    columns: &mut [f32],
    product: &mut [f32],
    front: &mut [f32],
    channel_offset: usize,
) {
    let positions = MEL_BANDS - width + 1;
    let k = SHORT_KERNEL * width;
    let filters = conv.out();
    let mut start = 0;
    while start < PATCH_FRAMES {
        let block = TIMBRAL_BLOCK_FRAMES.min(PATCH_FRAMES - start);
        let rows = block * positions;
        for b in 0..block {
            let t = start + b;
            for f in 0..positions {
                let row = &mut columns[(b * positions + f) * k..(b * positions + f + 1) * k];
                for dt in 0..SHORT_KERNEL {
                    let src = (t + dt) * MEL_BANDS + f;
                    row[dt * width..(dt + 1) * width].copy_from_slice(&padded[src..src + width]);
                }
            }
        }
        matmul(
            rows,
            filters,
            k,
            product,
            filters,
            false,
            columns,
            k,
            1,
            &conv.weight,
        );
        for b in 0..block {
            let out = &mut front[(SHORT_PAD + start + b) * FRONTEND_CHANNELS + channel_offset..]
                [..filters];
            out.fill(f32::NEG_INFINITY);
            for f in 0..positions {
                let row =
                    &product[(b * positions + f) * filters..(b * positions + f + 1) * filters];
                for (c, (o, &x)) in out.iter_mut().zip(row).enumerate() {
                    let y = bn.apply(c, (x + conv.bias[c]).max(0.0));
                    *o = o.max(y);
                }
            }
        }
        start += block;
    }
}

/// A temporal block: `length`×1 "same" conv per band, ReLU, batch norm, max over bands; writes
/// `(time, 51)` into `front` at `channel_offset`.
#[allow(clippy::too_many_arguments)]
fn temporal_block(
    bands: &[f32],
    band_len: usize,
    padded_before: usize,
    conv: &Linear,
    bn: &BatchNorm,
    length: usize,
    product: &mut [f32],
    band_max: &mut [f32],
    front: &mut [f32],
    channel_offset: usize,
) {
    let filters = conv.out();
    let first = padded_before - same_pad_before(length);
    band_max[..PATCH_FRAMES * filters].fill(f32::NEG_INFINITY);
    for m in 0..MEL_BANDS {
        let band = &bands[m * band_len + first..(m + 1) * band_len];
        // Row t of the Hankel view is band[t .. t + length].
        matmul(
            PATCH_FRAMES,
            filters,
            length,
            product,
            filters,
            false,
            band,
            1,
            1,
            &conv.weight,
        );
        for (acc, row) in band_max
            .chunks_exact_mut(filters)
            .zip(product.chunks_exact(filters))
            .take(PATCH_FRAMES)
        {
            for (c, (a, &x)) in acc.iter_mut().zip(row).enumerate() {
                let y = bn.apply(c, (x + conv.bias[c]).max(0.0));
                *a = a.max(y);
            }
        }
    }
    for t in 0..PATCH_FRAMES {
        front[(SHORT_PAD + t) * FRONTEND_CHANNELS + channel_offset..][..filters]
            .copy_from_slice(&band_max[t * filters..(t + 1) * filters]);
    }
}

/// A mid-end layer: 7-frame conv over all `in_channels` of the padded `input`, ReLU, batch
/// norm, plus `residual` if given; writes the padded `(time, 64)` map `out`.
fn midend_conv(
    input: &[f32],
    in_channels: usize,
    conv: &Linear,
    bn: &BatchNorm,
    residual: Option<&[f32]>,
    product: &mut [f32],
    out: &mut [f32],
) {
    let filters = conv.out();
    // Row t of the im2col matrix is input[t · C .. (t + 7) · C]: a view with row stride C.
    matmul(
        PATCH_FRAMES,
        filters,
        SHORT_KERNEL * in_channels,
        product,
        filters,
        false,
        input,
        in_channels,
        1,
        &conv.weight,
    );
    out.fill(0.0);
    for t in 0..PATCH_FRAMES {
        let dst = &mut out[(SHORT_PAD + t) * filters..(SHORT_PAD + t + 1) * filters];
        let src = &product[t * filters..(t + 1) * filters];
        for c in 0..filters {
            let mut y = bn.apply(c, (src[c] + conv.bias[c]).max(0.0));
            if let Some(residual) = residual {
                y += residual[(SHORT_PAD + t) * filters + c];
            }
            dst[c] = y;
        }
    }
}

/// `out = x · W + b` for a dense layer.
fn dense(layer: &Linear, x: &[f32], out: &mut [f32]) {
    out.copy_from_slice(&layer.bias);
    let n = layer.out();
    for (&xi, row) in x.iter().zip(layer.weight.chunks_exact(n)) {
        for (o, &w) in out.iter_mut().zip(row) {
            *o += xi * w;
        }
    }
}
