//! Known-answer tests of the analysis engine on signals synthesised here.

mod analysis_signals;

use analysis_signals::*;
use moodscape::analysis::{feature_names, key_name, FeatureSummary, Mode};

fn value(summary: &FeatureSummary, name: &str) -> f32 {
    summary
        .value(name)
        .unwrap_or_else(|| panic!("feature {name} missing"))
}

#[test]
fn click_tracks_60_to_180_bpm_within_two_percent() {
    let mut rows = Vec::new();
    let mut misses = 0;
    let mut octave_errors = 0;
    for bpm in (60..=180).step_by(4) {
        let signal = click_track(bpm as f32, 12.0, 22_050);
        let summary = last_summary(&signal, 22_050);
        let ratio = summary.tempo_bpm / bpm as f32;
        let within = (ratio - 1.0).abs() <= 0.02;
        let octave = [0.5f32, 2.0, 1.0 / 3.0, 3.0]
            .iter()
            .any(|r| (ratio / r - 1.0).abs() <= 0.02);
        if !within {
            misses += 1;
        }
        if octave {
            octave_errors += 1;
        }
        rows.push(format!(
            "| {bpm} | {:.2} | {:+.2} % | {:.2} | {} |",
            summary.tempo_bpm,
            (ratio - 1.0) * 100.0,
            summary.tempo_confidence,
            if within {
                "ok"
            } else if octave {
                "octave error"
            } else {
                "wrong"
            }
        ));
    }
    println!("| true BPM | estimate | error | pulse clarity | verdict |\n|---|---|---|---|---|");
    println!("{}", rows.join("\n"));
    println!("octave errors: {octave_errors}, misses: {misses}");
    assert_eq!(
        misses, 0,
        "tempo outside 2 % ({octave_errors} octave errors)"
    );
}

#[test]
fn cadences_in_all_24_keys_give_key_and_mode() {
    let mut correct = 0;
    let mut report = Vec::new();
    for minor in [false, true] {
        for tonic in 0..12 {
            let signal = cadence(tonic, minor, 11.0, 22_050);
            let summary = last_summary(&signal, 22_050);
            let want_mode = if minor { Mode::Minor } else { Mode::Major };
            let ok = summary.key == tonic as u8 && summary.mode == want_mode;
            correct += ok as usize;
            report.push(format!(
                "{} {}: got {} {} (mode strength {:+.2}) {}",
                key_name(tonic as u8),
                want_mode,
                summary.key_name(),
                summary.mode,
                summary.mode_strength,
                if ok { "ok" } else { "WRONG" }
            ));
        }
    }
    println!("{}", report.join("\n"));
    println!("key and mode correct: {correct}/24");
    assert_eq!(correct, 24);
}

#[test]
fn sine_440_reads_as_a_with_pitch_440() {
    let signal = sine(440.0, 0.5, 12.0, 22_050);
    let summary = last_summary(&signal, 22_050);
    let chroma: Vec<f32> = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ]
    .iter()
    .map(|p| value(&summary, &format!("chroma_{p}_mean")))
    .collect();
    let strongest = chroma
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap();
    let pitch = value(&summary, "melody_pitch_median_hz");
    println!(
        "chroma {chroma:.3?}\npitch {pitch:.3} Hz, voiced {:.2}",
        value(&summary, "melody_voiced_fraction")
    );
    assert_eq!(strongest, 9, "chroma peak should be A");
    assert!((chroma[9] - 1.0).abs() < 1e-3);
    assert!(chroma.iter().enumerate().all(|(i, c)| i == 9 || *c < 0.2));
    assert!((pitch - 440.0).abs() < 1.0, "pitch {pitch}");
    assert!(value(&summary, "melody_voiced_fraction") > 0.95);
    assert!(value(&summary, "melody_pitch_std_semitones") < 0.05);
    assert!(value(&summary, "spectral_centroid_hz_mean") > 400.0);
    assert!(value(&summary, "spectral_centroid_hz_mean") < 480.0);
    // A pure tone has no beating partials.
    assert!(value(&summary, "roughness_mean") < 0.01);
}

#[test]
fn minus_20_dbfs_sine_reads_minus_20_within_a_tenth_of_a_db() {
    for (rate, channels) in [(22_050u32, 1usize), (44_100, 2), (48_000, 2)] {
        let mono = sine(997.0, 0.1, 12.0, rate);
        let summaries = analyze(
            &interleave(&mono, channels),
            rate as f64,
            channels,
            Default::default(),
        );
        let last = summaries.last().unwrap();
        println!(
            "{rate} Hz x{channels}: rms {:.3} dBFS, loudness {:.3} LUFS",
            last.rms_db, last.loudness_db
        );
        assert!((last.rms_db + 20.0).abs() < 0.1, "rms {}", last.rms_db);
        assert!(
            (last.loudness_db + 20.0).abs() < 0.1,
            "loudness {}",
            last.loudness_db
        );
        assert!(value(last, "level_range_db") < 0.5);
    }
}

#[test]
fn silence_and_dc_give_finite_values() {
    for (label, level) in [("silence", 0.0f32), ("dc +0.5", 0.5), ("dc -1.0", -1.0)] {
        let signal = vec![level; 22_050 * 12];
        let summaries = analyze(&signal, 22_050.0, 1, Default::default());
        assert_eq!(summaries.len(), 24);
        for s in &summaries {
            assert_eq!(s.values.len(), feature_names().len());
            for (name, v) in feature_names().iter().zip(&s.values) {
                assert!(v.is_finite(), "{label}: {name} = {v}");
            }
            assert!(s.loudness_db.is_finite() && s.rms_db.is_finite() && s.tempo_bpm.is_finite());
            // Once the switch-on step at t = 0 has left the 10 s window there is nothing to
            // beat, no pitch and no onset.
            if level != 0.0 && s.t < 10.5 {
                continue;
            }
            assert_eq!(s.tempo_bpm, 0.0, "{label}");
            assert_eq!(value(s, "melody_voiced_fraction"), 0.0, "{label}");
            assert_eq!(value(s, "rhythm_onset_rate_hz"), 0.0, "{label}");
        }
        let last = summaries.last().unwrap();
        println!(
            "{label}: rms {} dBFS, loudness {} LUFS",
            last.rms_db, last.loudness_db
        );
        if level == 0.0 {
            assert_eq!(last.rms_db, -100.0);
            assert_eq!(last.loudness_db, -100.0);
        } else {
            // DC keeps its RMS but has no K-weighted loudness (the RLB high-pass removes it).
            let expected = 20.0 * level.abs().log10() + 3.0103;
            assert!((last.rms_db - expected).abs() < 0.01);
            assert_eq!(last.loudness_db, -100.0);
        }
    }
}
