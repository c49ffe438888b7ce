//! `moodscape analyze` end to end: files written here (hound) or committed synthetic fixtures,
//! decoded by the real decoder, analysed by the real binary.

mod analysis_signals;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use analysis_signals::{cadence, click_track};
use moodscape::analysis::feature_names;
use moodscape::audio_file::{decode_file, AudioFileError};

fn scratch_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_analyze");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn moodscape(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args(args)
        .output()
        .expect("run moodscape")
}

/// 12 s of 120 BPM clicks over an A minor cadence, 44.1 kHz stereo 16-bit.
fn write_music_wav(path: &Path) -> Vec<i16> {
    let rate = 44_100;
    let clicks = click_track(120.0, 12.0, rate);
    let chords = cadence(9, true, 12.0, rate);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let mut written = Vec::new();
    for (c, h) in clicks.iter().zip(&chords) {
        let left = ((0.6 * c + h) * 32767.0).clamp(-32768.0, 32767.0) as i16;
        let right = ((0.6 * c + 0.8 * h) * 32767.0).clamp(-32768.0, 32767.0) as i16;
        writer.write_sample(left).unwrap();
        writer.write_sample(right).unwrap();
        written.extend([left, right]);
    }
    writer.finalize().unwrap();
    written
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "moodscape failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        // The closing clip summary (valence/arousal) is checked in tests/va_cli.rs.
        .filter(|record: &serde_json::Value| record.get("summary").is_none())
        .collect()
}

#[test]
fn wav_decodes_exactly_and_analyzes_to_jsonl() {
    let path = scratch_dir().join("music.wav");
    let written = write_music_wav(&path);

    let decoded = decode_file(&path).unwrap();
    assert_eq!((decoded.sample_rate, decoded.channels), (44_100, 2));
    assert_eq!(decoded.samples.len(), written.len());
    for (d, w) in decoded.samples.iter().zip(&written) {
        assert!((d - *w as f32 / 32768.0).abs() < 1e-6);
    }

    let records = json_lines(&moodscape(&["analyze", path.to_str().unwrap()]));
    // 24 updates are due in 12 s; the resampler's few ms of latency may hold back the last.
    assert!(
        (23..=24).contains(&records.len()),
        "{} records",
        records.len()
    );
    for (i, r) in records.iter().enumerate() {
        assert!((r["t"].as_f64().unwrap() - 0.5 * (i + 1) as f64).abs() < 1e-9);
        for field in [
            "tempo_bpm",
            "tempo_confidence",
            "loudness_db",
            "rms_db",
            "mode_strength",
        ] {
            assert!(r[field].as_f64().unwrap().is_finite(), "{field}");
        }
        assert!(
            r.get("mfcc_0_mean").is_none(),
            "features only with --features"
        );
    }
    let last = records.last().unwrap();
    let tempo = last["tempo_bpm"].as_f64().unwrap();
    assert!((tempo - 120.0).abs() < 2.4, "tempo {tempo}");
    assert_eq!(last["key"], "A");
    assert_eq!(last["mode"], "minor");
}

#[test]
fn features_flag_and_csv_carry_the_whole_vector() {
    let path = scratch_dir().join("music_features.wav");
    write_music_wav(&path);
    let path = path.to_str().unwrap();

    let records = json_lines(&moodscape(&["analyze", path, "--features"]));
    let first = records[0].as_object().unwrap();
    // 8 analysis fields, valence, arousal, quadrant, mood_state, quadrant_name, then the features.
    assert_eq!(first.len(), 13 + feature_names().len());
    for name in feature_names() {
        assert!(first[*name].as_f64().unwrap().is_finite(), "{name}");
    }

    let csv = moodscape(&["analyze", path, "--format", "csv", "--features"]);
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        ["t", "tempo_bpm", "tempo_confidence", "key", "mode"]
    );
    assert_eq!(header.len(), 13 + feature_names().len());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), records.len());
    for row in &rows {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[3], "A");
        let t: f64 = row[0].parse().unwrap();
        assert!(t > 0.0);
    }
    // CSV and JSON agree value for value.
    let last_json = records.last().unwrap();
    for (name, cell) in header.iter().zip(rows.last().unwrap()) {
        match last_json[*name].as_f64() {
            Some(v) => assert_eq!(cell.parse::<f64>().unwrap(), v, "{name}"),
            None => assert_eq!(last_json[*name].as_str().unwrap(), *cell, "{name}"),
        }
    }
}

