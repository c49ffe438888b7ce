//! The music analysis engine: one code path for the plugin, the CLI and the trainer.
//!
//! CONTRACT (shared by the plugin thread, the CLI and the VA trainer; keep these signatures):
//! - `Analyzer::new(input_rate, channels, AnalyzerConfig)` allocates everything up front.
//! - `Analyzer::push_interleaved(&mut self, &[f32], |&FeatureSummary| ..)` accepts any block length.
//! - a `FeatureSummary` is emitted every `hop_seconds` (0.5 s) over the last `window_seconds` (10 s).
//! - `feature_names()` names `FeatureSummary::values` in order; `SCHEMA_VERSION` changes whenever
//!   that list or any definition changes.
//!
//! # Pipeline
//! Samples are sanitised (non-finite -> 0, clipped to +-16, denormals flushed), downmixed by
//! averaging all channels, resampled to [`INTERNAL_RATE`] with rubato (skipped when already there;
//! the resampler's delay is dropped so `t` matches input time), then framed into a Hann-windowed
//! 2048-point STFT with a 512-sample hop (43.07 frames/s) using realfft. Each frame's features go
//! into fixed-size ring buffers covering the window, so steady-state pushing never allocates.
//! Every `hop_seconds` of input the window is summarised.
//!
//! # Features (`FeatureSummary::values`, in order)
//! Window-level values (grouped by prefix so none clashes with a headline field of
//! [`FeatureSummary`]):
//!
//! | name | definition |
//! |---|---|
//! | `level_rms_db` | RMS of the window in dBFS, AES17 convention (a full-scale sine is 0 dBFS); floor -100 |
//! | `level_loudness_lufs` | ITU-R BS.1770 K-weighted loudness with absolute (-70) and relative (-10 LU) gating over 400 ms blocks (75 % overlap); the mono downmix counts as dual mono, so a -20 dBFS 1 kHz sine reads -20 LUFS |
//! | `level_range_db` | spread (95th - 10th percentile) of the gated 400 ms block loudness, relative gate -20 LU (EBU 3342 on short blocks) |
//! | `level_crest_db` | crest factor: sample peak over RMS of the window (dB); 0 in silence |
//! | `rhythm_tempo_bpm` | beat period from an ensemble of two onset autocorrelations (0.25 x the positive log-mel flux's + 0.75 x that of the energy onsets, the positive rises of linear frame amplitude); each ACF peak scored by a log-normal prior (120 BPM, 0.7 octave) times the mean ACF at its first 2 multiples; the pick then moves to half its period (at most twice, up to 210 BPM) while the ACF there keeps >= 0.5 of the peak; refined with parabolic interpolation at the period's multiples; then the metrical level: among the pick's binary multiples (50-215 BPM), the fastest whose grid finds a low-band accent (the 3 mel bands below 1 kHz that rose most, each floored 9 dB under its recent peak) in >= 70 % of its slots while the grid at half its period fills >= 8 points fewer, else the pick; when no level of the pick fills its grid, the same over the binary divisions of the bar (the strongest ACF peak at 1.5-4.5 s); in a stream, a reading at twice or half the last report is reported in the old octave until 3 windows in a row read it; needs 3 s of signal; 0 when aperiodic. Half-time grooves read their felt pulse (the kick-snare alternation), not the notated tempo |
//! | `rhythm_pulse_clarity` | that mixed normalised autocorrelation at the period the autocorrelation picked, before the metrical step (0..1): how periodic the groove is |
//! | `rhythm_onset_rate_hz` | onsets per second: onset-envelope peaks (local maxima over +-2 frames above mean + 1 std) |
//! | `rhythm_ioi_cv` | rhythm (ir)regularity: coefficient of variation of inter-onset intervals; 0 with under 3 onsets |
//! | `key_clarity` | Pearson correlation of the window-mean chroma with the best of 24 Krumhansl–Kessler key profiles, each smeared by the harmonic series (6 harmonics, amplitude 0.6^(h-1), as in HPCP key finding) so upper partials do not pull towards the dominant |
//! | `key_mode_strength` | best major correlation minus best minor correlation against those profiles (> 0 leans major) |
//! | `key_mode_major` | 1 when the estimated key is major, else 0 |
//! | `harmony_change_mean`, `harmony_change_std` | Harte's harmonic change detection function: distance between 6-D tonal centroids of consecutive 186 ms chroma blocks |
//! | `harmony_chord_change_rate_hz` | changes per second of the best-matching major/minor triad over those blocks |
//! | `melody_pitch_median_hz` | median YIN fundamental (60-1000 Hz, threshold 0.15, every 4th frame = 10.8 Hz) of voiced frames; 0 if none |
//! | `melody_pitch_mean_midi`, `melody_pitch_std_semitones` | mean and deviation of the voiced pitch contour (MIDI numbers) |
//! | `melody_pitch_range_semitones` | 5th-95th percentile range of the voiced pitch |
//! | `melody_voiced_fraction` | share of YIN frames that were voiced |
//! | `melody_stepwise_ratio` | among pitch changes of at least 0.5 semitone between consecutive voiced frames, the share of at most 2.5 semitones |
//! | `melody_mean_interval_semitones` | mean size of those pitch changes |
//!
//! Frame-level features, each contributing `<name>_mean` and `<name>_std` (population deviation)
//! over the frames in the window:
//!
//! | name | definition |
//! |---|---|
//! | `frame_rms_db` | RMS of the 2048-sample frame in dBFS (AES17); its deviation is the window's dynamics |
//! | `zcr` | zero-crossing rate: sign changes per sample in the frame |
//! | `spectral_centroid_hz` | magnitude-weighted mean frequency |
//! | `spectral_bandwidth_hz` | magnitude-weighted standard deviation of frequency around the centroid |
//! | `spectral_rolloff_hz` | frequency below which 85 % of the magnitude sum lies |
//! | `spectral_flatness` | geometric over arithmetic mean of the power spectrum (Wiener entropy), 0 in silence |
//! | `spectral_flux` | onset strength: mean over 64 mel bands of the positive rise in log-mel energy (dB) since the previous frame |
//! | `roughness` | Sethares' sensory dissonance summed over pairs of the 16 strongest spectral peaks (50 Hz-5 kHz), divided by their energy |
//! | `spectral_contrast_0..6` | dB ratio of the mean of the top 2 % to the bottom 2 % of magnitudes in bands [0,200), [200,400) ... [6400, Nyquist) Hz |
//! | `mfcc_0..19` | orthonormal DCT-II of 64 Slaney mel band energies in dB (floor -100) |
//! | `chroma_C..chroma_B` | magnitude per pitch class over 100 Hz-5 kHz (cos² weighted by distance to the nearest semitone), normalised to max 1 per frame; 0 in silence |
//!
//! Silence, DC and any sanitised input give finite values everywhere: every logarithm and
//! division is floored or guarded.

