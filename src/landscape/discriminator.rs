//! Projection discriminator (Miyato & Koyama 2018) with an auxiliary VA regression head.
//!
//! The projection term `⟨φ(x), embed(va)⟩` makes "realistic for this mood" part of the realism
//! score; the auxiliary head is Park & Lee's affective loss: trained to regress the VA of real
//! photographs, it then tells the generator whether its image carries the requested mood.

use super::layers::{avg_pool2x, leaky_relu, minibatch_stddev, Conv3x3};
use candle_core::{Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};

/// Channel widths: the full-resolution RGB layer, then one per 2× pooling stage down to 4×4.
pub const DEFAULT_CHANNELS: [usize; 5] = [16, 32, 64, 128, 128];

/// Width of the final feature vector `φ(x)`.
const FEATURE_DIM: usize = 128;

/// The discriminator network.
pub struct DiscriminatorNet {
    /// RGB to features at full resolution.
    from_rgb: Conv3x3,
    /// Pool-then-convolve stages down to 4×4.
    blocks: Vec<Conv3x3>,
    /// 4×4 convolution after the minibatch-stddev channel.
    final_conv: Conv3x3,
    /// Flattened 4×4 map to `φ(x)`.
    dense: Linear,
    /// Unconditional realism logit.
    realism: Linear,
    /// VA embedding for the projection term.
    va_projection: Linear,
    /// Auxiliary VA regression head.
    va_head: Linear,
}

/// What the discriminator says about a batch.
pub struct Judgement {
    /// Realism logits `(B)` (hinge loss).
    pub logits: Tensor,
    /// Regressed VA `(B, 2)`.
    pub va: Tensor,
}

impl DiscriminatorNet {
    /// Creates the network for `image_size`² inputs.
    pub fn new(image_size: usize, vb: VarBuilder) -> Result<Self> {
        let stages = (image_size / 4).trailing_zeros() as usize;
        if 4 << stages != image_size {
            candle_core::bail!("image size {image_size} is not 4 times a power of two");
        }
        let mut channels: Vec<usize> = DEFAULT_CHANNELS.to_vec();
        while channels.len() < stages + 1 {
            channels.insert(0, 16);
        }
        let channels = &channels[channels.len() - (stages + 1)..];
        let from_rgb = Conv3x3::new(3, channels[0], vb.pp("from_rgb"))?;
        let mut blocks = Vec::new();
        for (i, pair) in channels.windows(2).enumerate() {
            blocks.push(Conv3x3::new(pair[0], pair[1], vb.pp(format!("block{i}")))?);
        }
        let last = *channels.last().unwrap_or(&FEATURE_DIM);
        Ok(Self {
            from_rgb,
            blocks,
            final_conv: Conv3x3::new(last + 1, last, vb.pp("final_conv"))?,
            dense: candle_nn::linear(16 * last, FEATURE_DIM, vb.pp("dense"))?,
            realism: candle_nn::linear(FEATURE_DIM, 1, vb.pp("realism"))?,
            va_projection: candle_nn::linear(2, FEATURE_DIM, vb.pp("va_projection"))?,
            va_head: candle_nn::linear(FEATURE_DIM, 2, vb.pp("va_head"))?,
        })
    }

    /// `images`: `(B, S, S, 3)` in [-1, 1]; `va`: `(B, 2)` conditioning.
    pub fn forward(&self, images: &Tensor, va: &Tensor) -> Result<Judgement> {
        let batch = images.dims4()?.0;
        let mut h = leaky_relu(&self.from_rgb.forward(images)?)?;
        for block in &self.blocks {
            h = leaky_relu(&block.forward(&avg_pool2x(&h)?)?)?;
        }
        h = leaky_relu(&self.final_conv.forward(&minibatch_stddev(&h)?)?)?;
        let features = leaky_relu(&self.dense.forward(&h.reshape((batch, ()))?)?)?;
        let projection = (&features * self.va_projection.forward(va)?)?.sum(1)?;
        let logits = (self.realism.forward(&features)?.squeeze(1)? + projection)?;
        Ok(Judgement {
            logits,
            va: self.va_head.forward(&features)?,
        })
    }
}
