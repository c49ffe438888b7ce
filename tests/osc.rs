//! The OSC output with real UDP sockets on 127.0.0.1: the sender's messages, rate and failure
//! statuses, the live pipeline carrying on through network failures, and `moodscape analyze
//! --osc` streaming a file, and the standalone (in Xvfb) sending the same messages. The plugin in
//! a real host (clack-host) is covered by
//! `host_clap::osc_reaches_a_udp_socket`.

mod analysis_signals;
mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moodscape::live::osc::{MIN_INTERVAL, REFRESH_INTERVAL};
use moodscape::live::{
    capture_ring, AnalysisControls, LivePipeline, LiveState, OscConfig, OscFrame, OscSender,
    OscSettings,
};
use rosc::OscType;

use common::{assert_osc_bundle, osc_arg, start_standalone_window, start_xvfb, OscReceiver};

fn settings(port: u16, prefix: &str) -> OscSettings {
    OscSettings {
        enabled: true,
        host: "127.0.0.1".into(),
        port,
        prefix: prefix.into(),
    }
}

/// A state as the analysis thread publishes it: a held mood in Q4 and A minor at 128 BPM.
fn published_state() -> LiveState {
    let live = LiveState::default();
    live.valence.store(0.6, Ordering::Relaxed);
    live.arousal.store(-0.4, Ordering::Relaxed);
    live.tempo_bpm.store(128.0, Ordering::Relaxed);
    live.key.store(9, Ordering::Relaxed);
    live.minor.store(true, Ordering::Relaxed);
    live.loudness_db.store(-14.0, Ordering::Relaxed);
    live.summaries.store(1, Ordering::Relaxed);
    live
}

#[test]
fn the_sender_sends_every_message_at_2_hz_and_on_change() {
    let receiver = OscReceiver::bind();
    let config = Arc::new(OscConfig::new(settings(receiver.port(), "/t")));
    let mut sender = OscSender::new(config.clone());
    let live = published_state();

    sender.poll(&live);
    let first = receiver.bundles(Duration::from_millis(200));
    assert_eq!(first.len(), 1, "the first poll sends at once");
    let bundle = &first[0];
    let expected = [
        ("/t/valence", OscType::Float(0.6)),
        ("/t/arousal", OscType::Float(-0.4)),
        ("/t/quadrant", OscType::String("Q4 pleasant-calm".into())),
        ("/t/tempo", OscType::Float(128.0)),
        ("/t/key", OscType::String("A".into())),
        ("/t/mode", OscType::String("minor".into())),
        ("/t/loudness", OscType::Float(-14.0)),
        ("/t/silent", OscType::Int(0)),
    ];
    for (address, value) in &expected {
        assert_eq!(
            osc_arg(bundle, address),
            Some(value),
            "{address} in {bundle:?}"
        );
    }
    assert_eq!(bundle.len(), expected.len(), "{bundle:?}");
    assert!(config.status().starts_with("OSC sending to 127.0.0.1:"));

    // Unchanged: only the 2 Hz refresh, whatever the poll rate.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1200) {
        sender.poll(&live);
        std::thread::sleep(Duration::from_millis(5));
    }
    let refreshes = receiver.bundles(Duration::from_millis(100)).len();
    assert!(
        (1..=3).contains(&refreshes),
        "{refreshes} bundles in 1.2 s of an unchanged state; the refresh is every {REFRESH_INTERVAL:?}"
    );

    // A change goes out before the next refresh, but not within the rate limit.
    live.valence.store(-0.6, Ordering::Relaxed);
    std::thread::sleep(MIN_INTERVAL + Duration::from_millis(10));
    let before_send = Instant::now();
    sender.poll(&live);
    live.valence.store(0.2, Ordering::Relaxed);
    let before_early_poll = Instant::now();
    sender.poll(&live);
    let early = receiver.bundles(Duration::from_millis(20));
    let changed = early
        .first()
        .expect("the change after the rate limit went out");
    assert_eq!(
        osc_arg(changed, "/t/quadrant"),
        Some(&OscType::String("Q3 unpleasant-calm".into()))
    );
    if before_early_poll.duration_since(before_send) < MIN_INTERVAL {
        assert_eq!(
            early.len(),
            1,
            "a change within {MIN_INTERVAL:?} was sent: {early:?}"
        );
    }
    std::thread::sleep(MIN_INTERVAL + Duration::from_millis(10));
    sender.poll(&live);
    let late = receiver.bundles(Duration::from_millis(100));
    assert!(
        late.iter()
            .any(|bundle| osc_arg(bundle, "/t/valence") == Some(&OscType::Float(0.2))),
        "the change to valence 0.2 never went out: {late:?}"
    );

    // Off: nothing leaves.
    config.set(OscSettings {
        enabled: false,
        ..settings(receiver.port(), "/t")
    });
    sender.poll(&live);
    assert!(receiver.bundles(Duration::from_millis(100)).is_empty());
    assert_eq!(config.status(), "OSC off");
}

