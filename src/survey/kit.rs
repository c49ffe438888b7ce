//! Building a survey kit: songs, the landscape Moodscape paints for each, and a rating page.
//!
//! ```text
//! OUT/items.csv            the key: which picture belongs to which song (keep it from raters)
//! OUT/proxy-ratings.csv    machine stand-in raters, when asked for
//! OUT/survey/survey.html   the page raters open (works offline, saves a CSV)
//! OUT/survey/audio/S07.ogg songs, named by code
//! OUT/survey/images/I13.png landscapes, named by code
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context};
use image::imageops::FilterType;
use image::RgbImage;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::ratings::{unit_to_norm_1_9, write_items, SurveyItem};
use crate::analysis::AnalyzerConfig;
use crate::landscape::{Generator, ImageVaLabeller, Latent};
use crate::va::mood_analyzer::{analyze_mood_file, shared_network, MoodState};
use crate::va::{ClipAccumulator, Va, VaModel};

/// Audio file extensions the decoder reads.
const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

/// Side of the pictures raters see: the 64-px landscape upscaled, as the editor shows it.
const DISPLAY_SIDE: u32 = 256;

/// How to build a kit.
#[derive(Debug, Clone)]
pub struct KitOptions {
    /// Songs to include.
    pub count: usize,
    /// Seed for picking songs, assigning codes and the generator's noise.
    pub seed: u64,
}

/// Machine stand-ins for raters, to exercise the report before people have rated anything.
pub struct ProxyRaters<'a> {
    /// Tag-derived VA of songs by file stem (the 4Q clips' Warriner-mapped mood tags).
    pub song_labels: HashMap<String, Va>,
    /// Rates each picture as the training labels were made.
    pub labeller: &'a ImageVaLabeller,
}

/// Every audio file under `paths` (files or folders, searched recursively), sorted.
pub fn collect_audio(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?;
            for entry in entries {
                walk(&entry?.path(), out)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path.to_path_buf());
        }
        Ok(())
    }
    let mut files = Vec::new();
    for path in paths {
        ensure!(path.exists(), "{} does not exist", path.display());
        walk(path, &mut files)?;
    }
    files.sort();
    ensure!(
        !files.is_empty(),
        "no audio files ({}) found",
        AUDIO_EXTENSIONS.join(", ")
    );
    Ok(files)
}

/// All `files` in the order to try them: shuffled within each folder, then taken from the
/// folders in turn, so a library sorted into mood folders (like 4Q's Q1..Q4) gives a balanced
/// kit.
pub fn balanced_order(files: &[PathBuf], seed: u64) -> Vec<PathBuf> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folders: BTreeMap<&Path, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        folders
            .entry(file.parent().unwrap_or(Path::new("")))
            .or_default()
            .push(file.clone());
    }
    let mut queues: Vec<std::vec::IntoIter<PathBuf>> = folders
        .into_values()
        .map(|mut group| {
            group.shuffle(&mut rng);
            group.into_iter()
        })
        .collect();
    let mut order = Vec::with_capacity(files.len());
    while order.len() < files.len() {
        for queue in &mut queues {
            order.extend(queue.next());
        }
    }
    order
}

/// The clip-mean VA of a song through the plugin's mood analyser and model (silent and
/// warming windows left out, as `moodscape analyze` does).
pub fn song_va(path: &Path, model: &VaModel) -> anyhow::Result<Va> {
    let network = shared_network()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut clip = ClipAccumulator::default();
    analyze_mood_file(
        path,
        AnalyzerConfig {
            window_seconds: crate::va::mood::MOOD_WINDOW_SECONDS,
            ..AnalyzerConfig::default()
        },
        Some(network.clone()),
        |frame| {
            if frame.state == MoodState::Ready {
                clip.add(model.predict_values(frame.row))
            }
        },
    )?;
    let summary = clip
        .summary()
        .with_context(|| format!("{} is too short to analyse", path.display()))?;
    Ok(Va {
        valence: summary.valence,
        arousal: summary.arousal,
    })
}

/// Codes `P01..Pn` in a random order: `codes[i]` is item i's code.
fn shuffled_codes(prefix: char, n: usize, rng: &mut ChaCha8Rng) -> Vec<String> {
    let width = n.to_string().len().max(2);
    let mut numbers: Vec<usize> = (1..=n).collect();
    numbers.shuffle(rng);
    numbers
        .into_iter()
        .map(|k| format!("{prefix}{k:0width$}"))
        .collect()
}