mod file;
pub(crate) mod input;
mod loudness;
mod pitch;
mod rhythm;
mod ring;
pub(crate) mod spectral;
mod tonal;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use self::file::{analyze_file, FileAnalysis};
use self::input::InputStage;
use self::loudness::{gated_loudness, power_db, KWeighting, AES17_OFFSET_DB, DB_FLOOR};
use self::pitch::{hz_to_midi, melody_stats, Yin};
use self::rhythm::RhythmAnalyzer;
use self::ring::RowRing;
use self::spectral::{col, FrameAnalyzer, FRAME_LEN, HOP_LEN, N_CHROMA};

/// Sample rate every input is resampled to before framing.
pub const INTERNAL_RATE: u32 = 22_050;

/// Bumped whenever the meaning or order of `FeatureSummary::values` changes.
pub const SCHEMA_VERSION: u32 = 3;

/// Pitch-class names, index = pitch class (0 = C).
pub const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// STFT frames per second at the internal rate.
pub const FRAME_RATE: f32 = INTERNAL_RATE as f32 / HOP_LEN as f32;

/// Shortest and longest accepted window (seconds).
const WINDOW_LIMITS: (f32, f32) = (1.0, 120.0);
/// Shortest accepted hop between summaries (seconds).
const MIN_HOP_SECONDS: f32 = 0.05;
/// YIN runs on every n-th frame to stay inside the live CPU budget.
const YIN_EVERY: usize = 4;
/// Frames per 400 ms BS.1770 gating block and the step between blocks (75 % overlap).
const LOUDNESS_BLOCK_HOPS: usize = 17;
const LOUDNESS_STEP_HOPS: usize = 4;
/// Columns of the per-hop level ring: K-weighted energy, raw energy, sample peak.
const HOP_K_ENERGY: usize = 0;
const HOP_ENERGY: usize = 1;
const HOP_PEAK: usize = 2;

