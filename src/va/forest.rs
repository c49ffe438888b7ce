//! Random forest regression: trees grown by smartcore, stored and evaluated as flat node arrays.
//!
//! Why not keep smartcore's own objects? Three reasons, each tested:
//! - smartcore's `RandomForestRegressor` seeds every tree's feature sampler with the same seed, so
//!   all trees try the same candidate features at the same positions. We grow each tree as its own
//!   one-tree smartcore forest with its own seed, which restores the forest's diversity.
//! - a tree deserialised from a corrupt file can hold child indices that make smartcore panic.
//!   [`Forest::validate`] proves every index in range and every path finite before use.
//! - prediction here walks a flat array without allocating, fit for a real-time analysis thread.
//!
//! The flat trees reproduce smartcore's decision rule exactly (`x <= threshold` goes left); a unit
//! test checks that predictions agree with smartcore's to the last bit.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::dataset::Rows;

/// Marks a node without children.
const LEAF: u32 = u32::MAX;

/// One node of a flat regression tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature compared at this node (unused in leaves).
    pub feature: u32,
    /// Rows with `x[feature] <= threshold` go to `left`.
    pub threshold: f32,
    /// Index of the child for `x <= threshold`, or `LEAF`.
    pub left: u32,
    /// Index of the child for `x > threshold` (and NaN), or `LEAF`.
    pub right: u32,
    /// Mean target of the training rows that reached this node; the prediction in a leaf.
    pub value: f32,
}

impl Node {
    fn is_leaf(&self) -> bool {
        self.left == LEAF && self.right == LEAF
    }
}

/// A regression tree as a flat array, root at index 0, children always after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes in creation order; children have larger indices than parents, so walks terminate.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Walks from the root to a leaf. Never panics, even on an unvalidated tree.
    pub fn predict(&self, x: &[f32]) -> f32 {
        self.predict_by(|feature| x.get(feature).copied().unwrap_or(0.0))
    }

    /// As [`predict`](Self::predict), reading features through an accessor (lets the caller
    /// sanitise on the fly without copying or allocating).
    pub fn predict_by(&self, feature: impl Fn(usize) -> f32) -> f32 {
        let mut index = 0usize;
        // Each step moves to a strictly larger index in a validated tree; the bound guards the rest.
        for _ in 0..=self.nodes.len() {
            let Some(node) = self.nodes.get(index) else {
                return 0.0;
            };
            if node.is_leaf() {
                return node.value;
            }
            let value = feature(node.feature as usize);
            index = if value <= node.threshold {
                node.left
            } else {
                node.right
            } as usize;
        }
        0.0
    }

    /// Checks every invariant `predict` relies on for a meaningful answer.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err("empty tree".into());
        }
        for (index, node) in self.nodes.iter().enumerate() {
            if !node.value.is_finite() {
                return Err(format!("node {index} has a non-finite value"));
            }
            if node.is_leaf() {
                continue;
            }
            let in_range =
                |child: u32| (child as usize) > index && (child as usize) < self.nodes.len();
            if !in_range(node.left) || !in_range(node.right) {
                return Err(format!("node {index} points outside its tree"));
            }
            if node.feature as usize >= n_features {
                return Err(format!(
                    "node {index} reads feature {} of {n_features}",
                    node.feature
                ));
            }
            if node.threshold.is_nan() {
                return Err(format!("node {index} has a NaN threshold"));
            }
        }
        Ok(())
    }

    /// Depth of the deepest leaf (root alone = 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut deepest = 0;
        for (index, node) in self.nodes.iter().enumerate() {
            if !node.is_leaf() {
                let child_depth = depth[index] + 1;
                for child in [node.left, node.right] {
                    if let Some(slot) = depth.get_mut(child as usize) {
                        *slot = child_depth;
                        deepest = deepest.max(child_depth);
                    }
                }
            }
        }
        deepest
    }
}

/// An averaging ensemble of trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Forest {
    /// The trees whose mean is the prediction.
    pub trees: Vec<Tree>,
}

impl Forest {
    /// Mean prediction of all trees (0 for an empty forest).
    pub fn predict(&self, x: &[f32]) -> f32 {
        self.predict_by(|feature| x.get(feature).copied().unwrap_or(0.0))
    }

    /// As [`predict`](Self::predict), reading features through an accessor.
    pub fn predict_by(&self, feature: impl Fn(usize) -> f32 + Copy) -> f32 {
        if self.trees.is_empty() {
            return 0.0;
        }
        let sum: f32 = self.trees.iter().map(|tree| tree.predict_by(feature)).sum();
        sum / self.trees.len() as f32
    }

    /// Validates every tree.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.trees.is_empty() {
            return Err("forest has no trees".into());
        }
        for (index, tree) in self.trees.iter().enumerate() {
            tree.validate(n_features)
                .map_err(|error| format!("tree {index}: {error}"))?;
        }
        Ok(())
    }

    /// Total node count, for the model card.
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(|tree| tree.nodes.len()).sum()
    }
}

