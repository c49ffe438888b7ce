//! The survey's two tables: the kit's items (`items.csv`) and people's ratings.
//!
//! Ratings are on the 9-point SAM scales people know (1 = very unpleasant / very calm,
//! 9 = very pleasant / very excited) and become [-1, 1] with (x - 5) / 4 as they are read.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, ensure, Context};
use serde::Serialize;

use crate::va::targets::{column, join_csv, norm_1_9_to_unit, parse_csv};
use crate::va::Va;

/// Columns of `items.csv`, in order.
const ITEM_COLUMNS: [&str; 9] = [
    "item",
    "song_code",
    "image_code",
    "audio",
    "image",
    "source",
    "predicted_valence",
    "predicted_arousal",
    "seed",
];

/// Columns a ratings file must have (in any order; others are ignored).
const RATING_COLUMNS: [&str; 4] = ["rater", "code", "valence", "arousal"];

/// What a rated code shows the rater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stimulus {
    /// A music clip, listened to.
    Song,
    /// A generated landscape, looked at.
    Image,
}

/// One song and the landscape made for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyItem {
    /// 1-based item number; only the kit's owner sees it.
    pub item: usize,
    /// What raters see for the song (e.g. `S07`); unrelated to the image code so that the
    /// pairing cannot be guessed.
    pub song_code: String,
    /// What raters see for the landscape (e.g. `I13`).
    pub image_code: String,
    /// The song's file inside the kit, named by its code.
    pub audio: String,
    /// The landscape's file inside the kit, named by its code.
    pub image: String,
    /// Where the song came from, for the owner.
    pub source: String,
    /// The VA model's clip-mean prediction: what conditioned the generator.
    pub predicted: Va,
    /// The generator's noise seed for this item.
    pub seed: u64,
}

/// One person's rating of one code, already on [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// Who rated (any name or number the survey uses).
    pub rater: String,
    /// The song or image code rated.
    pub code: String,
    /// Rated valence on [-1, 1].
    pub valence: f64,
    /// Rated arousal on [-1, 1].
    pub arousal: f64,
}

/// Writes `items.csv`.
pub fn write_items(path: &Path, items: &[SurveyItem]) -> anyhow::Result<()> {
    let mut text = ITEM_COLUMNS.join(",");
    text.push('\n');
    for item in items {
        let row = [
            item.item.to_string(),
            item.song_code.clone(),
            item.image_code.clone(),
            item.audio.clone(),
            item.image.clone(),
            item.source.clone(),
            format!("{:.4}", item.predicted.valence),
            format!("{:.4}", item.predicted.arousal),
            item.seed.to_string(),
        ];
        text.push_str(&join_csv(row.iter().map(String::as_str)));
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Finds each named column in a header row.
fn column_indices<const N: usize>(
    header: &[String],
    names: [&str; N],
    file: &Path,
) -> anyhow::Result<[usize; N]> {
    let mut indices = [0; N];
    for (slot, name) in indices.iter_mut().zip(names) {
        *slot = column(header, name, file)?;
    }
    Ok(indices)
}

/// Reads `items.csv`, checking that every code is unique.
pub fn read_items(path: &Path) -> anyhow::Result<Vec<SurveyItem>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {file}"))?;
    let records = parse_csv(&text);
    let Some((header, body)) = records.split_first() else {
        bail!("{file} is empty");
    };
    let columns = column_indices(header, ITEM_COLUMNS, path)?;
    let mut items = Vec::with_capacity(body.len());
    let mut codes = HashSet::new();
    for (row, record) in body.iter().enumerate() {
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = row + 2;
        let field = |c: usize| record.get(columns[c]).map(|s| s.trim()).unwrap_or("");
        let number = |c: usize| -> anyhow::Result<f64> {
            field(c)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| format!("{file} line {line}: `{}` is not a number", field(c)))
        };
        let item = SurveyItem {
            item: field(0)
                .parse()
                .with_context(|| format!("{file} line {line}: bad item number"))?,
            song_code: field(1).to_string(),
            image_code: field(2).to_string(),
            audio: field(3).to_string(),
            image: field(4).to_string(),
            source: field(5).to_string(),
            predicted: Va {
                valence: number(6)? as f32,
                arousal: number(7)? as f32,
            },
            seed: field(8)
                .parse()
                .with_context(|| format!("{file} line {line}: bad seed"))?,
        };
        for code in [&item.song_code, &item.image_code] {
            ensure!(!code.is_empty(), "{file} line {line}: empty code");
            ensure!(
                codes.insert(code.clone()),
                "{file} line {line}: code {code} appears twice"
            );
        }
        items.push(item);
    }
    ensure!(!items.is_empty(), "{file} lists no items");
    Ok(items)
}

/// The stimulus behind every code of a kit.
pub fn code_index(items: &[SurveyItem]) -> HashMap<&str, (usize, Stimulus)> {
    items
        .iter()
        .enumerate()
        .flat_map(|(i, item)| {
            [
                (item.song_code.as_str(), (i, Stimulus::Song)),
                (item.image_code.as_str(), (i, Stimulus::Image)),
            ]
        })
        .collect()
}