/// How the rolling summary is taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    /// Length of the rolling window that one summary describes.
    pub window_seconds: f32,
    /// Time between two summaries.
    pub hop_seconds: f32,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            window_seconds: 10.0,
            hop_seconds: 0.5,
        }
    }
}

impl AnalyzerConfig {
    /// The configuration actually used: non-finite values fall back to the defaults, the window
    /// is clamped to 1-120 s and the hop to 0.05 s .. window.
    pub fn sanitized(self) -> Self {
        let defaults = Self::default();
        let window = if self.window_seconds.is_finite() {
            self.window_seconds.clamp(WINDOW_LIMITS.0, WINDOW_LIMITS.1)
        } else {
            defaults.window_seconds
        };
        let hop = if self.hop_seconds.is_finite() {
            self.hop_seconds.clamp(MIN_HOP_SECONDS, window)
        } else {
            defaults.hop_seconds.min(window)
        };
        Self {
            window_seconds: window,
            hop_seconds: hop,
        }
    }
}

/// Major or minor, as estimated by key finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Major,
    Minor,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
        })
    }
}

/// One rolling summary: the headline values plus the whole named vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FeatureSummary {
    /// Seconds of input consumed when this summary was taken (end of its window).
    pub t: f64,
    /// Tempo estimate in beats per minute.
    pub tempo_bpm: f32,
    /// Pulse clarity (0..1) behind the tempo: how much to trust it.
    pub tempo_confidence: f32,
    /// Tonic pitch class, 0 = C … 11 = B.
    pub key: u8,
    /// Major or minor.
    pub mode: Mode,
    /// Best major minus best minor key correlation: how clearly major (> 0) or minor (< 0).
    pub mode_strength: f32,
    /// K-weighted loudness of the window, LUFS-style (dB).
    pub loudness_db: f32,
    /// RMS level of the window in dBFS.
    pub rms_db: f32,
    /// Every feature, in the order of [`feature_names`].
    pub values: Vec<f32>,
}

impl FeatureSummary {
    /// The tonic's name, e.g. "F#".
    pub fn key_name(&self) -> &'static str {
        key_name(self.key)
    }

    /// The value of a named feature, if the name exists.
    pub fn value(&self, name: &str) -> Option<f32> {
        let index = feature_names().iter().position(|n| *n == name)?;
        self.values.get(index).copied()
    }
}

/// Name of a pitch class (taken modulo 12).
pub fn key_name(pitch_class: u8) -> &'static str {
    PITCH_CLASS_NAMES[pitch_class as usize % 12]
}

/// Window-level features, in the order they open `FeatureSummary::values`.
const SCALAR_NAMES: [&str; 21] = [
    "level_rms_db",
    "level_loudness_lufs",
    "level_range_db",
    "level_crest_db",
    "rhythm_tempo_bpm",
    "rhythm_pulse_clarity",
    "rhythm_onset_rate_hz",
    "rhythm_ioi_cv",
    "key_clarity",
    "key_mode_strength",
    "key_mode_major",
    "harmony_change_mean",
    "harmony_change_std",
    "harmony_chord_change_rate_hz",
    "melody_pitch_median_hz",
    "melody_pitch_mean_midi",
    "melody_pitch_std_semitones",
    "melody_pitch_range_semitones",
    "melody_voiced_fraction",
    "melody_stepwise_ratio",
    "melody_mean_interval_semitones",
];

/// Names of `FeatureSummary::values`, in order.
pub fn feature_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = SCALAR_NAMES.to_vec();
        for base in spectral::frame_feature_names() {
            for stat in ["mean", "std"] {
                names.push(Box::leak(format!("{base}_{stat}").into_boxed_str()));
            }
        }
        names
    })
}

/// Why an analyser could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyzerError {
    /// The sample rate is not a finite rate between 1 kHz and 1 MHz.
    InvalidSampleRate(f64),
    /// Zero channels.
    NoChannels,
    /// rubato refused the conversion.
    Resampler(String),
}

impl std::fmt::Display for AnalyzerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidSampleRate(rate) => write!(f, "unsupported sample rate {rate} Hz"),
            Self::NoChannels => f.write_str("audio has no channels"),
            Self::Resampler(why) => write!(f, "resampler: {why}"),
        }
    }
}

impl std::error::Error for AnalyzerError {}

