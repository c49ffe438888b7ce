//! `moodscape survey kit` and `survey report` end to end: songs written here (hound), decoded
//! and analysed by the real binary with the committed models, pictures from the committed
//! generator, ratings read back through the report.

mod analysis_signals;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use analysis_signals::{cadence, click_track, write_wav};
use moodscape::survey::read_items;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("survey")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn moodscape(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args(args)
        .output()
        .expect("run moodscape")
}

fn succeed(output: Output) -> String {
    assert!(
        output.status.success(),
        "moodscape failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// 12 s of clicks at `bpm` over a cadence, 44.1 kHz mono 16-bit.
fn write_song(path: &Path, bpm: f32, tonic: i32, minor: bool) {
    let rate = 44_100;
    let clicks = click_track(bpm, 12.0, rate);
    let chords = cadence(tonic, minor, 12.0, rate);
    let song: Vec<f32> = clicks
        .iter()
        .zip(&chords)
        .map(|(c, h)| 0.5 * c + h)
        .collect();
    write_wav(path, &song, rate);
}

/// Two mood folders of two songs each, plus a corrupt file the kit must skip.
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
    songs
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
    let dir = scratch_dir("kit");
    let library = dir.join("library");
    let songs = write_library(&library);
    let stderr = build_kit(&dir, &library);
    assert!(
        stderr.contains("broken.wav"),
        "corrupt file not reported: {stderr}"
    );

    let kit = dir.join("kit");
    let items = read_items(&kit.join("items.csv")).unwrap();
    assert_eq!(items.len(), 4, "four decodable songs");
    let sources: HashSet<PathBuf> = items.iter().map(|i| PathBuf::from(&i.source)).collect();
    assert_eq!(sources, songs.iter().cloned().collect::<HashSet<_>>());
    let html = std::fs::read_to_string(kit.join("survey/survey.html")).unwrap();
    for item in &items {
        // The song is a byte copy under its code; the picture is the display-size landscape.
        let copied = std::fs::read(kit.join("survey").join(&item.audio)).unwrap();
        assert_eq!(copied, std::fs::read(&item.source).unwrap());
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
    let again = scratch_dir("kit-again");
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
    let dir = scratch_dir("report");
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
