//! Speed of the whole analysis engine against librosa on the same file in the same run, the live
//! CPU cost at 48 kHz stereo (engine alone, and engine + MusiCNN against it, same run), MusiCNN's
//! cost per patch on one thread, and tempo/key agreement with librosa on real recordings.
//!
//! `cargo bench --bench analysis` (set `MOODSCAPE_BENCH_SKIP_LIBROSA=1` for Rust numbers only,
//! `MOODSCAPE_BENCH_REAL=N` to compare on N real recordings, default 30, 0 to skip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use std::sync::Arc;

use moodscape::analysis::{analyze_file, Analyzer, AnalyzerConfig, Mode, PITCH_CLASS_NAMES};
use moodscape::audio_file::decode_file;
use moodscape::pretrained::musicnn::{Musicnn, MusicnnStream, MEL_BANDS, PATCH_FRAMES};

const BENCH_SECONDS: f32 = 30.0;
const BENCH_RATE: u32 = 44_100;
/// Directories of Debian's music packages (hyperrogue-music, wesnoth-1.16-music).
const REAL_MUSIC_DIRS: [&str; 2] = [
    "/usr/share/hyperrogue/music",
    "/usr/share/games/wesnoth/1.16/data/core/music",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = root().join("target/bench-analysis");
    std::fs::create_dir_all(&dir).expect("create target/bench-analysis");
    dir
}

/// Deterministic music-like test signal: two-voice harmony changing every 2 s, a 4/4 drum
/// pattern of noise bursts at 112 BPM and a little hiss, slightly different in each channel.
fn synth_music(seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let chords = [[57, 60, 64], [53, 57, 60], [55, 59, 62], [52, 55, 59]];
    let beat = 60.0 / 112.0;
    let mut out = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f32 / rate as f32;
        let chord = chords[(t / 2.0) as usize % chords.len()];
        let mut tone = 0.0;
        for note in chord {
            let hz = 440.0 * 2f32.powf((note - 69) as f32 / 12.0);
            for h in 1..=3 {
                tone += (std::f32::consts::TAU * hz * h as f32 * t).sin() / (h * 6) as f32;
            }
        }
        let since_beat = t % beat;
        let drum = noise() * 0.4 * (-since_beat / 0.03).exp();
        let hiss = noise() * 0.01;
        out.push(0.5 * tone + drum + hiss);
        out.push(0.45 * tone + drum + hiss);
    }
    out
}

fn write_wav(path: &Path, interleaved: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for &x in interleaved {
        writer
            .write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16)
            .expect("write wav");
    }
    writer.finalize().expect("finalize wav");
}

/// CPU time of the calling thread (s), from /proc so that other processes sharing the machine do
/// not inflate it; `None` where /proc is missing.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos * 1e-9)
}

/// Medians of `runs` single-threaded passes of the engine over `samples`:
/// (CPU seconds, or wall seconds where CPU time is unavailable; wall seconds; updates).
fn time_engine(
    samples: &[f32],
    rate: f64,
    channels: usize,
    block_frames: usize,
    runs: usize,
) -> (f64, f64, usize) {
    time_analysis_thread(samples, rate, channels, block_frames, runs, None)
}

