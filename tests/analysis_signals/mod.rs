//! Signals the analysis tests synthesise themselves, so every expected answer is known exactly.
#![allow(dead_code)]

use moodscape::analysis::{Analyzer, AnalyzerConfig, FeatureSummary};

/// Deterministic white noise in [-1, 1] (xorshift), so tests never depend on a RNG crate's stream.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A sine of `hz` at peak `amplitude`.
pub fn sine(hz: f32, amplitude: f32, seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    (0..n)
        .map(|i| {
            amplitude
                * (2.0 * std::f64::consts::PI * hz as f64 * i as f64 / rate as f64).sin() as f32
        })
        .collect()
}

/// Click track: a 10 ms exponentially decaying noise burst on every beat, starting at t = 0.
pub fn click_track(bpm: f32, seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let mut out = vec![0.0f32; n];
    let mut noise = Noise::new(7);
    let period = 60.0 * rate as f64 / bpm as f64;
    let click_len = (0.01 * rate as f32) as usize;
    let mut beat = 0usize;
    loop {
        let start = (beat as f64 * period).round() as usize;
        if start >= n {
            break;
        }
        for i in 0..click_len.min(n - start) {
            let env = (-(i as f32) / (0.002 * rate as f32)).exp();
            out[start + i] = 0.5 * env * noise.next();
        }
        beat += 1;
    }
    out
}

/// Frequency of a MIDI note.
pub fn midi_hz(note: i32) -> f32 {
    440.0 * 2f32.powf((note - 69) as f32 / 12.0)
}

/// Adds a harmonic tone (4 partials, 1/h amplitudes) of `note` to `out[start..end]` with 10 ms fades.
fn add_tone(out: &mut [f32], note: i32, start: usize, end: usize, rate: u32, gain: f32) {
    let f0 = midi_hz(note) as f64;
    let fade = (0.01 * rate as f32) as usize;
    for i in start..end.min(out.len()) {
        let k = i - start;
        let env = (k.min(end - 1 - i) as f32 / fade as f32).min(1.0);
        let t = k as f64 / rate as f64;
        let mut v = 0.0;
        for h in 1..=4 {
            v += (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64;
        }
        out[i] += gain * env * v as f32;
    }
}

/// A cadence that establishes the key: I-IV-V-I in major, i-iv-V-i (harmonic minor) in minor,
/// 1.25 s per chord with the root doubled an octave below, repeated for `seconds`.
pub fn cadence(tonic: i32, minor: bool, seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let mut out = vec![0.0f32; n];
    let third = if minor { 3 } else { 4 };
    // (root offset from tonic, third size) for the four chords.
    let chords = [(0, third), (5, third), (7, 4), (0, third)];
    let chord_len = (1.25 * rate as f32) as usize;
    let root_note = 60 + tonic; // tonic in octave 4 (C4..B4)
    let mut start = 0;
    let mut index = 0;
    while start < n {
        let (offset, chord_third) = chords[index % 4];
        let root = root_note + offset - if offset >= 7 { 12 } else { 0 };
        let end = (start + chord_len).min(n);
        for note in [root - 12, root, root + chord_third, root + 7] {
            add_tone(&mut out, note, start, end, rate, 0.08);
        }
        start = end;
        index += 1;
    }
    out
}

/// Interleaves a mono signal into `channels` identical channels.
pub fn interleave(mono: &[f32], channels: usize) -> Vec<f32> {
    mono.iter()
        .flat_map(|&x| std::iter::repeat_n(x, channels))
        .collect()
}

/// Writes a mono 16-bit WAV with hound, so a test's audio goes through the real decoder.
pub fn write_wav(path: &std::path::Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in samples {
        writer
            .write_sample((sample.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
}

/// Runs a whole signal through a fresh analyser and returns every summary.
pub fn analyze(
    interleaved: &[f32],
    rate: f64,
    channels: usize,
    config: AnalyzerConfig,
) -> Vec<FeatureSummary> {
    let mut analyzer = Analyzer::new(rate, channels, config);
    let mut out = Vec::new();
    for block in interleaved.chunks(512 * channels) {
        analyzer.push_interleaved(block, |s| out.push(s.clone()));
    }
    out
}

/// The last summary of a mono signal at `rate` with the default configuration.
pub fn last_summary(mono: &[f32], rate: u32) -> FeatureSummary {
    analyze(mono, rate as f64, 1, AnalyzerConfig::default())
        .pop()
        .expect("signal long enough for one summary")
}
