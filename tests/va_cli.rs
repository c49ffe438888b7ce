//! `moodscape analyze` carries the committed VA model: every record gets valence, arousal and
//! quadrant, and the output ends with the clip summary (the mean over the windows).

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
    let (summary, records) = lines.split_last().unwrap();
    assert!(records.len() >= 26, "{} records", records.len());
    let (mut valence_sum, mut arousal_sum) = (0.0, 0.0);
    for record in records {
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
        &header[header.len() - 4..],
        ["valence", "arousal", "quadrant", "quadrant_name"]
    );
    assert_eq!(text.lines().count(), records.len() + 1);
    assert!(String::from_utf8_lossy(&csv.stderr).starts_with("summary: {"));
    std::fs::remove_dir_all(&dir).ok();
}
