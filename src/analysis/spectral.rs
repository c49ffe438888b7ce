//! Per-frame analysis of one STFT frame: level, zero crossings, spectral shape, contrast,
//! MFCCs, chroma, flux and roughness. Everything is planned and allocated in [`FrameAnalyzer::new`].

use std::f32::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::loudness::{power_db, AES17_OFFSET_DB};

/// STFT frame length in samples at the internal rate (93 ms).
pub const FRAME_LEN: usize = 2048;
/// STFT hop in samples (23 ms): the frame-level time step of every feature.
pub const HOP_LEN: usize = 512;
/// Number of positive-frequency bins.
pub const N_BINS: usize = FRAME_LEN / 2 + 1;
/// Mel bands under the MFCCs.
pub const N_MELS: usize = 64;
/// MFCCs kept (including c0).
pub const N_MFCC: usize = 20;
/// Spectral-contrast bands (librosa's layout: below 200 Hz, six octaves, the rest).
pub const N_CONTRAST: usize = 7;
/// Pitch classes.
pub const N_CHROMA: usize = 12;
/// Power below which a frame counts as silent for the shape features.
const SILENT_POWER: f32 = 1e-10;
/// Roughness looks at this many strongest spectral peaks.
const ROUGHNESS_PEAKS: usize = 16;

/// Column of each frame-level feature in a frame row.
pub mod col {
    pub const RMS_DB: usize = 0;
    pub const ZCR: usize = 1;
    pub const CENTROID: usize = 2;
    pub const BANDWIDTH: usize = 3;
    pub const ROLLOFF: usize = 4;
    pub const FLATNESS: usize = 5;
    pub const FLUX: usize = 6;
    pub const ROUGHNESS: usize = 7;
    pub const CONTRAST: usize = 8;
    pub const MFCC: usize = CONTRAST + super::N_CONTRAST;
    pub const CHROMA: usize = MFCC + super::N_MFCC;
    pub const COUNT: usize = CHROMA + super::N_CHROMA;
}

/// Base names of the frame-level features, in column order (mean and deviation get suffixes).
pub fn frame_feature_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "frame_rms_db",
        "zcr",
        "spectral_centroid_hz",
        "spectral_bandwidth_hz",
        "spectral_rolloff_hz",
        "spectral_flatness",
        "spectral_flux",
        "roughness",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((0..N_CONTRAST).map(|i| format!("spectral_contrast_{i}")));
    names.extend((0..N_MFCC).map(|i| format!("mfcc_{i}")));
    names.extend(
        super::PITCH_CLASS_NAMES
            .iter()
            .map(|p| format!("chroma_{p}")),
    );
    names
}

/// A triangular mel filter stored sparsely.
struct MelFilter {
    /// First FFT bin the filter touches.
    start: usize,
    /// Weights for bins `start..start + weights.len()`.
    weights: Vec<f32>,
}

/// Everything one STFT frame needs, planned once.
pub struct FrameAnalyzer {
    /// Internal sample rate.
    sample_rate: f32,
    /// Forward real FFT of `FRAME_LEN`.
    fft: Arc<dyn RealToComplex<f32>>,
    /// Periodic Hann window.
    window: Vec<f32>,
    /// Windowed frame (the FFT consumes it).
    windowed: Vec<f32>,
    /// FFT output.
    spectrum: Vec<Complex<f32>>,
    /// FFT scratch.
    fft_scratch: Vec<Complex<f32>>,
    /// |X|.
    magnitude: Vec<f32>,
    /// |X|^2.
    power: Vec<f32>,
    /// Centre frequency of every bin in Hz.
    bin_hz: Vec<f32>,
    /// Slaney-normalised mel filterbank.
    mel_filters: Vec<MelFilter>,
    /// Log-mel energies of this frame (dB).
    log_mel: Vec<f32>,
    /// Log-mel energies of the previous frame, for flux.
    prev_log_mel: Vec<f32>,
    /// Orthonormal DCT-II matrix, `N_MFCC x N_MELS`.
    dct: Vec<f32>,
    /// (bin, pitch class, weight) for bins between 100 Hz and 5 kHz.
    chroma_map: Vec<(usize, usize, f32)>,
    /// Bin ranges of the contrast bands.
    contrast_bands: Vec<(usize, usize)>,
    /// Scratch for sorting band magnitudes.
    sort_scratch: Vec<f32>,
    /// Scratch for spectral peaks (frequency, amplitude).
    peaks: Vec<(f32, f32)>,
    /// Whether `prev_log_mel` holds a real frame yet.
    has_previous: bool,
}

