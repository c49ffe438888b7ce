//! The plugin's parameters and persisted editor state.

use atomic_float::AtomicF32;
use crossbeam::atomic::AtomicCell;
use nice_plug::params::persist::PersistentField;
use nice_plug::plugin::ParamValue;
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

    /// How much the landscape drifts (a slow pan and zoom) between keyframes, 0 = still.
    #[id = "motion"]
    pub motion: FloatParam,

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
            motion: FloatParam::new("Motion", 0.5, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            osc: Arc::default(),
            saved_mood: Arc::default(),
        }
    }
}

/// Smallest editor size a saved state may restore, logical pixels: the editor's layout still
/// fits.
pub const MIN_EDITOR_SIZE: (u32, u32) = (480, 300);

/// Largest editor size a saved state may restore, logical pixels (an 8K screen).
pub const MAX_EDITOR_SIZE: (u32, u32) = (7680, 4320);

/// Brings a saved state into range before the plugin loads it, in both formats (nice-plug calls
/// this from `Plugin::filter_state`).
///
/// nice-plug stores a loaded value as it is: the host shows it clamped, but the plugin would run
/// with, and save again, a CC channel of 999 or a 1e30 s window. Each parameter's value is
/// clamped into its range and snapped to its step; a value of the wrong type, or not finite,
/// falls back to the default. The editor size is clamped to [`MIN_EDITOR_SIZE`] ..
/// [`MAX_EDITOR_SIZE`], and an unreadable one is dropped (the editor keeps its default).
pub fn sanitize_state(state: &mut PluginState) {
    let reference = MoodscapeParams::default();
    let map = reference.param_map();
    for (id, value) in state.params.iter_mut() {
        let Some((_, pointer, _)) = map.iter().find(|(param_id, _, _)| param_id == id) else {
            continue;
        };
        // SAFETY: the pointers come from `reference.param_map()` and `reference` outlives this
        // loop; only `&self` methods are called.
        let sane = unsafe {
            match (*pointer, &*value) {
                (ParamPtr::FloatParam(param), ParamValue::F32(plain)) => {
                    let param = &*param;
                    ParamValue::F32(if plain.is_finite() {
                        param.preview_plain(param.preview_normalized(*plain))
                    } else {
                        param.default_plain_value()
                    })
                }
                (ParamPtr::IntParam(param), ParamValue::I32(plain)) => {
                    let param = &*param;
                    ParamValue::I32(param.preview_plain(param.preview_normalized(*plain)))
                }
                (ParamPtr::BoolParam(_), ParamValue::Bool(plain)) => ParamValue::Bool(*plain),
                (ParamPtr::FloatParam(param), _) => ParamValue::F32((*param).default_plain_value()),
                (ParamPtr::IntParam(param), _) => ParamValue::I32((*param).default_plain_value()),
                (ParamPtr::BoolParam(param), _) => ParamValue::Bool((*param).default_plain_value()),
                (ParamPtr::EnumParam(_), other) => other.clone(),
            }
        };
        *value = sane;
    }
    if let Some(field) = state.fields.get_mut("editor-size") {
        match serde_json::from_str::<(u32, u32)>(field) {
            Ok((width, height)) => {
                let sane = (
                    width.clamp(MIN_EDITOR_SIZE.0, MAX_EDITOR_SIZE.0),
                    height.clamp(MIN_EDITOR_SIZE.1, MAX_EDITOR_SIZE.1),
                );
                *field = serde_json::to_string(&sane).unwrap_or_else(|_| field.clone());
            }
            Err(_) => {
                state.fields.remove("editor-size");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(params: &[(&str, ParamValue)], editor_size: &str) -> PluginState {
        PluginState {
            version: String::new(),
            params: params
                .iter()
                .map(|(id, value)| (id.to_string(), value.clone()))
                .collect(),
            fields: [("editor-size".to_string(), editor_size.to_string())].into(),
        }
    }

    fn float(state: &PluginState, id: &str) -> f32 {
        match state.params[id] {
            ParamValue::F32(v) => v,
            ref other => panic!("{id}: {other:?}"),
        }
    }

    fn int(state: &PluginState, id: &str) -> i32 {
        match state.params[id] {
            ParamValue::I32(v) => v,
            ref other => panic!("{id}: {other:?}"),
        }
    }

    #[test]
    fn out_of_range_state_is_clamped_on_load() {
        let mut hostile = state(
            &[
                ("cc_channel", ParamValue::I32(999)),
                ("cc_valence", ParamValue::I32(-7)),
                ("cc_arousal", ParamValue::I32(128)),
                ("window", ParamValue::F32(1e30)),
                ("smoothing", ParamValue::F32(-5.0)),
                ("morph", ParamValue::F32(f32::NAN)),
                ("seed", ParamValue::F32(3.0)),
                ("freeze", ParamValue::Bool(true)),
            ],
            "[100000,100000]",
        );
        sanitize_state(&mut hostile);
        assert_eq!(int(&hostile, "cc_channel"), 16);
        assert_eq!(int(&hostile, "cc_valence"), 0);
        assert_eq!(int(&hostile, "cc_arousal"), 119);
        assert_eq!(float(&hostile, "window"), 30.0);
        assert_eq!(float(&hostile, "smoothing"), 0.0);
        assert_eq!(
            float(&hostile, "morph"),
            2.0,
            "NaN falls back to the default"
        );
        assert_eq!(
            int(&hostile, "seed"),
            7,
            "a wrong type falls back to the default"
        );
        assert!(matches!(hostile.params["freeze"], ParamValue::Bool(true)));
        assert_eq!(hostile.fields["editor-size"], "[7680,4320]");

        let mut tiny = state(&[("window", ParamValue::F32(12.4))], "[1,1]");
        sanitize_state(&mut tiny);
        assert_eq!(float(&tiny, "window"), 12.0, "snapped to the 1 s step");
        assert_eq!(tiny.fields["editor-size"], "[480,300]");

        let mut garbage = state(&[], "\"wide\"");
        sanitize_state(&mut garbage);
        assert!(!garbage.fields.contains_key("editor-size"));

        // In-range values pass untouched.
        let mut fine = state(
            &[
                ("cc_channel", ParamValue::I32(5)),
                ("smoothing", ParamValue::F32(750.0)),
            ],
            "[960,600]",
        );
        sanitize_state(&mut fine);
        assert_eq!(int(&fine, "cc_channel"), 5);
        assert_eq!(float(&fine, "smoothing"), 750.0);
        assert_eq!(fine.fields["editor-size"], "[960,600]");
    }
}
