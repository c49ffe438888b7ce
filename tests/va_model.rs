//! The committed valence/arousal model: it loads, predicts finite VA on [-1, 1] for any input,
//! rejects damaged files with the right message, and ranks contrasting music the right way round.
//! Nothing here retrains: every test runs the model committed in `models/va-forest.bin`.

mod analysis_signals;

use std::path::Path;

use analysis_signals::write_wav;
use moodscape::analysis::{AnalyzerConfig, SCHEMA_VERSION};
use moodscape::va::model::{FORMAT_VERSION, MAGIC};
use moodscape::va::mood::mood_feature_names;
use moodscape::va::mood_analyzer::{analyze_mood_file, shared_network, MoodAnalyzer, MoodState};
use moodscape::va::{Va, VaModel, VaModelError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const COMMITTED: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/va-forest.bin"));

fn model() -> VaModel {
    VaModel::embedded().expect("the committed model loads")
}

fn assert_in_range(va: Va, context: &str) {
    assert!(
        va.valence.is_finite() && va.arousal.is_finite(),
        "{context}: non-finite {va:?}"
    );
    assert!(
        (-1.0..=1.0).contains(&va.valence) && (-1.0..=1.0).contains(&va.arousal),
        "{context}: out of range {va:?}"
    );
}

#[test]
fn committed_model_matches_this_engine() {
    let model = model();
    assert_eq!(model.schema_version, SCHEMA_VERSION);
    assert_eq!(model.feature_names, mood_feature_names());
    assert_eq!(VaModel::from_bytes(COMMITTED).unwrap(), model);
    // Round trip: what we write is what we read.
    assert_eq!(
        VaModel::from_bytes(&model.to_bytes().unwrap()).unwrap(),
        model
    );
}

#[test]
fn predictions_are_finite_and_bounded_for_hostile_vectors() {
    let model = model();
    let width = mood_feature_names().len();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE / 4.0,
        0.0,
        -0.0,
        1e30,
        -1e30,
    ];
    let mut vectors: Vec<Vec<f32>> = specials.iter().map(|&s| vec![s; width]).collect();
    for _ in 0..300 {
        vectors.push(
            (0..width)
                .map(|_| match rng.gen_range(0..4) {
                    0 => specials[rng.gen_range(0..specials.len())],
                    1 => rng.gen_range(-1e6..1e6),
                    _ => rng.gen_range(-100.0..100.0),
                })
                .collect(),
        );
    }
    // Wrong lengths: missing and surplus features use the fill values / are ignored.
    vectors.push(Vec::new());
    vectors.push(vec![1.0; width / 2]);
    vectors.push(vec![1.0; width * 2]);
    for (index, values) in vectors.iter().enumerate() {
        assert_in_range(model.predict_values(values), &format!("vector {index}"));
    }
    // Non-finite features count as their training median: all-NaN equals the all-median input.
    assert_eq!(
        model.predict_values(&vec![f32::NAN; width]),
        model.predict_values(&model.payload.fill)
    );
}

#[test]
fn predictions_are_finite_for_hostile_audio_through_the_real_analyzer() {
    let model = model();
    let rate = 44_100.0;
    let network = shared_network()
        .as_ref()
        .expect("the MusiCNN network loads");
    let mut analyzer = MoodAnalyzer::new(rate, 2, AnalyzerConfig::default(), Some(network.clone()));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut predictions = Vec::new();
    // 24 s of stereo: silence, NaN/Inf bursts, denormals, full-scale noise, odd block sizes.
    let frames = (24.0 * rate) as usize;
    let mut block = Vec::new();
    let mut at = 0;
    while at < frames {
        let length = rng.gen_range(1..3000).min(frames - at);
        block.clear();
        for i in 0..length * 2 {
            let second = (at + i / 2) as f64 / rate;
            block.push(match second as usize % 6 {
                0 => 0.0,
                1 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3],
                2 => f32::MIN_POSITIVE / 8.0,
                3 => rng.gen_range(-1.0..1.0),
                4 => 1e9,
                _ => (second * 440.0 * std::f64::consts::TAU).sin() as f32 * 0.3,
            });
        }
        analyzer.push_interleaved(&block, |frame| {
            predictions.push(model.predict_values(frame.row))
        });
        at += length;
    }
    assert!(predictions.len() >= 40, "{} summaries", predictions.len());
    for (index, va) in predictions.iter().enumerate() {
        assert_in_range(*va, &format!("summary {index}"));
    }
}

