//! Tempo, pulse clarity and onset statistics from the onset-strength envelope (the per-frame
//! positive log-mel flux).

use super::ring::dot;

/// Slowest tempo considered (BPM).
const MIN_BPM: f32 = 30.0;
/// Fastest tempo considered (BPM).
const MAX_BPM: f32 = 300.0;
/// Centre of the log-normal tempo prior (BPM), as in librosa.
const PRIOR_BPM: f32 = 120.0;
/// Onset frames needed before a tempo is estimated (3 s): shorter envelopes hold too few beats.
const MIN_TEMPO_FRAMES: usize = 129;
/// Width of the prior in octaves.
const PRIOR_OCTAVES: f32 = 1.0;
/// The double tempo replaces the pick when its pulse is at least this strong relative to it...
const DOUBLE_TEMPO_RATIO: f32 = 0.8;
/// ...and it does not exceed this tempo.
const DOUBLE_TEMPO_MAX_BPM: f32 = 190.0;

/// What the rhythm analysis reports for one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RhythmStats {
    /// Tempo in BPM (0 when no periodicity was found).
    pub tempo_bpm: f32,
    /// Normalised autocorrelation at the beat period, 0..1 (pulse clarity).
    pub pulse_clarity: f32,
    /// Detected onsets per second.
    pub onset_rate_hz: f32,
    /// Coefficient of variation of inter-onset intervals (0 = metronomic); 0 with under 3 onsets.
    pub ioi_cv: f32,
}

/// Reusable buffers for the rhythm analysis.
pub struct RhythmAnalyzer {
    /// Onset frames per second.
    frame_rate: f32,
    /// Mean-removed envelope.
    centred: Vec<f32>,
    /// Unbiased, normalised autocorrelation by lag.
    acf: Vec<f32>,
    /// Frame indices of detected onsets.
    onsets: Vec<usize>,
}

impl RhythmAnalyzer {
    pub fn new(frame_rate: f32, max_frames: usize) -> Self {
        Self {
            frame_rate,
            centred: Vec::with_capacity(max_frames),
            acf: Vec::with_capacity(max_frames),
            onsets: Vec::with_capacity(max_frames),
        }
    }

    fn lag_to_bpm(&self, lag: f32) -> f32 {
        60.0 * self.frame_rate / lag
    }

