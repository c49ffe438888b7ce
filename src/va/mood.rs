//! Mood features: the analysis engine's summary plus the MusiCNN patches inside its window.
//!
//! One row per engine summary (every 0.5 s): the engine's named features, then the mean and the
//! (population) deviation over the window's patches of the MusiCNN embedding (200) and taggram
//! (50). The live pipeline, `moodscape analyze`, the demo and the trainer all build their rows
//! with [`PatchWindow`] and [`assemble_row`], so a model sees the same features everywhere.

use std::collections::VecDeque;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::analysis;

/// Default analysis window of the mood (seconds): the plugin's Window parameter, `analyze`'s
/// `--window` and the trainer's rows all start from it. 4 s holds one whole 3 s MusiCNN patch,
/// so a new section is read from its own audio about 3 s after it starts (per clip, the mean
/// over windows scores as well as longer windows do; see the model card).
pub const MOOD_WINDOW_SECONDS: f32 = 4.0;
/// Width of the MusiCNN embedding (penultimate layer).
pub const EMBEDDING_DIM: usize = 200;
/// MSD tags in the MusiCNN taggram.
pub const TAG_COUNT: usize = 50;
/// Seconds of audio in one MusiCNN patch (187 frames of hop 256 at 16 kHz).
pub const PATCH_SECONDS: f64 = 187.0 * 256.0 / 16_000.0;
/// Columns the patches add to the engine's: mean and deviation of embedding and taggram.
pub const PATCH_FEATURES: usize = 2 * (EMBEDDING_DIM + TAG_COUNT);
/// Patches kept at most (two minutes at a 1 s hop), so the window never grows in the live path.
const MAX_PATCHES: usize = 128;
/// Oldest patch kept, seconds before the newest summary (the longest window the engine takes).
const KEEP_SECONDS: f64 = 120.0;

/// One MusiCNN patch as the mood features use it (and as the trainer caches it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchRecord {
    /// Input time (seconds since the stream started) at the end of the patch.
    pub t_end: f64,
    /// RMS level of the patch's audio, dBFS (floor -100).
    pub rms_db: f32,
    /// The penultimate layer, `EMBEDDING_DIM` values.
    pub embedding: Vec<f32>,
    /// Tag probabilities, `TAG_COUNT` values.
    pub taggram: Vec<f32>,
}

/// Recent patches, oldest first; pooled over a summary's window.
#[derive(Debug, Clone)]
pub struct PatchWindow {
    /// Patches in time order.
    patches: VecDeque<PatchRecord>,
}

impl Default for PatchWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl PatchWindow {
    /// An empty window (allocates its whole capacity now).
    pub fn new() -> Self {
        Self {
            patches: VecDeque::with_capacity(MAX_PATCHES),
        }
    }

    /// Adds a patch; the oldest one goes when the window is full. Reuses the evicted patch's
    /// buffers, so the steady state does not allocate.
    pub fn push(&mut self, t_end: f64, rms_db: f32, embedding: &[f32], taggram: &[f32]) {
        let mut slot = if self.patches.len() == MAX_PATCHES {
            self.patches.pop_front()
        } else {
            None
        }
        .unwrap_or_else(|| PatchRecord {
            t_end: 0.0,
            rms_db: 0.0,
            embedding: vec![0.0; EMBEDDING_DIM],
            taggram: vec![0.0; TAG_COUNT],
        });
        slot.t_end = t_end;
        slot.rms_db = rms_db;
        copy_padded(&mut slot.embedding, embedding);
        copy_padded(&mut slot.taggram, taggram);
        self.patches.push_back(slot);
    }

    /// Adds a cached patch.
    pub fn push_record(&mut self, patch: &PatchRecord) {
        self.push(patch.t_end, patch.rms_db, &patch.embedding, &patch.taggram);
    }

    /// Patches held.
    pub fn len(&self) -> usize {
        self.patches.len()
    }

    /// True before the first patch.
    pub fn is_empty(&self) -> bool {
        self.patches.is_empty()
    }

    /// Forgets every patch.
    pub fn clear(&mut self) {
        self.patches.clear();
    }

