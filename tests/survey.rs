//! `moodscape survey kit` and `survey report` end to end: songs written here (hound), decoded
//! and analysed by the real binary with the committed models, pictures from the committed
//! generator, ratings read back through the report.

mod analysis_signals;
mod survey_common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use analysis_signals::{cadence, click_track, write_wav};
use moodscape::survey::read_items;
use survey_common::{moodscape, scratch_dir, succeed, write_song};

/// Two mood folders of two songs each, plus files the kit must skip with a reason: a corrupt
/// one, a silent one, and one at a sample rate browsers do not play.
fn write_library(root: &Path) -> Vec<PathBuf> {
    let mut songs = Vec::new();
    for (folder, bpm, minor) in [("bright", 150.0, false), ("dark", 70.0, true)] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
        for (k, tonic) in [0, 7].into_iter().enumerate() {
            let path = root.join(folder).join(format!("song{k}.wav"));
            write_song(&path, bpm + 10.0 * k as f32, tonic, minor);
            songs.push(path);
        }
    }
    std::fs::write(root.join("dark/broken.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    write_wav(
        &root.join("bright/silent.wav"),
        &vec![0.0; 44_100 * 12],
        44_100,
    );
    // 12 s of the same music at 384 kHz: the decoder and analyser take it, browsers do not.
    let rate = 384_000;
    let music: Vec<f32> = click_track(120.0, 12.0, rate)
        .iter()
        .zip(&cadence(0, false, 12.0, rate))
        .map(|(c, h)| 0.5 * c + h)
        .collect();
    write_wav(&root.join("dark/ultrasonic.wav"), &music, rate);
    songs
}

