//! The engine under hostile or unusual input: any rate, channel count and block size,
//! non-finite samples, resets and invalid construction.

mod analysis_signals;

use analysis_signals::*;
use moodscape::analysis::{
    feature_names, Analyzer, AnalyzerConfig, AnalyzerError, FeatureSummary, INTERNAL_RATE,
    SCHEMA_VERSION,
};

fn push_in_blocks(analyzer: &mut Analyzer, signal: &[f32], block: usize) -> Vec<FeatureSummary> {
    let mut out = Vec::new();
    for chunk in signal.chunks(block) {
        analyzer.push_interleaved(chunk, |s| out.push(s.clone()));
    }
    out
}

fn assert_all_finite(summaries: &[FeatureSummary]) {
    for s in summaries {
        for (name, v) in feature_names().iter().zip(&s.values) {
            assert!(v.is_finite(), "{name} = {v} at t = {}", s.t);
        }
    }
}

#[test]
fn schema_is_named_versioned_and_unique() {
    const { assert!(SCHEMA_VERSION >= 1) };
    let names = feature_names();
    let mut sorted = names.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate feature names");
    assert!(names.len() >= 100, "{} features", names.len());
    for required in [
        "mfcc_19_mean",
        "chroma_B_std",
        "spectral_contrast_6_mean",
        "zcr_mean",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
    // Serde round trip of a real summary.
    let s = last_summary(&sine(330.0, 0.3, 11.0, 22_050), 22_050);
    let json = serde_json::to_string(&s).unwrap();
    let back: FeatureSummary = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn block_size_does_not_change_the_result() {
    let mono = cadence(2, false, 11.0, 44_100);
    let stereo = interleave(&mono, 2);
    let reference = push_in_blocks(
        &mut Analyzer::new(44_100.0, 2, Default::default()),
        &stereo,
        1024,
    );
    // The resampler holds back a few milliseconds, so the last of the 22 updates is not due yet.
    assert_eq!(reference.len(), 21);
    // Odd sizes split frames between calls; the output must be bit-identical.
    for block in [1, 37, 4097] {
        let got = push_in_blocks(
            &mut Analyzer::new(44_100.0, 2, Default::default()),
            &stereo,
            block,
        );
        assert_eq!(got, reference, "block size {block}");
    }
}

#[test]
fn nan_inf_huge_and_denormal_samples_are_contained() {
    let rate = 22_050;
    let clean = click_track(120.0, 14.0, rate);
    let mut dirty = clean.clone();
    let mut zeroed = clean.clone();
    // First second: NaN, +-Inf, denormals.
    for (i, (d, z)) in dirty
        .iter_mut()
        .zip(&mut zeroed)
        .take(rate as usize)
        .enumerate()
    {
        *d = match i % 4 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 1.0e-40,
        };
        *z = 0.0;
    }
    let dirty_out = analyze(&dirty, rate as f64, 1, Default::default());
    let zeroed_out = analyze(&zeroed, rate as f64, 1, Default::default());
    assert_all_finite(&dirty_out);
    // Non-finite samples count as silence, so the outputs match a run with zeros there.
    assert_eq!(dirty_out, zeroed_out);
    // Once the burst has left the window, the result is the clean one.
    let clean_out = analyze(&clean, rate as f64, 1, Default::default());
    let (a, b) = (dirty_out.last().unwrap(), clean_out.last().unwrap());
    assert!((a.tempo_bpm - b.tempo_bpm).abs() < 0.5);
    assert!((a.rms_db - b.rms_db).abs() < 0.01);

    // Huge finite values are clipped and cannot overflow the sums.
    let huge: Vec<f32> = (0..rate as usize * 11)
        .map(|i| if i % 2 == 0 { 3.0e38 } else { -3.0e38 })
        .collect();
    let out = analyze(&huge, rate as f64, 1, Default::default());
    assert_all_finite(&out);
    assert!(out.last().unwrap().rms_db < 30.0);
}

#[test]
fn any_sample_rate_gives_the_same_pitch_and_timing() {
    for rate in [
        8_000u32, 16_000, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000, 44_099,
    ] {
        let signal = sine(440.0, 0.5, 11.0, rate);
        let out = analyze(&signal, rate as f64, 1, Default::default());
        // The resampler holds back under 0.1 s, so 21 or 22 of the 22 half-second updates.
        assert!(out.len() >= 21, "{rate} Hz: {} updates", out.len());
        for (i, s) in out.iter().enumerate() {
            assert!(
                (s.t - 0.5 * (i + 1) as f64).abs() < 1e-9,
                "{rate} Hz: t = {}",
                s.t
            );
        }
        let last = out.last().unwrap();
        let pitch = last.value("melody_pitch_median_hz").unwrap();
        println!(
            "{rate} Hz: pitch {pitch:.2} Hz, rms {:.3} dBFS",
            last.rms_db
        );
        assert!((pitch - 440.0).abs() < 1.5, "{rate} Hz: pitch {pitch}");
        // AES17: a sine of peak 0.5 reads 20 log10(0.5) dBFS.
        assert!(
            (last.rms_db - 20.0 * 0.5f32.log10()).abs() < 0.1,
            "{rate} Hz"
        );
    }
}

#[test]
fn surround_is_averaged_into_mono() {
    let mono = sine(440.0, 0.6, 11.0, 48_000);
    // 5.1 with the tone in the left channel only: the downmix is the tone at 1/6 amplitude.
    let six: Vec<f32> = mono
        .iter()
        .flat_map(|&x| [x, 0.0, 0.0, 0.0, 0.0, 0.0])
        .collect();
    let surround = analyze(&six, 48_000.0, 6, Default::default());
    let reference = analyze(
        &mono.iter().map(|x| x / 6.0).collect::<Vec<_>>(),
        48_000.0,
        1,
        Default::default(),
    );
    let (a, b) = (surround.last().unwrap(), reference.last().unwrap());
    assert!((a.rms_db - b.rms_db).abs() < 1e-3);
    assert!((a.value("melody_pitch_median_hz").unwrap() - 440.0).abs() < 1.0);
}

#[test]
fn invalid_construction_is_reported_or_repaired() {
    assert_eq!(
        Analyzer::try_new(0.0, 2, Default::default()).err(),
        Some(AnalyzerError::InvalidSampleRate(0.0))
    );
    assert!(Analyzer::try_new(f64::NAN, 2, Default::default()).is_err());
    assert_eq!(
        Analyzer::try_new(48_000.0, 0, Default::default()).err(),
        Some(AnalyzerError::NoChannels)
    );
    // `new` never panics: bad values are repaired.
    let silly = AnalyzerConfig {
        window_seconds: f32::NAN,
        hop_seconds: -1.0,
    };
    let mut analyzer = Analyzer::new(f64::INFINITY, 0, silly);
    assert_eq!(analyzer.config().window_seconds, 10.0);
    assert_eq!(analyzer.config().hop_seconds, 0.05);
    let mut count = 0;
    analyzer.push_interleaved(&vec![0.1; INTERNAL_RATE as usize], |s| {
        count += 1;
        assert!(s.values.iter().all(|v| v.is_finite()));
    });
    assert_eq!(count, 20);
    assert!(Analyzer::try_new(44_099.5, 1, Default::default()).is_ok());
}

#[test]
fn window_and_hop_are_configurable() {
    let config = AnalyzerConfig {
        window_seconds: 4.0,
        hop_seconds: 0.25,
    };
    let out = analyze(&click_track(100.0, 8.0, 22_050), 22_050.0, 1, config);
    assert_eq!(out.len(), 32);
    let last = out.last().unwrap();
    assert!((last.tempo_bpm - 100.0).abs() < 2.0, "{}", last.tempo_bpm);
}

#[test]
fn reset_starts_over() {
    let signal = interleave(&cadence(9, true, 11.0, 48_000), 2);
    let mut analyzer = Analyzer::new(48_000.0, 2, Default::default());
    let first = push_in_blocks(&mut analyzer, &signal, 960);
    analyzer.reset();
    let second = push_in_blocks(&mut analyzer, &signal, 960);
    assert_eq!(first, second);
}