/// Streaming analyser: push audio of any rate, channel count and block size, receive a
/// [`FeatureSummary`] every `hop_seconds`.
pub struct Analyzer {
    /// Downmix + resampling front end.
    input: InputStage,
    /// Everything after the internal-rate mono signal.
    core: Core,
}

/// The internal-rate part of the analyser (split from the input stage for borrowing).
struct Core {
    /// The configuration in force (sanitised).
    config: AnalyzerConfig,
    /// Latest `FRAME_LEN` internal samples, oldest first.
    signal: Vec<f32>,
    /// New samples since the last STFT frame.
    hop_fill: usize,
    /// K-weighting filter state.
    k_filter: KWeighting,
    /// Running sums over the current hop: K-weighted energy, raw energy, peak.
    hop_levels: [f64; 3],
    /// Per-frame analysis.
    frames: FrameAnalyzer,
    /// YIN pitch tracker.
    yin: Yin,
    /// Per-frame features over the window.
    frame_ring: RowRing,
    /// Per-hop levels over the window (see `HOP_*` columns).
    level_ring: RowRing,
    /// Per-frame low-band accent over the window (the tempo's metrical level; not a summary
    /// feature).
    accent_ring: RowRing,
    /// YIN contour over the window (MIDI, 0 = unvoiced).
    pitch_ring: RowRing,
    /// Frames analysed since the start (for the YIN schedule).
    frame_count: u64,
    /// Summaries emitted since the start; the next is due at sample
    /// `round((summaries_emitted + 1) * hop_seconds * INTERNAL_RATE)`, so fractional hops
    /// never drift.
    summaries_emitted: u64,
    /// Internal sample count at which the next summary is due.
    next_summary_at: u64,
    /// Internal samples consumed since the start or the last reset.
    samples_consumed: u64,
    /// Tempo and onset statistics.
    rhythm: RhythmAnalyzer,
    /// Scratch for loudness blocks and percentiles.
    block_scratch: Vec<f64>,
    /// Second scratch for sorting block loudness.
    sort_scratch: Vec<f64>,
    /// Scratch for the melody and harmonic-change statistics.
    f32_scratch: Vec<f32>,
    /// The summary handed to the callback, reused so emitting does not allocate.
    summary: FeatureSummary,
}

impl Analyzer {
    /// Builds an analyser. Invalid inputs are repaired rather than refused (a non-finite or
    /// out-of-range rate counts as the internal rate, zero channels as one); use
    /// [`Analyzer::try_new`] to be told instead.
    pub fn new(input_rate: f64, channels: usize, config: AnalyzerConfig) -> Self {
        let rate = if input_rate.is_finite() && (1_000.0..=1_000_000.0).contains(&input_rate) {
            input_rate
        } else {
            INTERNAL_RATE as f64
        };
        match Self::try_new(rate, channels.max(1), config) {
            Ok(analyzer) => analyzer,
            // Only reachable if rubato rejects a valid ratio; analysing at the wrong rate
            // beats panicking inside a host.
            Err(_) => Self::build(InputStage::passthrough(channels.max(1)), config),
        }
    }

    /// Builds an analyser, refusing rates outside 1 kHz-1 MHz and zero channels.
    pub fn try_new(
        input_rate: f64,
        channels: usize,
        config: AnalyzerConfig,
    ) -> Result<Self, AnalyzerError> {
        if !(input_rate.is_finite() && (1_000.0..=1_000_000.0).contains(&input_rate)) {
            return Err(AnalyzerError::InvalidSampleRate(input_rate));
        }
        if channels == 0 {
            return Err(AnalyzerError::NoChannels);
        }
        let input = InputStage::new(input_rate, channels).map_err(AnalyzerError::Resampler)?;
        Ok(Self::build(input, config))
    }