/// [`time_engine`], optionally with a MusiCNN stream fed the same blocks right after the engine
/// (what the live analysis thread does when the network is on); updates count engine summaries
/// plus MusiCNN patches.
fn time_analysis_thread(
    samples: &[f32],
    rate: f64,
    channels: usize,
    block_frames: usize,
    runs: usize,
    musicnn: Option<(&Arc<Musicnn>, f32)>,
) -> (f64, f64, usize) {
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let mut updates = 0;
    for _ in 0..runs {
        let mut analyzer = Analyzer::new(rate, channels, AnalyzerConfig::default());
        let mut stream = musicnn
            .map(|(network, hop)| MusicnnStream::new(Arc::clone(network), rate, channels, hop));
        updates = 0;
        let cpu_start = thread_cpu_seconds();
        let start = Instant::now();
        for block in samples.chunks(block_frames * channels) {
            analyzer.push_interleaved(block, |s| {
                updates += 1;
                std::hint::black_box(s);
            });
            if let Some(stream) = stream.as_mut() {
                stream.push_interleaved(block, |p| {
                    updates += 1;
                    std::hint::black_box(p);
                });
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        wall.push(elapsed);
        cpu.push(match (cpu_start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => elapsed,
        });
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut cpu), median(&mut wall), updates)
}

fn run_librosa(script: &str, arg: &Path) -> Option<String> {
    if std::env::var_os("MOODSCAPE_BENCH_SKIP_LIBROSA").is_some() {
        println!("librosa comparison SKIPPED: MOODSCAPE_BENCH_SKIP_LIBROSA is set");
        return None;
    }
    let output = Command::new("bash")
        .arg(root().join("benches/librosa/run.sh"))
        .arg(script)
        .arg(arg)
        .output();
    match output {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            println!(
                "librosa comparison SKIPPED: the librosa Python environment (benches/librosa/run.sh, \
                 target/librosa-venv) is unavailable ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("no message")
            );
            None
        }
        Err(e) => {
            println!("librosa comparison SKIPPED: cannot start bash to run it: {e}");
            None
        }
    }
}

fn json_number(line: &str, key: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    value[key].as_f64()
}

fn speed_against_librosa() {
    let wav = out_dir().join("bench_30s_44k_stereo.wav");
    write_wav(&wav, &synth_music(BENCH_SECONDS, BENCH_RATE), BENCH_RATE);
    // Time from decoded samples, as librosa's side times from its own decoded array.
    let decoded = decode_file(&wav).expect("decode bench wav");
    let (engine, engine_wall, updates) =
        time_engine(&decoded.samples, BENCH_RATE as f64, 2, 1024, 7);
    println!(
        "== engine vs librosa on {} ({BENCH_SECONDS} s, 44.1 kHz stereo) ==",
        wav.display()
    );
    println!(
        "rust engine: {engine:.4} CPU-s, {engine_wall:.4} wall-s, median of 7 ({updates} updates, {:.0}x real time, one thread)",
        BENCH_SECONDS as f64 / engine
    );
    if let Some(out) = run_librosa("features.py", &wav) {
        let line = out.lines().last().unwrap_or("");
        match (
            json_number(line, "warm_cpu_seconds"),
            json_number(line, "cold_cpu_seconds"),
            json_number(line, "warm_seconds"),
        ) {
            (Some(warm), Some(cold), Some(warm_wall)) => {
                println!(
                    "librosa: {warm:.4} CPU-s, {warm_wall:.4} wall-s warm (median of 3); {cold:.2} CPU-s cold (first call, numba JIT)"
                );
                println!("RATIO librosa/rust, CPU time, warm: {:.1}x", warm / engine);
                println!(
                    "RATIO librosa/rust, wall time, warm: {:.1}x",
                    warm_wall / engine_wall
                );
                println!("RATIO librosa/rust, CPU time, cold: {:.1}x", cold / engine);
            }
            _ => println!("librosa: unexpected output: {line}"),
        }
    }
}

/// Live analysis-thread cost at 48 kHz stereo: the engine alone (the baseline, measured here in
/// the same run) and the engine plus MusiCNN at the default 3 s patch hop and a 1.5 s hop.
fn live_cost() {
    let seconds = 60.0;
    let rate = 48_000;
    let signal = synth_music(seconds, rate);
    // 480-frame (10 ms) blocks, as a plugin's analysis thread would receive them.
    let (elapsed, wall, _) = time_engine(&signal, rate as f64, 2, 480, 5);
    let percent = |cpu: f64| 100.0 * cpu / seconds as f64;
    println!("== live cost, 48 kHz stereo, 10 ms blocks, {seconds} s, one thread ==");
    println!(
        "engine alone (baseline, this run): {:.5} CPU-s per audio-s = {:.3} % of one core (goal <= 1 %); wall {:.3} %",
        elapsed / seconds as f64,
        percent(elapsed),
        percent(wall)
    );
    let network = match Musicnn::embedded() {
        Ok(network) => Arc::new(network),
        Err(e) => {
            println!("engine + MusiCNN: SKIPPED, the network did not load: {e}");
            return;
        }
    };
    for hop in [3.0f32, 1.5] {
        let (with_net, with_net_wall, _) =
            time_analysis_thread(&signal, rate as f64, 2, 480, 3, Some((&network, hop)));
        println!(
            "engine + MusiCNN (patch every {hop} s): {:.3} % of one core (goal <= 3 %), wall {:.3} %; RATIO against the engine alone: {:.2}x",
            percent(with_net),
            percent(with_net_wall),
            with_net / elapsed
        );
    }
}

