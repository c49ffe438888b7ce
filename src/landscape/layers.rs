//! Building blocks of both networks, in NHWC layout so that every convolution is one plain
//! matrix product.
//!
//! Why not candle's `conv2d`: its backward pass computes the input gradient with
//! `conv_transpose2d`, which on the CPU is a slow direct loop. Here a 3×3 convolution is 9 shifted
//! views concatenated along channels (im2col) times a `(9·C_in, C_out)` weight, so forward and
//! backward are gemm calls plus copies. Upsampling is nearest-neighbour followed by a 3×3
//! convolution, which also avoids the checkerboard artefacts of transposed convolutions.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, D};
use candle_nn::{Init, VarBuilder};
use rayon::prelude::*;

use crate::matmul::{contiguous_f32, MatmulOnThisThread};

/// Slope of the leaky ReLU used everywhere (the usual GAN choice).
pub const LEAKY_SLOPE: f64 = 0.2;

/// A 3×3, stride-1, zero-padded convolution stored as an im2col weight matrix.
#[derive(Clone, Debug)]
pub struct Conv3x3 {
    /// `(9 · in_channels, out_channels)`, rows ordered (dy, dx, in_channel).
    weight: Tensor,
    /// `(out_channels)`.
    bias: Tensor,
}

impl Conv3x3 {
    /// Creates (or loads) the convolution under `vb`, He-initialised for leaky ReLU.
    pub fn new(in_channels: usize, out_channels: usize, vb: VarBuilder) -> Result<Self> {
        let stdev = (2.0 / (9.0 * in_channels as f64)).sqrt();
        let weight = vb.get_with_hints(
            (9 * in_channels, out_channels),
            "weight",
            Init::Randn { mean: 0.0, stdev },
        )?;
        let bias = vb.get_with_hints(out_channels, "bias", Init::Const(0.0))?;
        Ok(Self { weight, bias })
    }

    /// Output channel count.
    pub fn out_channels(&self) -> usize {
        self.bias.dims()[0]
    }

    /// `x`: `(B, H, W, C_in)` to `(B, H, W, C_out)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, height, width, channels) = x.dims4()?;
        let columns = x
            .contiguous()?
            .apply_op1(Im2col3x3)?
            .reshape((batch * height * width, 9 * channels))?;
        let out = columns.matmul(&self.weight)?.broadcast_add(&self.bias)?;
        out.reshape((batch, height, width, self.out_channels()))
    }

    /// The convolution without its bias (inference fuses the bias into [`film_activation`]).
    pub fn forward_no_bias(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, height, width, channels) = x.dims4()?;
        let columns = x
            .contiguous()?
            .apply_op1_no_bwd(&Im2col3x3)?
            .reshape((batch * height * width, 9 * channels))?;
        // On the calling thread only: inference runs on one-thread pools (see `crate::matmul`).
        columns
            .apply_op2_no_bwd(&self.weight, &MatmulOnThisThread)?
            .reshape((batch, height, width, self.out_channels()))
    }

    /// `(C_out)` bias.
    pub fn bias(&self) -> &Tensor {
        &self.bias
    }

    /// The same layer through candle's built-in NCHW `conv2d`: the baseline the bench compares
    /// against and the cross-check of the im2col layout in the tests.
    pub fn forward_builtin(&self, x: &Tensor) -> Result<Tensor> {
        let in_channels = self.weight.dims()[0] / 9;
        let kernel = self
            .weight
            .reshape((3, 3, in_channels, self.out_channels()))?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        let nchw = x.permute((0, 3, 1, 2))?.contiguous()?;
        let out = nchw.conv2d(&kernel, 1, 1, 1, 1)?;
        out.permute((0, 2, 3, 1))?.broadcast_add(&self.bias)
    }
}

/// Leaky ReLU.
pub fn leaky_relu(x: &Tensor) -> Result<Tensor> {
    x.maximum(&(x * LEAKY_SLOPE)?)
}

/// Nearest-neighbour 2× upsampling of `(B, H, W, C)`.
pub fn upsample2x(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(NearestUp2)
}

