//! Tempo, pulse clarity and onset statistics from the onset-strength envelope (the per-frame
//! positive log-mel flux), the frame levels (for the energy onsets) and the low-band accent (for
//! the metrical level).

use crate::matmul::dot;

/// Slowest tempo considered (BPM).
const MIN_BPM: f32 = 30.0;
/// Fastest tempo considered (BPM).
const MAX_BPM: f32 = 300.0;
/// Centre of the log-normal tempo prior (BPM), as in librosa.
const PRIOR_BPM: f32 = 120.0;
/// Onset frames needed before a tempo is estimated (3 s): shorter envelopes hold too few beats.
const MIN_TEMPO_FRAMES: usize = 129;
/// Width of the prior in octaves: narrower than librosa's 1.0, since the halving step below
/// reaches the fast tempi that a narrow prior alone would halve.
const PRIOR_OCTAVES: f32 = 0.7;
/// Share of the energy-onset autocorrelation in the ensemble (the rest is the flux's).
const ENERGY_WEIGHT: f32 = 0.75;
/// How many times the pick may move to half its period.
const MAX_HALVINGS: usize = 2;
/// Multiples of a candidate period whose autocorrelation scores it.
const COMB_MULTIPLES: usize = 2;
/// The double tempo replaces the pick when its pulse is at least this strong relative to it...
const DOUBLE_TEMPO_RATIO: f32 = 0.5;
/// ...and it does not exceed this tempo.
const DOUBLE_TEMPO_MAX_BPM: f32 = 210.0;
/// Slowest beat the metrical step may choose (BPM).
const MIN_BEAT_BPM: f32 = 50.0;
/// Fastest beat the metrical step may choose (BPM).
const MAX_BEAT_BPM: f32 = 215.0;
/// A grid slot holds an accent when its accent reaches this share of the reference accent (the
/// window's 95th percentile: the height of its strong onsets).
const FILLED_SHARE: f32 = 0.3;
/// A pulse level is the beat when at least this share of its slots hold an accent...
const BEAT_FILL: f32 = 0.7;
/// ...and the grid at half its period fills this share fewer of its slots.
const GRID_CONTRAST: f32 = 0.08;
/// Windows in a row that must read twice or half the reported tempo before the report moves
/// there: between two readings half a second apart the beat does not change octave, the
/// estimate's evidence does.
const OCTAVE_HOLD: u8 = 3;
/// Tolerance (relative) for "twice or half" in the octave hold.
const OCTAVE_TOLERANCE: f32 = 0.06;

/// What the rhythm analysis reports for one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RhythmStats {
    /// Tempo in BPM (0 when no periodicity was found).
    pub tempo_bpm: f32,
    /// Pulse clarity, 0..1: the normalised autocorrelation at the period the autocorrelation
    /// picked, before the metrical step moves it to the beat. It says how periodic the groove
    /// is; the beat's own lag can be weak when kick and snare (or chord and melody) alternate
    /// on it, although the beat is clear.
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
    /// Energy-onset envelope (positive rises of the linear frame amplitude).
    energy: Vec<f32>,
    /// Normalised autocorrelation of the energy onsets by lag.
    energy_acf: Vec<f32>,
    /// Low-band accent per frame, for the metrical level.
    accent: Vec<f32>,
    /// Scratch for the reference accent's percentile.
    sorted: Vec<f32>,
    /// Unbiased, normalised autocorrelation by lag.
    acf: Vec<f32>,
    /// Frame indices of detected onsets.
    onsets: Vec<usize>,
    /// Tempo of the last report (BPM; 0 before the first), for the octave hold.
    reported_bpm: f32,
    /// Windows in a row that read an octave away from `reported_bpm`.
    octave_streak: u8,
}

impl RhythmAnalyzer {
    pub fn new(frame_rate: f32, max_frames: usize) -> Self {
        Self {
            frame_rate,
            centred: Vec::with_capacity(max_frames),
            energy: Vec::with_capacity(max_frames),
            energy_acf: Vec::with_capacity(max_frames),
            accent: Vec::with_capacity(max_frames),
            sorted: Vec::with_capacity(max_frames),
            acf: Vec::with_capacity(max_frames),
            onsets: Vec::with_capacity(max_frames),
            reported_bpm: 0.0,
            octave_streak: 0,
        }
    }

    /// Forgets the reported tempo (a new stream).
    pub fn reset(&mut self) {
        self.reported_bpm = 0.0;
        self.octave_streak = 0;
    }

    fn lag_to_bpm(&self, lag: f32) -> f32 {
        60.0 * self.frame_rate / lag
    }

