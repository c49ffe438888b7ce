//! Metrics of a trained generator, all computed on generated images:
//! emotion consistency (Spearman ρ between conditioning VA and the image labeller's VA), diversity
//! (distance between seeds at the same VA; a collapsed generator scores 0) and a realism proxy
//! (nearest-neighbour distances to the training set, against real-to-real distances, plus two
//! cross-validated real-vs-generated classifiers: one on colour and texture statistics, one on
//! what the image network sees).

use super::features::{image_features, FEATURE_COUNT};
use super::grid::axis_values;
use super::labeller::ImageVaLabeller;
use super::latent::Latent;
use super::LandscapeError;
use crate::va::metrics::{bootstrap_clips, expand};
use crate::va::Va;
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Spearman rank correlation (ties get average ranks).
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(values: &[f32]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let mut ranks = vec![0.0; values.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
                end += 1;
            }
            for &i in &order[start..=end] {
                ranks[i] = (start + end) as f64 / 2.0;
            }
            start = end + 1;
        }
        ranks
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len().max(1) as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt().max(1e-12)
}

/// Bootstrap resamples behind [`EvaluationReport::rho_interval`].
const SEED_BOOTSTRAP_RESAMPLES: usize = 1000;

/// 95 % percentile-bootstrap interval of `spearman(asked, read)` when the pairs come in `seeds`
/// equal, consecutive groups (one per seed): whole groups are drawn with replacement, since the
/// pictures of one seed are not independent of each other.
pub fn seed_bootstrap_interval(
    asked: &[f32],
    read: &[f32],
    seeds: usize,
    resamples: usize,
) -> [f64; 2] {
    let per_seed = asked.len() / seeds.max(1);
    if seeds < 2 || per_seed == 0 || read.len() != asked.len() || resamples == 0 {
        let rho = spearman(asked, read);
        return [rho, rho];
    }
    let estimate = bootstrap_clips(seeds, resamples, 0x5eed, |seed_weights| {
        let picture_weights: Vec<u32> = (0..asked.len())
            .map(|i| seed_weights.get(i / per_seed).copied().unwrap_or(0))
            .collect();
        spearman(
            &expand(asked, &picture_weights),
            &expand(read, &picture_weights),
        )
    });
    [estimate.low, estimate.high]
}

/// Root-mean-square pixel difference between two equal-size images, on a 0-1 scale.
pub fn image_distance(a: &RgbImage, b: &RgbImage) -> f32 {
    let sum: f32 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = (x as f32 - y as f32) / 255.0;
            d * d
        })
        .sum();
    (sum / a.as_raw().len().max(1) as f32).sqrt()
}

/// Mean RMS distance over all pairs of `images` (0 for a collapsed set).
pub fn mean_pairwise_distance(images: &[RgbImage]) -> f32 {
    let mut total = 0.0;
    let mut pairs = 0;
    for i in 0..images.len() {
        for j in i + 1..images.len() {
            total += image_distance(&images[i], &images[j]);
            pairs += 1;
        }
    }
    if pairs == 0 {
        0.0
    } else {
        total / pairs as f32
    }
}