    /// Analyses an onset envelope, oldest frame first.
    pub fn analyze(&mut self, envelope: impl Iterator<Item = f32>) -> RhythmStats {
        self.centred.clear();
        self.centred.extend(envelope);
        let n = self.centred.len();
        if n < 8 {
            return RhythmStats::default();
        }
        let mean = self.centred.iter().sum::<f32>() / n as f32;
        let var = self
            .centred
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f32>()
            / n as f32;
        let (onset_rate_hz, ioi_cv) = self.onset_statistics(mean, var.sqrt());
        self.centred.iter_mut().for_each(|x| *x -= mean);
        // A light [1 2 1] smoothing keeps a beat period that falls between two frames from
        // splitting its autocorrelation peak across two lags.
        let mut before = self.centred[0];
        for i in 1..n - 1 {
            let here = self.centred[i];
            self.centred[i] = 0.25 * before + 0.5 * here + 0.25 * self.centred[i + 1];
            before = here;
        }
        if var < 1e-8 || n < MIN_TEMPO_FRAMES {
            return RhythmStats {
                onset_rate_hz,
                ioi_cv,
                ..Default::default()
            };
        }

        // Unbiased autocorrelation up to three quarters of the window, normalised by lag 0.
        let max_lag = (n * 3 / 4).max(2);
        self.acf.clear();
        for lag in 0..max_lag {
            let sum = dot(&self.centred[..n - lag], &self.centred[lag..]);
            self.acf.push(sum / (n - lag) as f32);
        }
        let zero = self.acf[0];
        self.acf.iter_mut().for_each(|r| *r /= zero);

        let min_lag = ((60.0 * self.frame_rate / MAX_BPM).floor() as usize).max(1);
        let top_lag = ((60.0 * self.frame_rate / MIN_BPM).ceil() as usize).min(max_lag - 2);
        let mut best: Option<(usize, f32)> = None;
        for lag in min_lag.max(1)..=top_lag {
            let r = self.acf[lag];
            if r <= 0.0 || r < self.acf[lag - 1] || r < self.acf[lag + 1] {
                continue;
            }
            let octaves = (self.lag_to_bpm(lag as f32) / PRIOR_BPM).log2() / PRIOR_OCTAVES;
            let score = r * (-0.5 * octaves * octaves).exp();
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((lag, score));
            }
        }
        let Some((lag, _)) = best else {
            return RhythmStats {
                onset_rate_hz,
                ioi_cv,
                ..Default::default()
            };
        };
        let mut period = self.refine_period(lag as f32);
        let mut clarity = self.acf[lag];
        // Equal pulses at every half period mean the faster pulse is the beat (click tracks,
        // straight drums); the prior alone would halve such tempi above ~170 BPM.
        let half = period / 2.0;
        if half >= min_lag as f32 && self.lag_to_bpm(half) <= DOUBLE_TEMPO_MAX_BPM {
            if let Some((half_lag, r_half)) = self.local_peak(half, 1) {
                if self.peak_height(half_lag) >= DOUBLE_TEMPO_RATIO * self.peak_height(lag) {
                    period = self.refine_period(half_lag as f32);
                    clarity = r_half;
                }
            }
        }
        RhythmStats {
            tempo_bpm: self.lag_to_bpm(period),
            pulse_clarity: clarity.clamp(0.0, 1.0),
            onset_rate_hz,
            ioi_cv,
        }
    }

    /// Highest ACF local maximum within `radius` lags of `around`.
    fn local_peak(&self, around: f32, radius: usize) -> Option<(usize, f32)> {
        let centre = around.round() as usize;
        let lo = centre.saturating_sub(radius).max(1);
        let hi = (centre + radius).min(self.acf.len() - 2);
        (lo..=hi)
            .filter(|&l| self.acf[l] >= self.acf[l - 1] && self.acf[l] >= self.acf[l + 1])
            .map(|l| (l, self.acf[l]))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Parabolic vertex of the ACF peak at `lag`.
    fn vertex(&self, lag: usize) -> f32 {
        let (l, c, r) = (self.acf[lag - 1], self.acf[lag], self.acf[lag + 1]);
        let denom = l - 2.0 * c + r;
        let offset = if denom.abs() > 1e-9 {
            (0.5 * (l - r) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        lag as f32 + offset
    }

    /// Parabolic peak height of the ACF at `lag`.
    fn peak_height(&self, lag: usize) -> f32 {
        let (l, c, r) = (self.acf[lag - 1], self.acf[lag], self.acf[lag + 1]);
        let denom = l - 2.0 * c + r;
        if denom.abs() > 1e-9 {
            let offset = (0.5 * (l - r) / denom).clamp(-0.5, 0.5);
            c - 0.25 * (l - r) * offset
        } else {
            c
        }
    }

    /// Sharpens a period estimate with the peaks at its multiples: the k-th multiple pins the
    /// period k times more finely than the frame grid allows.
    fn refine_period(&self, lag: f32) -> f32 {
        let base = lag.round() as usize;
        let first = self.vertex(base);
        let strength = self.acf[base];
        let mut weighted = first;
        let mut weights = 1.0;
        let mut period = first;
        for k in 2..=4 {
            let Some((peak, r)) = self.local_peak(period * k as f32, 2) else {
                break;
            };
            if r < 0.5 * strength {
                break;
            }
            weighted += self.vertex(peak);
            weights += k as f32;
            period = weighted / weights;
        }
        period
    }

    /// Peak-picks onsets (local maxima over +-2 frames above mean + std) and summarises them.
    fn onset_statistics(&mut self, mean: f32, std: f32) -> (f32, f32) {
        self.onsets.clear();
        let threshold = mean + std;
        let env = &self.centred;
        for i in 0..env.len() {
            let lo = i.saturating_sub(2);
            let hi = (i + 3).min(env.len());
            let x = env[i];
            if x > threshold && x > 0.5 && env[lo..hi].iter().all(|&y| y <= x) {
                if self.onsets.last().is_some_and(|&last| i - last < 3) {
                    continue;
                }
                self.onsets.push(i);
            }
        }
        let seconds = env.len() as f32 / self.frame_rate;
        let rate = self.onsets.len() as f32 / seconds;
        if self.onsets.len() < 3 {
            return (rate, 0.0);
        }
        let count = (self.onsets.len() - 1) as f32;
        let intervals = self.onsets.windows(2).map(|w| (w[1] - w[0]) as f32);
        let mean_ioi = intervals.clone().sum::<f32>() / count;
        let var = intervals
            .map(|d| (d - mean_ioi) * (d - mean_ioi))
            .sum::<f32>()
            / count;
        (rate, var.sqrt() / mean_ioi)
    }
}