    /// Pools the patches lying wholly inside the window `[t - window_seconds, t]` into `out`
    /// (`PATCH_FEATURES` values: embedding mean, embedding deviation, taggram mean, taggram
    /// deviation). When none fits (a window shorter than a patch), the newest patch ending by
    /// `t` stands alone. Returns the number of patches pooled; 0 leaves `out` zeroed.
    pub fn pool(&mut self, t: f64, window_seconds: f64, out: &mut [f32]) -> usize {
        out.iter_mut().for_each(|v| *v = 0.0);
        while self
            .patches
            .front()
            .is_some_and(|patch| patch.t_end < t - KEEP_SECONDS)
        {
            self.patches.pop_front();
        }
        // A patch reported within a millisecond after the summary belongs to the same instant.
        let end = t + 1e-3;
        // Only patches overlapping the window count at all: older ones describe other music.
        let overlap_start = t - window_seconds.max(0.0) - PATCH_SECONDS;
        let Some(newest_end) = self
            .patches
            .iter()
            .rev()
            .map(|patch| patch.t_end)
            .find(|&t_end| t_end <= end)
            .filter(|&t_end| t_end > overlap_start)
        else {
            return 0;
        };
        // Patches lying wholly inside the window: a patch that straddles the window's start
        // would carry older music into it and slow the response to a change.
        let mut start = t - window_seconds.max(0.0) - 1e-3;
        let fits = |t_end: f64, start: f64| t_end - PATCH_SECONDS >= start;
        if !self
            .patches
            .iter()
            .any(|patch| patch.t_end <= end && fits(patch.t_end, start))
        {
            // None fits (a window shorter than a patch, or just after a change of window): the
            // newest one stands alone.
            start = newest_end - PATCH_SECONDS;
        }
        let chosen = self
            .patches
            .iter()
            .filter(|patch| patch.t_end <= end && fits(patch.t_end, start));
        let count = chosen.clone().count();
        let (embedding_out, taggram_out) = out.split_at_mut(2 * EMBEDDING_DIM);
        let n = count as f32;
        let mut squares_e = [0f32; EMBEDDING_DIM];
        let mut squares_t = [0f32; TAG_COUNT];
        for patch in chosen {
            for (i, &x) in patch.embedding.iter().enumerate() {
                embedding_out[i] += x;
                squares_e[i] += x * x;
            }
            for (i, &x) in patch.taggram.iter().enumerate() {
                taggram_out[i] += x;
                squares_t[i] += x * x;
            }
        }
        finish_moments(embedding_out, &squares_e, n);
        finish_moments(taggram_out, &squares_t, n);
        count
    }
}

/// Turns sums (in `out[..d]`) and sums of squares into means (`out[..d]`) and deviations
/// (`out[d..2d]`).
fn finish_moments(out: &mut [f32], squares: &[f32], n: f32) {
    let d = squares.len();
    for i in 0..d {
        let mean = out[i] / n;
        out[i] = mean;
        out[d + i] = (squares[i] / n - mean * mean).max(0.0).sqrt();
    }
}

fn copy_padded(into: &mut [f32], from: &[f32]) {
    for (i, slot) in into.iter_mut().enumerate() {
        let value = from.get(i).copied().unwrap_or(0.0);
        *slot = if value.is_finite() { value } else { 0.0 };
    }
}

/// Names of the patch columns, in the order [`PatchWindow::pool`] writes them.
pub fn patch_feature_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = Vec::with_capacity(PATCH_FEATURES);
        for stat in ["mean", "std"] {
            names.extend((0..EMBEDDING_DIM).map(|i| format!("musicnn_embedding_{i:03}_{stat}")));
        }
        for stat in ["mean", "std"] {
            names.extend(
                tag_names()
                    .iter()
                    .map(|tag| format!("musicnn_tag_{tag}_{stat}")),
            );
        }
        names
    })
}

/// Tag names used in feature names (spaces and dashes become underscores).
fn tag_names() -> Vec<String> {
    (0..TAG_COUNT).map(|i| format!("{i:02}")).collect()
}

/// Every mood feature name: the engine's, then the patch columns.
pub fn mood_feature_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        analysis::feature_names()
            .iter()
            .map(|name| name.to_string())
            .chain(patch_feature_names().iter().cloned())
            .collect()
    })
}

/// Which group a mood feature belongs to, for the ablation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureGroup {
    /// The analysis engine's hand-made features.
    Engine,
    /// MusiCNN embedding mean and deviation.
    Embedding,
    /// MusiCNN taggram mean and deviation.
    Taggram,
}