    fn build(input: InputStage, config: AnalyzerConfig) -> Self {
        let config = config.sanitized();
        let window_frames =
            ((config.window_seconds * FRAME_RATE).round() as usize).max(LOUDNESS_BLOCK_HOPS);
        let names = feature_names().len();
        let core = Core {
            config,
            signal: vec![0.0; FRAME_LEN],
            hop_fill: 0,
            k_filter: KWeighting::new(INTERNAL_RATE as f64),
            hop_levels: [0.0; 3],
            frames: FrameAnalyzer::new(INTERNAL_RATE as f32),
            yin: Yin::new(INTERNAL_RATE as f32),
            frame_ring: RowRing::new(col::COUNT, window_frames),
            level_ring: RowRing::new(3, window_frames),
            accent_ring: RowRing::new(1, window_frames),
            pitch_ring: RowRing::new(1, window_frames.div_ceil(YIN_EVERY)),
            frame_count: 0,
            summaries_emitted: 0,
            next_summary_at: summary_due(config, 0),
            samples_consumed: 0,
            rhythm: RhythmAnalyzer::new(FRAME_RATE, window_frames),
            block_scratch: Vec::with_capacity(window_frames),
            sort_scratch: Vec::with_capacity(window_frames),
            f32_scratch: Vec::with_capacity(window_frames),
            summary: FeatureSummary {
                values: vec![0.0; names],
                ..Default::default()
            },
        };
        Self { input, core }
    }

    /// The configuration in force, after sanitising.
    pub fn config(&self) -> AnalyzerConfig {
        self.core.config
    }

    /// Feeds interleaved samples (any length, frames may straddle calls). `on_summary` is called
    /// once per completed hop, in time order. Does not allocate.
    pub fn push_interleaved(
        &mut self,
        samples: &[f32],
        mut on_summary: impl FnMut(&FeatureSummary),
    ) {
        let core = &mut self.core;
        self.input.push(samples, &mut |mono: &[f32]| {
            core.consume(mono, &mut on_summary)
        });
    }

    /// Forgets all audio, as if freshly built (same rate, channels and configuration).
    pub fn reset(&mut self) {
        self.input.reset();
        let core = &mut self.core;
        core.signal.fill(0.0);
        core.hop_fill = 0;
        core.k_filter.reset();
        core.hop_levels = [0.0; 3];
        core.frames.reset();
        core.frame_ring.clear();
        core.level_ring.clear();
        core.accent_ring.clear();
        core.rhythm.reset();
        core.pitch_ring.clear();
        core.frame_count = 0;
        core.summaries_emitted = 0;
        core.next_summary_at = summary_due(core.config, 0);
        core.samples_consumed = 0;
    }
}

/// Internal sample count at which summary number `emitted + 1` is due.
fn summary_due(config: AnalyzerConfig, emitted: u64) -> u64 {
    let due = ((emitted + 1) as f64 * config.hop_seconds as f64 * INTERNAL_RATE as f64).round();
    (due as u64).max(emitted + 1)
}

impl Core {
    /// Consumes internal-rate mono samples, stopping at every frame and summary boundary.
    fn consume(&mut self, mono: &[f32], on_summary: &mut impl FnMut(&FeatureSummary)) {
        let mut rest = mono;
        while !rest.is_empty() {
            let take = rest
                .len()
                .min(HOP_LEN - self.hop_fill)
                .min((self.next_summary_at - self.samples_consumed) as usize);
            let (now, later) = rest.split_at(take);
            let offset = FRAME_LEN - HOP_LEN + self.hop_fill;
            self.signal[offset..offset + take].copy_from_slice(now);
            for &x in now {
                let k = self.k_filter.process(x);
                self.hop_levels[HOP_K_ENERGY] += k * k;
                self.hop_levels[HOP_ENERGY] += (x as f64) * (x as f64);
                self.hop_levels[HOP_PEAK] = self.hop_levels[HOP_PEAK].max(x.abs() as f64);
            }
            self.hop_fill += take;
            self.samples_consumed += take as u64;
            if self.hop_fill == HOP_LEN {
                self.analyze_frame();
            }
            if self.samples_consumed == self.next_summary_at {
                self.summaries_emitted += 1;
                self.next_summary_at = summary_due(self.config, self.summaries_emitted);
                self.summarize();
                on_summary(&self.summary);
            }
            rest = later;
        }
    }

    /// Runs the frame-level analysis on the newest frame and advances by one hop.
    fn analyze_frame(&mut self) {
        let levels = self.level_ring.push();
        for (slot, value) in levels.iter_mut().zip(self.hop_levels) {
            *slot = value as f32;
        }
        self.hop_levels = [0.0; 3];
        let row = self.frame_ring.push();
        self.frames.analyze(&self.signal, row);
        self.accent_ring.push()[0] = self.frames.accent;
        if self.frame_count.is_multiple_of(YIN_EVERY as u64) {
            let midi = self.yin.estimate(&self.signal).map_or(0.0, hz_to_midi);
            self.pitch_ring.push()[0] = midi;
        }
        self.frame_count += 1;
        self.signal.copy_within(HOP_LEN.., 0);
        self.hop_fill = 0;
    }