#[test]
fn damaged_files_get_their_own_clear_error() {
    // Wrong signature.
    let mut wrong_magic = COMMITTED.to_vec();
    wrong_magic[0] ^= 0xff;
    let error = VaModel::from_bytes(&wrong_magic).unwrap_err();
    assert!(matches!(error, VaModelError::Corrupt(_)), "{error:?}");
    assert!(error.to_string().contains("corrupt"), "{error}");

    // Empty and truncated files, at every kind of boundary.
    assert!(matches!(
        VaModel::from_bytes(&[]),
        Err(VaModelError::Corrupt(_))
    ));
    for length in [
        4,
        8,
        12,
        15,
        16,
        20,
        200,
        COMMITTED.len() / 2,
        COMMITTED.len() - 1,
    ] {
        let error = VaModel::from_bytes(&COMMITTED[..length]).unwrap_err();
        assert!(
            matches!(error, VaModelError::Corrupt(_)),
            "length {length}: {error:?}"
        );
    }

    // Another file format version.
    let mut other_format = COMMITTED.to_vec();
    other_format[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let error = VaModel::from_bytes(&other_format).unwrap_err();
    assert_eq!(
        error,
        VaModelError::FormatVersion {
            found: FORMAT_VERSION + 1,
            expected: FORMAT_VERSION
        }
    );

    // A model for another feature schema.
    let mut other_schema = COMMITTED.to_vec();
    other_schema[12..16].copy_from_slice(&(SCHEMA_VERSION + 7).to_le_bytes());
    let error = VaModel::from_bytes(&other_schema).unwrap_err();
    assert!(
        matches!(error, VaModelError::SchemaMismatch { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("schema v{}", SCHEMA_VERSION + 7))
            && message.contains("train-va"),
        "{message}"
    );

    // Same version number but a renamed feature.
    let mut renamed = COMMITTED.to_vec();
    let first_name_at = MAGIC.len() + 12 + 2;
    renamed[first_name_at] ^= 0x20;
    let error = VaModel::from_bytes(&renamed).unwrap_err();
    assert!(
        matches!(error, VaModelError::SchemaMismatch { .. }),
        "{error:?}"
    );

    // Garbage after a valid header.
    let header_len = first_name_at - 2
        + mood_feature_names()
            .iter()
            .map(|name| 2 + name.len())
            .sum::<usize>();
    let mut garbage = COMMITTED[..header_len].to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    garbage.extend((0..5000).map(|_| rng.gen::<u8>()));
    assert!(matches!(
        VaModel::from_bytes(&garbage),
        Err(VaModelError::Corrupt(_))
    ));

    // The missing-model message names the fix.
    assert!(VaModelError::Missing
        .to_string()
        .contains("cargo xtask train-va"));
}

#[test]
fn random_corruption_never_panics_and_never_yields_a_bad_model() {
    let header_len = MAGIC.len()
        + 12
        + mood_feature_names()
            .iter()
            .map(|n| 2 + n.len())
            .sum::<usize>();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let probe = vec![0.5f32; mood_feature_names().len()];
    for trial in 0..200 {
        let mut bytes = COMMITTED.to_vec();
        for _ in 0..rng.gen_range(1..8) {
            let at = rng.gen_range(header_len..bytes.len());
            bytes[at] = rng.gen();
        }
        // Either rejected, or a model whose every path is valid and bounded.
        if let Ok(model) = VaModel::from_bytes(&bytes) {
            assert_in_range(model.predict_values(&probe), &format!("trial {trial}"));
        }
    }
}

/// Fast (150 BPM), loud, bright, major: a C-major arpeggio in sawtooth with a noise snare and
/// a kick on every beat.
fn fast_loud_major(rate: u32, seconds: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let beat = 60.0 / 150.0;
    let notes = [261.63, 329.63, 392.0, 523.25, 392.0, 329.63]; // C E G C' G E
    let n = (rate as f32 * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let in_beat = t % beat;
            let eighth = (t / (beat / 2.0)) as usize;
            let f = notes[eighth % notes.len()];
            let saw = 2.0 * ((t * f) % 1.0) - 1.0;
            let saw_fifth = 2.0 * ((t * f * 1.5) % 1.0) - 1.0;
            let kick = (-(in_beat) * 30.0).exp() * (t * 60.0 * std::f32::consts::TAU).sin();
            let snare = if (t / beat) as usize % 2 == 1 {
                (-(in_beat) * 25.0).exp() * rng.gen_range(-1.0..1.0)
            } else {
                0.0
            };
            0.35 * saw + 0.2 * saw_fifth + 0.5 * kick + 0.4 * snare
        })
        .collect()
}

/// Slow (60 BPM), quiet, dark, minor: soft sine chords A minor -> D minor -> E minor -> A minor,
/// one chord per four beats, with slow swells.
fn slow_quiet_minor(rate: u32, seconds: f32) -> Vec<f32> {
    let chords: [[f32; 3]; 4] = [
        [220.0, 261.63, 329.63],
        [146.83, 174.61, 220.0],
        [164.81, 196.0, 246.94],
        [220.0, 261.63, 329.63],
    ];
    let n = (rate as f32 * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let chord = chords[(t / 4.0) as usize % chords.len()];
            let swell = 0.6 + 0.4 * (t * std::f32::consts::PI / 4.0).sin().abs();
            let sum: f32 = chord
                .iter()
                .map(|&f| (t * f * std::f32::consts::TAU).sin())
                .sum();
            0.02 * swell * sum
        })
        .collect()
}

