//! `moodscape demo --input` on a 30-minute file: streamed, its peak memory stays under 300 MB
//! and the animation under its frame cap, whatever the length.
//!
//! Ignored by default (it runs for minutes, beyond CI's per-test budget). Run it with
//! `cargo test --profile ci --test demo_long -- --ignored --nocapture`. It builds the file in
//! `target/tmp` by concatenating Debian's Wesnoth music (package `wesnoth-1.16-music`), which is
//! never committed, and skips with a message when that music is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use moodscape::audio_file::decode_file;

/// Where Debian installs the music.
const MUSIC_DIR: &str = "/usr/share/games/wesnoth/1.16/data/core/music";

/// Length of the test file, seconds.
const LENGTH_SECONDS: u32 = 30 * 60;

/// The goal from the "first hour" issue.
const MAX_PEAK_RSS_MB: f64 = 300.0;

/// Concatenates 44.1 kHz stereo tracks into one 16-bit WAV of [`LENGTH_SECONDS`].
fn build_long_file(path: &Path) -> bool {
    let mut tracks: Vec<PathBuf> = match std::fs::read_dir(MUSIC_DIR) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "ogg"))
            .collect(),
        Err(_) => return false,
    };
    tracks.sort();
    if tracks.is_empty() {
        return false;
    }
    let rate = 44_100u32;
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let wanted = u64::from(LENGTH_SECONDS) * u64::from(rate) * 2;
    let mut written = 0u64;
    'outer: for track in tracks.iter().cycle() {
        let Ok(audio) = decode_file(track) else {
            continue;
        };
        if audio.sample_rate != rate || audio.channels != 2 {
            continue;
        }
        for &x in &audio.samples {
            if written == wanted {
                break 'outer;
            }
            writer
                .write_sample((x.clamp(-1.0, 1.0) * 32_767.0) as i16)
                .unwrap();
            written += 1;
        }
    }
    writer.finalize().unwrap();
    true
}

/// Peak resident set of `command` in MB, with GNU time's `%M` (KiB), and its wall time.
fn peak_rss(command: &mut Command) -> (f64, f64, String) {
    let started = Instant::now();
    let output = command.output().expect("run under /usr/bin/time");
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let kib: f64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
    (kib / 1024.0, wall, stdout)
}

#[test]
#[ignore = "minutes long; run with --ignored"]
fn thirty_minute_input_streams_in_bounded_memory() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("SKIPPED: /usr/bin/time (GNU time) is not installed");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo_long");
    std::fs::create_dir_all(&dir).unwrap();
    let long = dir.join("thirty-minutes.wav");
    if !long.exists() && !build_long_file(&long) {
        eprintln!("SKIPPED: no music in {MUSIC_DIR} (apt-get install wesnoth-1.16-music)");
        return;
    }
    let out = dir.join("demo");
    let _ = std::fs::remove_dir_all(&out);
    let (rss_mb, wall, stdout) = peak_rss(
        Command::new("/usr/bin/time")
            .args(["-f", "PEAK_RSS_KIB %M"])
            .arg(env!("CARGO_BIN_EXE_moodscape"))
            .args(["demo", "--input"])
            .arg(&long)
            .arg("--out")
            .arg(&out),
    );
    eprintln!("demo --input on 30 min: peak RSS {rss_mb:.0} MB, {wall:.0} s\n{stdout}");
    assert!(
        rss_mb <= MAX_PEAK_RSS_MB,
        "peak RSS {rss_mb:.0} MB > {MAX_PEAK_RSS_MB} MB"
    );
    let frames: usize = stdout
        .split(" animation frames")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in {stdout}"));
    assert!(frames <= moodscape::demo::MAX_ANIMATION_FRAMES, "{frames}");
    assert!(stdout.contains("animation capped at"), "{stdout}");
    let gif = std::fs::metadata(out.join("landscape-morph.gif"))
        .unwrap()
        .len();
    eprintln!("GIF {:.1} MB, {frames} frames", gif as f64 / 1e6);
    let timeline = std::fs::read_to_string(out.join("va-timeline.csv")).unwrap();
    assert!(timeline.lines().count() > 3000, "a row every 0.5 s");
}
