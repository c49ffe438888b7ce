//! The survey's numbers: how far apart people put a song and its landscape on the VA plane.
//!
//! Every statistic is over items (songs), each item being the mean of its raters. Intervals are
//! percentile bootstraps over items. The mismatched-pairs baseline compares every song with
//! every other song's picture: if the pictures told people nothing about their songs, the
//! matched error would be as large as that.

use std::collections::HashMap;

use serde::Serialize;

use super::ratings::{check_ratings, code_index, Rating, Stimulus, SurveyItem};
use crate::va::metrics::{bootstrap_clips, pearson, Estimate};

/// Bootstrap resamples for every interval.
const RESAMPLES: usize = 2000;

/// A point on the VA plane in f64 (means of ratings).
type Point = [f64; 2];

/// One item's mean ratings.
#[derive(Debug, Clone, Serialize)]
pub struct ItemScore {
    /// The item number from `items.csv`.
    pub item: usize,
    /// Mean rated VA of the song, [valence, arousal] on [-1, 1].
    pub song: Point,
    /// Mean rated VA of its picture.
    pub image: Point,
    /// The VA that conditioned the picture (the model's prediction for the song).
    pub predicted: Point,
    /// People who rated the song.
    pub song_raters: usize,
    /// People who rated the picture.
    pub image_raters: usize,
}

/// Mean absolute error per axis and mean distance on the plane, with intervals.
#[derive(Debug, Clone, Serialize)]
pub struct PairError {
    /// |Δ valence|.
    pub valence_mae: Estimate,
    /// |Δ arousal|.
    pub arousal_mae: Estimate,
    /// Euclidean distance on the VA plane.
    pub distance: Estimate,
    /// Pearson r across items, valence.
    pub valence_r: f64,
    /// Pearson r across items, arousal.
    pub arousal_r: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct SurveyReport {
    /// Items in the kit.
    pub items_in_kit: usize,
    /// Items whose song and picture both have at least one rating: what every number is over.
    pub items_scored: usize,
    /// Distinct raters.
    pub raters: usize,
    /// Ratings read.
    pub ratings: usize,
    /// The headline: people's song VA against people's picture VA, same item.
    pub song_vs_image: PairError,
    /// The same distance for every mismatched (song, other song's picture) pair: chance level.
    pub mismatched_distance: f64,
    /// Share of items whose song and picture were rated in the same quadrant.
    pub same_quadrant_share: f64,
    /// The VA model alone: its prediction against people's song ratings.
    pub model_vs_song: PairError,
    /// The generator alone: the VA it was given against people's picture ratings.
    pub conditioning_vs_image: PairError,
    /// Mean over items of the raters' standard deviation for a song (items with 2+ raters):
    /// how much people disagree, the floor under every error above.
    pub rater_spread_song: Option<Point>,
    /// The same for pictures.
    pub rater_spread_image: Option<Point>,
    /// Per-item means.
    pub per_item: Vec<ItemScore>,
}

/// Accumulates one code's ratings.
#[derive(Default)]
struct Ratings {
    /// The ratings of this code, [valence, arousal].
    values: Vec<Point>,
}

impl Ratings {
    /// Mean rating.
    fn mean(&self) -> Point {
        let n = self.values.len() as f64;
        let sum = self
            .values
            .iter()
            .fold([0.0, 0.0], |s, v| [s[0] + v[0], s[1] + v[1]]);
        [sum[0] / n, sum[1] / n]
    }