/// Luma (0-255) of pixel (x, y).
fn luma(image: &RgbImage, x: u32, y: u32) -> f32 {
    let p = image.get_pixel(x, y).0;
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// A pixel counts as near-black when no channel exceeds this (of 255).
pub const NEAR_BLACK: u8 = 20;

/// Side of the smallest near-black square counted as a defect.
pub const BLACK_BLOCK: u32 = 6;

/// Top-left corner of a `BLACK_BLOCK`² square of near-black pixels, if the picture has one.
pub fn near_black_block(image: &RgbImage) -> Option<(u32, u32)> {
    let (width, height) = image.dimensions();
    if width < BLACK_BLOCK || height < BLACK_BLOCK {
        return None;
    }
    let dark = |x: u32, y: u32| image.get_pixel(x, y).0.iter().all(|&c| c <= NEAR_BLACK);
    for y in 0..=height - BLACK_BLOCK {
        for x in 0..=width - BLACK_BLOCK {
            if (0..BLACK_BLOCK).all(|dy| (0..BLACK_BLOCK).all(|dx| dark(x + dx, y + dy))) {
                return Some((x, y));
            }
        }
    }
    None
}

/// Row `y` (between rows y and y + 1) where the picture has a full-width seam: a one-pixel step
/// in brightness across at least 90 % of the width that is at least 12 levels and three times
/// the steps just above and below it. A natural horizon is a soft edge over several rows or
/// varies along the width; a tiling seam is a hard straight cut.
pub fn full_width_seam(image: &RgbImage) -> Option<u32> {
    let (width, height) = image.dimensions();
    for y in 1..height.saturating_sub(2) {
        let hard = (0..width)
            .filter(|&x| {
                let step = (luma(image, x, y + 1) - luma(image, x, y)).abs();
                let above = (luma(image, x, y) - luma(image, x, y - 1)).abs();
                let below = (luma(image, x, y + 2) - luma(image, x, y + 1)).abs();
                step >= 12.0 && step >= 3.0 * above.max(below)
            })
            .count();
        if hard as f32 >= 0.9 * width as f32 {
            return Some(y);
        }
    }
    None
}

/// Everything the model card reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationReport {
    /// Seeds per VA cell.
    pub seeds: usize,
    /// VA steps per axis.
    pub steps: usize,
    /// Spearman ρ between conditioning valence and the labeller's valence of the image.
    pub rho_valence: f64,
    /// Spearman ρ between conditioning arousal and the labeller's arousal of the image.
    pub rho_arousal: f64,
    /// 95 % intervals of `rho_valence` and `rho_arousal` from a bootstrap over seeds (a seed's
    /// pictures share their latent, so they are resampled together): how far another draw of
    /// seeds could move them. Seeds 1000… read 0.521 / 0.570 for v2, 5000… 0.551 / 0.634.
    #[serde(default)]
    pub rho_interval: [[f64; 2]; 2],
    /// Cross-talk: ρ between conditioning valence and labelled arousal.
    pub rho_valence_to_arousal: f64,
    /// Cross-talk: ρ between conditioning arousal and labelled valence.
    pub rho_arousal_to_valence: f64,
    /// Mean RMS distance between different seeds at the same VA (0 = collapsed).
    pub diversity_same_va: f32,
    /// Mean RMS distance between random pairs of training images (the data's own spread).
    pub diversity_training: f32,
    /// Mean RMS distance between the VA extremes of one seed (how far VA moves an image).
    pub va_effect_same_seed: f32,
    /// Median distance from a generated image to its nearest training image.
    pub nn_generated_to_train_median: f32,
    /// Smallest such distance (a copy would be near 0).
    pub nn_generated_to_train_min: f32,
    /// Median distance from held-out real images to their nearest other training image.
    pub nn_real_to_train_median: f32,
    /// Smallest real-to-real nearest-neighbour distance (near-duplicates in the data).
    pub nn_real_to_train_min: f32,
    /// 5-fold cross-validated accuracy of a random forest telling real from generated from
    /// their colour and texture statistics (the 52 image features; 0.5 = indistinguishable).
    pub real_vs_generated_accuracy: f64,
    /// 95 % Wilson interval of that accuracy over its 800 held-out predictions: how far another
    /// draw of pictures could move it (seeds 1000… read 0.625 for v2, seeds 5000… 0.657).
    #[serde(default)]
    pub real_vs_generated_accuracy_interval: [f64; 2],
    /// The same classifier on the labeller's EfficientNet-Lite0 embedding of each picture. The
    /// colour statistics are blind to shapes: blobs, smears and melted textures show up here,
    /// the way FID's Inception features catch what pixel statistics miss.
    #[serde(default)]
    pub real_vs_generated_accuracy_embedding: f64,
    /// 95 % Wilson interval of the embedding classifier's accuracy.
    #[serde(default)]
    pub real_vs_generated_accuracy_embedding_interval: [f64; 2],
    /// The consistency a generator that paints its training data perfectly would score: ρ
    /// (valence, arousal) of the same grid when each cell's pictures are the training thumbnails
    /// whose conditioning lies nearest the cell. The goal on `rho_*` only means something below
    /// this ceiling.
    pub data_ceiling_rho: [f64; 2],
    /// Share of the generated grid pictures with a near-black [`BLACK_BLOCK`]² block or a
    /// full-width seam (the artefact scan).
    pub defects_generated_share: f64,
    /// Share of the training thumbnails the same scan flags (black silhouettes, night skies, sharp
    /// sea horizons): the rate of a generator that paints exactly like the photographs.
    pub defects_real_share: f64,
    /// Median [`TwoPixelStripes::share`] of the generated grid pictures: how much of their
    /// gradient comes as the 2-pixel pairs that nearest 2× upsampling leaves. Relative to the
    /// picture's own gradient, so smooth pictures score high on faint pairs; read it with
    /// `stripes_amplitude_*`.
    pub stripes_share_generated_median: f32,
    /// The same median over the training thumbnails.
    pub stripes_share_real_median: f32,
    /// Median [`TwoPixelStripes::amplitude`] of the generated grid pictures, in luma levels: how
    /// strong the pairs are in absolute terms (what a viewer can see).
    pub stripes_amplitude_generated_median: f32,
    /// The same median over the training thumbnails (natural texture has some too).
    pub stripes_amplitude_real_median: f32,
}