/// How a generator doubles its feature maps before each convolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Upsampling {
    /// Each value repeated 2×2 (v1 and v2). The one 3×3 convolution after it does not always
    /// smooth the copies, and rows and columns come out in pairs (`two_pixel_stripes`).
    #[default]
    Nearest,
    /// Bilinear, half-pixel centres, edges clamped (PyTorch's `align_corners=False`): every
    /// output mixes its two nearest inputs 3:1 along each axis, so no pairs of equal values.
    Bilinear,
}

impl Upsampling {
    /// 2× upsampling of `(B, H, W, C)` by this method (differentiable).
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Upsampling::Nearest => upsample2x(x),
            Upsampling::Bilinear => x.contiguous()?.apply_op1(BilinearUp2),
        }
    }
}

/// For output index `o` of a 2× bilinear upsampling of `n` values: the two inputs it mixes, with
/// weights 3/4 (the nearer) and 1/4 (the clamped neighbour on `o`'s side).
fn bilinear_taps(o: usize, n: usize) -> [(usize, f32); 2] {
    let near = o / 2;
    let other = if o.is_multiple_of(2) {
        near.saturating_sub(1)
    } else {
        (near + 1).min(n - 1)
    };
    [(near, 0.75), (other, 0.25)]
}

/// Bilinear 2× upsampling of `(B, H, W, C)` (see [`Upsampling::Bilinear`]).
struct BilinearUp2;

