//! Per-frame analysis of one STFT frame: level, zero crossings, spectral shape, contrast,
//! MFCCs, chroma, flux and roughness. Everything is planned and allocated in [`FrameAnalyzer::new`].

use std::f32::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::loudness::{power_db, AES17_OFFSET_DB};
use super::ring::sum;
use crate::matmul::dot;

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
    /// Centre frequency (Hz).
    centre_hz: f32,
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
    /// Squared centre frequencies, for the bandwidth.
    bin_hz_squared: Vec<f32>,
    /// Slaney-normalised mel filterbank.
    mel_filters: Vec<MelFilter>,
    /// Log-mel energies of this frame (dB).
    log_mel: Vec<f32>,
    /// Log-mel energies of the previous frame, for flux.
    prev_log_mel: Vec<f32>,
    /// Orthonormal DCT-II matrix, `N_MFCC x N_MELS`.
    dct: Vec<f32>,
    /// Per pitch class, the bins between 100 Hz and 5 kHz that feed it and their weights
    /// (gathered per class so each sum stays in a register instead of a scatter through memory).
    chroma_map: Vec<(Vec<usize>, Vec<f32>)>,
    /// Bin ranges of the contrast bands.
    contrast_bands: Vec<(usize, usize)>,
    /// Scratch for spectral peaks (frequency, amplitude).
    peaks: Vec<(f32, f32)>,
    /// Whether `prev_log_mel` holds a real frame yet.
    has_previous: bool,
    /// Mel bands below [`ACCENT_TOP_HZ`]: the bands of kick, snare body, bass and chords, where
    /// hi-hats and cymbals put little energy.
    accent_bands: usize,
    /// Per accent band, a peak hold of its level (dB) that decays by [`ACCENT_PEAK_DECAY_DB`] a
    /// frame: the floor under each band follows what the band has recently played.
    accent_peak: Vec<f32>,
    /// Per accent band, last frame's level after the floor.
    accent_previous: Vec<f32>,
    /// This frame's accent, for the tempo's metrical level: the mean rise (dB) of the
    /// [`ACCENT_TOP_BANDS`] accent bands that rose most, each band's level floored
    /// [`ACCENT_RANGE_DB`] under its recent peak. Only what is loud for its band counts (a
    /// hi-hat's faint low end stays under the floor), and one new note counts as much as a chord
    /// (the few bands it rises in, not how many).
    pub accent: f32,
}