    /// Sample standard deviation per axis (needs 2+ ratings).
    fn spread(&self) -> Option<Point> {
        let n = self.values.len();
        (n >= 2).then(|| {
            let mean = self.mean();
            let sd = |axis: usize| {
                (self
                    .values
                    .iter()
                    .map(|v| (v[axis] - mean[axis]).powi(2))
                    .sum::<f64>()
                    / (n - 1) as f64)
                    .sqrt()
            };
            [sd(0), sd(1)]
        })
    }
}

/// Quadrant as the 4Q dataset numbers them (0 counts as positive).
fn quadrant(p: Point) -> u8 {
    crate::va::Va {
        valence: p[0] as f32,
        arousal: p[1] as f32,
    }
    .quadrant()
}

/// Weighted mean of a per-item value (bootstrap weights).
fn weighted_mean(values: &[f64], weights: &[u32]) -> f64 {
    let total: u32 = weights.iter().sum();
    values
        .iter()
        .zip(weights)
        .map(|(v, &w)| v * w as f64)
        .sum::<f64>()
        / total as f64
}

/// Errors between two per-item series of points.
fn pair_error(a: &[Point], b: &[Point], seed: u64) -> PairError {
    let per_item = |f: &dyn Fn(Point, Point) -> f64| -> Vec<f64> {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    };
    let valence = per_item(&|x, y| (x[0] - y[0]).abs());
    let arousal = per_item(&|x, y| (x[1] - y[1]).abs());
    let distance = per_item(&|x, y| (x[0] - y[0]).hypot(x[1] - y[1]));
    let interval = |values: &[f64], salt: u64| {
        bootstrap_clips(values.len(), RESAMPLES, seed + salt, |w| {
            weighted_mean(values, w)
        })
    };
    let axis =
        |points: &[Point], i: usize| -> Vec<f32> { points.iter().map(|p| p[i] as f32).collect() };
    PairError {
        valence_mae: interval(&valence, 0),
        arousal_mae: interval(&arousal, 1),
        distance: interval(&distance, 2),
        valence_r: pearson(&axis(a, 0), &axis(b, 0)),
        arousal_r: pearson(&axis(a, 1), &axis(b, 1)),
    }
}

/// Builds the report. Errors name the problem: unknown codes, double ratings, too few items.
pub fn build_report(items: &[SurveyItem], ratings: &[Rating]) -> anyhow::Result<SurveyReport> {
    check_ratings(items, ratings)?;
    let codes = code_index(items);
    let mut by_item: HashMap<(usize, Stimulus), Ratings> = HashMap::new();
    for rating in ratings {
        let key = codes[rating.code.as_str()];
        by_item
            .entry(key)
            .or_default()
            .values
            .push([rating.valence, rating.arousal]);
    }
    let mut per_item = Vec::new();
    let (mut song_spreads, mut image_spreads) = (Vec::new(), Vec::new());
    for (index, item) in items.iter().enumerate() {
        let (Some(song), Some(image)) = (
            by_item.get(&(index, Stimulus::Song)),
            by_item.get(&(index, Stimulus::Image)),
        ) else {
            continue;
        };
        song_spreads.extend(song.spread());
        image_spreads.extend(image.spread());
        per_item.push(ItemScore {
            item: item.item,
            song: song.mean(),
            image: image.mean(),
            predicted: [item.predicted.valence as f64, item.predicted.arousal as f64],
            song_raters: song.values.len(),
            image_raters: image.values.len(),
        });
    }
    anyhow::ensure!(
        per_item.len() >= 2,
        "only {} item(s) have ratings for both the song and its picture; the report needs 2 or more",
        per_item.len()
    );
    let songs: Vec<Point> = per_item.iter().map(|s| s.song).collect();
    let images: Vec<Point> = per_item.iter().map(|s| s.image).collect();
    let predicted: Vec<Point> = per_item.iter().map(|s| s.predicted).collect();
    let n = per_item.len();
    let mut mismatched = 0.0;
    for (i, song) in songs.iter().enumerate() {
        for (j, image) in images.iter().enumerate() {
            if i != j {
                mismatched += (song[0] - image[0]).hypot(song[1] - image[1]);
            }
        }
    }
    let same_quadrant = songs
        .iter()
        .zip(&images)
        .filter(|(&s, &i)| quadrant(s) == quadrant(i))
        .count();
    let mean_spread = |spreads: &[Point]| {
        (!spreads.is_empty()).then(|| {
            let n = spreads.len() as f64;
            [
                spreads.iter().map(|s| s[0]).sum::<f64>() / n,
                spreads.iter().map(|s| s[1]).sum::<f64>() / n,
            ]
        })
    };
    let raters: std::collections::HashSet<&str> =
        ratings.iter().map(|r| r.rater.as_str()).collect();
    Ok(SurveyReport {
        items_in_kit: items.len(),
        items_scored: n,
        raters: raters.len(),
        ratings: ratings.len(),
        song_vs_image: pair_error(&songs, &images, 1),
        mismatched_distance: mismatched / (n * (n - 1)) as f64,
        same_quadrant_share: same_quadrant as f64 / n as f64,
        model_vs_song: pair_error(&predicted, &songs, 11),
        conditioning_vs_image: pair_error(&predicted, &images, 21),
        rater_spread_song: mean_spread(&song_spreads),
        rater_spread_image: mean_spread(&image_spreads),
        per_item,
    })
}

impl SurveyReport {
    /// The report as Markdown, for a model card or an issue.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line("# Moodscape survey: song mood vs landscape mood".into());
        line(String::new());
        line(format!(
            "{} of {} items scored (song and picture both rated), {} raters, {} ratings. \
             VA on [-1, 1] ((x - 5) / 4 of the 1-9 SAM scale); 95 % bootstrap intervals over items.",
            self.items_scored, self.items_in_kit, self.raters, self.ratings
        ));
        line(String::new());
        line(
            "| comparison | valence MAE | arousal MAE | VA distance | r valence | r arousal |"
                .into(),
        );
        line("|---|---|---|---|---|---|".into());
        for (name, e) in [
            ("**song vs its picture (both rated)**", &self.song_vs_image),
            ("VA model vs rated song", &self.model_vs_song),
            (
                "generator's conditioning vs rated picture",
                &self.conditioning_vs_image,
            ),
        ] {
            line(format!(
                "| {name} | {} | {} | {} | {:.3} | {:.3} |",
                e.valence_mae, e.arousal_mae, e.distance, e.valence_r, e.arousal_r
            ));
        }
        line(String::new());
        line(format!(
            "- Chance level: a song against other songs' pictures is {:.3} apart on average \
             (matched: {:.3}).",
            self.mismatched_distance, self.song_vs_image.distance.mean
        ));
        line(format!(
            "- Song and picture rated in the same quadrant: {:.0} % of items.",
            100.0 * self.same_quadrant_share
        ));
        let spread = |s: Option<Point>| match s {
            Some([v, a]) => format!("valence {v:.3}, arousal {a:.3}"),
            None => "n/a (one rater per item)".into(),
        };
        line(format!(
            "- Rater disagreement (mean SD per item): songs {}; pictures {}.",
            spread(self.rater_spread_song),
            spread(self.rater_spread_image)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::va::Va;

    fn items(n: usize) -> Vec<SurveyItem> {
        (1..=n)
            .map(|i| SurveyItem {
                item: i,
                song_code: format!("S{i}"),
                image_code: format!("I{i}"),
                audio: String::new(),
                image: String::new(),
                source: String::new(),
                predicted: Va {
                    valence: 0.0,
                    arousal: 0.5,
                },
                seed: 0,
            })
            .collect()
    }

    fn rating(rater: &str, code: &str, valence: f64, arousal: f64) -> Rating {
        Rating {
            rater: rater.into(),
            code: code.into(),
            valence,
            arousal,
        }
    }

    #[test]
    fn known_answers_for_two_items() {
        // Item 1: song (0.5, 0.5) from two raters, picture (0.5, -0.25): distance 0.75.
        // Item 2: song (-0.5, 0), picture (-0.5, 0): distance 0.
        let ratings = vec![
            rating("a", "S1", 0.25, 0.5),
            rating("b", "S1", 0.75, 0.5),
            rating("a", "I1", 0.5, -0.25),
            rating("a", "S2", -0.5, 0.0),
            rating("b", "I2", -0.5, 0.0),
        ];
        let report = build_report(&items(3), &ratings).unwrap();
        assert_eq!((report.items_in_kit, report.items_scored), (3, 2));
        assert_eq!((report.raters, report.ratings), (2, 5));
        let e = &report.song_vs_image;
        assert!((e.valence_mae.mean - 0.0).abs() < 1e-12);
        assert!((e.arousal_mae.mean - 0.375).abs() < 1e-12);
        assert!((e.distance.mean - 0.375).abs() < 1e-12);
        // Mismatched: |S1 - I2| = hypot(1, 0.5), |S2 - I1| = hypot(1, 0.25).
        let expected = (1f64.hypot(0.5) + 1f64.hypot(0.25)) / 2.0;
        assert!((report.mismatched_distance - expected).abs() < 1e-12);
        assert_eq!(report.same_quadrant_share, 0.5);
        // Predicted (0, 0.5) vs songs: valence |0 - 0.5|, |0 + 0.5| -> 0.5.
        assert!((report.model_vs_song.valence_mae.mean - 0.5).abs() < 1e-12);
        let spread = report.rater_spread_song.unwrap();
        assert!((spread[0] - 0.5f64.sqrt() * 0.5).abs() < 1e-12 && spread[1] == 0.0);
        assert!(report.rater_spread_image.is_none());
        let markdown = report.to_markdown();
        assert!(markdown.contains("2 of 3 items scored"), "{markdown}");
    }

    #[test]
    fn identical_song_and_picture_ratings_give_zero_error_and_full_correlation() {
        let mut ratings = Vec::new();
        for i in 1..=6 {
            let v = (i as f64 - 3.5) / 3.0;
            let a = ((i * 7) % 6) as f64 / 3.0 - 0.8;
            ratings.push(rating("a", &format!("S{i}"), v, a));
            ratings.push(rating("a", &format!("I{i}"), v, a));
        }
        let report = build_report(&items(6), &ratings).unwrap();
        assert_eq!(report.song_vs_image.distance.mean, 0.0);
        assert!((report.song_vs_image.valence_r - 1.0).abs() < 1e-6);
        assert!((report.song_vs_image.arousal_r - 1.0).abs() < 1e-6);
        assert!(report.mismatched_distance > 0.3);
        assert_eq!(report.same_quadrant_share, 1.0);
    }

    #[test]
    fn too_few_paired_items_is_an_error() {
        let ratings = vec![rating("a", "S1", 0.0, 0.0), rating("a", "I1", 0.0, 0.0)];
        let error = build_report(&items(2), &ratings).unwrap_err().to_string();
        assert!(error.contains("only 1 item(s)"), "{error}");
    }
}
