//! When to paint a new landscape, and from which point of the noise space.
//!
//! A keyframe is due when the mood has moved past [`KeyframePolicy::VA_THRESHOLD`] since the last
//! one (but not sooner than [`KeyframePolicy::MIN_SECONDS`] after it), when the style changes, or
//! every [`KeyframePolicy::DRIFT_SECONDS`] regardless: then the noise has drifted a little along a
//! slow walk through the style's seeds, so a steady mood still shows a living picture. Pure logic
//! driven by elapsed seconds, shared by the editor's worker and `moodscape demo`.
//!
//! Each keyframe costs one generator call and one 64→256 upscale, so the two time limits bound
//! the landscape thread's CPU: at most one keyframe per `MIN_SECONDS` however the mood moves.

use crate::landscape::Latent;
use crate::va::Va;

/// What to generate next.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyframeRequest {
    /// Noise input for the generator.
    pub latent: Latent,
    /// Mood to condition on.
    pub va: Va,
}

/// Decides when keyframes are due; see the module docs.
#[derive(Debug, Clone)]
pub struct KeyframePolicy {
    /// Style (seed family) of the current walk.
    style: u32,
    /// Position along the noise walk, in seeds (fractional part = slerp position).
    drift_phase: f64,
    /// Mood of the last keyframe, `None` before the first.
    last_va: Option<Va>,
    /// Seconds since the last keyframe.
    since_last: f64,
}

impl KeyframePolicy {
    /// Mood distance (Euclidean in VA) that triggers a new keyframe.
    pub const VA_THRESHOLD: f32 = 0.08;
    /// Longest time between keyframes (the Motion drift keeps a steady picture moving meanwhile).
    pub const DRIFT_SECONDS: f64 = 8.0;
    /// Shortest time between keyframes that a moving mood triggers (a style change is immediate):
    /// the default Morph length, so a restless mood costs at most one upscale per crossfade.
    pub const MIN_SECONDS: f64 = 2.0;
    /// Seconds the walk takes to move from one seed to the next.
    pub const SECONDS_PER_SEED: f64 = 24.0;

    pub fn new(style: u32) -> Self {
        Self {
            style,
            drift_phase: 0.0,
            last_va: None,
            since_last: 0.0,
        }
    }

    /// Advances time by `elapsed` seconds and returns a request if a keyframe is due now.
    pub fn update(&mut self, elapsed: f64, va: Va, style: u32) -> Option<KeyframeRequest> {
        let elapsed = if elapsed.is_finite() {
            elapsed.max(0.0)
        } else {
            0.0
        };
        self.since_last += elapsed;
        self.drift_phase += elapsed / Self::SECONDS_PER_SEED;
        let style_changed = style != self.style;
        if style_changed {
            self.style = style;
            self.drift_phase = 0.0;
        }
        let moved = self.last_va.is_none_or(|last| {
            let (dv, da) = (va.valence - last.valence, va.arousal - last.arousal);
            (dv * dv + da * da).sqrt() > Self::VA_THRESHOLD && self.since_last >= Self::MIN_SECONDS
        });
        if !(style_changed || moved || self.since_last >= Self::DRIFT_SECONDS) {
            return None;
        }
        self.since_last = 0.0;
        self.last_va = Some(va);
        Some(KeyframeRequest {
            latent: self.latent(),
            va,
        })
    }

    /// The current point of the walk: a slerp between consecutive seeds of the style.
    pub fn latent(&self) -> Latent {
        let base = u64::from(self.style) * 1_000_003;
        let step = self.drift_phase.floor();
        let fraction = (self.drift_phase - step) as f32;
        let eased = fraction * fraction * (3.0 - 2.0 * fraction);
        Latent::from_seed(base + step as u64)
            .slerp(&Latent::from_seed(base + step as u64 + 1), eased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn va(valence: f32, arousal: f32) -> Va {
        Va { valence, arousal }
    }

    #[test]
    fn first_update_mood_moves_and_drift_trigger_keyframes() {
        let mut policy = KeyframePolicy::new(3);
        assert!(policy.update(0.0, va(0.0, 0.0), 3).is_some(), "first frame");
        assert!(
            policy.update(0.5, va(0.05, 0.0), 3).is_none(),
            "below threshold"
        );
        assert!(
            policy.update(0.5, va(0.2, 0.0), 3).is_none(),
            "moved, but too soon"
        );
        assert!(policy.update(1.5, va(0.2, 0.0), 3).is_some(), "mood moved");
        assert!(
            policy.update(7.9, va(0.2, 0.0), 3).is_none(),
            "not yet drifting"
        );
        let drifted = policy.update(0.2, va(0.2, 0.0), 3).expect("drift keyframe");
        assert_ne!(
            drifted.latent,
            KeyframePolicy::new(3).latent(),
            "noise has moved"
        );
        assert!(
            policy.update(0.0, va(0.2, 0.0), 4).is_some(),
            "style change"
        );
    }

    #[test]
    fn a_restless_mood_paints_at_most_one_keyframe_per_min_seconds() {
        let mut policy = KeyframePolicy::new(2);
        let mut keyframes = 0;
        // 60 s at 20 updates a second, the mood jumping across the pad every update.
        for step in 0..1200 {
            let sign = if step % 2 == 0 { 1.0 } else { -1.0 };
            if policy
                .update(0.05, va(0.9 * sign, -0.9 * sign), 2)
                .is_some()
            {
                keyframes += 1;
            }
        }
        let most = (60.0 / KeyframePolicy::MIN_SECONDS) as usize + 1;
        assert!(
            keyframes <= most && keyframes >= most * 3 / 4,
            "{keyframes} keyframes"
        );
    }

    #[test]
    fn the_walk_is_continuous() {
        let mut policy = KeyframePolicy::new(1);
        let mut previous = policy.latent();
        for _ in 0..200 {
            policy.update(0.25, va(0.0, 0.0), 1);
            let next = policy.latent();
            let step: f32 = previous
                .values
                .iter()
                .zip(&next.values)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            assert!(step < 0.5, "latent jumped by {step}");
            previous = next;
        }
    }
}