/// MusiCNN forward cost per 3 s patch on the calling thread (median CPU time of several runs).
fn musicnn_per_patch() {
    let network = match Musicnn::embedded() {
        Ok(network) => network,
        Err(e) => {
            println!("== MusiCNN per patch: SKIPPED, the network did not load: {e} ==");
            return;
        }
    };
    let patch: Vec<f32> = (0..PATCH_FRAMES * MEL_BANDS)
        .map(|i| 1.5 + ((i % 97) as f32 * 0.37).sin())
        .collect();
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    std::hint::black_box(network.forward(&patch, 1).ok());
    for _ in 0..15 {
        let cpu_start = thread_cpu_seconds();
        let start = Instant::now();
        std::hint::black_box(network.forward(&patch, 1).ok());
        let elapsed = start.elapsed().as_secs_f64();
        wall.push(elapsed);
        cpu.push(match (cpu_start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => elapsed,
        });
    }
    cpu.sort_by(f64::total_cmp);
    wall.sort_by(f64::total_cmp);
    println!("== MusiCNN forward, one 3 s patch (187 x 96), calling thread only ==");
    println!(
        "{:.1} ms CPU per patch (median of 15; min {:.1}), {:.1} ms wall; = {:.2} % of one core at one patch per 3 s",
        1e3 * cpu[cpu.len() / 2],
        1e3 * cpu[0],
        1e3 * wall[wall.len() / 2],
        100.0 * cpu[cpu.len() / 2] / 2.992
    );
}

fn key_label(key: u8, mode: Mode) -> String {
    format!("{} {}", PITCH_CLASS_NAMES[key as usize % 12], mode)
}

/// How two (tonic, minor?) keys relate.
fn key_relation(a: (u8, bool), b: (u8, bool)) -> &'static str {
    let diff = (b.0 as i32 - a.0 as i32).rem_euclid(12);
    if a == b {
        "same"
    } else if a.1 != b.1 && ((!a.1 && diff == 9) || (a.1 && diff == 3)) {
        "relative"
    } else if a.1 != b.1 && diff == 0 {
        "parallel"
    } else if a.1 == b.1 && (diff == 5 || diff == 7) {
        "fifth"
    } else {
        "other"
    }
}

