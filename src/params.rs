//! The plugin's parameters and persisted editor state.

use atomic_float::AtomicF32;
use crossbeam::atomic::AtomicCell;
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::live::{OscConfig, OscSettings};
use crate::va::Va;

/// Default editor size in logical pixels.
pub const DEFAULT_EDITOR_SIZE: (u32, u32) = (960, 600);

#[derive(Params)]
pub struct MoodscapeParams {
    /// Last editor size in logical pixels, saved with the project so the window reopens as it was.
    #[persist = "editor-size"]
    pub editor_size: Arc<AtomicCell<(u32, u32)>>,

    /// How quickly the published mood follows the model: the time constant of a one-pole smoother.
    #[id = "smoothing"]
    pub smoothing_ms: FloatParam,

    /// Length of music each mood estimate looks at. Longer is steadier, shorter reacts faster.
    #[id = "window"]
    pub window_seconds: FloatParam,

    /// Holds the current mood (and the picture) while set, e.g. during a break.
    #[id = "freeze"]
    pub freeze: BoolParam,

    /// MIDI controller that carries valence.
    #[id = "cc_valence"]
    pub cc_valence: IntParam,

    /// MIDI controller that carries arousal.
    #[id = "cc_arousal"]
    pub cc_arousal: IntParam,

    /// MIDI channel of both controllers, 1-16 as a musician counts them.
    #[id = "cc_channel"]
    pub cc_channel: IntParam,

    /// Picks the landscape's "style": the seed of the generator's noise walk.
    #[id = "seed"]
    pub seed: IntParam,

    /// Seconds one landscape takes to morph into the next.
    #[id = "morph"]
    pub morph_seconds: FloatParam,

    /// OSC output (on/off, host, port, address prefix), saved with the project and set in the
    /// editor; not host parameters, since a host cannot automate a host name.
    #[persist = "osc"]
    pub osc: Arc<OscConfig>,

    /// The mood when the project was saved, restored on load: a project saved with Freeze on
    /// reopens on the same held mood, and the CCs and OSC carry it from the first block.
    #[persist = "mood"]
    pub saved_mood: Arc<SavedMood>,
}

/// The mood as the project stores it. The audio thread records the current mood into it (two
/// relaxed atomic stores per block); a loaded state marks it for restoring.
#[derive(Debug, Default)]
pub struct SavedMood {
    /// Valence on [-1, 1].
    valence: AtomicF32,
    /// Arousal on [-1, 1].
    arousal: AtomicF32,
    /// Set by a state load, cleared by whoever applies the loaded mood.
    restore_pending: AtomicBool,
}

impl SavedMood {
    /// Remembers `va` for the next save, unless a loaded mood still waits to be applied.
    pub fn record(&self, va: Va) {
        if !self.restore_pending.load(Ordering::Acquire) {
            self.valence.store(va.valence, Ordering::Relaxed);
            self.arousal.store(va.arousal, Ordering::Relaxed);
        }
    }

    /// The mood a state load brought, once.
    pub fn take_restore(&self) -> Option<Va> {
        self.restore_pending
            .swap(false, Ordering::AcqRel)
            .then(|| self.current())
    }

    fn current(&self) -> Va {
        Va {
            valence: self.valence.load(Ordering::Relaxed),
            arousal: self.arousal.load(Ordering::Relaxed),
        }
    }
}

impl<'a> PersistentField<'a, Va> for Arc<SavedMood> {
    fn set(&self, new_value: Va) {
        // A hand-edited or corrupt state must not put a NaN or an out-of-range mood on the CCs.
        let sane = |value: f32| {
            if value.is_finite() {
                value.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        };
        self.valence
            .store(sane(new_value.valence), Ordering::Relaxed);
        self.arousal
            .store(sane(new_value.arousal), Ordering::Relaxed);
        self.restore_pending.store(true, Ordering::Release);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Va) -> R,
    {
        f(&self.current())
    }
}

impl<'a> PersistentField<'a, OscSettings> for Arc<OscConfig> {
    fn set(&self, new_value: OscSettings) {
        OscConfig::set(self, new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&OscSettings) -> R,
    {
        f(&self.settings())
    }
}

impl Default for MoodscapeParams {
    fn default() -> Self {
        Self {
            editor_size: Arc::new(AtomicCell::new(DEFAULT_EDITOR_SIZE)),
            smoothing_ms: FloatParam::new(
                "Smoothing",
                1500.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: 20_000.0,
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            window_seconds: FloatParam::new(
                "Window",
                10.0,
                FloatRange::Linear {
                    min: 3.0,
                    max: 30.0,
                },
            )
            .with_unit(" s")
            .with_step_size(1.0),
            freeze: BoolParam::new("Freeze", false),
            cc_valence: IntParam::new("Valence CC", 20, IntRange::Linear { min: 0, max: 119 }),
            cc_arousal: IntParam::new("Arousal CC", 21, IntRange::Linear { min: 0, max: 119 }),
            cc_channel: IntParam::new("CC Channel", 1, IntRange::Linear { min: 1, max: 16 }),
            seed: IntParam::new("Style", 7, IntRange::Linear { min: 0, max: 999 }),
            morph_seconds: FloatParam::new(
                "Morph",
                2.0,
                FloatRange::Skewed {
                    min: 0.25,
                    max: 10.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" s")
            .with_step_size(0.05),
            osc: Arc::default(),
            saved_mood: Arc::default(),
        }
    }
}
