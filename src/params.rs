//! The plugin's parameters and persisted editor state.

use crossbeam::atomic::AtomicCell;
use nice_plug::prelude::*;
use std::sync::Arc;

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
}

impl Default for MoodscapeParams {
    fn default() -> Self {
        Self {
            editor_size: Arc::new(AtomicCell::new(DEFAULT_EDITOR_SIZE)),
            smoothing_ms: FloatParam::new(
                "Smoothing",
                crate::live::DEFAULT_SMOOTHING_MS,
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
                crate::va::mood::MOOD_WINDOW_SECONDS,
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
        }
    }
}
