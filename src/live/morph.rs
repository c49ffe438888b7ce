//! Time-driven crossfade between landscape keyframes.
//!
//! The blend depends on elapsed seconds, never on frame count, so a slow or fast display morphs in
//! the same time. A keyframe that arrives mid-morph starts from what is on screen at that moment,
//! so the picture never jumps.

use image::RgbImage;

/// The picture on screen and the one it is morphing towards.
#[derive(Debug, Clone)]
pub struct Morph {
    /// Where the current morph started (what was on screen when the target arrived).
    from: RgbImage,
    /// The newest keyframe.
    to: RgbImage,
    /// Seconds since the target arrived.
    elapsed: f32,
    /// Seconds a full morph takes.
    duration: f32,
}

impl Morph {
    pub fn new(first: RgbImage, duration: f32) -> Self {
        Self {
            from: first.clone(),
            to: first,
            elapsed: 0.0,
            duration,
        }
    }

    /// Starts morphing from the current picture towards `target`.
    pub fn retarget(&mut self, target: RgbImage) {
        self.from = self.current();
        if self.from.dimensions() != target.dimensions() {
            self.from = target.clone();
        }
        self.to = target;
        self.elapsed = 0.0;
    }

    /// Advances the clock by `seconds` and sets the morph length (a parameter that may change).
    pub fn advance(&mut self, seconds: f32, duration: f32) {
        if seconds.is_finite() {
            self.elapsed += seconds.max(0.0);
        }
        if duration.is_finite() {
            self.duration = duration.max(0.0);
        }
    }

    /// Eased progress of the current morph, 0 (all `from`) to 1 (all `to`).
    pub fn progress(&self) -> f32 {
        if self.duration <= 0.0 {
            return 1.0;
        }
        let t = (self.elapsed / self.duration).clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    }

    /// Whether the picture is still changing.
    pub fn is_moving(&self) -> bool {
        self.progress() < 1.0
    }

    /// The picture to show now.
    pub fn current(&self) -> RgbImage {
        let t = self.progress();
        if t >= 1.0 {
            return self.to.clone();
        }
        let mut out = self.to.clone();
        for (out, from) in out.as_mut().iter_mut().zip(self.from.as_raw()) {
            *out = (f32::from(*from) + (f32::from(*out) - f32::from(*from)) * t).round() as u8;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(value: u8) -> RgbImage {
        RgbImage::from_pixel(4, 4, image::Rgb([value; 3]))
    }

    #[test]
    fn morph_follows_time_and_retargets_from_the_screen() {
        let mut morph = Morph::new(flat(0), 2.0);
        morph.retarget(flat(200));
        assert_eq!(morph.current().get_pixel(0, 0)[0], 0);
        morph.advance(1.0, 2.0);
        assert_eq!(morph.current().get_pixel(0, 0)[0], 100, "halfway in time");
        morph.retarget(flat(0));
        assert_eq!(
            morph.current().get_pixel(0, 0)[0],
            100,
            "no jump on retarget"
        );
        morph.advance(5.0, 2.0);
        assert_eq!(morph.current().get_pixel(0, 0)[0], 0);
        assert!(!morph.is_moving());
    }
}