impl CustomOp1 for BilinearUp2 {
    fn name(&self) -> &'static str {
        "bilinear_up2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c]) = nhwc_input(self.name(), storage, layout)?;
        let mut out = vec![0f32; b * 4 * h * w * c];
        out.par_chunks_mut(2 * w * c)
            .enumerate()
            .for_each(|(out_row, row)| {
                let (bi, oy) = (out_row / (2 * h), out_row % (2 * h));
                for (y, wy) in bilinear_taps(oy, h) {
                    for ox in 0..2 * w {
                        let dst = &mut row[ox * c..(ox + 1) * c];
                        for (x, wx) in bilinear_taps(ox, w) {
                            let src = ((bi * h + y) * w + x) * c;
                            for (d, s) in dst.iter_mut().zip(&data[src..src + c]) {
                                *d += wy * wx * s;
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, 2 * h, 2 * w, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(BilinearUp2Adjoint)?))
    }
}

/// The adjoint (transpose) of [`BilinearUp2`]: `(B, 2H, 2W, C)` to `(B, H, W, C)`, each output
/// value scattered back onto the inputs it was mixed from. Its gradient is [`BilinearUp2`].
struct BilinearUp2Adjoint;

impl CustomOp1 for BilinearUp2Adjoint {
    fn name(&self) -> &'static str {
        "bilinear_up2_adjoint"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, oh, ow, c]) = nhwc_input(self.name(), storage, layout)?;
        let (h, w) = (oh / 2, ow / 2);
        let mut out = vec![0f32; b * h * w * c];
        // One image per task: the scatter writes rows of its own image only.
        out.par_chunks_mut((h * w * c).max(1))
            .enumerate()
            .for_each(|(bi, image)| {
                for oy in 0..2 * h {
                    for (y, wy) in bilinear_taps(oy, h) {
                        for ox in 0..2 * w {
                            let src = ((bi * oh + oy) * ow + ox) * c;
                            for (x, wx) in bilinear_taps(ox, w) {
                                let dst = &mut image[(y * w + x) * c..(y * w + x + 1) * c];
                                for (d, s) in dst.iter_mut().zip(&data[src..src + c]) {
                                    *d += wy * wx * s;
                                }
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(BilinearUp2)?))
    }
}

/// 2×2 average pooling of `(B, H, W, C)` (even sides).
pub fn avg_pool2x(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(SumDown2)? * 0.25
}

/// The contiguous f32 data and NHWC dims of a custom op's input.
fn nhwc_input<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<(&'a [f32], [usize; 4])> {
    let (b, h, w, c) = layout.shape().dims4()?;
    Ok((contiguous_f32(name, storage, layout)?, [b, h, w, c]))
}

/// im2col for a 3×3, zero-padded convolution: `(B, H, W, C)` to `(B, H, W, 9·C)`, each output row
/// the 9 neighbours' channel vectors in (dy, dx) order. Plain slice copies: candle's
/// pad/narrow/cat on non-contiguous views goes element by element and was far slower.
struct Im2col3x3;

impl CustomOp1 for Im2col3x3 {
    fn name(&self) -> &'static str {
        "im2col3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c]) = nhwc_input(self.name(), storage, layout)?;
        let mut out = vec![0f32; b * h * w * 9 * c];
        out.par_chunks_mut(h * w * 9 * c)
            .enumerate()
            .for_each(|(bi, image)| {
                for y in 0..h {
                    for x in 0..w {
                        let row = &mut image[(y * w + x) * 9 * c..(y * w + x + 1) * 9 * c];
                        for dy in 0..3 {
                            let sy = y + dy;
                            if sy < 1 || sy > h {
                                continue;
                            }
                            for dx in 0..3 {
                                let sx = x + dx;
                                if sx < 1 || sx > w {
                                    continue;
                                }
                                let src = ((bi * h + sy - 1) * w + sx - 1) * c;
                                row[(dy * 3 + dx) * c..(dy * 3 + dx + 1) * c]
                                    .copy_from_slice(&data[src..src + c]);
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, 9 * c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Col2im3x3)?))
    }
}

/// The adjoint of [`Im2col3x3`]: sums every column entry back onto the pixel it was copied from.
struct Col2im3x3;

impl CustomOp1 for Col2im3x3 {
    fn name(&self) -> &'static str {
        "col2im3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c9]) = nhwc_input(self.name(), storage, layout)?;
        let c = c9 / 9;
        let mut out = vec![0f32; b * h * w * c];
        out.par_chunks_mut(h * w * c)
            .enumerate()
            .for_each(|(bi, image)| {
                for y in 0..h {
                    for x in 0..w {
                        let row =
                            &data[((bi * h + y) * w + x) * c9..((bi * h + y) * w + x + 1) * c9];
                        for dy in 0..3 {
                            let sy = y + dy;
                            if sy < 1 || sy > h {
                                continue;
                            }
                            for dx in 0..3 {
                                let sx = x + dx;
                                if sx < 1 || sx > w {
                                    continue;
                                }
                                let dst = &mut image
                                    [((sy - 1) * w + sx - 1) * c..((sy - 1) * w + sx) * c];
                                for (d, s) in dst
                                    .iter_mut()
                                    .zip(&row[(dy * 3 + dx) * c..(dy * 3 + dx + 1) * c])
                                {
                                    *d += s;
                                }
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Im2col3x3)?))
    }
}

/// Nearest-neighbour 2× upsampling, `(B, H, W, C)` to `(B, 2H, 2W, C)`.
struct NearestUp2;

impl CustomOp1 for NearestUp2 {
    fn name(&self) -> &'static str {
        "nearest_up2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c]) = nhwc_input(self.name(), storage, layout)?;
        let mut out = vec![0f32; b * 4 * h * w * c];
        out.par_chunks_mut(2 * w * c)
            .enumerate()
            .for_each(|(out_row, row)| {
                let (bi, y) = (out_row / (2 * h), (out_row % (2 * h)) / 2);
                for x in 0..2 * w {
                    let src = ((bi * h + y) * w + x / 2) * c;
                    row[x * c..(x + 1) * c].copy_from_slice(&data[src..src + c]);
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, 2 * h, 2 * w, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(SumDown2)?))
    }
}

/// Sum over 2×2 blocks, `(B, H, W, C)` to `(B, H/2, W/2, C)`: the adjoint of [`NearestUp2`].
struct SumDown2;

impl CustomOp1 for SumDown2 {
    fn name(&self) -> &'static str {
        "sum_down2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c]) = nhwc_input(self.name(), storage, layout)?;
        let (oh, ow) = (h / 2, w / 2);
        let mut out = vec![0f32; b * oh * ow * c];
        out.par_chunks_mut(ow * c)
            .enumerate()
            .for_each(|(out_row, row)| {
                let (bi, y) = (out_row / oh, out_row % oh);
                for x in 0..ow {
                    let dst = &mut row[x * c..(x + 1) * c];
                    for (sy, sx) in [
                        (2 * y, 2 * x),
                        (2 * y, 2 * x + 1),
                        (2 * y + 1, 2 * x),
                        (2 * y + 1, 2 * x + 1),
                    ] {
                        let src = ((bi * h + sy) * w + sx) * c;
                        for (d, s) in dst.iter_mut().zip(&data[src..src + c]) {
                            *d += s;
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, oh, ow, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(NearestUp2)?))
    }
}

/// Pixel normalisation (Karras et al. 2018): unit RMS over channels at every pixel. It needs no
/// batch statistics, so training and one-image inference compute the same function.
pub fn pixel_norm(x: &Tensor) -> Result<Tensor> {
    let rms = (x.sqr()?.mean_keepdim(D::Minus1)? + 1e-8)?.sqrt()?;
    x.broadcast_div(&rms)
}

/// Appends the mean over features of the batch standard deviation as one extra channel, so the
/// discriminator can see a batch of near-identical fakes (a classic guard against collapse).
pub fn minibatch_stddev(x: &Tensor) -> Result<Tensor> {
    let (batch, height, width, _) = x.dims4()?;
    let mean = x.mean_keepdim(0)?;
    let std = (x.broadcast_sub(&mean)?.sqr()?.mean(0)? + 1e-8)?.sqrt()?;
    let scalar = std.mean_all()?;
    let channel = scalar
        .reshape((1, 1, 1, 1))?
        .broadcast_as((batch, height, width, 1))?;
    Tensor::cat(&[x, &channel.to_dtype(DType::F32)?], 3)
}

/// Inference-only fusion of conv bias, pixel norm, FiLM and leaky ReLU in one pass:
/// `leaky(γ · pixelnorm(x + bias) + β)`. candle would run these as six element-wise passes, and
/// above 64 Ki elements it spreads each over its own worker threads, which a real-time caller
/// that was promised one thread must not get.
pub fn film_activation(
    pre_bias: &Tensor,
    bias: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
) -> Result<Tensor> {
    let batch = pre_bias.dims4()?.0;
    let channels = bias.dims1()?;
    let params = Tensor::stack(
        &[
            &bias
                .unsqueeze(0)?
                .broadcast_as((batch, channels))?
                .contiguous()?,
            gamma,
            beta,
        ],
        1,
    )?;
    pre_bias
        .contiguous()?
        .apply_op2_no_bwd(&params.contiguous()?, &FilmActivation)
}

/// See [`film_activation`]; the second input is `(B, 3, C)`: bias, γ, β.
struct FilmActivation;

impl CustomOp2 for FilmActivation {
    fn name(&self) -> &'static str {
        "film_activation"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (data, [b, h, w, c]) = nhwc_input(self.name(), s1, l1)?;
        let params = contiguous_f32(self.name(), s2, l2)?;
        if params.len() != b * 3 * c {
            candle_core::bail!(
                "film_activation: parameters hold {} values, expected {}",
                params.len(),
                b * 3 * c
            );
        }
        let mut out = vec![0f32; data.len()];
        let mut shifted = vec![0f32; c];
        for (pixel, (src, dst)) in data
            .chunks_exact(c)
            .zip(out.chunks_exact_mut(c))
            .enumerate()
        {
            let p = &params[(pixel / (h * w)) * 3 * c..(pixel / (h * w) + 1) * 3 * c];
            let (bias, gamma, beta) = (&p[..c], &p[c..2 * c], &p[2 * c..]);
            let mut square_sum = 0.0;
            for i in 0..c {
                shifted[i] = src[i] + bias[i];
                square_sum += shifted[i] * shifted[i];
            }
            let inverse_rms = 1.0 / (square_sum / c as f32 + 1e-8).sqrt();
            for i in 0..c {
                let u = shifted[i] * inverse_rms * gamma[i] + beta[i];
                dst[i] = if u > 0.0 { u } else { u * LEAKY_SLOPE as f32 };
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, h, w, c))))
    }
}