fn mean_prediction(model: &VaModel, path: &Path) -> Va {
    let mut sum = (0.0, 0.0, 0);
    let network = shared_network()
        .as_ref()
        .expect("the MusiCNN network loads");
    analyze_mood_file(
        path,
        AnalyzerConfig::default(),
        Some(network.clone()),
        |frame| {
            if frame.state != MoodState::Ready {
                return;
            }
            let va = model.predict_values(frame.row);
            assert_in_range(va, "synth");
            sum.0 += va.valence;
            sum.1 += va.arousal;
            sum.2 += 1;
        },
    )
    .unwrap();
    assert!(sum.2 > 20);
    Va {
        valence: sum.0 / sum.2 as f32,
        arousal: sum.1 / sum.2 as f32,
    }
}

#[test]
fn contrasting_music_is_ranked_the_right_way_round() {
    let model = model();
    let dir = std::env::temp_dir().join(format!("moodscape-va-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rate = 22_050;
    let energetic = dir.join("fast-loud-major.wav");
    let calm = dir.join("slow-quiet-minor.wav");
    write_wav(&energetic, &fast_loud_major(rate, 20.0), rate);
    write_wav(&calm, &slow_quiet_minor(rate, 20.0), rate);
    let energetic_va = mean_prediction(&model, &energetic);
    let calm_va = mean_prediction(&model, &calm);
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("fast/loud/major {energetic_va:?}; slow/quiet/minor {calm_va:?}");
    // The gaps must be clear, not rounding differences: 0.1 is half the arousal targets' spread
    // over the dataset (SD 0.20) and 0.2 half the valence targets' (SD 0.41).
    assert!(
        energetic_va.arousal > calm_va.arousal + 0.1,
        "arousal: energetic {energetic_va:?} vs calm {calm_va:?}"
    );
    assert!(
        energetic_va.valence > calm_va.valence + 0.2,
        "valence: major {energetic_va:?} vs minor {calm_va:?}"
    );
}