/// Hyper-parameters of one forest, fixed in advance (see the model card).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees averaged.
    pub n_trees: usize,
    /// Depth limit of each tree (bounds model size and over-fitting).
    pub max_depth: u16,
    /// Smallest leaf, in training windows; smooths predictions.
    pub min_samples_leaf: usize,
    /// Features tried at each split (smartcore's `m`).
    pub mtry: usize,
    /// Share of training clips each tree sees; the rest are its out-of-bag clips.
    pub clip_fraction: f32,
    /// Each tree uses every `thin`-th window of its clips (random phase per clip); windows overlap
    /// 95 %, so neighbours add little but cost time in smartcore's O(rows) split search.
    pub thin: usize,
}

/// A fitted forest plus, for each training row, its out-of-bag prediction (clips a tree never saw).
pub struct FittedForest {
    /// The forest.
    pub forest: Forest,
    /// Per training row: mean prediction of trees that did not see its clip (NaN if none).
    pub oob: Vec<f32>,
}

/// Grows one tree with smartcore on the given rows.
fn grow_tree(
    rows: &Rows,
    row_indices: &[usize],
    targets: &[f32],
    params: &ForestParams,
    seed: u64,
) -> anyhow::Result<Tree> {
    let n_features = rows.n_features;
    let n = row_indices.len();
    // smartcore wants column-major data.
    let mut values = Vec::with_capacity(n * n_features);
    for feature in 0..n_features {
        values.extend(row_indices.iter().map(|&row| rows.row(row)[feature]));
    }
    let x = DenseMatrix::new(n, n_features, values, true)
        .map_err(|error| anyhow::anyhow!("smartcore matrix: {error}"))?;
    let y: Vec<f64> = row_indices.iter().map(|&row| targets[row] as f64).collect();
    let smartcore_params = RandomForestRegressorParameters::default()
        .with_n_trees(1)
        .with_max_depth(params.max_depth)
        .with_min_samples_leaf(params.min_samples_leaf)
        .with_min_samples_split(2 * params.min_samples_leaf)
        .with_m(params.mtry.clamp(1, n_features))
        .with_seed(seed);
    let fitted = RandomForestRegressor::fit(&x, &y, smartcore_params)
        .map_err(|error| anyhow::anyhow!("smartcore fit: {error}"))?;
    let mut trees = from_smartcore(&fitted)?;
    trees
        .pop()
        .ok_or_else(|| anyhow::anyhow!("smartcore returned no tree"))
}

/// Converts a fitted smartcore forest into flat trees through its serde representation
/// (smartcore keeps its nodes private).
pub fn from_smartcore(
    forest: &RandomForestRegressor<f32, f64, DenseMatrix<f32>, Vec<f64>>,
) -> anyhow::Result<Vec<Tree>> {
    let value = serde_json::to_value(forest)?;
    let trees = value
        .pointer("/forest_regressor/trees")
        .and_then(|trees| trees.as_array())
        .ok_or_else(|| anyhow::anyhow!("unexpected smartcore forest layout"))?;
    let mut flat = Vec::with_capacity(trees.len());
    for tree in trees {
        let nodes = tree
            .get("nodes")
            .and_then(|nodes| nodes.as_array())
            .ok_or_else(|| anyhow::anyhow!("unexpected smartcore tree layout"))?;
        let mut flat_nodes = Vec::with_capacity(nodes.len());
        for node in nodes {
            let number = |key: &str| node.get(key).and_then(|v| v.as_f64());
            let child = |key: &str| {
                node.get(key)
                    .and_then(|v| v.as_u64())
                    .map_or(LEAF, |c| c as u32)
            };
            let (left, right) = (child("true_child"), child("false_child"));
            flat_nodes.push(Node {
                feature: number("split_feature").unwrap_or(0.0) as u32,
                threshold: number("split_value").unwrap_or(0.0) as f32,
                left,
                right,
                value: number("output")
                    .ok_or_else(|| anyhow::anyhow!("smartcore node without output"))?
                    as f32,
            });
        }
        flat.push(Tree { nodes: flat_nodes });
    }
    Ok(flat)
}

