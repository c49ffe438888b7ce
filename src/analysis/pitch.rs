//! Predominant pitch with YIN (de Cheveigné & Kawahara 2002) and the melody statistics built on it.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::spectral::FRAME_LEN;

/// Lowest pitch searched (Hz).
const MIN_HZ: f32 = 60.0;
/// Highest pitch searched (Hz).
const MAX_HZ: f32 = 1000.0;
/// YIN absolute threshold on the cumulative-mean-normalised difference.
const THRESHOLD: f32 = 0.15;
/// Integration window of the difference function (half a frame).
const INTEGRATION: usize = FRAME_LEN / 2;
/// Correlation FFT size: frame plus integration window, rounded to a power of two.
const CORR_LEN: usize = 4096;
/// Frames quieter than this (mean square, about -50 dBFS) are unvoiced.
const VOICING_POWER: f64 = 1e-5;

/// YIN with its correlation computed by FFT (three 4096-point transforms per call).
pub struct Yin {
    /// Internal sample rate.
    sample_rate: f32,
    /// Forward transform.
    forward: Arc<dyn RealToComplex<f32>>,
    /// Inverse transform.
    inverse: Arc<dyn ComplexToReal<f32>>,
    /// Zero-padded whole frame.
    padded_frame: Vec<f32>,
    /// Zero-padded first `INTEGRATION` samples.
    padded_head: Vec<f32>,
    /// Spectrum of the whole frame.
    frame_spectrum: Vec<Complex<f32>>,
    /// Spectrum of the head, then the cross-spectrum.
    head_spectrum: Vec<Complex<f32>>,
    /// Cross-correlation r(tau).
    correlation: Vec<f32>,
    /// Cumulative-mean-normalised difference d'(tau).
    cmnd: Vec<f32>,
    /// Running sum of squares for the energy terms.
    prefix_energy: Vec<f64>,
    /// Shared FFT scratch.
    scratch: Vec<Complex<f32>>,
}

impl Yin {
    pub fn new(sample_rate: f32) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(CORR_LEN);
        let inverse = planner.plan_fft_inverse(CORR_LEN);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let tau_max = (sample_rate / MIN_HZ).ceil() as usize + 2;
        Self {
            sample_rate,
            frame_spectrum: forward.make_output_vec(),
            head_spectrum: forward.make_output_vec(),
            forward,
            inverse,
            padded_frame: vec![0.0; CORR_LEN],
            padded_head: vec![0.0; CORR_LEN],
            correlation: vec![0.0; CORR_LEN],
            cmnd: vec![1.0; tau_max.min(FRAME_LEN - INTEGRATION)],
            prefix_energy: vec![0.0; FRAME_LEN + 1],
            scratch: vec![Complex::default(); scratch_len],
        }
    }

    /// Fundamental frequency of the frame in Hz, or `None` when unvoiced or silent.
    pub fn estimate(&mut self, frame: &[f32]) -> Option<f32> {
        // A DC offset carries no pitch and would only leave rounding noise in d(tau).
        let mean = frame.iter().map(|&x| x as f64).sum::<f64>() / frame.len() as f64;
        let mean_square = frame
            .iter()
            .map(|&x| (x as f64 - mean) * (x as f64 - mean))
            .sum::<f64>()
            / frame.len() as f64;
        if mean_square < VOICING_POWER {
            return None;
        }
        for (padded, &x) in self.padded_frame.iter_mut().zip(frame) {
            *padded = (x as f64 - mean) as f32;
        }
        self.padded_frame[FRAME_LEN..].fill(0.0);
        self.padded_head[..INTEGRATION].copy_from_slice(&self.padded_frame[..INTEGRATION]);
        self.padded_head[INTEGRATION..].fill(0.0);
        for (i, &x) in self.padded_frame[..FRAME_LEN].iter().enumerate() {
            self.prefix_energy[i + 1] = self.prefix_energy[i] + (x as f64) * (x as f64);
        }
        self.forward
            .process_with_scratch(
                &mut self.padded_frame,
                &mut self.frame_spectrum,
                &mut self.scratch,
            )
            .ok()?;
        self.forward
            .process_with_scratch(
                &mut self.padded_head,
                &mut self.head_spectrum,
                &mut self.scratch,
            )
            .ok()?;
        for (head, whole) in self.head_spectrum.iter_mut().zip(&self.frame_spectrum) {
            *head = head.conj() * whole;
        }
        // Real inverse transforms need purely real DC and Nyquist bins.
        self.head_spectrum[0].im = 0.0;
        self.head_spectrum[CORR_LEN / 2].im = 0.0;
        self.inverse
            .process_with_scratch(
                &mut self.head_spectrum,
                &mut self.correlation,
                &mut self.scratch,
            )
            .ok()?;
        let scale = 1.0 / CORR_LEN as f32;

        let e0 = self.prefix_energy[INTEGRATION];
        let tau_min = (self.sample_rate / MAX_HZ).floor() as usize;
        let tau_max = self.cmnd.len();
        let mut running = 0.0f64;
        self.cmnd[0] = 1.0;
        for tau in 1..tau_max {
            let e_tau = self.prefix_energy[tau + INTEGRATION] - self.prefix_energy[tau];
            let d = (e0 + e_tau - 2.0 * (self.correlation[tau] * scale) as f64).max(0.0);
            running += d;
            self.cmnd[tau] = if running > 1e-12 {
                (d * tau as f64 / running) as f32
            } else {
                1.0
            };
        }
        let mut tau = tau_min.max(2);
        while tau < tau_max - 1 {
            if self.cmnd[tau] < THRESHOLD {
                while tau + 1 < tau_max - 1 && self.cmnd[tau + 1] < self.cmnd[tau] {
                    tau += 1;
                }
                let (l, c, r) = (self.cmnd[tau - 1], self.cmnd[tau], self.cmnd[tau + 1]);
                let denom = l - 2.0 * c + r;
                let offset = if denom.abs() > 1e-9 {
                    (0.5 * (l - r) / denom).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let hz = self.sample_rate / (tau as f32 + offset);
                return (hz.is_finite() && hz > 0.0).then_some(hz);
            }
            tau += 1;
        }
        None
    }
}

