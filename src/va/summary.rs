//! Per-window VA columns and the clip-level summary that `moodscape analyze` prints.

use serde::Serialize;

use super::Va;

/// The one public vocabulary of quadrants: code (as the 4Q dataset writes it) and meaning,
/// Q1..Q4. The CLI, the editor and OSC all read it from here.
pub const QUADRANTS: [(&str, &str); 4] = [
    ("Q1", "pleasant-excited"),
    ("Q2", "unpleasant-excited"),
    ("Q3", "unpleasant-calm"),
    ("Q4", "pleasant-calm"),
];

/// Code and meaning in one label, in [`QUADRANTS`] order (the editor's line and OSC's
/// `/quadrant`; a test keeps the two tables in step).
pub const QUADRANT_LABELS: [&str; 4] = [
    "Q1 pleasant-excited",
    "Q2 unpleasant-excited",
    "Q3 unpleasant-calm",
    "Q4 pleasant-calm",
];

/// A quadrant with its meaning, e.g. "Q2 unpleasant-excited".
pub fn quadrant_label(va: Va) -> &'static str {
    QUADRANT_LABELS[usize::from(va.quadrant()) - 1]
}

/// The VA columns added to each analysis record (`None` when no usable model is built in).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct VaColumns {
    /// Predicted valence on [-1, 1].
    pub valence: Option<f32>,
    /// Predicted arousal on [-1, 1].
    pub arousal: Option<f32>,
    /// Quadrant of the prediction, "Q1".."Q4".
    pub quadrant: Option<&'static str>,
    /// "music" (estimated), "silent" (under the silence gate: no estimate) or "warming" (no
    /// MusiCNN patch of music inside the window yet: no estimate).
    pub mood_state: &'static str,
}

impl From<Option<Va>> for VaColumns {
    fn from(va: Option<Va>) -> Self {
        Self {
            valence: va.map(|va| va.valence),
            arousal: va.map(|va| va.arousal),
            quadrant: va.map(|va| QUADRANTS[va.quadrant() as usize - 1].0),
            mood_state: "music",
        }
    }
}

/// The whole clip in one line: mean of its window predictions, as the model card scores clips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipSummary {
    /// Windows averaged.
    pub windows: usize,
    /// Mean valence over the windows.
    pub valence: f32,
    /// Mean arousal over the windows.
    pub arousal: f32,
    /// Quadrant of the mean: the clip-level call.
    pub quadrant: &'static str,
    /// Spread of valence over the windows: how much the mood moves.
    pub valence_std: f32,
    /// Spread of arousal over the windows.
    pub arousal_std: f32,
    /// Share of windows in Q1..Q4.
    pub quadrant_shares: [f32; 4],
}

/// Accumulates window predictions into a [`ClipSummary`].
#[derive(Debug, Clone, Default)]
pub struct ClipAccumulator {
    /// Sum and sum of squares of valence.
    valence: (f64, f64),
    /// Sum and sum of squares of arousal.
    arousal: (f64, f64),
    /// Windows per quadrant.
    quadrants: [usize; 4],
    /// Windows seen.
    windows: usize,
}

impl ClipAccumulator {
    /// Adds one window's prediction.
    pub fn add(&mut self, va: Va) {
        let (v, a) = (va.valence as f64, va.arousal as f64);
        self.valence.0 += v;
        self.valence.1 += v * v;
        self.arousal.0 += a;
        self.arousal.1 += a * a;
        self.quadrants[va.quadrant() as usize - 1] += 1;
        self.windows += 1;
    }

    /// The summary, or `None` before the first window.
    pub fn summary(&self) -> Option<ClipSummary> {
        if self.windows == 0 {
            return None;
        }
        let n = self.windows as f64;
        let stats = |(sum, squares): (f64, f64)| {
            let mean = sum / n;
            (
                mean as f32,
                (squares / n - mean * mean).max(0.0).sqrt() as f32,
            )
        };
        let (valence, valence_std) = stats(self.valence);
        let (arousal, arousal_std) = stats(self.arousal);
        let mean = Va { valence, arousal };
        Some(ClipSummary {
            windows: self.windows,
            valence,
            arousal,
            quadrant: QUADRANTS[mean.quadrant() as usize - 1].0,
            valence_std,
            arousal_std,
            quadrant_shares: self.quadrants.map(|count| (count as f64 / n) as f32),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrant_labels_are_code_and_meaning() {
        for ((code, meaning), label) in QUADRANTS.iter().zip(QUADRANT_LABELS) {
            assert_eq!(format!("{code} {meaning}"), label);
        }
        assert_eq!(
            quadrant_label(Va {
                valence: -0.5,
                arousal: 0.5
            }),
            "Q2 unpleasant-excited"
        );
    }

    #[test]
    fn summary_is_the_mean_and_its_quadrant() {
        let mut clip = ClipAccumulator::default();
        assert!(clip.summary().is_none());
        for (valence, arousal) in [(0.5, -0.2), (0.1, -0.4), (-0.3, 0.3)] {
            clip.add(Va { valence, arousal });
        }
        let summary = clip.summary().unwrap();
        assert_eq!(summary.windows, 3);
        assert!((summary.valence - 0.1).abs() < 1e-6);
        assert!((summary.arousal + 0.1).abs() < 1e-6);
        assert_eq!(summary.quadrant, "Q4");
        assert_eq!(summary.quadrant_shares, [0.0, 1.0 / 3.0, 0.0, 2.0 / 3.0]);
    }
}