/// The first seed of the evaluation grid: the card's numbers are on seeds 1000, 1001, …
pub const EVALUATION_FIRST_SEED: u64 = 1000;

/// Evaluates a batch generator on a `steps`² VA grid × `seeds` seeds (from `first_seed` on)
/// against `training` images and their `training_conditioning`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    generate: impl Fn(&[Latent], &[Va]) -> Result<Vec<RgbImage>, LandscapeError>,
    labeller: &ImageVaLabeller,
    training: &[RgbImage],
    training_conditioning: &[Va],
    seeds: usize,
    steps: usize,
    first_seed: u64,
) -> Result<EvaluationReport, LandscapeError> {
    let values = axis_values(steps);
    let mut latents = Vec::new();
    let mut moods = Vec::new();
    for seed in 0..seeds as u64 {
        for &arousal in &values {
            for &valence in &values {
                latents.push(Latent::from_seed(first_seed + seed));
                moods.push(Va { valence, arousal });
            }
        }
    }
    let mut images = Vec::with_capacity(latents.len());
    for (l, m) in latents.chunks(64).zip(moods.chunks(64)) {
        images.extend(generate(l, m)?);
    }
    let features: Vec<[f32; FEATURE_COUNT]> = images.iter().map(image_features).collect();
    let embeddings: Vec<Vec<f32>> = images
        .iter()
        .map(|image| labeller.embed(image))
        .collect::<Result<_, _>>()?;
    let labelled: Vec<Va> = embeddings
        .iter()
        .map(|embedding| labeller.head().label_embedding(embedding))
        .collect();
    let cond_v: Vec<f32> = moods.iter().map(|m| m.valence).collect();
    let cond_a: Vec<f32> = moods.iter().map(|m| m.arousal).collect();
    let out_v: Vec<f32> = labelled.iter().map(|m| m.valence).collect();
    let out_a: Vec<f32> = labelled.iter().map(|m| m.arousal).collect();

    let cells = steps * steps;
    let mut diversity = 0.0;
    for cell in 0..cells {
        let same_va: Vec<RgbImage> = (0..seeds)
            .map(|s| images[s * cells + cell].clone())
            .collect();
        diversity += mean_pairwise_distance(&same_va);
    }
    let mut va_effect = 0.0;
    for s in 0..seeds {
        let corner = |row: usize, col: usize| &images[s * cells + row * steps + col];
        let last = steps - 1;
        va_effect += (image_distance(corner(0, 0), corner(last, last))
            + image_distance(corner(0, last), corner(last, 0)))
            / 2.0;
    }

    // Training spread and real-to-real nearest neighbours on a held-out slice of the data.
    let stride = (training.len() / 400).max(1);
    let held_out: Vec<usize> = (0..training.len()).step_by(stride).take(400).collect();
    let sample: Vec<RgbImage> = held_out
        .iter()
        .take(60)
        .map(|&i| training[i].clone())
        .collect();
    let diversity_training = mean_pairwise_distance(&sample);
    let nearest = |image: &RgbImage, skip: Option<usize>| {
        training
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, t)| image_distance(image, t))
            .fold(f32::INFINITY, f32::min)
    };
    let generated_probe: Vec<&RgbImage> =
        images.iter().step_by((images.len() / 200).max(1)).collect();
    let mut nn_generated: Vec<f32> = generated_probe
        .iter()
        .map(|img| nearest(img, None))
        .collect();
    let mut nn_real: Vec<f32> = held_out
        .iter()
        .take(200)
        .map(|&i| nearest(&training[i], Some(i)))
        .collect();
    nn_generated.sort_by(f32::total_cmp);
    nn_real.sort_by(f32::total_cmp);
    let median = |v: &[f32]| v.get(v.len() / 2).copied().unwrap_or(0.0);

    let real_features: Vec<[f32; FEATURE_COUNT]> = held_out
        .iter()
        .map(|&i| image_features(&training[i]))
        .collect();
    let accuracy = real_vs_generated_accuracy(&real_features, &features)?;
    let real_embeddings: Vec<Vec<f32>> = held_out
        .iter()
        .map(|&i| labeller.embed(&training[i]))
        .collect::<Result<_, _>>()?;
    let accuracy_embedding = real_vs_generated_accuracy(&real_embeddings, &embeddings)?;
    let data_ceiling_rho =
        data_ceiling_consistency(labeller, training, training_conditioning, seeds, steps)?;
    let (generated_stripes, real_stripes) = (median_stripes(&images), median_stripes(training));

    Ok(EvaluationReport {
        seeds,
        steps,
        rho_valence: spearman(&cond_v, &out_v),
        rho_arousal: spearman(&cond_a, &out_a),
        rho_interval: [
            seed_bootstrap_interval(&cond_v, &out_v, seeds, SEED_BOOTSTRAP_RESAMPLES),
            seed_bootstrap_interval(&cond_a, &out_a, seeds, SEED_BOOTSTRAP_RESAMPLES),
        ],
        rho_valence_to_arousal: spearman(&cond_v, &out_a),
        rho_arousal_to_valence: spearman(&cond_a, &out_v),
        diversity_same_va: diversity / cells as f32,
        diversity_training,
        va_effect_same_seed: va_effect / seeds as f32,
        nn_generated_to_train_median: median(&nn_generated),
        nn_generated_to_train_min: nn_generated.first().copied().unwrap_or(0.0),
        nn_real_to_train_median: median(&nn_real),
        nn_real_to_train_min: nn_real.first().copied().unwrap_or(0.0),
        real_vs_generated_accuracy: accuracy.share(),
        real_vs_generated_accuracy_interval: accuracy.wilson_interval(),
        real_vs_generated_accuracy_embedding: accuracy_embedding.share(),
        real_vs_generated_accuracy_embedding_interval: accuracy_embedding.wilson_interval(),
        data_ceiling_rho,
        defects_generated_share: defect_share(&images),
        defects_real_share: defect_share(training),
        stripes_share_generated_median: generated_stripes.share,
        stripes_share_real_median: real_stripes.share,
        stripes_amplitude_generated_median: generated_stripes.amplitude,
        stripes_amplitude_real_median: real_stripes.amplitude,
    })
}

