//! Continuous valence/arousal targets for the 4Q clips, from Warriner's word norms.
//!
//! Each clip's target is the mean Warriner valence and arousal of its `MoodsFoundStr` mood tags,
//! mapped from the norms' 1-9 scale to [-1, 1] with (x - 5) / 4. The dataset's quadrant label is
//! kept separately: it is what the quadrant metrics are scored against.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::Va;

/// One labelled clip of the 4Q dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipLabel {
    /// The dataset's song id (file stem), e.g. `MT0000004637`.
    pub song: String,
    /// Artist, kept to report artist overlap between folds.
    pub artist: String,
    /// Quadrant label 1-4 from the dataset (Q1 +V+A, Q2 -V+A, Q3 -V-A, Q4 +V-A).
    pub quadrant: u8,
    /// Tag-derived target on [-1, 1].
    pub va: Va,
    /// The mood tags that were found in the norms (for the card's sanity statistics).
    pub tags: Vec<String>,
    /// Where the clip's audio lives.
    pub audio_path: PathBuf,
}

/// Maps a 1-9 norm to [-1, 1].
pub fn norm_1_9_to_unit(x: f64) -> f64 {
    (x - 5.0) / 4.0
}

/// Joins cells, quoting those that need it (RFC 4180).
pub fn join_csv<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    cells
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses CSV text (RFC 4180 quoting, embedded commas, quotes and newlines) into records.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Decodes latin-1 bytes (every byte is the code point of the same value).
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Index of the column called `name` in a header row (case and surrounding spaces ignored,
/// as spreadsheets write headers either way); the error names the file.
pub fn column(header: &[String], name: &str, file: &Path) -> anyhow::Result<usize> {
    header
        .iter()
        .position(|column| column.trim().eq_ignore_ascii_case(name))
        .with_context(|| format!("{} has no `{name}` column", file.display()))
}

/// Warriner valence/arousal on [-1, 1] per lowercase word.
pub fn load_warriner(path: &Path) -> anyhow::Result<HashMap<String, (f64, f64)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes.clone()).unwrap_or_else(|_| latin1_to_string(&bytes));
    let records = parse_csv(&text);
    let Some((header, body)) = records.split_first() else {
        bail!("{} is empty", path.display());
    };
    let (word, valence, arousal) = (
        column(header, "Word", path)?,
        column(header, "V.Mean.Sum", path)?,
        column(header, "A.Mean.Sum", path)?,
    );
    let mut norms = HashMap::new();
    for record in body {
        let (Some(w), Some(v), Some(a)) =
            (record.get(word), record.get(valence), record.get(arousal))
        else {
            continue;
        };
        if let (Ok(v), Ok(a)) = (v.trim().parse::<f64>(), a.trim().parse::<f64>()) {
            norms.insert(
                w.trim().to_lowercase(),
                (norm_1_9_to_unit(v), norm_1_9_to_unit(a)),
            );
        }
    }
    if norms.is_empty() {
        bail!("{} holds no usable norms", path.display());
    }
    Ok(norms)
}

/// Loads every 4Q clip with its tag-derived target. `data_dir` is the shared data root.
/// Returns the labels and the number of tags that were not found in the norms.
pub fn load_labels(data_dir: &Path) -> anyhow::Result<(Vec<ClipLabel>, usize)> {
    let norms = load_warriner(&data_dir.join("word-norms/Ratings_Warriner_et_al.csv"))?;
    let metadata_path = data_dir.join("music-4q/panda_dataset_taffc_metadata.csv");
    let bytes = std::fs::read(&metadata_path)
        .with_context(|| format!("reading {}", metadata_path.display()))?;
    let records = parse_csv(&latin1_to_string(&bytes));
    let Some((header, body)) = records.split_first() else {
        bail!("{} is empty", metadata_path.display());
    };
    let (song, artist, quadrant, moods) = (
        column(header, "Song", &metadata_path)?,
        column(header, "Artist", &metadata_path)?,
        column(header, "Quadrant", &metadata_path)?,
        column(header, "MoodsFoundStr", &metadata_path)?,
    );
    let mut clips = Vec::with_capacity(body.len());
    let mut missing_tags = 0;
    for record in body {
        let field = |index: usize| record.get(index).map(|s| s.trim()).unwrap_or("");
        let song = field(song).to_string();
        if song.is_empty() {
            continue;
        }
        let quadrant: u8 = match field(quadrant).trim_start_matches('Q').parse() {
            Ok(q @ 1..=4) => q,
            _ => bail!("clip {song}: bad quadrant {:?}", field(quadrant)),
        };
        let mut found = Vec::new();
        let (mut valence, mut arousal) = (0.0, 0.0);
        for tag in field(moods).split(';') {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() {
                continue;
            }
            match norms.get(&tag) {
                Some(&(v, a)) => {
                    valence += v;
                    arousal += a;
                    found.push(tag);
                }
                None => missing_tags += 1,
            }
        }
        if found.is_empty() {
            bail!("clip {song}: none of its mood tags is in Warriner's norms");
        }
        let n = found.len() as f64;
        clips.push(ClipLabel {
            audio_path: data_dir.join(format!("music-4q/audio/Q{quadrant}/{song}.ogg")),
            song,
            artist: field(artist).to_string(),
            quadrant,
            va: Va {
                valence: (valence / n) as f32,
                arousal: (arousal / n) as f32,
            },
            tags: found,
        });
    }
    if clips.is_empty() {
        bail!("{} lists no clips", metadata_path.display());
    }
    Ok((clips, missing_tags))
}

/// Share of clips whose target signs give their quadrant label: the ceiling of sign-based metrics.
pub fn sign_agreement(clips: &[ClipLabel]) -> f64 {
    let agree = clips
        .iter()
        .filter(|clip| clip.va.quadrant() == clip.quadrant)
        .count();
    agree as f64 / clips.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_newlines() {
        let text = "a,b,c\n\"x, y\",\"he said \"\"hi\"\"\",\"multi\nline\"\r\n1,,3";
        let records = parse_csv(text);
        assert_eq!(records.len(), 3);
        assert_eq!(records[1], vec!["x, y", "he said \"hi\"", "multi\nline"]);
        assert_eq!(records[2], vec!["1", "", "3"]);
    }

    #[test]
    fn norms_map_to_unit_range() {
        assert_eq!(norm_1_9_to_unit(1.0), -1.0);
        assert_eq!(norm_1_9_to_unit(5.0), 0.0);
        assert_eq!(norm_1_9_to_unit(9.0), 1.0);
    }
}
