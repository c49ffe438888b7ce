//! Matrix products on the calling thread only, for inference on the one-thread pools (MusiCNN on
//! the analysis thread, the generator and the upscaler on their own threads).
//!
//! Why not candle's `matmul`: it asks gemm for `Parallelism::Rayon(cores)` whatever pool it runs
//! in. On a one-thread pool gemm then runs its multi-thread blocking serially, which measured
//! about 2× the single-thread time here (the 4× upscaler: 230 ms instead of 105 ms per picture on
//! one thread). These call candle's own gemm kernel with `Parallelism::None`.
//!
//! [`dot`] is the vector product for the analysis engine (f32) and the ridge solvers (f64).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};
use std::iter::Sum;
use std::ops::{Add, Mul};

/// Dot product with eight independent accumulators, so the compiler can vectorise it and the
/// additions pipeline (a plain float sum is a serial dependency chain). Extra elements of the
/// longer slice are ignored.
#[inline]
pub fn dot<T>(a: &[T], b: &[T]) -> T
where
    T: Copy + Default + Add<Output = T> + Mul<Output = T> + Sum,
{
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut lanes = [T::default(); 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..8 {
            lanes[i] = lanes[i] + x[i] * y[i];
        }
    }
    lanes.into_iter().sum::<T>() + tail
}

/// `dst (m × n, row stride dst_rs) = [dst +] lhs (m × k) · rhs (k × n, row-major)`, with `lhs`
/// read through arbitrary strides, on the calling thread only. Bounds are checked first, so a
/// wrong stride is a panic-free no-op in release and an assertion in the `ci` profile.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: &[f32],
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let dst_end = (m - 1) * dst_rs + n;
    let lhs_end = (m - 1) * lhs_rs + (k - 1) * lhs_cs + 1;
    let in_bounds = dst_end <= dst.len() && lhs_end <= lhs.len() && k * n <= rhs.len();
    debug_assert!(in_bounds, "musicnn matmul out of bounds");
    if !in_bounds {
        return;
    }
    // SAFETY: every index the product touches was checked against the slices above; `dst`
    // does not alias `lhs` or `rhs` (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `lhs (m × k) · rhs (k × n)` for two contiguous row-major matrices, as a candle op
/// (`Tensor::apply_op2_no_bwd`; inference only).
pub struct MatmulOnThisThread;

impl CustomOp2 for MatmulOnThisThread {
    fn name(&self) -> &'static str {
        "matmul_on_this_thread"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (m, k) = l1.shape().dims2()?;
        let (rhs_k, n) = l2.shape().dims2()?;
        if rhs_k != k {
            candle_core::bail!(
                "matmul_on_this_thread: {:?} times {:?}",
                l1.shape(),
                l2.shape()
            );
        }
        let lhs = contiguous_f32(self.name(), s1, l1)?;
        let rhs = contiguous_f32(self.name(), s2, l2)?;
        let mut out = vec![0f32; m * n];
        matmul(m, n, k, &mut out, n, false, lhs, k, 1, rhs);
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

/// The contiguous f32 slice of the input of the custom op `name` (the candle ops of both the
/// landscape networks and the pretrained ports).
pub(crate) fn contiguous_f32<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name} needs a contiguous input"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn matches_candles_matmul_and_refuses_mismatched_shapes() {
        let lhs = Tensor::randn(0f32, 1.0, (37, 19), &Device::Cpu).unwrap();
        let rhs = Tensor::randn(0f32, 1.0, (19, 11), &Device::Cpu).unwrap();
        let ours = lhs.apply_op2_no_bwd(&rhs, &MatmulOnThisThread).unwrap();
        let candle = lhs.matmul(&rhs).unwrap();
        let difference = (ours - candle)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(difference < 1e-4, "differs by {difference}");
        assert!(lhs.apply_op2_no_bwd(&lhs, &MatmulOnThisThread).is_err());
        assert!(lhs
            .t()
            .unwrap()
            .apply_op2_no_bwd(&lhs, &MatmulOnThisThread)
            .is_err());
    }
}