/// How strongly the rows (or columns) of an image come in pairs, from its luma gradient
/// profile (per row boundary, the mean absolute difference between the two rows; the same per
/// column boundary) and that profile's component at a 2-pixel period. Pairs put every step on
/// every other boundary. Of the two directions, the one with the larger amplitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoPixelStripes {
    /// The 2-pixel component relative to the profile's mean: 1 for a picture stretched 2× by
    /// repeating rows, a few percent for natural pictures.
    pub share: f32,
    /// The 2-pixel component in luma levels (0-255) per boundary.
    pub amplitude: f32,
}

/// [`TwoPixelStripes`] of `image` (zeros for pictures without two rows and two columns).
pub fn two_pixel_stripes(image: &RgbImage) -> TwoPixelStripes {
    let (width, height) = image.dimensions();
    let grey = |x: u32, y: u32| luma(image, x, y);
    let measure = |profile: Vec<f32>| {
        let count = profile.len().max(1) as f32;
        let mean = profile.iter().sum::<f32>() / count;
        let alternating = profile
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { *v } else { -*v })
            .sum::<f32>()
            .abs()
            / count;
        TwoPixelStripes {
            share: if mean > 0.0 { alternating / mean } else { 0.0 },
            amplitude: alternating,
        }
    };
    let rows = (1..height)
        .map(|y| {
            (0..width)
                .map(|x| (grey(x, y) - grey(x, y - 1)).abs())
                .sum::<f32>()
                / width as f32
        })
        .collect();
    let columns = (1..width)
        .map(|x| {
            (0..height)
                .map(|y| (grey(x, y) - grey(x - 1, y)).abs())
                .sum::<f32>()
                / height as f32
        })
        .collect();
    let (rows, columns) = (measure(rows), measure(columns));
    if rows.amplitude >= columns.amplitude {
        rows
    } else {
        columns
    }
}