/// Parses a ratings file (`rater,code,valence,arousal`, 1-9 scale). `file` names it in errors.
///
/// Every bad row is an error that says where and why, rather than a rating silently dropped:
/// a survey's few hundred ratings are too precious to lose to a typo nobody saw.
pub fn parse_ratings(text: &str, file: &str) -> anyhow::Result<Vec<Rating>> {
    let records = parse_csv(text);
    let Some((header, body)) = records.split_first() else {
        bail!("{file} is empty");
    };
    let columns = column_indices(header, RATING_COLUMNS, Path::new(file))?;
    let mut ratings = Vec::with_capacity(body.len());
    for (row, record) in body.iter().enumerate() {
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = row + 2;
        let field = |c: usize| record.get(columns[c]).map(|s| s.trim()).unwrap_or("");
        let scale = |c: usize| -> anyhow::Result<f64> {
            let name = RATING_COLUMNS[c];
            let value: f64 = field(c).parse().map_err(|_| {
                anyhow::anyhow!("{file} line {line}: {name} `{}` is not a number", field(c))
            })?;
            ensure!(
                (1.0..=9.0).contains(&value),
                "{file} line {line}: {name} {value} is outside the 1-9 scale"
            );
            Ok(norm_1_9_to_unit(value))
        };
        ensure!(!field(0).is_empty(), "{file} line {line}: no rater");
        ensure!(!field(1).is_empty(), "{file} line {line}: no code");
        ratings.push(Rating {
            rater: field(0).to_string(),
            code: field(1).to_string(),
            valence: scale(2)?,
            arousal: scale(3)?,
        });
    }
    Ok(ratings)
}

/// Checks ratings against a kit: every code must exist, and nobody rates a code twice.
pub fn check_ratings(items: &[SurveyItem], ratings: &[Rating]) -> anyhow::Result<()> {
    let codes = code_index(items);
    let mut seen = HashSet::new();
    for rating in ratings {
        ensure!(
            codes.contains_key(rating.code.as_str()),
            "rater {} rated code {}, which is not in this kit",
            rating.rater,
            rating.code
        );
        ensure!(
            seen.insert((rating.rater.as_str(), rating.code.as_str())),
            "rater {} rated code {} twice",
            rating.rater,
            rating.code
        );
    }
    Ok(())
}

/// A [-1, 1] value back on the 1-9 scale (for machine stand-in raters).
pub fn unit_to_norm_1_9(x: f64) -> f64 {
    (x.clamp(-1.0, 1.0) * 4.0) + 5.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> SurveyItem {
        SurveyItem {
            item: n,
            song_code: format!("S{n:02}"),
            image_code: format!("I{n:02}"),
            audio: format!("audio/S{n:02}.wav"),
            image: format!("images/I{n:02}.png"),
            source: format!("/music/a, \"b\" {n}.wav"),
            predicted: Va {
                valence: 0.25,
                arousal: -0.5,
            },
            seed: n as u64,
        }
    }

    #[test]
    fn items_round_trip_through_csv_with_awkward_paths() {
        let dir = std::env::temp_dir().join(format!("survey-items-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("items.csv");
        let items = vec![item(1), item(2)];
        write_items(&path, &items).unwrap();
        assert_eq!(read_items(&path).unwrap(), items);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ratings_map_the_sam_scale_to_unit_range() {
        let text = "code,rater,arousal,valence\nS01,ann,9,1\nI01,ann,5,7\n\n";
        let ratings = parse_ratings(text, "r.csv").unwrap();
        assert_eq!(ratings.len(), 2);
        assert_eq!((ratings[0].valence, ratings[0].arousal), (-1.0, 1.0));
        assert_eq!((ratings[1].valence, ratings[1].arousal), (0.5, 0.0));
        assert_eq!(unit_to_norm_1_9(ratings[1].valence), 7.0);
    }

    #[test]
    fn bad_ratings_say_where_and_why() {
        let cases = [
            ("rater,code,valence\n", "no `arousal` column"),
            (
                "rater,code,valence,arousal\nann,S01,10,5\n",
                "line 2: valence 10 is outside",
            ),
            (
                "rater,code,valence,arousal\nann,S01,5,\n",
                "line 2: arousal `` is not a number",
            ),
            (
                "rater,code,valence,arousal\nann,S01,5,NaN\n",
                "outside the 1-9 scale",
            ),
            ("rater,code,valence,arousal\n,S01,5,5\n", "line 2: no rater"),
            ("", "r.csv is empty"),
        ];
        for (text, expected) in cases {
            let error = parse_ratings(text, "r.csv").unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let items = vec![item(1)];
        let unknown = parse_ratings("rater,code,valence,arousal\nann,S09,5,5\n", "r").unwrap();
        let error = check_ratings(&items, &unknown).unwrap_err().to_string();
        assert!(error.contains("S09, which is not in this kit"), "{error}");
        let twice = parse_ratings(
            "rater,code,valence,arousal\nann,S01,5,5\nann,S01,6,6\n",
            "r",
        )
        .unwrap();
        let error = check_ratings(&items, &twice).unwrap_err().to_string();
        assert!(error.contains("rated code S01 twice"), "{error}");
    }
}