/// Builds the kit in `out` from `candidates` (tried in order until `options.count` songs
/// decode). Returns the items; files that cannot be decoded are reported and skipped.
pub fn build_kit(
    candidates: &[PathBuf],
    out: &Path,
    options: &KitOptions,
    model: &VaModel,
    generator: &Generator,
    proxy: Option<&ProxyRaters>,
) -> anyhow::Result<Vec<SurveyItem>> {
    ensure!(options.count >= 2, "a survey needs at least 2 songs");
    let survey_dir = out.join("survey");
    for dir in [survey_dir.join("audio"), survey_dir.join("images")] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let progress = indicatif::ProgressBar::new(options.count as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("songs {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut songs: Vec<(PathBuf, Va)> = Vec::new();
    for path in candidates {
        if songs.len() == options.count {
            break;
        }
        progress.set_message(path.display().to_string());
        match song_va(path, model) {
            Ok(va) => {
                songs.push((path.clone(), va));
                progress.inc(1);
            }
            Err(e) => progress.suspend(|| eprintln!("skipping {}: {e:#}", path.display())),
        }
    }
    progress.finish_and_clear();
    ensure!(
        songs.len() >= 2,
        "only {} of {} files could be analysed; a survey needs at least 2 songs",
        songs.len(),
        candidates.len()
    );
    if songs.len() < options.count {
        eprintln!(
            "asked for {} songs, found {} usable",
            options.count,
            songs.len()
        );
    }

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x5eed_c0de);
    let song_codes = shuffled_codes('S', songs.len(), &mut rng);
    let image_codes = shuffled_codes('I', songs.len(), &mut rng);
    let seeds: Vec<u64> = (0..songs.len() as u64)
        .map(|i| options.seed.wrapping_mul(1000).wrapping_add(i))
        .collect();
    let latents: Vec<Latent> = seeds.iter().map(|&s| Latent::from_seed(s)).collect();
    let moods: Vec<Va> = songs.iter().map(|(_, va)| *va).collect();
    let landscapes = generator.generate_batch(&latents, &moods)?;

    let mut items = Vec::with_capacity(songs.len());
    let mut proxy_rows = String::from("rater,code,valence,arousal\n");
    for (i, ((path, va), landscape)) in songs.iter().zip(&landscapes).enumerate() {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("wav")
            .to_ascii_lowercase();
        let audio = format!("audio/{}.{extension}", song_codes[i]);
        let image = format!("images/{}.png", image_codes[i]);
        std::fs::copy(path, survey_dir.join(&audio))
            .with_context(|| format!("copying {}", path.display()))?;
        let display = image::imageops::resize(
            landscape,
            DISPLAY_SIDE,
            DISPLAY_SIDE,
            FilterType::CatmullRom,
        );
        display
            .save(survey_dir.join(&image))
            .with_context(|| format!("writing {image}"))?;
        if let Some(proxy) = proxy {
            write_proxy_rows(
                &mut proxy_rows,
                proxy,
                path,
                landscape,
                &song_codes[i],
                &image_codes[i],
            )?;
        }
        items.push(SurveyItem {
            item: i + 1,
            song_code: song_codes[i].clone(),
            image_code: image_codes[i].clone(),
            audio,
            image,
            source: path.display().to_string(),
            predicted: *va,
            seed: seeds[i],
        });
    }
    write_items(&out.join("items.csv"), &items)?;
    if proxy.is_some() {
        let path = out.join("proxy-ratings.csv");
        std::fs::write(&path, proxy_rows).with_context(|| format!("writing {}", path.display()))?;
    }
    let html = survey_page(&items);
    std::fs::write(survey_dir.join("survey.html"), html).context("writing survey.html")?;
    Ok(items)
}

/// Appends the stand-in raters' rows for one item.
fn write_proxy_rows(
    rows: &mut String,
    proxy: &ProxyRaters,
    song: &Path,
    landscape: &RgbImage,
    song_code: &str,
    image_code: &str,
) -> anyhow::Result<()> {
    let stem = song.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if let Some(va) = proxy.song_labels.get(stem) {
        let (v, a) = (
            unit_to_norm_1_9(va.valence as f64),
            unit_to_norm_1_9(va.arousal as f64),
        );
        writeln!(rows, "4q-mood-tags,{song_code},{v:.4},{a:.4}")?;
    }
    let va = proxy.labeller.label(landscape)?;
    let (v, a) = (
        unit_to_norm_1_9(va.valence as f64),
        unit_to_norm_1_9(va.arousal as f64),
    );
    writeln!(rows, "image-labeller,{image_code},{v:.4},{a:.4}")?;
    Ok(())
}

/// One 9-point SAM scale as radio buttons.
fn scale(code: &str, axis: &str, low: &str, high: &str) -> String {
    let mut html = format!("<div class=\"scale\"><span class=\"end\">{low}</span>");
    for value in 1..=9 {
        let _ = write!(
            html,
            "<label><input type=\"radio\" name=\"{code}-{axis}\" value=\"{value}\">{value}</label>"
        );
    }
    let _ = write!(html, "<span class=\"end\">{high}</span></div>");
    html
}

/// The two scales of one question.
fn scales(code: &str) -> String {
    format!(
        "{}{}",
        scale(code, "v", "very unpleasant", "very pleasant"),
        scale(code, "a", "very calm", "very excited")
    )
}

/// The rating page: songs first, then pictures, each in code order (codes are shuffled, so the
/// two parts come in unrelated orders). Saves `rater,code,valence,arousal` rows as a CSV file.
pub fn survey_page(items: &[SurveyItem]) -> String {
    let mut songs: Vec<&SurveyItem> = items.iter().collect();
    songs.sort_by(|a, b| a.song_code.cmp(&b.song_code));
    let mut pictures = songs.clone();
    pictures.sort_by(|a, b| a.image_code.cmp(&b.image_code));
    let mut body = String::new();
    body.push_str("<h2>Part 1: songs</h2>\n");
    for item in songs {
        let _ = writeln!(
            body,
            "<div class=\"q\" data-code=\"{code}\"><b>{code}</b><br>\
             <audio controls preload=\"none\" src=\"{audio}\"></audio>{scales}</div>",
            code = item.song_code,
            audio = item.audio,
            scales = scales(&item.song_code)
        );
    }
    body.push_str("<h2>Part 2: pictures</h2>\n");
    for item in pictures {
        let _ = writeln!(
            body,
            "<div class=\"q\" data-code=\"{code}\"><b>{code}</b><br>\
             <img src=\"{image}\" alt=\"picture {code}\">{scales}</div>",
            code = item.image_code,
            image = item.image,
            scales = scales(&item.image_code)
        );
    }
    format!("{SURVEY_HEAD}{body}{SURVEY_TAIL}")
}

/// Page header and instructions.
const SURVEY_HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>How does it feel?</title>
<style>
body{font-family:sans-serif;max-width:820px;margin:2em auto;padding:0 1em;line-height:1.4}
.q{border:1px solid #ccc;border-radius:8px;padding:1em;margin:1em 0}
.scale{display:flex;gap:.35em;align-items:flex-end;margin:.6em 0;flex-wrap:wrap}
.scale label{display:inline-flex;flex-direction:column;align-items:center;font-size:.8em}
.end{font-size:.85em;color:#555;width:8em}
img{width:256px;height:256px;display:block;margin:.5em 0}
</style></head><body>
<h1>How does it feel?</h1>
<p>Part 1: listen to each song (at least 20 seconds) and rate the mood it expresses.
Part 2: look at each picture and rate its mood the same way. Rate each one on its own;
there are no right answers, and please do not go back to change earlier answers.</p>
<p>First scale: 1 = very unpleasant, 5 = neutral, 9 = very pleasant.
Second scale: 1 = very calm, 5 = neutral, 9 = very excited.</p>
<p>Your name or number: <input id="rater" autocomplete="off"></p>
"#;

/// Save button and the script that writes the CSV.
const SURVEY_TAIL: &str = r#"<p><button id="save">Save my ratings</button> <span id="status"></span></p>
<script>
document.getElementById('save').onclick = function () {
  var rater = document.getElementById('rater').value.trim();
  if (!rater) { alert('Please enter your name or number at the top first.'); return; }
  var quoted = '"' + rater.replace(/"/g, '""') + '"';
  var rows = ['rater,code,valence,arousal'], missing = 0;
  document.querySelectorAll('.q').forEach(function (q) {
    var code = q.dataset.code;
    var v = q.querySelector('input[name="' + code + '-v"]:checked');
    var a = q.querySelector('input[name="' + code + '-a"]:checked');
    if (v && a) { rows.push([quoted, code, v.value, a.value].join(',')); } else { missing++; }
  });
  var blob = new Blob([rows.join('\n') + '\n'], {type: 'text/csv'});
  var link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = 'ratings-' + rater.replace(/[^A-Za-z0-9_-]/g, '_') + '.csv';
  link.click();
  document.getElementById('status').textContent = (rows.length - 1) + ' ratings saved' +
    (missing ? ', ' + missing + ' left unrated' : '') + '. Send the file back; thank you!';
};
</script>
</body></html>
"#;