/// Medians of [`TwoPixelStripes::share`] and [`TwoPixelStripes::amplitude`] over `images`, each
/// picture measured once (zeros for none).
pub fn median_stripes(images: &[RgbImage]) -> TwoPixelStripes {
    let measured: Vec<TwoPixelStripes> = images.iter().map(two_pixel_stripes).collect();
    let median = |value: fn(&TwoPixelStripes) -> f32| {
        let mut values: Vec<f32> = measured.iter().map(value).collect();
        values.sort_by(f32::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    };
    TwoPixelStripes {
        share: median(|s| s.share),
        amplitude: median(|s| s.amplitude),
    }
}

/// Share of `images` with a near-black block or a full-width seam.
pub fn defect_share(images: &[RgbImage]) -> f64 {
    let flagged = images
        .iter()
        .filter(|image| near_black_block(image).is_some() || full_width_seam(image).is_some())
        .count();
    flagged as f64 / images.len().max(1) as f64
}

/// Consistency ρ (valence, arousal) of a "generator" that returns, for each cell of the
/// `steps`² grid, the `seeds` training pictures whose conditioning lies nearest the cell: what
/// painting the training data perfectly would score under this labeller and these labels.
pub fn data_ceiling_consistency(
    labeller: &ImageVaLabeller,
    training: &[RgbImage],
    training_conditioning: &[Va],
    seeds: usize,
    steps: usize,
) -> Result<[f64; 2], LandscapeError> {
    if training.len() != training_conditioning.len() || training.len() < seeds {
        return Err(LandscapeError::Io(format!(
            "{} training pictures with {} conditionings cannot fill {seeds} seeds per cell",
            training.len(),
            training_conditioning.len()
        )));
    }
    let values = axis_values(steps);
    let (mut asked, mut judged) = (Vec::new(), Vec::new());
    for &arousal in &values {
        for &valence in &values {
            let mut order: Vec<(f32, usize)> = training_conditioning
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        (c.valence - valence).powi(2) + (c.arousal - arousal).powi(2),
                        i,
                    )
                })
                .collect();
            order.select_nth_unstable_by(seeds - 1, |a, b| a.0.total_cmp(&b.0));
            for &(_, i) in &order[..seeds] {
                asked.push(Va { valence, arousal });
                judged.push(labeller.label(&training[i])?);
            }
        }
    }
    let axis = |get: fn(&Va) -> f32| {
        let a: Vec<f32> = asked.iter().map(get).collect();
        let j: Vec<f32> = judged.iter().map(get).collect();
        spearman(&a, &j)
    };
    Ok([axis(|va| va.valence), axis(|va| va.arousal)])
}

/// How many of a classifier's held-out predictions were right.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeldOutAccuracy {
    /// Right predictions.
    correct: usize,
    /// All predictions (each picture once, from the fold that held it out).
    total: usize,
}