/// Top of the accent bands (Hz).
const ACCENT_TOP_HZ: f32 = 1000.0;
/// Range under a band's recent peak in which rises count as accents (dB).
const ACCENT_RANGE_DB: f32 = 9.0;
/// How many of the bands that rose most make the accent: a note's fundamental and first
/// partials.
const ACCENT_TOP_BANDS: usize = 3;
/// Decay of the accent bands' peak hold (dB per frame).
const ACCENT_PEAK_DECAY_DB: f32 = 0.1;

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
        let accent_bands = mel_filters
            .iter()
            .filter(|f| f.centre_hz < ACCENT_TOP_HZ)
            .count()
            .max(1);
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
        let mut chroma_map = vec![(Vec::new(), Vec::new()); N_CHROMA];
        for (k, &f) in bin_hz.iter().enumerate() {
            if !(100.0..=5000.0).contains(&f) {
                continue;
            }
            let midi = 69.0 + 12.0 * (f / 440.0).log2();
            let nearest = midi.round();
            let weight = (PI * 0.5 * (midi - nearest)).cos().powi(2);
            let pitch_class = (nearest as i64).rem_euclid(12) as usize;
            chroma_map[pitch_class].0.push(k);
            chroma_map[pitch_class].1.push(weight);
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
            bin_hz_squared: bin_hz.iter().map(|f| f * f).collect(),
            bin_hz,
            mel_filters,
            log_mel: vec![0.0; N_MELS],
            prev_log_mel: vec![0.0; N_MELS],
            dct,
            chroma_map,
            contrast_bands,
            peaks: Vec::with_capacity(N_BINS),
            has_previous: false,
            accent_bands,
            accent_peak: vec![-200.0; accent_bands],
            accent_previous: vec![-200.0; accent_bands],
            accent: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.has_previous = false;
        self.accent_peak.fill(-200.0);
        self.accent_previous.fill(-200.0);
        self.accent = 0.0;
    }

    /// Analyses the latest `FRAME_LEN` samples into `row` (length [`col::COUNT`]).
    pub fn analyze(&mut self, frame: &[f32], row: &mut [f32]) {
        debug_assert_eq!(frame.len(), FRAME_LEN);
        // Level and zero crossings over the hop the frame is centred on would be noisier; the
        // whole frame matches librosa's framing.
        let mean_square = dot(frame, frame) as f64 / FRAME_LEN as f64;
        row[col::RMS_DB] = power_db(mean_square) + AES17_OFFSET_DB as f32;
        if mean_square <= 1e-10 {
            row[col::RMS_DB] = super::loudness::DB_FLOOR;
        }
        // Integer sum over paired slices: vectorises, unlike `windows(2)`.
        let crossings: u32 = frame[..FRAME_LEN - 1]
            .iter()
            .zip(&frame[1..])
            .map(|(a, b)| ((*a >= 0.0) != (*b >= 0.0)) as u32)
            .sum();
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
        for ((c, m), p) in self
            .spectrum
            .iter()
            .zip(&mut self.magnitude)
            .zip(&mut self.power)
        {
            *p = c.norm_sqr();
            *m = p.sqrt();
        }
        let total_mag = sum(&self.magnitude);
        let total_power = sum(&self.power);
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
        let centroid = dot(&self.magnitude, &self.bin_hz) / total_mag;
        // E[f^2] - E[f]^2 in one vectorised pass.
        let spread = dot(&self.magnitude, &self.bin_hz_squared) / total_mag - centroid * centroid;
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
        // Geometric mean via logs of products of 16 bins (in f64, which cannot over- or
        // underflow for 16 factors in [1e-10, 1e12]): 65 logarithms instead of 1025.
        let mut log_sum = 0.0f64;
        let mut floored_sum = 0.0f32;
        for chunk in self.power.chunks(16) {
            let mut product = 1.0f64;
            for &p in chunk {
                let p = p.max(SILENT_POWER);
                floored_sum += p;
                product *= p as f64;
            }
            log_sum += product.ln();
        }
        let mean_log = log_sum / N_BINS as f64;
        let mean = floored_sum as f64 / N_BINS as f64;
        row[col::CENTROID] = centroid;
        row[col::BANDWIDTH] = spread.max(0.0).sqrt();
        row[col::ROLLOFF] = rolloff;
        row[col::FLATNESS] = (mean_log.exp() / mean).clamp(0.0, 1.0) as f32;
    }

    /// Log-mel energies, MFCCs and the positive log-mel flux.
    fn mel_features(&mut self, row: &mut [f32]) {
        for (filter, out) in self.mel_filters.iter().zip(&mut self.log_mel) {
            let energy = dot(&filter.weights, &self.power[filter.start..]);
            *out = 10.0 * energy.max(SILENT_POWER).log10();
        }
        for k in 0..N_MFCC {
            row[col::MFCC + k] = dot(&self.dct[k * N_MELS..(k + 1) * N_MELS], &self.log_mel);
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
        let mut largest = [0.0f32; ACCENT_TOP_BANDS];
        for b in 0..self.accent_bands {
            let level = self.log_mel[b];
            let peak = (self.accent_peak[b] - ACCENT_PEAK_DECAY_DB).max(level);
            self.accent_peak[b] = peak;
            let floored = level.max(peak - ACCENT_RANGE_DB);
            if self.has_previous {
                let rise = (floored - self.accent_previous[b]).max(0.0);
                if rise > largest[ACCENT_TOP_BANDS - 1] {
                    largest[ACCENT_TOP_BANDS - 1] = rise;
                    largest.sort_unstable_by(|a, b| b.total_cmp(a));
                }
            }
            self.accent_previous[b] = floored;
        }
        self.accent = largest.iter().sum::<f32>() / ACCENT_TOP_BANDS as f32;
        self.prev_log_mel.copy_from_slice(&self.log_mel);
        self.has_previous = true;
    }

    /// 12-bin chroma from magnitudes, normalised so the strongest class is 1 (all 0 in silence).
    fn chroma(&mut self, row: &mut [f32]) {
        let chroma = &mut row[col::CHROMA..col::CHROMA + N_CHROMA];
        for (out, (bins, weights)) in chroma.iter_mut().zip(&self.chroma_map) {
            *out = bins
                .iter()
                .zip(weights)
                .map(|(&bin, w)| w * self.magnitude[bin])
                .sum();
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
            let values = &self.magnitude[lo..hi];
            let take = ((0.02 * values.len() as f32).round() as usize).clamp(1, MAX_EXTREMES);
            let (valley, peak) = extreme_means(values, take);
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

/// Most values [`extreme_means`] keeps at each end (2 % of the widest band is 9).
const MAX_EXTREMES: usize = 16;

/// Means of the `k` smallest and `k` largest values (k <= [`MAX_EXTREMES`]) in one pass with two
/// small sorted buffers: on spectra few values displace the running extremes, so this is far
/// cheaper than sorting or selecting every frame.
fn extreme_means(values: &[f32], k: usize) -> (f32, f32) {
    let k = k.clamp(1, MAX_EXTREMES).min(values.len().max(1));
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mut low = [f32::INFINITY; MAX_EXTREMES];
    let mut high = [f32::NEG_INFINITY; MAX_EXTREMES];
    for &x in values {
        if x < low[k - 1] {
            let mut i = k - 1;
            while i > 0 && low[i - 1] > x {
                low[i] = low[i - 1];
                i -= 1;
            }
            low[i] = x;
        }
        if x > high[k - 1] {
            let mut i = k - 1;
            while i > 0 && high[i - 1] < x {
                high[i] = high[i - 1];
                i -= 1;
            }
            high[i] = x;
        }
    }
    let n = k.min(values.len());
    let mean = |v: &[f32]| v[..n].iter().sum::<f32>() / n as f32;
    (mean(&low), mean(&high))
}

/// Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa's default
/// (`hz_to_mel`, `htk=False`). Shared with the MusiCNN front end.
pub(crate) fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Inverse of [`hz_to_mel`].
pub(crate) fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// Triangular, area-normalised ("slaney" norm) mel filters from 0 Hz to Nyquist.
fn slaney_mel_filters(sample_rate: f32, bin_hz: &[f32]) -> Vec<MelFilter> {
    let top = hz_to_mel(f64::from(sample_rate) / 2.0);
    let edges: Vec<f32> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(top * i as f64 / (N_MELS + 1) as f64) as f32)
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
            MelFilter {
                start,
                weights,
                centre_hz: centre,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_means_match_a_full_sort() {
        let mut state = 12345u32;
        for len in [1usize, 2, 5, 19, 300, 430] {
            let values: Vec<f32> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1u32 << 24) as f32
                })
                .collect();
            for k in [1usize, 3, 9, 16] {
                let mut sorted = values.clone();
                sorted.sort_by(f32::total_cmp);
                let n = k.min(len);
                let low = sorted[..n].iter().sum::<f32>() / n as f32;
                let high = sorted[len - n..].iter().sum::<f32>() / n as f32;
                let (got_low, got_high) = extreme_means(&values, k);
                assert!((got_low - low).abs() < 1e-6, "len {len} k {k}");
                assert!((got_high - high).abs() < 1e-6, "len {len} k {k}");
            }
        }
    }

    #[test]
    fn mel_filters_cover_the_spectrum_and_dct_is_orthonormal() {
        let analyzer = FrameAnalyzer::new(22_050.0);
        assert_eq!(analyzer.mel_filters.len(), N_MELS);
        assert!(analyzer.mel_filters.iter().all(|f| !f.weights.is_empty()));
        for a in 0..N_MFCC {
            for b in 0..N_MFCC {
                let d = dot(
                    &analyzer.dct[a * N_MELS..(a + 1) * N_MELS],
                    &analyzer.dct[b * N_MELS..(b + 1) * N_MELS],
                );
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((d - expected).abs() < 1e-4, "rows {a},{b}: {d}");
            }
        }
    }
}