#[test]
fn flac_mp3_and_ogg_vorbis_decode_and_analyze() {
    for (name, rate, channels) in [
        ("tone_a440_22k_mono.flac", 22_050, 1),
        ("tone_a440_44k_stereo.mp3", 24_000, 2),
        ("tone_a440_44k_stereo.ogg", 44_100, 2),
    ] {
        let path = fixture(name);
        let decoded = decode_file(&path).unwrap();
        assert_eq!(
            (decoded.sample_rate, decoded.channels),
            (rate, channels),
            "{name}"
        );
        // Encoders pad a little (MP3 adds a frame or two).
        assert!((decoded.duration_seconds() - 2.0).abs() < 0.1, "{name}");
        let peak = decoded.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - 0.5).abs() < 0.06, "{name}: peak {peak}");

        let records = json_lines(&moodscape(&[
            "analyze",
            path.to_str().unwrap(),
            "--features",
        ]));
        assert!(records.len() >= 3, "{name}: {} records", records.len());
        let pitch = records.last().unwrap()["melody_pitch_median_hz"]
            .as_f64()
            .unwrap();
        assert!((pitch - 440.0).abs() < 2.0, "{name}: pitch {pitch}");
        assert_eq!(records.last().unwrap()["key"], "A", "{name}");
    }
}

