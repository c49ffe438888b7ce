//! Smoothing of the live VA stream (the plugin predicts at 2 Hz and smooths by its parameter).

use super::Va;

/// Longest time constant, reached at smoothing = 1.
pub const MAX_TIME_CONSTANT_SECONDS: f32 = 10.0;

/// One-pole low-pass on valence and arousal, time-aware so it behaves the same at any update rate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VaSmoother {
    /// Current smoothed value; `None` until the first prediction, which is taken as is.
    state: Option<Va>,
}

impl VaSmoother {
    /// A smoother with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one prediction `dt_seconds` after the previous one. `smoothing` on [0, 1] maps to a
    /// time constant of 0..10 s (quadratic, so the low end stays responsive). Non-finite inputs
    /// are ignored, so the output is always finite and on [-1, 1].
    pub fn update(&mut self, va: Va, smoothing: f32, dt_seconds: f32) -> Va {
        let finite = va.valence.is_finite() && va.arousal.is_finite();
        let va = Va {
            valence: va.valence.clamp(-1.0, 1.0),
            arousal: va.arousal.clamp(-1.0, 1.0),
        };
        let next = match (self.state, finite) {
            (None, true) => va,
            (None, false) => Va::default(),
            (Some(state), false) => state,
            (Some(state), true) => {
                let smoothing = if smoothing.is_finite() {
                    smoothing.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let tau = MAX_TIME_CONSTANT_SECONDS * smoothing * smoothing;
                let dt = if dt_seconds.is_finite() {
                    dt_seconds.max(0.0)
                } else {
                    0.0
                };
                let keep = if tau <= 0.0 { 0.0 } else { (-dt / tau).exp() };
                Va {
                    valence: keep * state.valence + (1.0 - keep) * va.valence,
                    arousal: keep * state.arousal + (1.0 - keep) * va.arousal,
                }
            }
        };
        self.state = Some(next);
        next
    }

    /// Forgets the history (on transport jumps or a new song).
    pub fn reset(&mut self) {
        self.state = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_smoothing_follows_and_full_smoothing_lags() {
        let up = Va {
            valence: 1.0,
            arousal: -1.0,
        };
        let mut fast = VaSmoother::new();
        fast.update(Va::default(), 0.0, 0.5);
        assert_eq!(fast.update(up, 0.0, 0.5), up);
        let mut slow = VaSmoother::new();
        slow.update(Va::default(), 1.0, 0.5);
        let after = slow.update(up, 1.0, 0.5);
        // 0.5 s against a 10 s time constant: about 5 % of the way.
        assert!((after.valence - (1.0 - (-0.05f32).exp())).abs() < 1e-6);
        let nan = slow.update(
            Va {
                valence: f32::NAN,
                arousal: 0.0,
            },
            1.0,
            0.5,
        );
        assert_eq!(nan, after, "non-finite input leaves the state alone");
    }
}