/// The RIFF chunk ids of a WAV file, in order.
fn wav_chunks(bytes: &[u8]) -> Vec<String> {
    assert_eq!((&bytes[0..4], &bytes[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
    let mut chunks = Vec::new();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        chunks.push(String::from_utf8_lossy(&bytes[at..at + 4]).to_string());
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 8 + size + (size & 1);
    }
    chunks
}

fn build_kit(dir: &Path, library: &Path) -> String {
    let out = dir.join("kit");
    let output = moodscape(&[
        "survey",
        "kit",
        library.to_str().unwrap(),
        "--count",
        "5",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    succeed(output);
    stderr
}

#[test]
fn kit_pairs_each_song_with_its_landscape_under_unrelated_codes() {
    let dir = scratch_dir("survey", "kit");
    let library = dir.join("library");
    let songs = write_library(&library);
    let stderr = build_kit(&dir, &library);
    assert!(
        stderr.contains("broken.wav"),
        "corrupt file not reported: {stderr}"
    );
    for (file, reason) in [
        ("silent.wav", "it is silent"),
        ("ultrasonic.wav", "384000 Hz, is outside what browsers play"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not rejected: {stderr}"));
        assert!(line.contains(reason), "{file}: {line}");
    }

    let kit = dir.join("kit");
    let items = read_items(&kit.join("items.csv")).unwrap();
    assert_eq!(items.len(), 4, "four decodable songs");
    let sources: HashSet<PathBuf> = items.iter().map(|i| PathBuf::from(&i.source)).collect();
    assert_eq!(sources, songs.iter().cloned().collect::<HashSet<_>>());
    let html = std::fs::read_to_string(kit.join("survey/survey.html")).unwrap();
    for item in &items {
        // The song is a tag-free 16-bit WAV excerpt under its code (these 12 s songs whole, but
        // faded at the ends); the picture is the display-size landscape.
        assert_eq!(item.audio, format!("audio/{}.wav", item.song_code));
        let excerpt_path = kit.join("survey").join(&item.audio);
        let bytes = std::fs::read(&excerpt_path).unwrap();
        assert_eq!(wav_chunks(&bytes), ["fmt ", "data"]);
        let excerpt = hound::WavReader::open(&excerpt_path).unwrap();
        assert_eq!(excerpt.spec().bits_per_sample, 16);
        let excerpt: Vec<i16> = excerpt.into_samples().map(Result::unwrap).collect();
        let source: Vec<i16> = hound::WavReader::open(&item.source)
            .unwrap()
            .into_samples()
            .map(Result::unwrap)
            .collect();
        assert_eq!(excerpt.len(), source.len());
        let middle = source.len() / 2;
        assert!(
            excerpt[middle..middle + 1000]
                .iter()
                .zip(&source[middle..middle + 1000])
                .all(|(a, b)| (a - b).abs() <= 1),
            "{}: the excerpt is not the song",
            item.audio
        );
        let picture = image::open(kit.join("survey").join(&item.image)).unwrap();
        assert_eq!((picture.width(), picture.height()), (256, 256));
        assert!(html.contains(&format!("data-code=\"{}\"", item.song_code)));
        assert!(html.contains(&format!("data-code=\"{}\"", item.image_code)));
        // Raters must not be able to match a picture to its song from the page.
        assert!(!html.contains(&item.source) && !html.contains("song0"));

        // The kit's VA is the clip summary `moodscape analyze` prints: one analysis path.
        let jsonl = succeed(moodscape(&["analyze", &item.source]));
        let summary: serde_json::Value = jsonl
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get("summary").cloned())
            .expect("analyze prints a clip summary");
        let analysed = summary["valence"].as_f64().unwrap();
        assert!(
            (analysed - item.predicted.valence as f64).abs() < 1e-3,
            "{analysed} vs {:?}",
            item.predicted
        );
        let analysed = summary["arousal"].as_f64().unwrap();
        assert!((analysed - item.predicted.arousal as f64).abs() < 1e-3);
    }

    // The same seed gives the same kit; the pictures follow the songs' moods.
    let again = scratch_dir("survey", "kit-again");
    build_kit(&again, &library);
    let first = std::fs::read_to_string(kit.join("items.csv")).unwrap();
    assert_eq!(
        first,
        std::fs::read_to_string(again.join("kit/items.csv")).unwrap()
    );
    for item in &items {
        let a = std::fs::read(kit.join("survey").join(&item.image)).unwrap();
        let b = std::fs::read(again.join("kit/survey").join(&item.image)).unwrap();
        assert_eq!(a, b, "picture {} differs between runs", item.image_code);
    }
}

#[test]
fn report_scores_ratings_against_the_kit_and_rejects_bad_files() {
    let dir = scratch_dir("survey", "report");
    let library = dir.join("library");
    write_library(&library);
    build_kit(&dir, &library);
    let kit = dir.join("kit");
    let items = read_items(&kit.join("items.csv")).unwrap();

    // Two raters. Songs and pictures get the same ratings except item 1's picture, rated
    // 2 points (0.5 on [-1, 1]) higher in valence by both: valence MAE 0.5 / 4 items = 0.125.
    let mut csv = String::from("rater,code,valence,arousal\n");
    for rater in ["ann", "bo"] {
        for (k, item) in items.iter().enumerate() {
            let (v, a) = (2 + k, 8 - k);
            let bump = if k == 0 { 2 } else { 0 };
            csv += &format!("{rater},{},{v},{a}\n", item.song_code);
            csv += &format!("{rater},{},{},{a}\n", item.image_code, v + bump);
        }
    }
    let ratings = dir.join("ratings.csv");
    std::fs::write(&ratings, csv).unwrap();
    let json = dir.join("report.json");
    let markdown = succeed(moodscape(&[
        "survey",
        "report",
        "--kit",
        kit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        ratings.to_str().unwrap(),
    ]));
    assert!(markdown.contains("4 of 4 items scored"), "{markdown}");
    assert!(markdown.contains("2 raters, 16 ratings"), "{markdown}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let error = &report["song_vs_image"];
    assert!((error["valence_mae"]["mean"].as_f64().unwrap() - 0.125).abs() < 1e-9);
    assert_eq!(error["arousal_mae"]["mean"].as_f64().unwrap(), 0.0);
    assert!(report["mismatched_distance"].as_f64().unwrap() > 0.3);
    // Both raters agree exactly, so their spread is zero.
    assert_eq!(report["rater_spread_song"], serde_json::json!([0.0, 0.0]));

    let bad = dir.join("bad.csv");
    for (text, expected) in [
        (
            "rater,code,valence,arousal\nann,S01,0,5\n",
            "outside the 1-9 scale",
        ),
        (
            "rater,code,valence,arousal\nann,X99,5,5\n",
            "not in this kit",
        ),
        ("rater,code,arousal\nann,S01,5\n", "no `valence` column"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let output = moodscape(&[
            "survey",
            "report",
            "--kit",
            kit.to_str().unwrap(),
            bad.to_str().unwrap(),
        ]);
        assert!(!output.status.success(), "{text:?} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{text:?}: {stderr}");
    }
}

#[test]
fn report_without_a_kit_says_to_pass_kit() {
    let dir = scratch_dir("survey", "no-kit");
    let ratings = dir.join("ratings.csv");
    std::fs::write(&ratings, "rater,code,valence,arousal\nann,S01,5,5\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .current_dir(&dir)
        .args(["survey", "report", ratings.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--kit DIR"),
        "no hint to pass --kit: {stderr}"
    );
}

/// A song longer than an excerpt: the kit writes 30 s of it, from where the song's windows come
/// closest to its mean mood, and none of the source's tags.
#[test]
fn long_songs_become_tag_free_excerpts_of_their_most_typical_part() {
    use moodscape::survey::kit::{excerpt_start, song_mood, EXCERPT_SECONDS};
    let dir = scratch_dir("survey", "excerpt");
    let library = dir.join("library");
    std::fs::create_dir_all(&library).unwrap();
    // 48 s: 24 s bright and fast, then 24 s dark and slow, with a title tag (LIST/INFO/INAM).
    let rate = 22_050;
    let part = |bpm: f32, tonic: i32, minor: bool| -> Vec<f32> {
        click_track(bpm, 24.0, rate)
            .iter()
            .zip(&cadence(tonic, minor, 24.0, rate))
            .map(|(c, h)| 0.5 * c + h)
            .collect()
    };
    let mut music = part(160.0, 0, false);
    music.extend(part(66.0, 9, true));
    let long = library.join("long.wav");
    write_wav(&long, &music, rate);
    let mut bytes = std::fs::read(&long).unwrap();
    let title = b"Secret Title Of The Song\0\0";
    let mut info = b"INFO".to_vec();
    info.extend(b"INAM");
    info.extend((title.len() as u32).to_le_bytes());
    info.extend(title);
    bytes.extend(b"LIST");
    bytes.extend((info.len() as u32).to_le_bytes());
    bytes.extend(&info);
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    std::fs::write(&long, &bytes).unwrap();
    write_song(&library.join("short.wav"), 120.0, 4, false);

    let out = dir.join("kit");
    succeed(moodscape(&[
        "survey",
        "kit",
        library.to_str().unwrap(),
        "--count",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]));
    let items = read_items(&out.join("items.csv")).unwrap();
    let item = items
        .iter()
        .find(|i| i.source.ends_with("long.wav"))
        .unwrap();
    let excerpt_path = out.join("survey").join(&item.audio);
    let excerpt_bytes = std::fs::read(&excerpt_path).unwrap();
    assert_eq!(wav_chunks(&excerpt_bytes), ["fmt ", "data"]);
    assert!(!String::from_utf8_lossy(&excerpt_bytes).contains("Secret Title"));
    let reader = hound::WavReader::open(&excerpt_path).unwrap();
    assert_eq!(reader.spec().sample_rate, rate);
    let excerpt: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    assert_eq!(excerpt.len(), (EXCERPT_SECONDS * rate as f64) as usize);

    // Where it starts: the span the library picks from the song's own analysis.
    let model = moodscape::va::VaModel::embedded().unwrap();
    let mood = song_mood(&long, &model).unwrap();
    let start = excerpt_start(&mood, 10.0);
    assert!((0.0..=18.0).contains(&start), "start {start}");
    let offset = (start * rate as f64).round() as usize;
    let source: Vec<i16> = music
        .iter()
        .map(|x| (x.clamp(-1.0, 1.0) * 32_767.0) as i16)
        .collect();
    let middle = excerpt.len() / 2;
    assert!(
        excerpt[middle..middle + 2000]
            .iter()
            .zip(&source[offset + middle..])
            .all(|(a, b)| (a - b).abs() <= 1),
        "the excerpt is not the song from {start} s"
    );
    // And that span is at least as close to the mean as the first and the last 30 s.
    let span_distance = |from: f64| {
        let inside: Vec<_> = mood
            .windows
            .iter()
            .filter(|(end, _)| *end - 10.0 >= from - 1e-6 && *end <= from + 30.0 + 1e-6)
            .map(|(_, va)| *va)
            .collect();
        let n = inside.len() as f32;
        let v = inside.iter().map(|va| va.valence).sum::<f32>() / n;
        let a = inside.iter().map(|va| va.arousal).sum::<f32>() / n;
        (v - mood.mean.valence).hypot(a - mood.mean.arousal)
    };
    let last = mood.duration - 30.0;
    assert!(span_distance(start) <= span_distance(0.0) + 1e-6);
    assert!(span_distance(start) <= span_distance((last * 2.0).floor() / 2.0) + 1e-6);
}

/// The number in a code ("S07" -> 7).
fn code_number(code: &str) -> usize {
    code[1..].parse().unwrap()
}

/// Blinding: the picture codes say nothing about the songs. The kit's own pairing passes the
/// check, and the check rejects the pairings a rater could see through.
#[test]
fn song_and_picture_codes_are_unrelated_across_a_kit() {
    use moodscape::survey::kit::pairing_is_unrelated;
    let codes = |prefix: char, numbers: &[usize]| -> Vec<String> {
        numbers.iter().map(|n| format!("{prefix}{n:02}")).collect()
    };
    let songs = codes('S', &[1, 2, 3, 4, 5]);
    for (image_numbers, why) in [
        (&[1, 2, 3, 4, 5], "identity S01-I01"),
        (&[2, 3, 4, 5, 1], "constant offset"),
        (&[5, 4, 3, 2, 1], "reversed"),
        (&[2, 1, 3, 5, 4], "one shared number (S03-I03)"),
    ] {
        assert!(
            !pairing_is_unrelated(&songs, &codes('I', image_numbers)),
            "{why} passed"
        );
    }
    assert!(pairing_is_unrelated(&songs, &codes('I', &[3, 5, 4, 1, 2])));

    for seed in ["1", "7", "11"] {
        let dir = scratch_dir("survey", &format!("blinding-{seed}"));
        let library = dir.join("library");
        write_library(&library);
        let out = dir.join("kit");
        succeed(moodscape(&[
            "survey",
            "kit",
            library.to_str().unwrap(),
            "--count",
            "4",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]));
        let items = read_items(&out.join("items.csv")).unwrap();
        assert_eq!(items.len(), 4);
        for item in &items {
            assert_ne!(
                code_number(&item.song_code),
                code_number(&item.image_code),
                "seed {seed}: {} is paired with {}",
                item.song_code,
                item.image_code
            );
        }
        let song_codes: Vec<String> = items.iter().map(|i| i.song_code.clone()).collect();
        let image_codes: Vec<String> = items.iter().map(|i| i.image_code.clone()).collect();
        assert!(
            pairing_is_unrelated(&song_codes, &image_codes),
            "seed {seed}"
        );
    }
}

/// Every `<input ...>` tag of the page as (name, value, type).
fn page_inputs(html: &str) -> Vec<(String, String, String)> {
    let attribute = |tag: &str, name: &str| -> String {
        tag.split(&format!("{name}=\"")[..])
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    html.split("<input")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap())
        .map(|tag| {
            (
                attribute(tag, "name"),
                attribute(tag, "value"),
                attribute(tag, "type"),
            )
        })
        .collect()
}

/// The page asks exactly what `survey report` reads: two 1-9 scales per code, for every code
/// of the kit and no other, and it saves a CSV whose header holds the report's columns. A CSV
/// built from the page's own radio values, as its script builds it, passes the report's parser.
#[test]
fn page_radios_and_csv_header_match_what_report_reads() {
    let dir = scratch_dir("survey", "page");
    let library = dir.join("library");
    write_library(&library);
    build_kit(&dir, &library);
    let kit = dir.join("kit");
    let items = read_items(&kit.join("items.csv")).unwrap();
    let html = std::fs::read_to_string(kit.join("survey/survey.html")).unwrap();

    let radios: Vec<(String, String)> = page_inputs(&html)
        .into_iter()
        .filter(|(_, _, kind)| kind == "radio")
        .map(|(name, value, _)| (name, value))
        .collect();
    let mut codes: Vec<String> = items
        .iter()
        .flat_map(|i| [i.song_code.clone(), i.image_code.clone()])
        .collect();
    codes.sort();
    let mut page_codes: Vec<String> = radios
        .iter()
        .map(|(name, _)| name.rsplit_once('-').unwrap().0.to_string())
        .collect();
    page_codes.sort();
    page_codes.dedup();
    assert_eq!(page_codes, codes, "the page's codes are not the kit's");
    for code in &codes {
        for axis in ["v", "a"] {
            let values: Vec<&str> = radios
                .iter()
                .filter(|(name, _)| *name == format!("{code}-{axis}"))
                .map(|(_, value)| value.as_str())
                .collect();
            assert_eq!(
                values,
                ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
                "{code}-{axis}"
            );
        }
    }
    // The header the script writes.
    let header = html
        .split("var rows = ['")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the script's CSV header");
    assert_eq!(header, moodscape::survey::kit::PAGE_CSV_COLUMNS.join(","));

    // Every code rated with the extreme radio values, through the report's own reader.
    let mut csv = format!("{header}\n");
    for (k, code) in codes.iter().enumerate() {
        let low = &radios
            .iter()
            .find(|(n, _)| *n == format!("{code}-v"))
            .unwrap()
            .1;
        let high = &radios
            .iter()
            .rev()
            .find(|(n, _)| *n == format!("{code}-a"))
            .unwrap()
            .1;
        csv += &format!("\"Ann, the rater\",{code},{low},{high},12345,{}\n", k + 1);
    }
    let ratings = moodscape::survey::parse_ratings(&csv, "page.csv").unwrap();
    assert_eq!(ratings.len(), codes.len());
    assert!(ratings
        .iter()
        .all(|r| r.valence == -1.0 && r.arousal == 1.0 && r.rater == "Ann, the rater"));
    let path = dir.join("page.csv");
    std::fs::write(&path, &csv).unwrap();
    let markdown = succeed(moodscape(&[
        "survey",
        "report",
        "--kit",
        kit.to_str().unwrap(),
        path.to_str().unwrap(),
    ]));
    assert!(
        markdown.contains(&format!("1 raters, {} ratings", codes.len())),
        "{markdown}"
    );
}

/// `--proxy-data` on a synthetic shared-data tree: the mood tags of each song, through
/// Warriner's norms, become the stand-in song ratings, and the report reads the file.
#[test]
fn proxy_data_rates_songs_from_their_mood_tags() {
    let dir = scratch_dir("survey", "proxy");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("word-norms")).unwrap();
    std::fs::write(
        data.join("word-norms/Ratings_Warriner_et_al.csv"),
        ",Word,V.Mean.Sum,A.Mean.Sum\n1,joyful,8.2,6.1\n2,gloomy,2.2,3.0\n3,calm,6.9,1.7\n",
    )
    .unwrap();
    let mut metadata = String::from("Song,Artist,Quadrant,MoodsFoundStr\n");
    let mut expected = Vec::new();
    for (song, quadrant, tags, bpm, minor) in [
        ("MT0001", 1, "joyful", 150.0, false),
        ("MT0002", 3, "gloomy; calm", 70.0, true),
        ("MT0003", 4, "calm", 80.0, false),
    ] {
        let folder = data.join(format!("music-4q/audio/Q{quadrant}"));
        std::fs::create_dir_all(&folder).unwrap();
        write_song(&folder.join(format!("{song}.wav")), bpm, 2, minor);
        metadata += &format!("{song},Someone,Q{quadrant},{tags}\n");
        // Mean of the tags' norms, on the 1-9 scale the stand-in writes.
        let (v, a) = match song {
            "MT0001" => (8.2, 6.1),
            "MT0002" => ((2.2 + 6.9) / 2.0, (3.0 + 1.7) / 2.0),
            _ => (6.9, 1.7),
        };
        expected.push((song, v, a));
    }
    std::fs::write(
        data.join("music-4q/panda_dataset_taffc_metadata.csv"),
        metadata,
    )
    .unwrap();
    let out = dir.join("kit");
    succeed(moodscape(&[
        "survey",
        "kit",
        data.join("music-4q/audio").to_str().unwrap(),
        "--count",
        "3",
        "--proxy-data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let items = read_items(&out.join("items.csv")).unwrap();
    assert_eq!(items.len(), 3);
    let proxy = std::fs::read_to_string(out.join("proxy-ratings.csv")).unwrap();
    let ratings = moodscape::survey::parse_ratings(&proxy, "proxy").unwrap();
    for (song, v, a) in expected {
        let item = items.iter().find(|i| i.source.contains(song)).unwrap();
        let rating = ratings
            .iter()
            .find(|r| r.code == item.song_code)
            .unwrap_or_else(|| panic!("no stand-in rating for {song}: {proxy}"));
        assert_eq!(rating.rater, "4q-mood-tags");
        assert!(
            ((rating.valence * 4.0 + 5.0) - v).abs() < 1e-3,
            "{song}: {rating:?}"
        );
        assert!(
            ((rating.arousal * 4.0 + 5.0) - a).abs() < 1e-3,
            "{song}: {rating:?}"
        );
        // The picture is rated by the image labeller, once.
        let pictures: Vec<_> = ratings
            .iter()
            .filter(|r| r.code == item.image_code)
            .collect();
        assert_eq!(pictures.len(), 1);
        assert_eq!(pictures[0].rater, "image-labeller");
    }
    let markdown = succeed(moodscape(&[
        "survey",
        "report",
        "--kit",
        out.to_str().unwrap(),
        out.join("proxy-ratings.csv").to_str().unwrap(),
    ]));
    assert!(markdown.contains("3 of 3 items scored"), "{markdown}");
}

#[test]
fn kit_without_music_or_shared_data_says_to_pass_songs() {
    let dir = scratch_dir("survey", "no-music");
    let output = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .current_dir(&dir)
        .args(["survey", "kit", "--count", "4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("pass your songs"), "{stderr}");
}