#[test]
fn bad_settings_and_a_missing_receiver_show_in_the_status() {
    let receiver = OscReceiver::bind();
    let config = Arc::new(OscConfig::new(settings(receiver.port(), "/t")));
    let mut sender = OscSender::new(config.clone());
    let live = published_state();
    for (bad, expected) in [
        (
            OscSettings {
                host: "vj-laptop.local".into(),
                ..settings(receiver.port(), "/t")
            },
            "not an IP address",
        ),
        (settings(0, "/t"), "port 0"),
        (
            settings(receiver.port(), "moodscape"),
            "must start with `/`",
        ),
        (settings(receiver.port(), "/mood scape"), "reserves"),
    ] {
        config.set(bad.clone());
        sender.poll(&live);
        let status = config.status();
        assert!(
            status.starts_with("OSC error") && status.contains(expected),
            "{bad:?}: status `{status}` should say `{expected}`"
        );
    }
    assert!(receiver.bundles(Duration::from_millis(100)).is_empty());
    // Fixed settings work again.
    config.set(settings(receiver.port(), "/t"));
    sender.poll(&live);
    assert_eq!(receiver.bundles(Duration::from_millis(200)).len(), 1);

    // Nothing listening on a loopback port: the sends fail, the status says why, and sending
    // resumes once a receiver appears.
    let lonely_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{lonely_port}");
    let mut lonely = OscSender::for_settings(OscSettings::for_target(&target, "/t").unwrap())
        .expect("a loopback target opens");
    let frame = OscFrame::from_live(&live);
    let sent: Vec<bool> = (0..6)
        .map(|_| {
            let ok = lonely.send(&frame);
            std::thread::sleep(Duration::from_millis(20));
            ok
        })
        .collect();
    let status = lonely.config().status();
    assert!(sent.contains(&false), "no send failed: {sent:?}");
    assert!(
        status.starts_with("OSC error") && status.contains("nothing is listening"),
        "status `{status}`"
    );
    let late_receiver = UdpSocket::bind(&target).expect("the port is free again");
    std::thread::sleep(Duration::from_millis(2100));
    assert!(lonely.send(&frame), "{}", lonely.config().status());
    late_receiver
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buffer = [0u8; 4096];
    let size = late_receiver.recv(&mut buffer).expect("the bundle arrives");
    assert!(rosc::decoder::decode_udp(&buffer[..size]).is_ok());
    assert!(lonely.config().status().starts_with("OSC sending to"));
}

/// 3 s of music-like audio, 48 kHz stereo, as the ring would carry it.
fn music(seconds: f32) -> Vec<f32> {
    let rate = 48_000;
    let clicks = analysis_signals::click_track(120.0, seconds, rate);
    let chords = analysis_signals::cadence(9, true, seconds, rate);
    let mono: Vec<f32> = clicks
        .iter()
        .zip(&chords)
        .map(|(c, h)| 0.6 * c + h)
        .collect();
    analysis_signals::interleave(&mono, 2)
}