impl HeldOutAccuracy {
    /// Share of right predictions.
    fn share(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    /// 95 % Wilson score interval of the share (sound near 0 and 1, unlike the normal one).
    fn wilson_interval(&self) -> [f64; 2] {
        let n = self.total.max(1) as f64;
        let (p, z2) = (self.share(), 1.96f64 * 1.96);
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = 1.96 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
        [centre - half, centre + half]
    }
}

/// 5-fold cross-validated accuracy of a random forest separating real from generated images on
/// balanced classes, from one feature row per picture.
fn real_vs_generated_accuracy(
    real: &[impl AsRef<[f32]>],
    generated: &[impl AsRef<[f32]>],
) -> Result<HeldOutAccuracy, LandscapeError> {
    use smartcore::ensemble::random_forest_classifier::{
        RandomForestClassifier, RandomForestClassifierParameters,
    };
    use smartcore::linalg::basic::matrix::DenseMatrix;
    let n = real.len().min(generated.len());
    let step = (generated.len() / n.max(1)).max(1);
    let row = |r: &[f32]| r.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let rows: Vec<Vec<f64>> = real
        .iter()
        .take(n)
        .map(|r| row(r.as_ref()))
        .chain(
            generated
                .iter()
                .step_by(step)
                .take(n)
                .map(|r| row(r.as_ref())),
        )
        .collect();
    let labels: Vec<u32> = (0..rows.len()).map(|i| u32::from(i >= n)).collect();
    let folds = 5;
    let mut correct = 0usize;
    for fold in 0..folds {
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..rows.len()).partition(|i| i % folds != fold);
        let matrix = |index: &[usize]| {
            DenseMatrix::from_2d_vec(&index.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>())
        };
        let x = matrix(&train).map_err(|e| LandscapeError::Model(e.to_string()))?;
        let y: Vec<u32> = train.iter().map(|&i| labels[i]).collect();
        let params = RandomForestClassifierParameters::default()
            .with_n_trees(100)
            .with_seed(fold as u64);
        let forest = RandomForestClassifier::fit(&x, &y, params)
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        let predicted = forest
            .predict(&matrix(&test).map_err(|e| LandscapeError::Model(e.to_string()))?)
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        correct += test
            .iter()
            .zip(&predicted)
            .filter(|(&i, &p)| labels[i] == p)
            .count();
    }
    Ok(HeldOutAccuracy {
        correct,
        total: rows.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::{real_vs_generated_accuracy, seed_bootstrap_interval, spearman, HeldOutAccuracy};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `count` rows of `dims` uniform noise, every tenth dimension shifted by `shift` (a
    /// difference spread over many dimensions, as between the embeddings of two picture sets).
    fn rows(rng: &mut ChaCha8Rng, count: usize, dims: usize, shift: f32) -> Vec<Vec<f32>> {
        (0..count)
            .map(|_| {
                let mut row: Vec<f32> = (0..dims).map(|_| rng.gen::<f32>()).collect();
                row.iter_mut().step_by(10).for_each(|v| *v += shift);
                row
            })
            .collect()
    }

    #[test]
    fn the_realism_classifier_is_at_chance_on_one_distribution_and_sure_on_two() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Wide rows, as the embedding is: the forest must not find structure in noise.
        let real = rows(&mut rng, 200, 300, 0.0);
        let same = rows(&mut rng, 200, 300, 0.0);
        let shifted = rows(&mut rng, 200, 300, 0.5);
        let chance = real_vs_generated_accuracy(&real, &same).unwrap().share();
        let sure = real_vs_generated_accuracy(&real, &shifted).unwrap().share();
        assert!((0.4..=0.6).contains(&chance), "one distribution: {chance}");
        assert!(sure > 0.95, "two distributions: {sure}");
    }

    #[test]
    fn the_seed_bootstrap_widens_with_seed_to_seed_noise() {
        // 16 seeds × 25 cells; each seed adds its own offset to every reading, plus cell noise.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (seeds, cells) = (16, 25);
        let asked: Vec<f32> = (0..seeds * cells)
            .map(|i| (i % cells) as f32 / 24.0)
            .collect();
        let reading = |seed_noise: f32, rng: &mut ChaCha8Rng| -> Vec<f32> {
            let offsets: Vec<f32> = (0..seeds).map(|_| rng.gen::<f32>() * seed_noise).collect();
            asked
                .iter()
                .enumerate()
                .map(|(i, a)| a + offsets[i / cells] + rng.gen::<f32>() * 0.5)
                .collect()
        };
        let quiet = reading(0.0, &mut rng);
        let noisy = reading(2.0, &mut rng);
        let [ql, qh] = seed_bootstrap_interval(&asked, &quiet, seeds, 500);
        let [nl, nh] = seed_bootstrap_interval(&asked, &noisy, seeds, 500);
        let (rq, rn) = (spearman(&asked, &quiet), spearman(&asked, &noisy));
        assert!(ql < rq && rq < qh, "{ql} {rq} {qh}");
        assert!(nl < rn && rn < nh, "{nl} {rn} {nh}");
        assert!(
            nh - nl > 2.0 * (qh - ql),
            "seed noise must widen it: {} vs {}",
            nh - nl,
            qh - ql
        );
        // One seed: no spread to resample, the point itself.
        let [l, h] = seed_bootstrap_interval(&asked[..cells], &quiet[..cells], 1, 500);
        assert_eq!(l, h);
    }

    #[test]
    fn the_wilson_interval_matches_known_values_and_stays_in_range() {
        let interval = |correct, total| HeldOutAccuracy { correct, total }.wilson_interval();
        // 500 of 800 (v2's realism, 0.625): the textbook formula gives [0.591, 0.658].
        let [low, high] = interval(500, 800);
        assert!(
            (low - 0.5909).abs() < 1e-3 && (high - 0.6579).abs() < 1e-3,
            "{low} {high}"
        );
        // All right: the interval keeps a width (the normal interval would shrink to [1, 1]).
        let [low, high] = interval(800, 800);
        assert!(
            low > 0.99 && low < 1.0 && (high - 1.0).abs() < 1e-9,
            "{low} {high}"
        );
        // No predictions at all: a defined interval instead of NaN.
        let [low, high] = interval(0, 0);
        assert!(
            low.is_finite() && high.is_finite() && low <= high,
            "{low} {high}"
        );
    }
}
