//! The training table: one row per emitted analysis summary, each row tied to its clip.

use super::targets::ClipLabel;

/// A dense row-major feature matrix.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Columns per row (the analysis engine's feature count).
    pub n_features: usize,
    /// `len() * n_features` values, row after row.
    pub data: Vec<f32>,
}

impl Rows {
    /// An empty matrix with a fixed width.
    pub fn new(n_features: usize) -> Self {
        Self {
            n_features,
            data: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.n_features).unwrap_or(0)
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One row.
    pub fn row(&self, index: usize) -> &[f32] {
        &self.data[index * self.n_features..(index + 1) * self.n_features]
    }

    /// Appends one row (must be `n_features` long).
    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.n_features);
        self.data.extend_from_slice(row);
    }
}

/// Every window of every clip, with the clip-level labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Names of the feature columns, as the engine reports them.
    pub feature_names: Vec<String>,
    /// One row per analysis summary.
    pub rows: Rows,
    /// Index into `clips` for each row; folds split on this, never on rows.
    pub clip_of_row: Vec<usize>,
    /// The labelled clips.
    pub clips: Vec<ClipLabel>,
}

impl Dataset {
    /// Builds the table from per-clip rows (clips without rows are left out and counted).
    pub fn from_clip_rows(
        feature_names: Vec<String>,
        clip_rows: Vec<(ClipLabel, Vec<Vec<f32>>)>,
    ) -> Self {
        let mut rows = Rows::new(feature_names.len());
        let mut clip_of_row = Vec::new();
        let mut clips = Vec::new();
        for (label, windows) in clip_rows {
            let usable: Vec<&Vec<f32>> = windows
                .iter()
                .filter(|window| window.len() == feature_names.len())
                .collect();
            if usable.is_empty() {
                continue;
            }
            for window in usable {
                rows.push(window);
                clip_of_row.push(clips.len());
            }
            clips.push(label);
        }
        Self {
            feature_names,
            rows,
            clip_of_row,
            clips,
        }
    }

    /// Per-row targets for valence (`arousal == false`) or arousal.
    pub fn row_targets(&self, arousal: bool) -> Vec<f32> {
        self.clip_of_row
            .iter()
            .map(|&clip| {
                let va = self.clips[clip].va;
                if arousal {
                    va.arousal
                } else {
                    va.valence
                }
            })
            .collect()
    }

    /// Row indices of each clip, in time order.
    pub fn rows_by_clip(&self) -> Vec<Vec<usize>> {
        let mut by_clip = vec![Vec::new(); self.clips.len()];
        for (row, &clip) in self.clip_of_row.iter().enumerate() {
            by_clip[clip].push(row);
        }
        by_clip
    }
}

/// Replaces non-finite values by the column's fill value, so trees and sorts never see NaN/Inf.
pub fn sanitise(values: &mut [f32], fill: &[f32]) {
    for (value, &fill) in values.iter_mut().zip(fill) {
        if !value.is_finite() {
            *value = fill;
        }
    }
}

/// Per-column medians of the finite values (0 where a column has none): the fill for bad input.
pub fn column_medians(rows: &Rows) -> Vec<f32> {
    (0..rows.n_features)
        .map(|feature| {
            let mut column: Vec<f32> = (0..rows.len())
                .map(|row| rows.row(row)[feature])
                .filter(|value| value.is_finite())
                .collect();
            if column.is_empty() {
                return 0.0;
            }
            column.sort_unstable_by(f32::total_cmp);
            column[column.len() / 2]
        })
        .collect()
}
