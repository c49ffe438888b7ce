//! Time-driven crossfade between landscape keyframes, and the slow drift of the view.
//!
//! The blend depends on elapsed seconds, never on frame count, so a slow or fast display morphs in
//! the same time. A keyframe that arrives mid-morph starts from what is on screen at that moment,
//! so the picture never jumps.
//!
//! Between keyframes the picture would stand still; [`drift_view`] moves a window over it (a
//! gentle pan and zoom, a pure function of wall-clock seconds, so it is frame-rate independent
//! and costs nothing but texture coordinates in the editor).

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

    /// Where the current morph started: a GPU crossfade draws `from` and `to` mixed by
    /// [`Morph::progress`], which is what [`Morph::current`] computes on the CPU.
    pub fn from(&self) -> &RgbImage {
        &self.from
    }

    /// The newest keyframe, where the morph ends.
    pub fn to(&self) -> &RgbImage {
        &self.to
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
        // 8-bit fixed-point weights: the editor blends 256 px keyframes 30 times a second.
        let weight = (t * 256.0).round() as u32;
        let mut out = self.to.clone();
        for (out, from) in out.as_mut().iter_mut().zip(self.from.as_raw()) {
            *out =
                ((u32::from(*from) * (256 - weight) + u32::from(*out) * weight + 128) >> 8) as u8;
        }
        out
    }
}

/// The part of the picture on show, in texture coordinates (0 to 1 on both axes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Top-left corner `[u, v]`.
    pub min: [f32; 2],
    /// Bottom-right corner `[u, v]`.
    pub max: [f32; 2],
}

impl View {
    /// The whole picture.
    pub const FULL: View = View {
        min: [0.0, 0.0],
        max: [1.0, 1.0],
    };

    /// The point `[u, v]` of this view (0 to 1 each) in the picture's texture coordinates.
    pub fn map(&self, [u, v]: [f32; 2]) -> [f32; 2] {
        [
            self.min[0] + u * (self.max[0] - self.min[0]),
            self.min[1] + v * (self.max[1] - self.min[1]),
        ]
    }
}

/// Zoom (fraction of the side) at full Motion; the view always stays inside the picture.
const MAX_DRIFT_ZOOM: f64 = 0.12;
/// Periods of the zoom and the two pan directions, seconds: long, and incommensurate so the
/// path does not visibly repeat.
const DRIFT_PERIODS: [f64; 3] = [67.0, 53.0, 79.0];

/// The view at `seconds` (wall clock) for the Motion amount `motion` (0 = the whole picture,
/// still; 1 = up to 12 % zoom). At the default 0.5 the picture's edge moves by well under 1 % of
/// its side per second.
pub fn drift_view(seconds: f64, motion: f32) -> View {
    let motion = if motion.is_finite() {
        f64::from(motion.clamp(0.0, 1.0))
    } else {
        0.0
    };
    let seconds = if seconds.is_finite() { seconds } else { 0.0 };
    if motion <= 0.0 {
        return View::FULL;
    }
    let phase = |period: f64| std::f64::consts::TAU * seconds / period;
    // Never quite all the way out, so there is always some room to pan.
    let zoom = 1.0 + motion * MAX_DRIFT_ZOOM * (0.55 - 0.45 * phase(DRIFT_PERIODS[0]).cos());
    let visible = 1.0 / zoom;
    let slack = (1.0 - visible) / 2.0;
    let centre = [
        0.5 + slack * phase(DRIFT_PERIODS[1]).sin(),
        0.5 + slack * (phase(DRIFT_PERIODS[2]) + 1.3).sin(),
    ];
    View {
        min: centre.map(|c| (c - visible / 2.0) as f32),
        max: centre.map(|c| (c + visible / 2.0) as f32),
    }
}

/// `image` seen through `view`, resampled (bilinear) to `size`×`size`: what the editor's texture
/// coordinates show, for pictures written to files (the demo's animation).
pub fn render_view(image: &RgbImage, view: View, size: u32) -> RgbImage {
    let (width, height) = (image.width().max(1), image.height().max(1));
    let sample = |x: f32, y: f32, c: usize| -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let clamp_x = |v: f32| (v.max(0.0) as u32).min(width - 1);
        let clamp_y = |v: f32| (v.max(0.0) as u32).min(height - 1);
        let p = |px: f32, py: f32| f32::from(image.get_pixel(clamp_x(px), clamp_y(py))[c]);
        let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1.0, y0) * fx;
        let bottom = p(x0, y0 + 1.0) * (1.0 - fx) + p(x0 + 1.0, y0 + 1.0) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    RgbImage::from_fn(size, size, |x, y| {
        let [u, v] = view.map([
            (x as f32 + 0.5) / size as f32,
            (y as f32 + 0.5) / size as f32,
        ]);
        let (sx, sy) = (u * width as f32 - 0.5, v * height as f32 - 0.5);
        image::Rgb([0, 1, 2].map(|c| sample(sx, sy, c).round().clamp(0.0, 255.0) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_still_at_zero_motion_and_stays_inside_the_picture() {
        assert_eq!(drift_view(12.3, 0.0), View::FULL);
        assert_eq!(drift_view(f64::NAN, f32::NAN), View::FULL);
        let mut previous = drift_view(0.0, 1.0);
        let mut travelled = 0.0f32;
        // Ten minutes at 30 fps: inside the picture, a zoom in, and slow and continuous.
        for frame in 1..(30 * 600) {
            let view = drift_view(frame as f64 / 30.0, 1.0);
            for axis in 0..2 {
                assert!(view.min[axis] >= 0.0 && view.max[axis] <= 1.0, "{view:?}");
                assert!(view.max[axis] - view.min[axis] < 1.0, "no zoom: {view:?}");
                let step = (view.min[axis] - previous.min[axis]).abs();
                assert!(step < 0.0005, "jumped by {step} in one frame");
                travelled += step;
            }
            previous = view;
        }
        assert!(travelled > 0.1, "the view hardly moves ({travelled})");
    }

    #[test]
    fn drift_depends_on_time_not_on_frames() {
        // The same moment gives the same view however it was reached.
        assert_eq!(drift_view(41.0, 0.5), drift_view(41.0, 0.5));
        assert_ne!(drift_view(41.0, 0.5), drift_view(45.0, 0.5));
    }

    #[test]
    fn render_view_of_the_full_view_is_the_picture() {
        let picture =
            RgbImage::from_fn(8, 8, |x, y| image::Rgb([(x * 30) as u8, (y * 30) as u8, 7]));
        assert_eq!(render_view(&picture, View::FULL, 8), picture);
        let zoomed = render_view(
            &picture,
            View {
                min: [0.5, 0.5],
                max: [1.0, 1.0],
            },
            8,
        );
        assert!(
            zoomed.get_pixel(0, 0)[0] >= 90,
            "shows the bottom-right quarter"
        );
    }

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
        // What the editor's GPU crossfade mixes: the screen at retarget time, and the target.
        assert_eq!(morph.from(), &flat(100));
        assert_eq!(morph.to(), &flat(0));
        morph.advance(5.0, 2.0);
        assert_eq!(morph.current().get_pixel(0, 0)[0], 0);
        assert!(!morph.is_moving());
    }
}