/// Fits a forest on `train_rows` (indices into `rows`), with `clip_of_row` naming each row's clip.
/// Trees are grown on `workers` threads; the result does not depend on the worker count.
pub fn fit_forest(
    rows: &Rows,
    train_rows: &[usize],
    clip_of_row: &[usize],
    targets: &[f32],
    params: &ForestParams,
    seed: u64,
    workers: usize,
) -> anyhow::Result<FittedForest> {
    // Group the training rows by clip, so trees sample clips, never loose windows.
    let mut clips: Vec<usize> = train_rows.iter().map(|&row| clip_of_row[row]).collect();
    clips.sort_unstable();
    clips.dedup();
    let clip_slot: std::collections::HashMap<usize, usize> = clips
        .iter()
        .enumerate()
        .map(|(slot, &clip)| (clip, slot))
        .collect();
    let mut rows_of_clip: Vec<Vec<usize>> = vec![Vec::new(); clips.len()];
    for &row in train_rows {
        rows_of_clip[clip_slot[&clip_of_row[row]]].push(row);
    }
    let thin = params.thin.max(1);
    let take = ((clips.len() as f32 * params.clip_fraction).round() as usize).clamp(1, clips.len());

    // Each tree's plan is drawn up front from one RNG, so the forest is independent of threading.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plans: Vec<(u64, Vec<usize>, Vec<usize>)> = (0..params.n_trees)
        .map(|_| {
            let mut order: Vec<usize> = (0..clips.len()).collect();
            order.shuffle(&mut rng);
            let (bag, out_of_bag) = order.split_at(take);
            let mut tree_rows = Vec::new();
            for &slot in bag {
                let phase = rng.gen_range(0..thin);
                tree_rows.extend(rows_of_clip[slot].iter().skip(phase).step_by(thin));
            }
            let oob_rows: Vec<usize> = out_of_bag
                .iter()
                .flat_map(|&slot| rows_of_clip[slot].iter().copied())
                .collect();
            (rng.gen(), tree_rows, oob_rows)
        })
        .collect();

    let workers = workers.clamp(1, params.n_trees.max(1));
    let results: Vec<anyhow::Result<Tree>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let plans = &plans;
                scope.spawn(move || {
                    plans
                        .iter()
                        .enumerate()
                        .filter(|(index, _)| index % workers == worker)
                        .map(|(index, (tree_seed, tree_rows, _))| {
                            (
                                index,
                                grow_tree(rows, tree_rows, targets, params, *tree_seed),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ordered: Vec<Option<anyhow::Result<Tree>>> =
            (0..plans.len()).map(|_| None).collect();
        for handle in handles {
            match handle.join() {
                Ok(trees) => {
                    for (index, tree) in trees {
                        ordered[index] = Some(tree);
                    }
                }
                Err(_) => return vec![Err(anyhow::anyhow!("a tree-growing thread panicked"))],
            }
        }
        ordered
            .into_iter()
            .map(|tree| tree.unwrap_or_else(|| Err(anyhow::anyhow!("tree missing"))))
            .collect()
    });
    let trees = results.into_iter().collect::<anyhow::Result<Vec<Tree>>>()?;

    let mut oob_sum = vec![0f32; rows.len()];
    let mut oob_count = vec![0u32; rows.len()];
    for (tree, (_, _, oob_rows)) in trees.iter().zip(&plans) {
        for &row in oob_rows {
            oob_sum[row] += tree.predict(rows.row(row));
            oob_count[row] += 1;
        }
    }
    let oob = train_rows
        .iter()
        .map(|&row| {
            if oob_count[row] == 0 {
                f32::NAN
            } else {
                oob_sum[row] / oob_count[row] as f32
            }
        })
        .collect();
    Ok(FittedForest {
        forest: Forest { trees },
        oob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_trees_match_smartcore_exactly() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, p) = (300, 6);
        let data: Vec<f32> = (0..n * p).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| (data[i * p] * 2.0 + data[i * p + 3] * data[i * p + 1]) as f64)
            .collect();
        let mut column_major = vec![0f32; n * p];
        for i in 0..n {
            for j in 0..p {
                column_major[j * n + i] = data[i * p + j];
            }
        }
        let x = DenseMatrix::new(n, p, column_major, true).unwrap();
        let params = RandomForestRegressorParameters::default()
            .with_n_trees(5)
            .with_max_depth(6);
        let fitted = RandomForestRegressor::fit(&x, &y, params).unwrap();
        let expected = fitted.predict(&x).unwrap();
        let forest = Forest {
            trees: from_smartcore(&fitted).unwrap(),
        };
        forest.validate(p).unwrap();
        for i in 0..n {
            let row = &data[i * p..(i + 1) * p];
            let ours = forest.predict(row) as f64;
            assert!(
                (ours - expected[i]).abs() < 1e-5,
                "row {i}: {ours} vs {}",
                expected[i]
            );
        }
    }

    #[test]
    fn validate_rejects_cycles_and_bad_features() {
        let leaf = Node {
            feature: 0,
            threshold: 0.0,
            left: LEAF,
            right: LEAF,
            value: 1.0,
        };
        let cyclic = Tree {
            nodes: vec![
                Node {
                    left: 0,
                    right: 1,
                    ..leaf
                },
                leaf,
            ],
        };
        assert!(cyclic.validate(1).is_err());
        assert_eq!(
            cyclic.predict(&[0.0]),
            0.0,
            "unvalidated walks still terminate"
        );
        let bad_feature = Tree {
            nodes: vec![
                Node {
                    feature: 9,
                    left: 1,
                    right: 2,
                    ..leaf
                },
                leaf,
                leaf,
            ],
        };
        assert!(bad_feature.validate(3).is_err());
        assert!(bad_feature.validate(10).is_ok());
    }
}