impl FrameAnalyzer {
    pub fn new(sample_rate: f32) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FRAME_LEN);
        let spectrum = fft.make_output_vec();
        let fft_scratch = fft.make_scratch_vec();
        let window = (0..FRAME_LEN)
            .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / FRAME_LEN as f32).cos())
            .collect();
        let bin_hz: Vec<f32> = (0..N_BINS)
            .map(|k| k as f32 * sample_rate / FRAME_LEN as f32)
            .collect();
        let mel_filters = slaney_mel_filters(sample_rate, &bin_hz);
        let mut dct = vec![0.0; N_MFCC * N_MELS];
        for k in 0..N_MFCC {
            let scale = if k == 0 {
                (1.0 / N_MELS as f32).sqrt()
            } else {
                (2.0 / N_MELS as f32).sqrt()
            };
            for n in 0..N_MELS {
                dct[k * N_MELS + n] =
                    scale * (PI * k as f32 * (2 * n + 1) as f32 / (2 * N_MELS) as f32).cos();
            }
        }
        let mut chroma_map = Vec::new();
        for (k, &f) in bin_hz.iter().enumerate() {
            if !(100.0..=5000.0).contains(&f) {
                continue;
            }
            let midi = 69.0 + 12.0 * (f / 440.0).log2();
            let nearest = midi.round();
            let weight = (PI * 0.5 * (midi - nearest)).cos().powi(2);
            let pitch_class = (nearest as i64).rem_euclid(12) as usize;
            chroma_map.push((k, pitch_class, weight));
        }
        let mut edges = vec![0.0f32];
        edges.extend((0..N_CONTRAST - 1).map(|i| 200.0 * 2f32.powi(i as i32)));
        edges.push(sample_rate / 2.0 + 1.0);
        let contrast_bands = edges
            .windows(2)
            .map(|w| {
                let lo = bin_hz.iter().position(|&f| f >= w[0]).unwrap_or(N_BINS - 1);
                let hi = bin_hz.iter().position(|&f| f >= w[1]).unwrap_or(N_BINS);
                (lo, hi.max(lo + 1))
            })
            .collect();
        Self {
            sample_rate,
            fft,
            window,
            windowed: vec![0.0; FRAME_LEN],
            spectrum,
            fft_scratch,
            magnitude: vec![0.0; N_BINS],
            power: vec![0.0; N_BINS],
            bin_hz,
            mel_filters,
            log_mel: vec![0.0; N_MELS],
            prev_log_mel: vec![0.0; N_MELS],
            dct,
            chroma_map,
            contrast_bands,
            sort_scratch: Vec::with_capacity(N_BINS),
            peaks: Vec::with_capacity(N_BINS),
            has_previous: false,
        }
    }

    pub fn reset(&mut self) {
        self.has_previous = false;
    }

    /// Analyses the latest `FRAME_LEN` samples into `row` (length [`col::COUNT`]).
    pub fn analyze(&mut self, frame: &[f32], row: &mut [f32]) {
        debug_assert_eq!(frame.len(), FRAME_LEN);
        // Level and zero crossings over the hop the frame is centred on would be noisier; the
        // whole frame matches librosa's framing.
        let mean_square =
            frame.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / FRAME_LEN as f64;
        row[col::RMS_DB] = power_db(mean_square) + AES17_OFFSET_DB as f32;
        if mean_square <= 1e-10 {
            row[col::RMS_DB] = super::loudness::DB_FLOOR;
        }
        let crossings = frame
            .windows(2)
            .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
            .count();
        row[col::ZCR] = crossings as f32 / (FRAME_LEN - 1) as f32;

        for ((out, &x), &w) in self.windowed.iter_mut().zip(frame).zip(&self.window) {
            *out = x * w;
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
            row.fill(0.0);
            return;
        }
        let mut total_mag = 0.0f32;
        let mut total_power = 0.0f32;
        for ((c, m), p) in self
            .spectrum
            .iter()
            .zip(&mut self.magnitude)
            .zip(&mut self.power)
        {
            *p = c.norm_sqr();
            *m = p.sqrt();
            total_mag += *m;
            total_power += *p;
        }
        self.shape_features(total_mag, total_power, row);
        self.mel_features(row);
        self.chroma(row);
        self.contrast(row);
        row[col::ROUGHNESS] = self.roughness();
    }

    /// Centroid, bandwidth, roll-off and flatness.
    fn shape_features(&mut self, total_mag: f32, total_power: f32, row: &mut [f32]) {
        if total_power < SILENT_POWER {
            row[col::CENTROID] = 0.0;
            row[col::BANDWIDTH] = 0.0;
            row[col::ROLLOFF] = 0.0;
            row[col::FLATNESS] = 0.0;
            return;
        }
        let centroid = self
            .magnitude
            .iter()
            .zip(&self.bin_hz)
            .map(|(m, f)| m * f)
            .sum::<f32>()
            / total_mag;
        let spread = self
            .magnitude
            .iter()
            .zip(&self.bin_hz)
            .map(|(m, f)| m * (f - centroid) * (f - centroid))
            .sum::<f32>()
            / total_mag;
        let target = 0.85 * total_mag;
        let mut cumulative = 0.0;
        let mut rolloff = self.bin_hz[N_BINS - 1];
        for (m, f) in self.magnitude.iter().zip(&self.bin_hz) {
            cumulative += m;
            if cumulative >= target {
                rolloff = *f;
                break;
            }
        }
        let mean_log = self
            .power
            .iter()
            .map(|p| p.max(SILENT_POWER).ln())
            .sum::<f32>()
            / N_BINS as f32;
        let mean = self.power.iter().map(|p| p.max(SILENT_POWER)).sum::<f32>() / N_BINS as f32;
        row[col::CENTROID] = centroid;
        row[col::BANDWIDTH] = spread.max(0.0).sqrt();
        row[col::ROLLOFF] = rolloff;
        row[col::FLATNESS] = (mean_log.exp() / mean).clamp(0.0, 1.0);
    }

    /// Log-mel energies, MFCCs and the positive log-mel flux.
    fn mel_features(&mut self, row: &mut [f32]) {
        for (filter, out) in self.mel_filters.iter().zip(&mut self.log_mel) {
            let energy: f32 = filter
                .weights
                .iter()
                .zip(&self.power[filter.start..])
                .map(|(w, p)| w * p)
                .sum();
            *out = 10.0 * energy.max(SILENT_POWER).log10();
        }
        for k in 0..N_MFCC {
            row[col::MFCC + k] = self.dct[k * N_MELS..(k + 1) * N_MELS]
                .iter()
                .zip(&self.log_mel)
                .map(|(d, l)| d * l)
                .sum();
        }
        row[col::FLUX] = if self.has_previous {
            self.log_mel
                .iter()
                .zip(&self.prev_log_mel)
                .map(|(now, before)| (now - before).max(0.0))
                .sum::<f32>()
                / N_MELS as f32
        } else {
            0.0
        };
        self.prev_log_mel.copy_from_slice(&self.log_mel);
        self.has_previous = true;
    }

    /// 12-bin chroma from magnitudes, normalised so the strongest class is 1 (all 0 in silence).
    fn chroma(&mut self, row: &mut [f32]) {
        let chroma = &mut row[col::CHROMA..col::CHROMA + N_CHROMA];
        chroma.fill(0.0);
        for &(bin, pitch_class, weight) in &self.chroma_map {
            chroma[pitch_class] += weight * self.magnitude[bin];
        }
        let peak = chroma.iter().cloned().fold(0.0f32, f32::max);
        if peak > 1e-4 {
            chroma.iter_mut().for_each(|c| *c /= peak);
        } else {
            chroma.fill(0.0);
        }
    }

    /// Peak-to-valley ratio (dB) of each band: mean of the top and bottom 2 % of magnitudes.
    fn contrast(&mut self, row: &mut [f32]) {
        for (band, &(lo, hi)) in self.contrast_bands.iter().enumerate() {
            self.sort_scratch.clear();
            self.sort_scratch.extend_from_slice(&self.magnitude[lo..hi]);
            self.sort_scratch.sort_unstable_by(f32::total_cmp);
            let n = self.sort_scratch.len();
            let take = ((0.02 * n as f32).round() as usize).clamp(1, n);
            let valley = self.sort_scratch[..take].iter().sum::<f32>() / take as f32;
            let peak = self.sort_scratch[n - take..].iter().sum::<f32>() / take as f32;
            row[col::CONTRAST + band] = 10.0 * ((peak + 1e-10) / (valley + 1e-10)).log10();
        }
    }

    /// Sethares' sensory roughness of the strongest spectral peaks, divided by their energy so
    /// that it does not depend on level: 0 for a pure tone, larger for beating partials.
    fn roughness(&mut self) -> f32 {
        self.peaks.clear();
        let max_mag = self.magnitude.iter().cloned().fold(0.0f32, f32::max);
        if max_mag < 1e-5 {
            return 0.0;
        }
        let floor = max_mag * 0.01;
        let hz_per_bin = self.sample_rate / FRAME_LEN as f32;
        let first = (50.0 / hz_per_bin) as usize;
        let last = ((5000.0 / hz_per_bin) as usize).min(N_BINS - 2);
        for k in first.max(1)..=last {
            let (l, c, r) = (
                self.magnitude[k - 1],
                self.magnitude[k],
                self.magnitude[k + 1],
            );
            if c > floor && c > l && c >= r {
                let denom = l - 2.0 * c + r;
                let offset = if denom.abs() > 1e-12 {
                    (0.5 * (l - r) / denom).clamp(-0.5, 0.5)
                } else {
                    0.0
                };
                self.peaks.push(((k as f32 + offset) * hz_per_bin, c));
            }
        }
        if self.peaks.len() > ROUGHNESS_PEAKS {
            self.peaks
                .select_nth_unstable_by(ROUGHNESS_PEAKS, |a, b| b.1.total_cmp(&a.1));
            self.peaks.truncate(ROUGHNESS_PEAKS);
        }
        let mut rough = 0.0f32;
        let mut energy = 0.0f32;
        for (i, &(f1, a1)) in self.peaks.iter().enumerate() {
            energy += a1 * a1;
            for &(f2, a2) in &self.peaks[i + 1..] {
                let s = 0.24 / (0.0207 * f1.min(f2) + 18.96);
                let d = (f2 - f1).abs();
                rough += a1 * a2 * ((-3.5 * s * d).exp() - (-5.75 * s * d).exp());
            }
        }
        if energy > 0.0 {
            (rough / energy).max(0.0)
        } else {
            0.0
        }
    }
}

/// Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa's default.
fn hz_to_mel(hz: f32) -> f32 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f32).ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f32) -> f32 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f32).ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// Triangular, area-normalised ("slaney" norm) mel filters from 0 Hz to Nyquist.
fn slaney_mel_filters(sample_rate: f32, bin_hz: &[f32]) -> Vec<MelFilter> {
    let top = hz_to_mel(sample_rate / 2.0);
    let edges: Vec<f32> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(top * i as f32 / (N_MELS + 1) as f32))
        .collect();
    (0..N_MELS)
        .map(|m| {
            let (lo, centre, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let norm = 2.0 / (hi - lo);
            let start = bin_hz.iter().position(|&f| f > lo).unwrap_or(0);
            let weights: Vec<f32> = bin_hz[start..]
                .iter()
                .take_while(|&&f| f < hi)
                .map(|&f| {
                    let w = if f <= centre {
                        (f - lo) / (centre - lo)
                    } else {
                        (hi - f) / (hi - centre)
                    };
                    w.max(0.0) * norm
                })
                .collect();
            MelFilter { start, weights }
        })
        .collect()
}