    /// Fills `self.summary` from the rings.
    fn summarize(&mut self) {
        let s = &mut self.summary;
        s.t = self.samples_consumed as f64 / INTERNAL_RATE as f64;
        let values = &mut s.values;

        // Levels.
        let hops = self.level_ring.len().max(1);
        let energy: f64 = self.level_ring.column(HOP_ENERGY).map(f64::from).sum();
        let mean_square = energy / (hops * HOP_LEN) as f64;
        let peak = self.level_ring.column(HOP_PEAK).fold(0.0f32, f32::max);
        let rms_db = if mean_square > 1e-10 {
            power_db(mean_square) + AES17_OFFSET_DB as f32
        } else {
            DB_FLOOR
        };
        let crest = if mean_square > 1e-10 && peak > 0.0 {
            20.0 * peak.log10() - power_db(mean_square)
        } else {
            0.0
        };
        self.block_scratch.clear();
        let len = self.level_ring.len();
        if len > 0 {
            let block = LOUDNESS_BLOCK_HOPS.min(len);
            let mut start = 0;
            while start + block <= len {
                let sum: f64 = self
                    .level_ring
                    .column(HOP_K_ENERGY)
                    .skip(start)
                    .take(block)
                    .map(f64::from)
                    .sum();
                self.block_scratch.push(sum / (block * HOP_LEN) as f64);
                start += LOUDNESS_STEP_HOPS;
            }
        }
        let (lufs, range) = gated_loudness(&self.block_scratch, &mut self.sort_scratch);
        s.rms_db = rms_db;
        s.loudness_db = lufs;

        // Frame-level means and deviations.
        let mut sums = [0.0f64; col::COUNT];
        let mut squares = [0.0f64; col::COUNT];
        for row in self.frame_ring.rows() {
            for ((sum, square), &x) in sums.iter_mut().zip(&mut squares).zip(row) {
                *sum += x as f64;
                *square += (x as f64) * (x as f64);
            }
        }
        let frames = self.frame_ring.len().max(1) as f64;
        let scalar_count = SCALAR_NAMES.len();
        let mut mean_chroma = [0.0f32; N_CHROMA];
        for c in 0..col::COUNT {
            let mean = sums[c] / frames;
            let var = (squares[c] / frames - mean * mean).max(0.0);
            values[scalar_count + 2 * c] = mean as f32;
            values[scalar_count + 2 * c + 1] = var.sqrt() as f32;
            if (col::CHROMA..col::CHROMA + N_CHROMA).contains(&c) {
                mean_chroma[c - col::CHROMA] = mean as f32;
            }
        }

        let rhythm = self.rhythm.analyze(
            self.frame_ring.column(col::FLUX),
            self.frame_ring.column(col::RMS_DB),
            self.accent_ring.column(0),
        );
        let key = tonal::estimate_key(&mean_chroma);
        let harmony = tonal::harmonic_change(
            self.frame_ring
                .rows()
                .map(|row| &row[col::CHROMA..col::CHROMA + N_CHROMA]),
            FRAME_RATE,
            &mut self.f32_scratch,
        );
        let melody = melody_stats(self.pitch_ring.column(0), &mut self.f32_scratch);

        s.tempo_bpm = rhythm.tempo_bpm;
        s.tempo_confidence = rhythm.pulse_clarity;
        s.key = key.tonic;
        s.mode = key.mode;
        s.mode_strength = key.mode_strength;

        let scalars = [
            rms_db,
            lufs,
            range,
            crest,
            rhythm.tempo_bpm,
            rhythm.pulse_clarity,
            rhythm.onset_rate_hz,
            rhythm.ioi_cv,
            key.clarity,
            key.mode_strength,
            if key.mode == Mode::Major { 1.0 } else { 0.0 },
            harmony.mean,
            harmony.std,
            harmony.chord_changes_hz,
            melody.median_hz,
            melody.mean_midi,
            melody.std_semitones,
            melody.range_semitones,
            melody.voiced_fraction,
            melody.stepwise_ratio,
            melody.mean_interval,
        ];
        values[..scalar_count].copy_from_slice(&scalars);
        // Belt and braces: nothing non-finite may leave the engine.
        for v in values.iter_mut() {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
    }
}
