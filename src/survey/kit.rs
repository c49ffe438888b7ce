//! Building a survey kit: songs, the landscape Moodscape paints for each, and a rating page.
//!
//! ```text
//! OUT/items.csv            the key: which picture belongs to which song (keep it from raters)
//! OUT/proxy-ratings.csv    machine stand-in raters, when asked for
//! OUT/survey/survey.html   the page raters open (works offline, saves a CSV)
//! OUT/survey/audio/S07.wav 30 s excerpts, named by code (16-bit PCM WAV: no tags, and every
//!                          browser plays it)
//! OUT/survey/images/I13.png landscapes, named by code
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context};
use image::RgbImage;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::ratings::{unit_to_norm_1_9, write_items, SurveyItem};
use crate::analysis::AnalyzerConfig;
use crate::landscape::{ImageVaLabeller, LandscapePainter, Latent, DISPLAY_SIDE};
use crate::va::mood_analyzer::{analyze_mood_file, shared_network, MoodState};
use crate::va::{ClipAccumulator, Va, VaModel};

/// Audio file extensions the decoder reads.
const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

/// Length of the excerpt raters hear, seconds: enough to feel a mood, short enough to rate 20
/// songs in one sitting. Shorter songs are used whole.
pub const EXCERPT_SECONDS: f64 = 30.0;

/// An excerpt whose RMS level is below this (dBFS) counts as silent and is rejected: raters
/// would hear nothing to rate.
pub const SILENCE_DBFS: f64 = -60.0;

/// Sample rates every major browser's `<audio>` plays in a PCM WAV; the excerpt keeps its
/// song's rate, so songs outside this range are rejected rather than shipped unplayable.
pub const BROWSER_SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;

/// Fade in and out at the excerpt's cut points, seconds, so that it does not start or stop
/// with a click.
const EXCERPT_FADE_SECONDS: f64 = 0.05;

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

/// A song as the plugin's mood analyser and model read it.
#[derive(Debug, Clone)]
pub struct SongMood {
    /// Clip-mean VA: what conditions the song's landscape.
    pub mean: Va,
    /// Each estimated window's VA, keyed by the window's end time in seconds.
    pub windows: Vec<(f64, Va)>,
    /// Length of the song, seconds.
    pub duration: f64,
}

/// The clip-mean VA of a song through the plugin's mood analyser and model.
pub fn song_va(path: &Path, model: &VaModel) -> anyhow::Result<Va> {
    Ok(song_mood(path, model)?.mean)
}

/// The song's mood window by window and on average, through the plugin's mood analyser and
/// model (silent and warming windows left out, as `moodscape analyze` does).
pub fn song_mood(path: &Path, model: &VaModel) -> anyhow::Result<SongMood> {
    let network = shared_network()
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut clip = ClipAccumulator::default();
    let mut windows = Vec::new();
    let mut silent_windows = 0;
    let analysis = analyze_mood_file(
        path,
        AnalyzerConfig {
            window_seconds: crate::va::mood::MOOD_WINDOW_SECONDS,
            ..AnalyzerConfig::default()
        },
        Some(network.clone()),
        |frame| match frame.state {
            MoodState::Ready => {
                let va = model.predict_values(frame.row);
                clip.add(va);
                windows.push((frame.t, va));
            }
            MoodState::Silent => silent_windows += 1,
            MoodState::Warming => {}
        },
    )?;
    if windows.is_empty() && silent_windows > 0 {
        anyhow::bail!("it is silent: every analysis window is below the mood model's silence gate");
    }
    let summary = clip
        .summary()
        .with_context(|| format!("{} is too short to analyse", path.display()))?;
    Ok(SongMood {
        mean: Va {
            valence: summary.valence,
            arousal: summary.arousal,
        },
        windows,
        duration: analysis.duration_seconds,
    })
}

