//! The MusiCNN front end, as `musicnn/extractor.py` computes it with librosa: 16 kHz mono, STFT
//! with a periodic Hann window of 512 and hop 256, power 2, librosa's Slaney mel filterbank (96
//! bands, Slaney area normalisation, 0-8 kHz), cast to float16, then `log10(10000·x + 1)`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{FFT_SIZE, HOP, MEL_BANDS, PATCH_FRAMES, SAMPLE_RATE};
use crate::analysis::spectral::{hz_to_mel, mel_to_hz};

/// Largest finite float16: mel energies above it would become +inf in the reference's fp16 cast
/// (and NaN downstream); the port saturates instead, which no real signal reaches (a full-scale
/// sine gives a few hundred).
const F16_MAX: f32 = 65504.0;
/// Smallest normal float16 (2^-14); below it float16 steps by 2^-24.
const F16_MIN_NORMAL: f32 = 6.103_515_6e-5;

/// Rounds a non-negative value to the nearest float16 (ties to even), saturating at
/// [`F16_MAX`]: numpy's `astype(np.float16)` in the reference front end.
pub(crate) fn round_to_f16(x: f32) -> f32 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x >= F16_MAX {
        return F16_MAX;
    }
    if x < F16_MIN_NORMAL {
        const QUANTUM: f32 = 1.0 / 16_777_216.0; // 2^-24
        return (x / QUANTUM).round_ties_even() * QUANTUM;
    }
    // Keep 10 of f32's 23 mantissa bits, rounding to nearest even on the 13 dropped bits.
    let bits = x.to_bits();
    let lsb = (bits >> 13) & 1;
    f32::from_bits((bits + 0x0FFF + lsb) & !0x1FFF).min(F16_MAX)
}

/// musicnn's compression of a mel energy: fp16 cast, then `log10(10000·x + 1)` in float32.
#[inline]
pub(crate) fn compress(mel_energy: f32) -> f32 {
    (10_000.0 * round_to_f16(mel_energy) + 1.0).log10()
}

/// One mel band's non-zero filter weights.
#[derive(Debug, Clone)]
struct MelBand {
    /// First FFT bin with a non-zero weight.
    first_bin: usize,
    /// Weights from `first_bin` on.
    weights: Vec<f32>,
}

/// librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), computed in f64 and stored as f32 like
/// librosa returns it, kept sparse.
fn mel_filterbank() -> Vec<MelBand> {
    let bins = FFT_SIZE / 2 + 1;
    let nyquist = SAMPLE_RATE as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|k| k as f64 * nyquist / (bins - 1) as f64)
        .collect();
    let max_mel = hz_to_mel(nyquist);
    let mel_points: Vec<f64> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (MEL_BANDS + 1) as f64))
        .collect();
    (0..MEL_BANDS)
        .map(|band| {
            let (lo, centre, hi) = (mel_points[band], mel_points[band + 1], mel_points[band + 2]);
            let norm = 2.0 / (hi - lo);
            let dense: Vec<f32> = fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - lo) / (centre - lo);
                    let upper = (hi - f) / (hi - centre);
                    (lower.min(upper).max(0.0) * norm) as f32
                })
                .collect();
            let first_bin = dense.iter().position(|&w| w != 0.0).unwrap_or(0);
            let last_bin = dense.iter().rposition(|&w| w != 0.0).unwrap_or(0);
            MelBand {
                first_bin,
                weights: dense[first_bin..=last_bin.max(first_bin)].to_vec(),
            }
        })
        .collect()
}

/// Turns 512-sample frames into 96 compressed mel values. Allocates only in `new`.
pub(crate) struct MelFrontEnd {
    /// Forward real FFT of [`FFT_SIZE`].
    fft: Arc<dyn RealToComplex<f32>>,
    /// Periodic Hann window (scipy `get_window('hann', 512, fftbins=True)`).
    window: Vec<f32>,
    /// The mel filterbank.
    bands: Vec<MelBand>,
    /// Windowed frame (the FFT overwrites it).
    windowed: Vec<f32>,
    /// FFT output.
    spectrum: Vec<Complex<f32>>,
    /// FFT scratch.
    fft_scratch: Vec<Complex<f32>>,
    /// Power spectrum of the current frame.
    power: Vec<f32>,
}

impl MelFrontEnd {
    pub(crate) fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let window = (0..FFT_SIZE)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / FFT_SIZE as f64).cos()) as f32
            })
            .collect();
        let spectrum = fft.make_output_vec();
        let fft_scratch = fft.make_scratch_vec();
        Self {
            fft,
            window,
            bands: mel_filterbank(),
            windowed: vec![0.0; FFT_SIZE],
            spectrum,
            fft_scratch,
            power: vec![0.0; FFT_SIZE / 2 + 1],
        }
    }

    /// `frame`: [`FFT_SIZE`] samples in time order; `out`: [`MEL_BANDS`] compressed mel values.
    pub(crate) fn log_mel_frame(&mut self, frame: &[f32], out: &mut [f32]) {
        for ((w, &x), &win) in self.windowed.iter_mut().zip(frame).zip(&self.window) {
            *w = x * win;
        }
        if self
            .fft
            .process_with_scratch(
                &mut self.windowed,
                &mut self.spectrum,
                &mut self.fft_scratch,
            )
            .is_err()
        {
            // Only possible with wrongly sized buffers, which `new` rules out.
            out.fill(0.0);
            return;
        }
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        for (o, band) in out.iter_mut().zip(&self.bands) {
            let energy: f32 = band
                .weights
                .iter()
                .zip(&self.power[band.first_bin..])
                .map(|(w, p)| w * p)
                .sum();
            *o = compress(energy);
        }
    }
}