#[test]
fn the_analysis_goes_on_whatever_the_network_does() {
    let lonely_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (label, broken) in [
        (
            "a host name",
            OscSettings {
                host: "vj-laptop.local".into(),
                ..settings(9000, "/t")
            },
        ),
        ("nothing listening", settings(lonely_port, "/t")),
    ] {
        let live = Arc::new(LiveState::default());
        let controls = Arc::new(AnalysisControls {
            osc: Arc::new(OscConfig::new(broken)),
            ..AnalysisControls::default()
        });
        let (mut writer, reader) = capture_ring(2, Arc::default());
        let mut pipeline =
            LivePipeline::new(reader, 48_000.0, live.clone(), controls.clone(), None);
        let audio = music(3.0);
        for block in audio.chunks(2 * 512) {
            let (left, right): (Vec<f32>, Vec<f32>) =
                block.chunks(2).map(|frame| (frame[0], frame[1])).unzip();
            writer.write_block(&[&left[..], &right[..]]);
            while pipeline.step() {}
        }
        let summaries = live.summaries.load(Ordering::Relaxed);
        assert!(summaries >= 4, "{label}: only {summaries} summaries");
        let loudness = live.loudness_db.load(Ordering::Relaxed);
        assert!(loudness > -40.0, "{label}: loudness {loudness} of music");
        if label == "a host name" {
            let status = controls.osc.status();
            assert!(
                status.starts_with("OSC error"),
                "{label}: status `{status}`"
            );
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("osc");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A short A minor cadence over 120 BPM clicks, 44.1 kHz mono.
/// Each test writes its own file: the tests run in parallel.
fn music_file(name: &str, seconds: f32) -> PathBuf {
    let rate = 44_100;
    let clicks = analysis_signals::click_track(120.0, seconds, rate);
    let chords = analysis_signals::cadence(9, true, seconds, rate);
    let mono: Vec<f32> = clicks
        .iter()
        .zip(&chords)
        .map(|(c, h)| 0.6 * c + h)
        .collect();
    let path = scratch(&format!("{name}.wav"));
    analysis_signals::write_wav(&path, &mono, rate);
    path
}

fn analyze(file: &Path, extra: &[&str]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .arg("analyze")
        .arg(file)
        .args(extra)
        .output()
        .expect("running moodscape analyze");
    (output, started.elapsed())
}

fn records(output: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "moodscape analyze failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record.get("summary").is_none())
        .collect()
}

fn as_f32(value: &serde_json::Value) -> f32 {
    value.as_f64().expect("a number") as f32
}

/// `analyze --osc` sends one bundle per record, carrying the record's own values.
#[test]
fn analyze_streams_each_update_over_osc() {
    let receiver = OscReceiver::bind();
    let file = music_file("streams", 3.0);
    let target = format!("127.0.0.1:{}", receiver.port());
    let (output, _) = analyze(
        &file,
        &["--osc", &target, "--osc-fast", "--osc-prefix", "/cli"],
    );
    let records = records(&output);
    let bundles = receiver.bundles(Duration::from_millis(300));
    assert!(records.len() >= 5, "{} records", records.len());
    assert_eq!(bundles.len(), records.len(), "one bundle per record");
    for (record, bundle) in records.iter().zip(&bundles) {
        let va = assert_osc_bundle(bundle, "/cli");
        let arg = |name: &str| osc_arg(bundle, &format!("/cli/{name}")).cloned();
        assert_eq!(
            arg("tempo"),
            Some(OscType::Float(as_f32(&record["tempo_bpm"])))
        );
        assert_eq!(
            arg("key"),
            Some(OscType::String(record["key"].as_str().unwrap().into()))
        );
        assert_eq!(
            arg("mode"),
            Some(OscType::String(record["mode"].as_str().unwrap().into()))
        );
        let loudness = as_f32(&record["loudness_db"]);
        assert_eq!(arg("loudness"), Some(OscType::Float(loudness)));
        let silent = record["mood_state"] == "silent";
        assert_eq!(arg("silent"), Some(OscType::Int(i32::from(silent))));
        match record["valence"].as_f64() {
            Some(valence) => {
                let arousal = as_f32(&record["arousal"]);
                assert_eq!(va, Some((valence as f32, arousal)), "{record}");
            }
            None => assert_eq!(va, None, "no model, no VA messages"),
        }
    }
}

/// Without `--osc-fast` the updates keep the file's pace, like playback.
#[test]
fn analyze_paces_osc_like_playback() {
    let receiver = OscReceiver::bind();
    let file = music_file("paced", 3.0);
    let target = format!("127.0.0.1:{}", receiver.port());
    let (output, elapsed) = analyze(&file, &["--osc", &target]);
    let records = records(&output);
    let last_t = records.last().unwrap()["t"].as_f64().unwrap();
    assert!(
        elapsed.as_secs_f64() >= last_t - 0.25,
        "{last_t} s of updates streamed in {elapsed:?}"
    );
    assert_eq!(
        receiver.bundles(Duration::from_millis(300)).len(),
        records.len()
    );
}

#[test]
fn analyze_rejects_a_bad_osc_target_in_one_line() {
    let file = music_file("rejects", 1.0);
    for (target, expected) in [
        ("vj-laptop.local:9000", "not an IP address"),
        ("127.0.0.1:0", "port 0"),
        ("127.0.0.1", "HOST:PORT"),
    ] {
        let (output, _) = analyze(&file, &["--osc", target]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{target} was accepted");
        assert!(stderr.contains(expected), "{target}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{target}: {stderr}");
        assert!(output.stdout.is_empty(), "{target}: analysis ran anyway");
    }
}

/// `moodscape standalone --osc` (the plugin in nice-plug's standalone wrapper, editor open,
/// dummy backend) sends the same bundles as the plugin in a host.
#[test]
fn the_standalone_sends_the_same_messages() {
    let receiver = OscReceiver::bind();
    let (_xvfb, display) = start_xvfb(120..150);
    let target = format!("127.0.0.1:{}", receiver.port());
    // Waits for the window (starting again if it never opens) before listening.
    let (_standalone, _window) = start_standalone_window(
        env!("CARGO_BIN_EXE_moodscape"),
        &[
            "--osc",
            &target,
            "--osc-prefix",
            "/standalone",
            "--backend",
            "dummy",
        ],
        &display,
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut with_readouts = Vec::new();
    while Instant::now() < deadline && with_readouts.len() < 3 {
        for bundle in receiver.bundles(Duration::from_millis(500)) {
            assert!(
                assert_osc_bundle(&bundle, "/standalone").is_some(),
                "no mood in {bundle:?}"
            );
            if osc_arg(&bundle, "/standalone/tempo").is_some() {
                with_readouts.push(bundle);
            }
        }
    }
    assert!(
        with_readouts.len() >= 3,
        "the standalone sent {} bundles with readouts in 40 s",
        with_readouts.len()
    );
    // The dummy backend's input is digital silence.
    assert_eq!(
        osc_arg(with_readouts.last().unwrap(), "/standalone/silent"),
        Some(&OscType::Int(1))
    );
}