impl FeatureGroup {
    /// Group of column `index` of a mood row.
    pub fn of(index: usize) -> Self {
        let engine = analysis::feature_names().len();
        if index < engine {
            Self::Engine
        } else if index < engine + 2 * EMBEDDING_DIM {
            Self::Embedding
        } else {
            Self::Taggram
        }
    }

    /// Name for the card.
    pub fn name(self) -> &'static str {
        match self {
            Self::Engine => "engine (hand-made)",
            Self::Embedding => "MusiCNN embedding",
            Self::Taggram => "MusiCNN taggram",
        }
    }
}

/// Writes one mood row: the engine values, then the pooled patches. `out` must hold
/// `mood_feature_names().len()` values. Returns the number of patches pooled (0: no estimate yet).
pub fn assemble_row(
    engine_values: &[f32],
    t: f64,
    window_seconds: f64,
    patches: &mut PatchWindow,
    out: &mut [f32],
) -> usize {
    let engine = analysis::feature_names().len();
    let (engine_out, patch_out) = out.split_at_mut(engine);
    copy_padded(engine_out, engine_values);
    patches.pool(t, window_seconds, patch_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(t_end: f64, value: f32) -> PatchRecord {
        PatchRecord {
            t_end,
            rms_db: -20.0,
            embedding: vec![value; EMBEDDING_DIM],
            taggram: vec![value / 10.0; TAG_COUNT],
        }
    }

    #[test]
    fn pools_the_patches_ending_inside_the_window() {
        let mut window = PatchWindow::new();
        let mut out = vec![9.0; PATCH_FEATURES];
        assert_eq!(window.pool(5.0, 10.0, &mut out), 0);
        assert!(out.iter().all(|&v| v == 0.0));
        for (t, v) in [(3.0, 1.0), (6.0, 3.0), (9.0, 5.0)] {
            window.push_record(&patch(t, v));
        }
        // At t = 10 with a 7 s window: the patches ending at 6 and 9 lie inside; the one ending
        // at 3 began before the window.
        assert_eq!(window.pool(10.0, 7.0, &mut out), 2);
        assert!((out[0] - 4.0).abs() < 1e-6, "mean {}", out[0]);
        assert!(
            (out[EMBEDDING_DIM] - 1.0).abs() < 1e-6,
            "std {}",
            out[EMBEDDING_DIM]
        );
        assert!((out[2 * EMBEDDING_DIM] - 0.4).abs() < 1e-6);
        // At t = 8.5 the patch ending at 9 is still in the future.
        assert_eq!(window.pool(8.5, 10.0, &mut out), 2);
        assert!((out[0] - 2.0).abs() < 1e-6);
        // A 1 s window at t = 10 holds no whole patch: the newest one stands alone.
        assert_eq!(window.pool(10.0, 1.0, &mut out), 1);
        assert!((out[0] - 5.0).abs() < 1e-6);
        assert_eq!(out[EMBEDDING_DIM], 0.0);
        // Long after the last patch (a silence), nothing overlaps the window: no estimate.
        assert_eq!(window.pool(20.0, 4.0, &mut out), 0);
    }

    #[test]
    fn names_match_the_row_width_and_groups() {
        let names = mood_feature_names();
        let engine = analysis::feature_names().len();
        assert_eq!(names.len(), engine + PATCH_FEATURES);
        let mut sorted = names.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate names");
        assert_eq!(FeatureGroup::of(engine - 1), FeatureGroup::Engine);
        assert_eq!(FeatureGroup::of(engine), FeatureGroup::Embedding);
        assert_eq!(
            FeatureGroup::of(engine + 2 * EMBEDDING_DIM),
            FeatureGroup::Taggram
        );
        assert!(names[engine + 2 * EMBEDDING_DIM].starts_with("musicnn_tag_"));
    }

    #[test]
    fn a_full_window_recycles_its_buffers() {
        let mut window = PatchWindow::new();
        for i in 0..(MAX_PATCHES + 10) {
            window.push_record(&patch(i as f64, i as f32));
        }
        assert_eq!(window.len(), MAX_PATCHES);
        let mut out = vec![0.0; PATCH_FEATURES];
        let t = (MAX_PATCHES + 9) as f64;
        assert_eq!(window.pool(t, 8.0, &mut out), 6);
    }
}
