//! What the analysis thread publishes for the audio thread, the editor and the MIDI output.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use crate::analysis::{FeatureSummary, Mode};
use crate::va::mood_analyzer::MoodState;
use crate::va::Va;

/// `LiveState::mood_state` codes.
const MOOD_WARMING: u8 = 0;
const MOOD_MUSIC: u8 = 1;
const MOOD_SILENT: u8 = 2;

/// Readouts shared through atomics. Written by one thread (analysis), read by many.
#[derive(Debug)]
pub struct LiveState {
    /// RMS level of the input, dBFS (~300 ms).
    pub rms_db: AtomicF32,
    /// Peak level of the input, dBFS, with 20 dB/s decay.
    pub peak_db: AtomicF32,
    /// Frames the audio thread dropped because the ring was full.
    pub dropped_frames: std::sync::Arc<AtomicU64>,
    /// Smoothed valence on [-1, 1] that the editor, the CCs and the generator follow.
    pub valence: AtomicF32,
    /// Smoothed arousal on [-1, 1].
    pub arousal: AtomicF32,
    /// Latest unsmoothed model output, to show how far smoothing lags.
    pub raw_valence: AtomicF32,
    /// Latest unsmoothed arousal.
    pub raw_arousal: AtomicF32,
    /// Tempo of the latest summary, BPM.
    pub tempo_bpm: AtomicF32,
    /// Tonic pitch class of the latest summary, 0 = C.
    pub key: AtomicU8,
    /// Whether the latest summary's mode is minor.
    pub minor: AtomicBool,
    /// K-weighted loudness of the latest summary, dB.
    pub loudness_db: AtomicF32,
    /// Summaries emitted since activation; 0 means the window is still filling.
    pub summaries: AtomicU64,
    /// What the latest frame said about the mood: 0 warming, 1 music (estimating), 2 silence.
    /// While not 1 the smoothed VA holds.
    pub mood_state: AtomicU8,
    /// Whether a VA model is loaded and predicting.
    pub model_ready: AtomicBool,
    /// Human-readable model status or error, for the editor. Never touched by the audio thread.
    pub model_status: Mutex<String>,
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            rms_db: AtomicF32::new(super::level_meter::FLOOR_DB),
            peak_db: AtomicF32::new(super::level_meter::FLOOR_DB),
            dropped_frames: Default::default(),
            valence: AtomicF32::new(0.0),
            arousal: AtomicF32::new(0.0),
            raw_valence: AtomicF32::new(0.0),
            raw_arousal: AtomicF32::new(0.0),
            tempo_bpm: AtomicF32::new(0.0),
            key: AtomicU8::new(0),
            minor: AtomicBool::new(false),
            loudness_db: AtomicF32::new(super::level_meter::FLOOR_DB),
            summaries: AtomicU64::new(0),
            mood_state: AtomicU8::new(MOOD_WARMING),
            model_ready: AtomicBool::new(false),
            model_status: Mutex::new("no model loaded".into()),
        }
    }
}

impl LiveState {
    /// The smoothed mood.
    pub fn va(&self) -> Va {
        Va {
            valence: self.valence.load(Ordering::Relaxed),
            arousal: self.arousal.load(Ordering::Relaxed),
        }
    }

    /// Whether the mood is being estimated, warming up or held for silence.
    pub fn mood_state(&self) -> MoodState {
        match self.mood_state.load(Ordering::Relaxed) {
            MOOD_MUSIC => MoodState::Ready,
            MOOD_SILENT => MoodState::Silent,
            _ => MoodState::Warming,
        }
    }

    pub(crate) fn set_mood_state(&self, state: MoodState) {
        let code = match state {
            MoodState::Ready => MOOD_MUSIC,
            MoodState::Silent => MOOD_SILENT,
            MoodState::Warming => MOOD_WARMING,
        };
        self.mood_state.store(code, Ordering::Relaxed);
    }

    pub fn mode(&self) -> Mode {
        if self.minor.load(Ordering::Relaxed) {
            Mode::Minor
        } else {
            Mode::Major
        }
    }

    /// Key and mode, e.g. "A minor", or `None` while the first window is still filling.
    pub fn key_label(&self) -> Option<String> {
        if self.summaries.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mode = match self.mode() {
            Mode::Major => "major",
            Mode::Minor => "minor",
        };
        Some(format!(
            "{} {mode}",
            crate::analysis::key_name(self.key.load(Ordering::Relaxed))
        ))
    }

    pub fn set_model_status(&self, status: impl Into<String>) {
        if let Ok(mut current) = self.model_status.lock() {
            *current = status.into();
        }
    }

    pub fn model_status(&self) -> String {
        self.model_status
            .lock()
            .map(|status| status.clone())
            .unwrap_or_default()
    }

    pub(crate) fn publish_summary(&self, summary: &FeatureSummary) {
        let finite_or =
            |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
        self.tempo_bpm
            .store(finite_or(summary.tempo_bpm, 0.0), Ordering::Relaxed);
        self.key.store(summary.key % 12, Ordering::Relaxed);
        self.minor
            .store(summary.mode == Mode::Minor, Ordering::Relaxed);
        self.loudness_db.store(
            finite_or(summary.loudness_db, super::level_meter::FLOOR_DB),
            Ordering::Relaxed,
        );
        self.summaries.fetch_add(1, Ordering::Relaxed);
    }
}