/// Asserts a clean failure: non-zero exit, exactly one line on stderr, no panic.
fn assert_one_line_error(path: &Path, expect: &str) {
    let output = moodscape(&["analyze", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{}: should fail", path.display());
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}: {stderr}",
        path.display()
    );
    assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
    assert!(stderr.starts_with("moodscape: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(expect), "expected '{expect}' in: {stderr}");
}

#[test]
fn bad_files_fail_with_one_line() {
    let dir = scratch_dir();

    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert_one_line_error(&empty, "contains no audio");
    assert!(matches!(decode_file(&empty), Err(AudioFileError::Empty(_))));

    let text = dir.join("notes.mp3");
    std::fs::write(
        &text,
        "these are not the droids you are looking for\n".repeat(50),
    )
    .unwrap();
    assert_one_line_error(&text, "not a supported audio file");

    let missing = dir.join("does_not_exist.flac");
    assert_one_line_error(&missing, "cannot read");

    // A WAV cut inside its header.
    let full = dir.join("for_truncation.wav");
    write_music_wav(&full);
    let bytes = std::fs::read(&full).unwrap();
    let truncated = dir.join("truncated.wav");
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    let output = moodscape(&["analyze", truncated.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);

    // An Ogg Vorbis stream with its pages damaged after the headers.
    let mut ogg = std::fs::read(fixture("tone_a440_44k_stereo.ogg")).unwrap();
    for i in (4_500..ogg.len()).step_by(37) {
        ogg[i] ^= 0x5a;
    }
    let corrupt = dir.join("corrupt.ogg");
    std::fs::write(&corrupt, &ogg).unwrap();
    assert_one_line_error(&corrupt, "corrupt");

    // Valid but far too short for one update.
    let short = dir.join("short.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(&short, spec).unwrap();
    for _ in 0..2_205 {
        writer.write_sample(0.1f32).unwrap();
    }
    writer.finalize().unwrap();
    assert_one_line_error(&short, "shorter than one update");
}

/// A WAV header with impossible numbers (symphonia panicked on a zero sample rate) is a one-line
/// error with exit 1 in `analyze` and in `demo --input`, never a panic.
#[test]
fn wav_headers_with_zero_rate_channels_or_block_fail_with_one_line() {
    let dir = scratch_dir();
    let good = dir.join("for_header_damage.wav");
    write_music_wav(&good);
    let bytes = std::fs::read(&good).unwrap();
    // Canonical 44-byte header: channels at 22, sample rate at 24, block align at 32.
    for (name, offset, width, expect) in [
        ("rate0.wav", 24, 4, "sample rate is 0"),
        ("channels0.wav", 22, 2, "0 channels"),
        ("block0.wav", 32, 2, "0 bytes"),
    ] {
        let mut damaged = bytes.clone();
        damaged[offset..offset + width].fill(0);
        let path = dir.join(name);
        std::fs::write(&path, &damaged).unwrap();
        assert_one_line_error(&path, expect);
        let out = dir.join(format!("demo-{name}"));
        let output = moodscape(&[
            "demo",
            "--input",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "demo {name}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "demo {name}: {stderr}"
        );
        assert!(
            stderr.contains(expect) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

/// The four quadrants under one vocabulary: `analyze --help` names them, every record carries
/// the code and the name, and the clip summary labels its shares, in JSONL and in the CSV file
/// `--summary` writes.
#[test]
fn quadrants_are_named_in_help_records_and_summary() {
    let help = moodscape(&["analyze", "--help"]);
    // Words only: clap may wrap lines.
    let help = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for name in [
        "Q1 pleasant-excited",
        "Q2 unpleasant-excited",
        "Q3 unpleasant-calm",
        "Q4 pleasant-calm",
    ] {
        assert!(help.contains(name), "analyze --help lacks {name}: {help}");
    }

    let dir = scratch_dir();
    let path = dir.join("music_vocabulary.wav");
    write_music_wav(&path);
    let path = path.to_str().unwrap();
    let names = [
        ("Q1", "pleasant-excited"),
        ("Q2", "unpleasant-excited"),
        ("Q3", "unpleasant-calm"),
        ("Q4", "pleasant-calm"),
    ];
    let output = moodscape(&["analyze", path]);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, records) = lines.split_last().unwrap();
    let mut named = 0;
    for record in records {
        // Warming and silent windows carry no estimate, so no quadrant and no name.
        let Some(code) = record["quadrant"].as_str() else {
            assert_ne!(record["mood_state"], "music", "{record}");
            assert!(record["quadrant_name"].is_null(), "{record}");
            continue;
        };
        named += 1;
        let name = names.iter().find(|(c, _)| *c == code).unwrap().1;
        assert_eq!(record["quadrant_name"], name, "{record}");
        assert_eq!(
            (record["key"].as_str(), record["mode"].as_str()),
            (Some("A"), Some("minor"))
        );
    }
    assert!(named > 0, "no window was estimated");
    let summary = &summary["summary"];
    let code = summary["quadrant"].as_str().unwrap();
    assert_eq!(
        summary["quadrant_name"],
        names.iter().find(|(c, _)| *c == code).unwrap().1
    );
    let shares = summary["quadrant_shares"].as_object().unwrap();
    let keys: Vec<&str> = shares.keys().map(String::as_str).collect();
    let mut expected: Vec<String> = names
        .iter()
        .map(|(c, n)| format!("{c}_{}", n.replace('-', "_")))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    // Each share is the fraction of estimated records in that quadrant.
    for (code, name) in names {
        let count = records.iter().filter(|r| r["quadrant"] == code).count();
        let share = shares[&format!("{code}_{}", name.replace('-', "_"))]
            .as_f64()
            .unwrap();
        assert!((share - count as f64 / named as f64).abs() < 1e-6, "{code}");
    }

    // CSV: stdout stays one table, the summary goes to its own CSV file.
    let summary_csv = dir.join("summary.csv");
    let output = moodscape(&[
        "analyze",
        path,
        "--format",
        "csv",
        "--summary",
        summary_csv.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("summary"),
        "summary went to stderr although --summary was given"
    );
    let table = String::from_utf8(output.stdout).unwrap();
    assert_eq!(table.lines().count(), records.len() + 1);
    assert!(table
        .lines()
        .next()
        .unwrap()
        .ends_with("quadrant,mood_state,quadrant_name"));
    let text = std::fs::read_to_string(&summary_csv).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    let cell = |name: &str| rows[1][rows[0].iter().position(|h| *h == name).expect(name)];
    assert_eq!(cell("quadrant"), code);
    assert_eq!(
        cell("quadrant_name"),
        summary["quadrant_name"].as_str().unwrap()
    );
    let total: f64 = names
        .iter()
        .map(|(c, n)| {
            cell(&format!("share_{c}_{}", n.replace('-', "_")))
                .parse::<f64>()
                .unwrap()
        })
        .sum();
    assert!((total - 1.0).abs() < 1e-5, "{text}");
    // The summary counts the estimated windows only (warming and silent ones carry no mood).
    let windows: usize = cell("windows").parse().unwrap();
    assert_eq!(windows, named);
}

#[test]
fn a_directory_is_named_as_one() {
    let dir = scratch_dir().join("a_folder_of_songs");
    std::fs::create_dir_all(&dir).unwrap();
    assert_one_line_error(&dir, "is a directory");
}