/// MIDI note number of a frequency (69 = A4 = 440 Hz).
pub fn hz_to_midi(hz: f32) -> f32 {
    69.0 + 12.0 * (hz / 440.0).log2()
}

/// Statistics of a predominant-pitch contour over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MelodyStats {
    /// Median voiced pitch (Hz), 0 when nothing was voiced.
    pub median_hz: f32,
    /// Mean voiced pitch as a MIDI note number, 0 when nothing was voiced.
    pub mean_midi: f32,
    /// Standard deviation of voiced pitch in semitones.
    pub std_semitones: f32,
    /// 5th-to-95th percentile range of voiced pitch in semitones.
    pub range_semitones: f32,
    /// Share of analysed frames that were voiced.
    pub voiced_fraction: f32,
    /// Share of note changes (|step| >= 0.5 semitone) that move by at most 2.5 semitones.
    pub stepwise_ratio: f32,
    /// Mean size of those note changes in semitones.
    pub mean_interval: f32,
}

/// Computes [`MelodyStats`] from a contour of MIDI values (0 = unvoiced), oldest first.
/// `scratch` is reused for sorting.
pub fn melody_stats(
    contour: impl Iterator<Item = f32> + Clone,
    scratch: &mut Vec<f32>,
) -> MelodyStats {
    scratch.clear();
    let mut total = 0usize;
    let mut changes = 0usize;
    let mut steps = 0usize;
    let mut interval_sum = 0.0f32;
    let mut previous: Option<f32> = None;
    for midi in contour {
        total += 1;
        if midi > 0.0 {
            scratch.push(midi);
            if let Some(before) = previous {
                let jump = (midi - before).abs();
                if jump >= 0.5 {
                    changes += 1;
                    interval_sum += jump;
                    if jump <= 2.5 {
                        steps += 1;
                    }
                }
            }
            previous = Some(midi);
        } else {
            previous = None;
        }
    }
    if scratch.is_empty() {
        return MelodyStats::default();
    }
    let n = scratch.len() as f32;
    let mean = scratch.iter().sum::<f32>() / n;
    let var = scratch.iter().map(|m| (m - mean) * (m - mean)).sum::<f32>() / n;
    scratch.sort_unstable_by(f32::total_cmp);
    let pct = |q: f32| {
        let pos = q * (scratch.len() - 1) as f32;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(scratch.len() - 1);
        scratch[lo] + (scratch[hi] - scratch[lo]) * (pos - lo as f32)
    };
    let median_midi = pct(0.5);
    MelodyStats {
        median_hz: 440.0 * 2f32.powf((median_midi - 69.0) / 12.0),
        mean_midi: mean,
        std_semitones: var.sqrt(),
        range_semitones: pct(0.95) - pct(0.05),
        voiced_fraction: n / total.max(1) as f32,
        stepwise_ratio: if changes > 0 {
            steps as f32 / changes as f32
        } else {
            0.0
        },
        mean_interval: if changes > 0 {
            interval_sum / changes as f32
        } else {
            0.0
        },
    }
}