/// Start (seconds) of the [`EXCERPT_SECONDS`] span whose analysis windows' mean VA is closest
/// to the song's mean: the part that sounds most like the mood its picture was painted from.
/// Candidates start every half second; ties go to the earliest. Songs no longer than an excerpt
/// start at 0.
pub fn excerpt_start(mood: &SongMood, window_seconds: f64) -> f64 {
    const STEP: f64 = 0.5;
    if mood.duration <= EXCERPT_SECONDS {
        return 0.0;
    }
    let last_start = mood.duration - EXCERPT_SECONDS;
    let mut best = (f64::INFINITY, 0.0);
    let mut start = 0.0;
    while start <= last_start + 1e-9 {
        // Windows that lie wholly inside [start, start + EXCERPT_SECONDS].
        let inside: Vec<Va> = mood
            .windows
            .iter()
            .filter(|(end, _)| {
                *end - window_seconds >= start - 1e-6 && *end <= start + EXCERPT_SECONDS + 1e-6
            })
            .map(|(_, va)| *va)
            .collect();
        if !inside.is_empty() {
            let n = inside.len() as f64;
            let valence = inside.iter().map(|va| f64::from(va.valence)).sum::<f64>() / n;
            let arousal = inside.iter().map(|va| f64::from(va.arousal)).sum::<f64>() / n;
            let distance = (valence - f64::from(mood.mean.valence))
                .hypot(arousal - f64::from(mood.mean.arousal));
            if distance < best.0 - 1e-12 {
                best = (distance, start);
            }
        }
        start += STEP;
    }
    best.1
}

/// What [`write_excerpt`] wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Excerpt {
    /// Where in the song it starts, seconds.
    pub start: f64,
    /// Its length, seconds.
    pub seconds: f64,
    /// Its RMS level, dBFS.
    pub rms_dbfs: f64,
}