fn real_recordings() {
    let wanted: usize = std::env::var("MOODSCAPE_BENCH_REAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    if wanted == 0 {
        return;
    }
    // The same number of recordings from each package, evenly spaced in name order.
    let per_dir = wanted.div_ceil(REAL_MUSIC_DIRS.len());
    let mut picks: Vec<PathBuf> = Vec::new();
    for dir in REAL_MUSIC_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "ogg"))
            .collect();
        files.sort();
        let step = (files.len() / per_dir).max(1);
        picks.extend(files.into_iter().step_by(step).take(per_dir));
    }
    if picks.is_empty() {
        println!("== real recordings: none found (apt-get install hyperrogue-music wesnoth-1.16-music) ==");
        return;
    }
    let dir = out_dir().join("real");
    std::fs::create_dir_all(&dir).expect("create real dir");
    let list = dir.join("list.txt");
    let mut excerpts = Vec::new();
    let mut rust_results = Vec::new();
    for path in &picks {
        // The excerpt both sides see: 30 s from 15 s in (skipping intros), mono 22.05 kHz WAV.
        let Ok(decoded) = decode_file(path) else {
            continue;
        };
        let ch = decoded.channels;
        let start = (15.0 * decoded.sample_rate as f64) as usize * ch;
        // 31 s written so that the resampler's few ms of latency still let the 30 s summary
        // out; librosa reads the first 30 s of the same file.
        let len = (31.0 * decoded.sample_rate as f64) as usize * ch;
        if decoded.samples.len() < start + len {
            continue;
        }
        let excerpt = &decoded.samples[start..start + len];
        let mono: Vec<f32> = excerpt
            .chunks(ch)
            .map(|f| f.iter().sum::<f32>() / ch as f32)
            .collect();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let wav = dir.join(format!("{name}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: decoded.sample_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut writer = hound::WavWriter::create(&wav, spec).expect("create excerpt");
        for &x in &mono {
            writer.write_sample(x).expect("write excerpt");
        }
        writer.finalize().expect("finalize excerpt");
        // One summary over the whole 30 s excerpt.
        let config = AnalyzerConfig {
            window_seconds: 30.0,
            hop_seconds: 30.0,
        };
        let mut last = None;
        analyze_file(&wav, config, |s| last = Some(s.clone())).expect("analyze excerpt");
        let Some(summary) = last else { continue };
        rust_results.push((name, summary.tempo_bpm, summary.key, summary.mode));
        excerpts.push(wav.display().to_string());
    }
    std::fs::write(&list, excerpts.join("\n")).expect("write list");
    println!(
        "== tempo and key vs librosa on {} real recordings (30 s excerpts) ==",
        excerpts.len()
    );
    let Some(out) = run_librosa("compare.py", &list) else {
        for (name, tempo, key, mode) in &rust_results {
            println!("{name}: rust {tempo:.1} BPM {}", key_label(*key, *mode));
        }
        return;
    };
    let librosa: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let (mut tempo_same, mut tempo_octave, mut key_same, mut key_close) = (0, 0, 0, 0);
    println!("| recording | rust tempo | librosa tempo | tempo | rust key | librosa key | key |");
    println!("|---|---|---|---|---|---|---|");
    for ((name, tempo, key, mode), theirs) in rust_results.iter().zip(&librosa) {
        let their_tempo = theirs["tempo_bpm"].as_f64().unwrap_or(0.0) as f32;
        let their_key = theirs["key"].as_u64().unwrap_or(0) as u8;
        let their_minor = theirs["mode"] == "minor";
        let ratio = tempo / their_tempo.max(1e-3);
        let tempo_verdict = if (ratio - 1.0).abs() <= 0.04 {
            tempo_same += 1;
            "agree"
        } else if [0.5f32, 2.0, 1.0 / 3.0, 3.0, 2.0 / 3.0, 1.5]
            .iter()
            .any(|r| (ratio / r - 1.0).abs() <= 0.04)
        {
            tempo_octave += 1;
            "metrical"
        } else {
            "differ"
        };
        let relation = key_relation((*key, *mode == Mode::Minor), (their_key, their_minor));
        if relation == "same" {
            key_same += 1;
        } else if relation != "other" {
            key_close += 1;
        }
        println!(
            "| {name} | {tempo:.1} | {their_tempo:.1} | {tempo_verdict} | {} | {} {} | {relation} |",
            key_label(*key, *mode),
            PITCH_CLASS_NAMES[their_key as usize % 12],
            if their_minor { "minor" } else { "major" }
        );
    }
    let n = librosa.len().min(rust_results.len()).max(1);
    println!(
        "AGREEMENT tempo within 4 %: {tempo_same}/{n} ({:.0} %), plus {tempo_octave} metrical (x2, x1/2, x3, x1/3, x3/2, x2/3)",
        100.0 * tempo_same as f64 / n as f64
    );
    println!(
        "AGREEMENT key (tonic and mode): {key_same}/{n} ({:.0} %), plus {key_close} relative/parallel/fifth",
        100.0 * key_same as f64 / n as f64
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    musicnn_per_patch();
    live_cost();
    speed_against_librosa();
    real_recordings();
}