    /// Analyses a window: the onset envelope (positive log-mel flux), the frame levels (dB) and
    /// the low-band accent, oldest frame first.
    ///
    /// The beat period comes from an ensemble of two autocorrelations: of the flux, which sees
    /// every onset however quiet (hats, piano notes), and of the energy onsets (rises of the
    /// linear frame amplitude), which see the loud accents that carry the beat (kick, snare) and
    /// hardly the hats. Each ACF peak is a candidate period, scored by a log-normal tempo prior
    /// times the comb evidence at its first multiples; the pick then moves to half its period
    /// (at most twice) while the ACF there keeps [`DOUBLE_TEMPO_RATIO`] of the peak. Last, the
    /// accents' grid settles the metrical level ([`Self::metrical_level`]).
    pub fn analyze(
        &mut self,
        envelope: impl Iterator<Item = f32>,
        level_db: impl Iterator<Item = f32>,
        accent: impl Iterator<Item = f32>,
    ) -> RhythmStats {
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
        let no_tempo = RhythmStats {
            onset_rate_hz,
            ioi_cv,
            ..Default::default()
        };
        if var < 1e-8 || n < MIN_TEMPO_FRAMES {
            return no_tempo;
        }

        // Energy onsets: positive rises of the linear frame amplitude.
        self.energy.clear();
        let mut previous: Option<f32> = None;
        for db in level_db.take(n) {
            let amplitude = 10f32.powf(db.clamp(-200.0, 40.0) / 20.0);
            self.energy
                .push(previous.map_or(0.0, |p| (amplitude - p).max(0.0)));
            previous = Some(amplitude);
        }
        self.energy.resize(n, 0.0);
        self.accent.clear();
        self.accent.extend(accent.take(n));
        self.accent.resize(n, 0.0);

        // Unbiased autocorrelations up to three quarters of the window, each normalised by its
        // lag 0, mixed with the energy onsets' weight (renormalised when one is flat).
        let max_lag = (n * 3 / 4).max(2);
        let flux_ok = normalised_acf(&mut self.centred, max_lag, &mut self.acf);
        let energy_ok = normalised_acf(&mut self.energy, max_lag, &mut self.energy_acf);
        match (flux_ok, energy_ok) {
            (true, true) => {
                for (mixed, energy) in self.acf.iter_mut().zip(&self.energy_acf) {
                    *mixed = (1.0 - ENERGY_WEIGHT) * *mixed + ENERGY_WEIGHT * energy;
                }
            }
            (false, true) => self.acf.copy_from_slice(&self.energy_acf),
            (true, false) => {}
            (false, false) => return no_tempo,
        }

        let min_lag = ((60.0 * self.frame_rate / MAX_BPM).floor() as usize).max(1);
        let top_lag = ((60.0 * self.frame_rate / MIN_BPM).ceil() as usize).min(max_lag - 2);
        let mut best: Option<(usize, f32)> = None;
        for lag in min_lag.max(1)..=top_lag {
            let r = self.acf[lag];
            if r <= 0.0 || !self.is_local_max(lag) {
                continue;
            }
            let octaves = (self.lag_to_bpm(lag as f32) / PRIOR_BPM).log2() / PRIOR_OCTAVES;
            let score = self.comb_evidence(self.vertex(lag)) * (-0.5 * octaves * octaves).exp();
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((lag, score));
            }
        }
        let Some((mut lag, _)) = best else {
            return no_tempo;
        };
        let mut period = self.refine_period(lag as f32);
        let mut clarity = self.acf[lag];
        // A pulse at half the period that keeps most of the peak's strength is the beat, the
        // pick its bar or half bar: kick and snare alternate at the beat, so the beat's own lag
        // is weaker than the kick-to-kick lag. Hats alone leave no such pulse in the mix, so
        // subdivisions stay below the ratio.
        for _ in 0..MAX_HALVINGS {
            let half = period / 2.0;
            if half < min_lag as f32 || self.lag_to_bpm(half) > DOUBLE_TEMPO_MAX_BPM {
                break;
            }
            match self.local_peak(half, 1) {
                Some((half_lag, r_half))
                    if self.peak_height(half_lag) >= DOUBLE_TEMPO_RATIO * self.peak_height(lag) =>
                {
                    period = self.refine_period(half_lag as f32);
                    clarity = r_half;
                    lag = half_lag;
                }
                _ => break,
            }
        }
        let period = match self.accent_threshold() {
            Some(threshold) => self
                .metrical_level(period, threshold)
                .or_else(|| {
                    self.bar_period(min_lag)
                        .and_then(|bar| self.metrical_level(bar, threshold))
                })
                .unwrap_or(period),
            // No accent at all: nothing for a grid to find.
            None => period,
        };
        let tempo_bpm = self.hold_octave(self.lag_to_bpm(period));
        RhythmStats {
            tempo_bpm,
            pulse_clarity: clarity.clamp(0.0, 1.0),
            onset_rate_hz,
            ioi_cv,
        }
    }

    /// Reports `bpm` in the octave of the last report until [`OCTAVE_HOLD`] windows in a row
    /// have read the other octave: in a stream, a lone window at twice or half the tempo is the
    /// estimator wavering between levels, not the music changing.
    fn hold_octave(&mut self, bpm: f32) -> f32 {
        let previous = self.reported_bpm;
        let octave = [2.0f32, 0.5]
            .into_iter()
            .find(|r| previous > 0.0 && (bpm / previous / r - 1.0).abs() <= OCTAVE_TOLERANCE);
        let reported = match octave {
            Some(ratio) => {
                self.octave_streak += 1;
                if self.octave_streak < OCTAVE_HOLD {
                    bpm / ratio
                } else {
                    self.octave_streak = 0;
                    bpm
                }
            }
            None => {
                self.octave_streak = 0;
                bpm
            }
        };
        self.reported_bpm = reported;
        reported
    }

    /// The beat among the pick's binary multiples and divisions (the metrical level).
    ///
    /// The autocorrelation finds the pulse's period well but not its level: its pick is the
    /// beat, half of it or twice it, which the tempo prior decides by closeness to 120 BPM. Here
    /// the grid decides instead. Each level's grid is laid over the low-band accents (kick,
    /// snare body, bass and chords; hi-hats barely reach them) at its best phase: the beat is
    /// the fastest level that finds an accent in at least [`BEAT_FILL`] of its slots while the
    /// grid at half its period finds one clearly less often ([`GRID_CONTRAST`]). Drums and
    /// sparse parts have that step between the beat and its subdivision. A stream of notes
    /// (8th-note strings, strumming, most recorded mixes) fills every level alike, and then the
    /// pick stands. A slot is filled when its accent reaches `threshold`
    /// ([`Self::accent_threshold`]). `None` when no level fills its grid (the pick may be a
    /// dotted value: the caller then tries the bar's divisions).
    fn metrical_level(&self, period: f32, threshold: f32) -> Option<f32> {
        for k in [-2i32, -1, 0, 1, 2] {
            let level = period * 2f32.powi(k);
            if !(MIN_BEAT_BPM..=MAX_BEAT_BPM).contains(&self.lag_to_bpm(level)) {
                continue;
            }
            let fill = self.slot_fill(level, threshold);
            if fill >= BEAT_FILL {
                let subdivision_fill = self.slot_fill(level / 2.0, threshold);
                return Some(if fill - subdivision_fill >= GRID_CONTRAST {
                    level
                } else {
                    period
                });
            }
        }
        None
    }

    /// The accent a grid slot must reach to count as filled: [`FILLED_SHARE`] of the window's
    /// 95th-percentile accent (the height of its strong onsets); `None` when that is 0.
    fn accent_threshold(&mut self) -> Option<f32> {
        let n = self.accent.len();
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.accent);
        let reference = *self
            .sorted
            .select_nth_unstable_by(n * 95 / 100, f32::total_cmp)
            .1;
        (reference > 0.0).then_some(FILLED_SHARE * reference)
    }

    /// The strongest autocorrelation peak between 1.5 and 4.5 s: the bar, whose binary divisions
    /// hold the beat when the pick was a dotted or triplet value.
    fn bar_period(&self, min_lag: usize) -> Option<f32> {
        let lo = ((1.5 * self.frame_rate) as usize).max(min_lag).max(1);
        let hi = ((4.5 * self.frame_rate) as usize).min(self.acf.len().saturating_sub(2));
        (lo..=hi)
            .filter(|&l| self.acf[l] > 0.0 && self.is_local_max(l))
            .max_by(|&a, &b| self.peak_height(a).total_cmp(&self.peak_height(b)))
            .map(|l| self.refine_period(l as f32))
    }

    /// Share of the slots of a pulse grid with period `period` (frames), laid at the phase that
    /// collects the most accent, whose accent (the highest within a frame of the slot) reaches
    /// `threshold`.
    fn slot_fill(&self, period: f32, threshold: f32) -> f32 {
        let n = self.accent.len();
        let mut best = (f32::MIN, 0.0);
        for phase in 0..period.ceil() as usize {
            let (mut sum, mut filled, mut slots) = (0.0f32, 0usize, 0usize);
            let mut t = phase as f32;
            while (t.round() as usize) < n {
                let centre = t.round() as usize;
                let around = &self.accent[centre.saturating_sub(1)..(centre + 2).min(n)];
                let value = around.iter().fold(0.0f32, |m, &a| m.max(a));
                sum += value;
                filled += usize::from(value >= threshold);
                slots += 1;
                t += period;
            }
            if slots > 0 && sum > best.0 {
                best = (sum, filled as f32 / slots as f32);
            }
        }
        best.1
    }

    /// Mean ACF (negative values counted as 0) at the first [`COMB_MULTIPLES`] multiples of
    /// `period` that fit in the autocorrelation, each taken as the highest value within a
    /// tolerance that grows with the multiple (the period is only known to about half a lag).
    fn comb_evidence(&self, period: f32) -> f32 {
        let mut sum = 0.0;
        let mut count = 0;
        for k in 1..=COMB_MULTIPLES {
            let centre = (period * k as f32).round() as usize;
            let radius = k.div_ceil(2);
            if centre + radius >= self.acf.len() {
                break;
            }
            let lo = centre.saturating_sub(radius).max(1);
            let peak = self.acf[lo..=centre + radius]
                .iter()
                .fold(0.0f32, |m, &r| m.max(r));
            sum += peak;
            count += 1;
        }
        if count == 0 {
            0.0
        } else {
            sum / count as f32
        }
    }

    /// Whether the ACF at `lag` (not the first or last lag) is at least its neighbours.
    fn is_local_max(&self, lag: usize) -> bool {
        self.acf[lag] >= self.acf[lag - 1] && self.acf[lag] >= self.acf[lag + 1]
    }

    /// Highest ACF local maximum within `radius` lags of `around`.
    fn local_peak(&self, around: f32, radius: usize) -> Option<(usize, f32)> {
        let centre = around.round() as usize;
        let lo = centre.saturating_sub(radius).max(1);
        let hi = (centre + radius).min(self.acf.len() - 2);
        (lo..=hi)
            .filter(|&l| self.is_local_max(l))
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

/// Centres `signal`, smooths it with [1 2 1] (a beat period between two frames must not split
/// its peak across two lags) and writes its unbiased autocorrelation for lags `0..max_lag`,
/// normalised by lag 0, into `acf`. False (and `acf` zeroed) when the signal is flat.
fn normalised_acf(signal: &mut [f32], max_lag: usize, acf: &mut Vec<f32>) -> bool {
    let n = signal.len();
    acf.clear();
    acf.resize(max_lag, 0.0);
    if n < 3 || max_lag > n {
        return false;
    }
    let mean = signal.iter().sum::<f32>() / n as f32;
    signal.iter_mut().for_each(|x| *x -= mean);
    let mut before = signal[0];
    for i in 1..n - 1 {
        let here = signal[i];
        signal[i] = 0.25 * before + 0.5 * here + 0.25 * signal[i + 1];
        before = here;
    }
    for (lag, out) in acf.iter_mut().enumerate() {
        *out = dot(&signal[..n - lag], &signal[lag..]) / (n - lag) as f32;
    }
    let zero = acf[0];
    if zero <= 1e-12 {
        acf.fill(0.0);
        return false;
    }
    acf.iter_mut().for_each(|r| *r /= zero);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_octave_jump_is_held_and_a_lasting_one_is_taken() {
        let mut rhythm = RhythmAnalyzer::new(43.07, 16);
        assert_eq!(rhythm.hold_octave(120.0), 120.0);
        // Two windows at double tempo: still reported in the old octave, at the new reading.
        assert_eq!(rhythm.hold_octave(242.0), 121.0);
        assert_eq!(rhythm.hold_octave(240.0), 120.0);
        // The third in a row is taken.
        assert_eq!(rhythm.hold_octave(240.0), 240.0);
        // Back down: held again. A move that is no octave passes at once and clears the streak.
        assert_eq!(rhythm.hold_octave(120.0), 240.0);
        assert_eq!(rhythm.hold_octave(180.0), 180.0);
        assert_eq!(rhythm.hold_octave(90.0), 180.0);
        assert_eq!(rhythm.hold_octave(135.0), 135.0);
        assert_eq!(rhythm.hold_octave(67.5), 135.0);
        // A new stream holds nothing.
        rhythm.reset();
        assert_eq!(rhythm.hold_octave(67.5), 67.5);
    }
}