/// Index into a clip of `len` samples with numpy's `reflect` padding (edge not repeated).
fn reflect(index: isize, len: usize) -> usize {
    if len <= 1 {
        return 0;
    }
    let period = 2 * (len as isize - 1);
    let folded = index.rem_euclid(period);
    if folded < len as isize {
        folded as usize
    } else {
        (period - folded) as usize
    }
}

/// The log-mel spectrogram of a whole 16 kHz mono clip with centred, reflect-padded frames
/// (librosa's `center=True`): `(1 + len / 256)` frames × [`MEL_BANDS`], time first.
pub fn log_mel_for_clip(mono_16k: &[f32]) -> (Vec<f32>, usize) {
    if mono_16k.is_empty() {
        return (Vec::new(), 0);
    }
    let frames = 1 + mono_16k.len() / HOP;
    let mut front = MelFrontEnd::new();
    let mut frame = vec![0.0f32; FFT_SIZE];
    let mut mel = vec![0.0f32; frames * MEL_BANDS];
    for (i, out) in mel.chunks_exact_mut(MEL_BANDS).enumerate() {
        let start = (i * HOP) as isize - (FFT_SIZE / 2) as isize;
        for (j, x) in frame.iter_mut().enumerate() {
            let sample = mono_16k[reflect(start + j as isize, mono_16k.len())];
            *x = if sample.is_finite() { sample } else { 0.0 };
        }
        front.log_mel_frame(&frame, out);
    }
    (mel, frames)
}

/// The reference front end on a whole clip, as `musicnn/extractor.py` does it (centred STFT
/// with reflect padding, non-overlapping patches of [`PATCH_FRAMES`]; a tail shorter than a
/// patch is dropped): the patches' log-mel values, time first, and the patch count.
pub fn mel_patches_for_clip(mono_16k: &[f32]) -> (Vec<f32>, usize) {
    let (mel, frames) = log_mel_for_clip(mono_16k);
    let patches = frames / PATCH_FRAMES;
    let mut out = mel;
    out.truncate(patches * PATCH_FRAMES * MEL_BANDS);
    (out, patches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_rounding_matches_ieee_half() {
        // Exact float16 values stay.
        for x in [1.0f32, 0.5, 1024.0, 65504.0, 6.103_515_6e-5, 5.960_464_5e-8] {
            assert_eq!(round_to_f16(x), x);
        }
        // Ties go to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
        assert_eq!(round_to_f16(1.0 + 2f32.powi(-11)), 1.0);
        assert_eq!(
            round_to_f16(1.0 + 3.0 * 2f32.powi(-11)),
            1.0 + 2f32.powi(-9)
        );
        // numpy: np.float16(0.1) == 0.0999755859375, np.float16(3.3) == 3.30078125.
        assert_eq!(round_to_f16(0.1), 0.099_975_586);
        assert_eq!(round_to_f16(3.3), 3.300_781_3);
        // Subnormals step by 2^-24; below half a step is zero.
        assert_eq!(round_to_f16(1e-8), 0.0);
        assert_eq!(round_to_f16(4e-8), 5.960_464_5e-8);
        assert_eq!(round_to_f16(1e-6), 17.0 * 5.960_464_5e-8);
        // Saturation instead of +inf; junk becomes silence.
        assert_eq!(round_to_f16(1e9), 65504.0);
        assert_eq!(round_to_f16(f32::NAN), 0.0);
        assert_eq!(round_to_f16(-1.0), 0.0);
        assert_eq!(compress(0.0), 0.0);
    }

    #[test]
    fn mel_filterbank_matches_librosa() {
        let bands = mel_filterbank();
        assert_eq!(bands.len(), MEL_BANDS);
        // Row sums × bin width (Hz) of librosa 0.11's `filters.mel(sr=16000, n_fft=512,
        // n_mels=96)`: about 1 by Slaney normalisation, minus how coarsely the bins sample each
        // triangle. Printed with `(m.sum(axis=1) * 16000 / 512)[[0, 10, 40, 60, 95]]`.
        let bin_hz = SAMPLE_RATE as f32 / FFT_SIZE as f32;
        for (band, librosa) in [
            (0, 0.999_975_74),
            (10, 0.999_975_74),
            (40, 0.929_112_85),
            (60, 0.994_118_03),
            (95, 0.999_540_1),
        ] {
            let area: f32 = bands[band].weights.iter().sum::<f32>() * bin_hz;
            assert!(
                (area - librosa).abs() < 1e-5,
                "band {band}: {area} vs {librosa}"
            );
        }
        // Bands rise monotonically across the spectrum.
        assert!(bands.windows(2).all(|w| w[0].first_bin <= w[1].first_bin));
    }
}
