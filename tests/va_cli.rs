//! `moodscape analyze` carries the committed VA model: every record of music gets valence,
//! arousal and quadrant, records before the first MusiCNN patch ("warming") and of silence
//! ("silent") get none, and the output ends with the clip summary (the mean over the windows of
//! music).

use std::path::Path;
use std::process::Command;

fn moodscape(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args(args)
        .output()
        .expect("run moodscape")
}

/// 14 s of a bright 140 BPM pattern, 44.1 kHz stereo, written with hound for the real decoder.
fn write_clip(path: &Path) {
    let rate = 44_100u32;
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let beat = 60.0 / 140.0;
    for i in 0..(14 * rate) {
        let t = i as f32 / rate as f32;
        let note = [261.63f32, 329.63, 392.0][(t / beat) as usize % 3];
        let tone = (t * note * std::f32::consts::TAU).sin();
        let click = (-(t % beat) * 40.0).exp() * (t * 90.0 * std::f32::consts::TAU).sin();
        let sample = ((0.3 * tone + 0.5 * click) * 20_000.0) as i16;
        writer.write_sample(sample).unwrap();
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

#[test]
fn analyze_adds_va_columns_and_a_clip_summary() {
    let dir = std::env::temp_dir().join(format!("moodscape-va-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clip.wav");
    write_clip(&path);
    let path = path.to_str().unwrap();

    let output = moodscape(&["analyze", path]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("warning"),
        "the committed model must load: {stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (summary, all_records) = lines.split_last().unwrap();
    assert!(all_records.len() >= 26, "{} records", all_records.len());
    // No estimate before the first 3 s patch: those records are marked and carry no VA.
    let (warming, records): (Vec<_>, Vec<_>) = all_records
        .iter()
        .partition(|r| r["mood_state"] == "warming");
    assert!(
        warming.iter().all(|r| r["valence"].is_null()
            && r["arousal"].is_null()
            && r["quadrant"].is_null()
            && r["t"].as_f64().unwrap() < 3.01),
        "{warming:?}"
    );
    // The first patch ends at 2.99 s but needs the STFT's look-ahead, so it is ready just
    // after the record at 3.0 s.
    assert_eq!(
        warming.len(),
        6,
        "records at 0.5 .. 3.0 s precede the first patch"
    );
    assert!(records.iter().all(|r| r["mood_state"] == "music"));
    let (mut valence_sum, mut arousal_sum) = (0.0, 0.0);
    for record in &records {
        let valence = record["valence"].as_f64().unwrap();
        let arousal = record["arousal"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&valence) && (-1.0..=1.0).contains(&arousal));
        let expected = match (valence >= 0.0, arousal >= 0.0) {
            (true, true) => "Q1",
            (false, true) => "Q2",
            (false, false) => "Q3",
            (true, false) => "Q4",
        };
        assert_eq!(record["quadrant"], expected);
        valence_sum += valence;
        arousal_sum += arousal;
    }
    let summary = &summary["summary"];
    assert_eq!(summary["windows"].as_u64().unwrap() as usize, records.len());
    let n = records.len() as f64;
    assert!((summary["valence"].as_f64().unwrap() - valence_sum / n).abs() < 1e-4);
    assert!((summary["arousal"].as_f64().unwrap() - arousal_sum / n).abs() < 1e-4);
    let shares: f64 = summary["quadrant_shares"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s.as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-4);

    // CSV keeps one rectangular table; the summary goes to stderr.
    let csv = moodscape(&["analyze", path, "--format", "csv"]);
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(
        &header[header.len() - 5..],
        [
            "valence",
            "arousal",
            "quadrant",
            "mood_state",
            "quadrant_name"
        ]
    );
    assert_eq!(text.lines().count(), all_records.len() + 1);
    assert!(String::from_utf8_lossy(&csv.stderr).starts_with("summary: {"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A 440 Hz tone with clicks at `level` (0 = digital silence), mono 22.05 kHz samples.
fn tone(seconds: f32, level: f32) -> Vec<f32> {
    let rate = 22_050.0;
    (0..(seconds * rate) as usize)
        .map(|i| {
            let t = i as f32 / rate;
            let click = (-(t % 0.5) * 30.0).exp() * (t * 90.0 * std::f32::consts::TAU).sin();
            level * (0.5 * (t * 440.0 * std::f32::consts::TAU).sin() + 0.5 * click)
        })
        .collect()
}

fn write_mono(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        writer.write_sample((s * 32_767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
}

/// Music -> 10 s digital silence -> 10 s of -80 dBFS noise-like tone -> music: the quiet parts are
/// marked silent (after the 3 s short-term span), carry no VA, and stay out of the summary.
#[test]
fn silence_is_marked_and_left_out_of_the_summary() {
    let dir = std::env::temp_dir().join(format!("moodscape-va-silence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gap.wav");
    let mut samples = tone(10.0, 0.5);
    samples.extend(tone(10.0, 0.0));
    samples.extend(tone(10.0, 1e-4));
    samples.extend(tone(10.0, 0.5));
    write_mono(&path, &samples);
    let output = moodscape(&["analyze", path.to_str().unwrap()]);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (summary, records) = lines.split_last().unwrap();
    let state_at = |t: f64| {
        records
            .iter()
            .find(|r| (r["t"].as_f64().unwrap() - t).abs() < 1e-6)
            .map(|r| r["mood_state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(state_at(9.5), "music");
    assert_eq!(state_at(14.0), "silent", "3 s after the music stopped");
    assert_eq!(state_at(19.5), "silent", "digital silence");
    assert_eq!(state_at(29.5), "silent", "-80 dBFS");
    // The gate opens at once, but the mood waits for a patch of music inside the window.
    assert_eq!(state_at(31.0), "warming");
    assert_eq!(state_at(34.0), "music");
    let mut music = 0;
    for record in records {
        if record["mood_state"] == "music" {
            assert!(record["valence"].is_number());
            music += 1;
        } else {
            assert!(record["valence"].is_null() && record["quadrant"].is_null());
        }
    }
    assert_eq!(
        summary["summary"]["windows"].as_u64().unwrap(),
        music as u64
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The demo piece (four sections written for the four quadrants) through `moodscape analyze`:
/// every quadrant occurs among the records, so the CLI's columns are exercised across the whole
/// plane (issue 16, item 5).
#[test]
fn the_four_mood_piece_covers_all_four_quadrants() {
    let dir = std::env::temp_dir().join(format!("moodscape-va-4q-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("four-moods.wav");
    let rate = 22_050;
    let (audio, _) = moodscape::demo::synth::render(rate);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for &s in &audio {
        writer.write_sample((s * 32_767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    let output = moodscape(&["analyze", path.to_str().unwrap()]);
    assert!(output.status.success());
    let mut counts = std::collections::BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(quadrant) = record["quadrant"].as_str() {
            *counts.entry(quadrant.to_string()).or_insert(0) += 1;
        }
    }
    println!("records per quadrant: {counts:?}");
    for quadrant in ["Q1", "Q2", "Q3", "Q4"] {
        assert!(
            counts.contains_key(quadrant),
            "no {quadrant} record: {counts:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