/// Writes `seconds` of `song` from `start` as a 16-bit PCM WAV (mono or stereo; more channels
/// are mixed to mono) at the song's rate, with short fades at the cuts. The WAV carries no
/// tags, only the format and the samples. Rejects, with the reason, a song whose rate browsers
/// do not play, a silent excerpt, and a written file that does not decode back to what was
/// written.
pub fn write_excerpt(song: &Path, start: f64, seconds: f64, out: &Path) -> anyhow::Result<Excerpt> {
    let mut reader = crate::audio_file::AudioReader::open(song)?;
    let (rate, channels) = (reader.sample_rate(), reader.channels());
    ensure!(
        BROWSER_SAMPLE_RATES.contains(&rate),
        "its sample rate, {rate} Hz, is outside what browsers play ({}-{} Hz)",
        BROWSER_SAMPLE_RATES.start(),
        BROWSER_SAMPLE_RATES.end()
    );
    let out_channels = if channels == 2 { 2 } else { 1 };
    let first = (start * f64::from(rate)).round() as u64;
    let wanted = (seconds * f64::from(rate)).round() as u64;
    let mut samples: Vec<f32> = Vec::with_capacity((wanted as usize) * out_channels);
    let mut position = 0u64;
    while let Some(block) = reader.next_block()? {
        for frame in block.chunks_exact(channels) {
            if position >= first && position < first + wanted {
                if out_channels == 2 || channels == 1 {
                    samples.extend_from_slice(frame);
                } else {
                    samples.push(frame.iter().sum::<f32>() / channels as f32);
                }
            }
            position += 1;
        }
        if position >= first + wanted {
            break;
        }
    }
    let frames = samples.len() / out_channels;
    ensure!(frames > 0, "the excerpt from {start:.1} s is empty");
    let fade = ((EXCERPT_FADE_SECONDS * f64::from(rate)) as usize).min(frames / 2);
    for i in 0..fade {
        let gain = i as f32 / fade as f32;
        for c in 0..out_channels {
            samples[i * out_channels + c] *= gain;
            samples[(frames - 1 - i) * out_channels + c] *= gain;
        }
    }
    let mean_square = samples
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / samples.len() as f64;
    let rms_dbfs = 10.0 * mean_square.max(1e-20).log10();
    ensure!(
        rms_dbfs >= SILENCE_DBFS,
        "it is silent: RMS {rms_dbfs:.0} dBFS over the excerpt (below {SILENCE_DBFS} dBFS)"
    );
    let spec = hound::WavSpec {
        channels: out_channels as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let quantise = |x: f32| (x.clamp(-1.0, 1.0) * 32_767.0).round() as i16;
    let mut writer = hound::WavWriter::create(out, spec)
        .with_context(|| format!("writing {}", out.display()))?;
    for &x in &samples {
        writer.write_sample(quantise(x))?;
    }
    writer.finalize()?;
    // Check that the file decodes back, sample for sample, through the same decoder.
    let decoded = crate::audio_file::decode_file(out)
        .with_context(|| format!("the excerpt {} does not decode", out.display()))?;
    ensure!(
        decoded.sample_rate == rate
            && decoded.channels == out_channels
            && decoded.samples.len() == samples.len()
            && decoded
                .samples
                .iter()
                .zip(&samples)
                .all(|(d, x)| (d * 32_768.0 - f32::from(quantise(*x))).abs() < 0.5),
        "the excerpt {} does not decode to what was written",
        out.display()
    );
    Ok(Excerpt {
        start,
        seconds: frames as f64 / f64::from(rate),
        rms_dbfs,
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
    painter: &LandscapePainter,
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
    let audio_dir = survey_dir.join("audio");
    let mut songs: Vec<(PathBuf, Va)> = Vec::new();
    // Excerpts are written under a neutral name first; the code is only drawn once every song
    // is known.
    let mut pending: Vec<PathBuf> = Vec::new();
    for path in candidates {
        if songs.len() == options.count {
            break;
        }
        progress.set_message(path.display().to_string());
        let staged = audio_dir.join(format!(".pending-{}.wav", songs.len()));
        let outcome = song_mood(path, model).and_then(|mood| {
            let start = excerpt_start(&mood, f64::from(AnalyzerConfig::default().window_seconds));
            write_excerpt(path, start, EXCERPT_SECONDS, &staged).map(|_| mood.mean)
        });
        match outcome {
            Ok(va) => {
                songs.push((path.clone(), va));
                pending.push(staged);
                progress.inc(1);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                progress.suspend(|| eprintln!("skipping {}: {e:#}", path.display()))
            }
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
    // Redraw until no picture's number tells its song's (see `pairing_is_unrelated`).
    let image_codes = loop {
        let codes = shuffled_codes('I', songs.len(), &mut rng);
        if pairing_is_unrelated(&song_codes, &codes) {
            break codes;
        }
    };
    let seeds: Vec<u64> = (0..songs.len() as u64)
        .map(|i| options.seed.wrapping_mul(1000).wrapping_add(i))
        .collect();
    let latents: Vec<Latent> = seeds.iter().map(|&s| Latent::from_seed(s)).collect();
    let moods: Vec<Va> = songs.iter().map(|(_, va)| *va).collect();
    // Raters see what the editor shows: the 64 px landscape through the learned 4× upscaler.
    let landscapes = painter.paint_batch(&latents, &moods, DISPLAY_SIDE)?;

    let mut items = Vec::with_capacity(songs.len());
    let mut proxy_rows = String::from("rater,code,valence,arousal\n");
    for (i, ((path, va), landscape)) in songs.iter().zip(&landscapes).enumerate() {
        let audio = format!("audio/{}.wav", song_codes[i]);
        let image = format!("images/{}.png", image_codes[i]);
        std::fs::rename(&pending[i], survey_dir.join(&audio))
            .with_context(|| format!("writing {audio}"))?;
        landscape
            .display
            .save(survey_dir.join(&image))
            .with_context(|| format!("writing {image}"))?;
        if let Some(proxy) = proxy {
            write_proxy_rows(
                &mut proxy_rows,
                proxy,
                path,
                &landscape.native,
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

/// The number in a code (`"S07"` → 7).
fn code_number(code: &str) -> Option<usize> {
    code.trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()
}

/// Whether the picture codes tell nothing about which song they belong to: no item has the
/// same number for both (S07 with I07), and, from four items on, no constant offset links them
/// (S01-I02, S02-I03, ...), nor the reversed order. A rater who noticed any such rule could
/// match the pictures to the songs, which is what the survey must prevent.
pub fn pairing_is_unrelated(song_codes: &[String], image_codes: &[String]) -> bool {
    let pairs: Option<Vec<(usize, usize)>> = song_codes
        .iter()
        .zip(image_codes)
        .map(|(s, i)| Some((code_number(s)?, code_number(i)?)))
        .collect();
    let Some(pairs) = pairs else {
        return false;
    };
    let n = pairs.len();
    if pairs.iter().any(|(s, i)| s == i) {
        return false;
    }
    if n >= 4 {
        let offset = |(s, i): (usize, usize)| (i + n - s % n) % n;
        let reversed = |(s, i): (usize, usize)| s + i;
        if pairs.iter().all(|&p| offset(p) == offset(pairs[0]))
            || pairs.iter().all(|&p| reversed(p) == reversed(pairs[0]))
        {
            return false;
        }
    }
    true
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

/// Columns of the CSV the page saves; `survey report` reads the first four (see
/// `ratings::RATING_COLUMNS`) and ignores the rest.
pub const PAGE_CSV_COLUMNS: [&str; 6] = [
    "rater",
    "code",
    "valence",
    "arousal",
    "order_seed",
    "position",
];

/// The rating page: songs first, then pictures. Each rater sees both parts in an order of their
/// own, shuffled by the page from a seed derived from the rater's name (songs and pictures
/// separately), so position effects average out across raters; the seed and each code's
/// position go into the saved CSV (`rater,code,valence,arousal,order_seed,position`).
pub fn survey_page(items: &[SurveyItem]) -> String {
    let mut songs: Vec<&SurveyItem> = items.iter().collect();
    songs.sort_by(|a, b| a.song_code.cmp(&b.song_code));
    let mut pictures = songs.clone();
    pictures.sort_by(|a, b| a.image_code.cmp(&b.image_code));
    let mut body = String::new();
    body.push_str("<div id=\"parts\" hidden>\n<h2>Part 1: songs</h2>\n<div id=\"songs\">\n");
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
    body.push_str("</div>\n<h2>Part 2: pictures</h2>\n<div id=\"pictures\">\n");
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
    // Closes the pictures and the parts.
    body.push_str("</div>\n</div>\n");
    let tail = SURVEY_TAIL.replace("@HEADER@", &PAGE_CSV_COLUMNS.join(","));
    format!("{SURVEY_HEAD}{body}{tail}")
}

/// FNV-1a (32 bit) of the rater's name, as the page computes it: the seed of their order.
/// The page hashes the name's UTF-16 code units, which equal its bytes for ASCII names.
pub fn rater_order_seed(rater: &str) -> u32 {
    rater
        .trim()
        .encode_utf16()
        .fold(0x811c_9dc5u32, |hash, unit| {
            (hash ^ u32::from(unit)).wrapping_mul(0x0100_0193)
        })
}

/// The order in which the page shows `codes` (one part, listed as the page lists them) to a
/// rater whose seed is `seed`, songs first with `stream` 0 and pictures with `stream` 1: the
/// same mulberry32 generator and Fisher-Yates shuffle as the page's script.
pub fn rater_order(codes: &[String], seed: u32, stream: u32) -> Vec<String> {
    let mut state = seed ^ stream.wrapping_mul(0x9e37_79b9);
    let mut next = || {
        state = state.wrapping_add(0x6d2b_79f5);
        let mut t = state;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    };
    let mut order = codes.to_vec();
    for i in (1..order.len()).rev() {
        let j = (next() * (i + 1) as f64) as usize;
        order.swap(i, j);
    }
    order
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
<p>Your name or number: <input id="rater" autocomplete="off">
<button id="start">Start</button></p>
"#;

/// Start and save buttons, and the script that orders the questions for this rater and writes
/// the CSV.
const SURVEY_TAIL: &str = r#"<p id="saving" hidden><button id="save">Save my ratings</button> <span id="status"></span></p>
<script>
// The rater's own order: FNV-1a of the name seeds mulberry32, which drives a Fisher-Yates
// shuffle of the songs (stream 0) and of the pictures (stream 1). kit.rs mirrors this.
function fnv1a(text) {
  var h = 0x811c9dc5;
  for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
function mulberry32(a) {
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    var t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(container, seed, stream) {
  var next = mulberry32((seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0);
  var nodes = Array.prototype.slice.call(container.children);
  for (var i = nodes.length - 1; i > 0; i--) {
    var j = Math.floor(next() * (i + 1));
    var swap = nodes[i]; nodes[i] = nodes[j]; nodes[j] = swap;
  }
  nodes.forEach(function (node, k) { node.dataset.position = k + 1; container.appendChild(node); });
}
var orderSeed = null;
document.getElementById('start').onclick = function () {
  var rater = document.getElementById('rater').value.trim();
  if (!rater) { alert('Please enter your name or number first.'); return; }
  orderSeed = fnv1a(rater);
  shuffle(document.getElementById('songs'), orderSeed, 0);
  shuffle(document.getElementById('pictures'), orderSeed, 1);
  document.getElementById('rater').disabled = true;
  document.getElementById('start').hidden = true;
  document.getElementById('parts').hidden = false;
  document.getElementById('saving').hidden = false;
};
document.getElementById('save').onclick = function () {
  var rater = document.getElementById('rater').value.trim();
  var quoted = '"' + rater.replace(/"/g, '""') + '"';
  var rows = ['@HEADER@'], missing = 0;
  document.querySelectorAll('.q').forEach(function (q) {
    var code = q.dataset.code;
    var v = q.querySelector('input[name="' + code + '-v"]:checked');
    var a = q.querySelector('input[name="' + code + '-a"]:checked');
    if (v && a) {
      rows.push([quoted, code, v.value, a.value, orderSeed, q.dataset.position].join(','));
    } else { missing++; }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(prefix: char, numbers: &[usize]) -> Vec<String> {
        numbers.iter().map(|n| format!("{prefix}{n:02}")).collect()
    }

    #[test]
    fn identity_and_other_guessable_pairings_are_rejected() {
        let songs = codes('S', &[1, 2, 3, 4]);
        assert!(!pairing_is_unrelated(&songs, &codes('I', &[1, 2, 3, 4])));
        assert!(!pairing_is_unrelated(&songs, &codes('I', &[2, 3, 4, 1])));
        assert!(!pairing_is_unrelated(&songs, &codes('I', &[4, 3, 2, 1])));
        assert!(!pairing_is_unrelated(&songs, &codes('I', &[2, 1, 3, 4])));
        assert!(pairing_is_unrelated(&songs, &codes('I', &[2, 1, 4, 3])));
        // Two songs: the swap is the only blind pairing.
        assert!(pairing_is_unrelated(
            &codes('S', &[1, 2]),
            &codes('I', &[2, 1])
        ));
        assert!(!pairing_is_unrelated(
            &codes('S', &[1, 2]),
            &codes('I', &[1, 2])
        ));
    }

    #[test]
    fn excerpt_starts_where_the_windows_match_the_mean() {
        // 100 s: windows (10 s, every 0.5 s) read calm until 60 s, then excited; the song's mean
        // is set to the excited part, so the excerpt must lie wholly in it (start >= 60 s).
        let calm = Va {
            valence: 0.2,
            arousal: -0.6,
        };
        let excited = Va {
            valence: 0.2,
            arousal: 0.7,
        };
        let windows: Vec<(f64, Va)> = (20..=200)
            .map(|k| {
                let end = k as f64 * 0.5;
                (end, if end - 10.0 >= 60.0 { excited } else { calm })
            })
            .collect();
        let mood = SongMood {
            mean: excited,
            windows: windows.clone(),
            duration: 100.0,
        };
        let start = excerpt_start(&mood, 10.0);
        assert!((60.0..=70.0).contains(&start), "{start}");
        assert_eq!(start, 60.0, "ties go to the earliest");
        let calm_mood = SongMood {
            mean: calm,
            windows,
            duration: 100.0,
        };
        assert_eq!(excerpt_start(&calm_mood, 10.0), 0.0);
        let short = SongMood {
            mean: calm,
            windows: vec![(10.0, calm)],
            duration: 25.0,
        };
        assert_eq!(excerpt_start(&short, 10.0), 0.0);
    }

    #[test]
    fn rater_orders_are_permutations_that_depend_on_the_name() {
        let songs = codes('S', &[1, 2, 3, 4, 5, 6, 7, 8]);
        let ann = rater_order(&songs, rater_order_seed("Ann"), 0);
        let mut sorted = ann.clone();
        sorted.sort();
        assert_eq!(sorted, songs);
        assert_eq!(ann, rater_order(&songs, rater_order_seed(" Ann "), 0));
        assert_ne!(ann, rater_order(&songs, rater_order_seed("Bo"), 0));
        assert_ne!(ann, rater_order(&songs, rater_order_seed("Ann"), 1));
        // FNV-1a's published test vector.
        assert_eq!(rater_order_seed("a"), 0xe40c_292c);
    }
}
