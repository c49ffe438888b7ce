//! The MusiCNN port against TensorFlow: `tests/fixtures/musicnn/reference.json` holds the
//! reference outputs (musicnn 0.1.0 wheel, TF CPU, written by `xtask/convert/musicnn.py
//! --fixture`) for two inputs rebuilt here from the same recipes: a formula log-mel patch
//! (network only) and 6 s of synthetic audio (front end + network). Plus: bad weights and bad
//! input give errors, not panics.

use moodscape::pretrained::musicnn::{
    log_mel_for_clip, mel_patches_for_clip, Musicnn, EMBEDDING_DIM, MEL_BANDS, PATCH_FRAMES,
    TAG_COUNT, TAG_NAMES,
};
use serde_json::Value;

/// Agreement the port must reach on every output (the bar).
const TOLERANCE: f32 = 1e-3;
/// Agreement of the log-mel summaries with librosa (observed 4e-6): tight enough that a missing
/// float16 cast or a wrong window would show.
const FRONT_END_TOLERANCE: f32 = 1e-4;

const WEIGHTS: &[u8] = include_bytes!("../models/musicnn-msd.safetensors");

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/musicnn/reference.json"
    ))
    .expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

fn rows(value: &Value) -> Vec<Vec<f32>> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(floats)
        .collect()
}

/// Numerical Recipes' LCG, as in the Python script.
struct Lcg(u32);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f64::from(self.0) / 4_294_967_296.0
    }
}

/// Mirror of `network_only_patch()` in xtask/convert/musicnn.py.
fn network_only_patch() -> Vec<f32> {
    let mut lcg = Lcg(12345);
    let mut patch = Vec::with_capacity(PATCH_FRAMES * MEL_BANDS);
    for t in 0..PATCH_FRAMES {
        for b in 0..MEL_BANDS {
            let u = lcg.uniform();
            let burst = if (t / 16) % 2 == 0 { 1.0 } else { 0.3 };
            let (t, b) = (t as f64, b as f64);
            let centre = (b - 30.0) / 12.0;
            let v = 1.2
                + 0.8 * (2.0 * std::f64::consts::PI * t / 23.0 + b / 7.0).sin() * (b / 11.0).cos()
                + 0.9 * (-(centre * centre)).exp() * burst
                + 0.4 * u;
            patch.push(v.max(0.0) as f32);
        }
    }
    patch
}

/// Mirror of `fixture_audio()` in xtask/convert/musicnn.py.
fn fixture_audio() -> Vec<f32> {
    use std::f64::consts::PI;
    let mut lcg = Lcg(2024);
    let sr = 16_000usize;
    let minor = [220.0, 261.63, 329.63];
    let major = [261.63, 329.63, 392.0];
    (0..6 * sr)
        .map(|i| {
            let t = i as f64 / sr as f64;
            let mut x = 0.0f64;
            if t < 3.0 {
                for f in minor {
                    for (k, a) in [(1.0, 1.0), (2.0, 0.5), (3.0, 0.25)] {
                        x += 0.08 * a * (2.0 * PI * f * k * t).sin();
                    }
                }
            } else {
                for f in major {
                    for k in 1..7 {
                        let k = k as f64;
                        x += 0.06 / k * (2.0 * PI * f * k * t).sin();
                    }
                }
            }
            let noise = 2.0 * lcg.uniform() - 1.0;
            x += 0.3 * (-(t % 0.375) / 0.03).exp() * noise;
            x as f32
        })
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn check_outputs(what: &str, network: &Musicnn, mel: &[f32], patches: usize, expected: &Value) {
    let outputs = network.forward(mel, patches).expect("forward");
    let taggram = rows(&expected["taggram"]);
    let embedding = rows(&expected["embedding"]);
    assert_eq!(outputs.len(), taggram.len(), "{what}: patch count");
    for (i, output) in outputs.iter().enumerate() {
        let tag_err = max_abs_diff(&output.taggram, &taggram[i]);
        let emb_err = max_abs_diff(&output.embedding, &embedding[i]);
        println!("{what} patch {i}: taggram max |err| {tag_err:.2e}, embedding {emb_err:.2e}");
        assert!(
            tag_err <= TOLERANCE,
            "{what} patch {i}: taggram off by {tag_err}"
        );
        assert!(
            emb_err <= TOLERANCE,
            "{what} patch {i}: embedding off by {emb_err}"
        );
    }
}

#[test]
fn network_matches_tensorflow_on_the_formula_patch() {
    let reference = reference();
    let case = &reference["network_only"];
    let patch = network_only_patch();
    let mean = patch.iter().map(|&x| f64::from(x)).sum::<f64>() / patch.len() as f64;
    let expected_mean = case["input_mean"].as_f64().unwrap();
    assert!(
        (mean - expected_mean).abs() < 1e-5,
        "recipe out of step with the Python script: mean {mean} vs {expected_mean}"
    );
    let network = Musicnn::embedded().expect("embedded weights load");
    check_outputs("network only", &network, &patch, 1, case);
}

#[test]
fn front_end_and_network_match_tensorflow_on_the_synthetic_clip() {
    let reference = reference();
    let case = &reference["audio"];
    let audio = fixture_audio();
    assert_eq!(audio.len() as u64, case["samples"].as_u64().unwrap());

    let (mel, frames) = log_mel_for_clip(&audio);
    assert_eq!(frames as u64, case["frames"].as_u64().unwrap());
    let frame_means: Vec<f32> = mel
        .chunks_exact(MEL_BANDS)
        .map(|row| row.iter().sum::<f32>() / MEL_BANDS as f32)
        .collect();
    let band_means: Vec<f32> = (0..MEL_BANDS)
        .map(|b| (0..frames).map(|t| mel[t * MEL_BANDS + b]).sum::<f32>() / frames as f32)
        .collect();
    let frame_err = max_abs_diff(&frame_means, &floats(&case["log_mel_frame_means"]));
    let band_err = max_abs_diff(&band_means, &floats(&case["log_mel_band_means"]));
    println!("log-mel: frame means max |err| {frame_err:.2e}, band means {band_err:.2e}");
    assert!(
        frame_err <= FRONT_END_TOLERANCE,
        "frame means off by {frame_err}"
    );
    assert!(
        band_err <= FRONT_END_TOLERANCE,
        "band means off by {band_err}"
    );

    let (patches, count) = mel_patches_for_clip(&audio);
    assert_eq!(count as u64, case["patches"].as_u64().unwrap());
    let network = Musicnn::embedded().expect("embedded weights load");
    check_outputs("front end + network", &network, &patches, count, case);
}

#[test]
fn outputs_have_the_documented_shapes() {
    assert_eq!(TAG_NAMES.len(), TAG_COUNT);
    assert_eq!(TAG_NAMES[0], "rock");
    assert_eq!(TAG_NAMES[TAG_COUNT - 1], "happy");
    let network = Musicnn::embedded().unwrap();
    let outputs = network.forward(&[], 0).unwrap();
    assert!(outputs.is_empty());
    let out = network
        .forward(&vec![0.0; PATCH_FRAMES * MEL_BANDS], 1)
        .unwrap();
    assert_eq!(out[0].embedding.len(), EMBEDDING_DIM);
    assert!(out[0].taggram.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn bad_input_length_is_an_error() {
    let network = Musicnn::embedded().unwrap();
    let err = network
        .forward(&vec![0.0; PATCH_FRAMES * MEL_BANDS - 1], 1)
        .unwrap_err();
    assert!(err.to_string().contains("MusiCNN"), "{err}");
    assert!(network.forward(&[0.0; 10], usize::MAX).is_err());
}

#[test]
fn corrupt_or_truncated_weights_are_errors_not_panics() {
    assert!(Musicnn::from_bytes(&[]).is_err());
    assert!(Musicnn::from_bytes(b"not a safetensors file at all").is_err());
    for cut in [7, 100, WEIGHTS.len() / 2, WEIGHTS.len() - 1] {
        let err = Musicnn::from_bytes(&WEIGHTS[..cut]).unwrap_err();
        println!("cut at {cut}: {err}");
    }
    // A scrambled header.
    let mut scrambled = WEIGHTS.to_vec();
    for byte in &mut scrambled[8..200] {
        *byte = byte.wrapping_add(13);
    }
    assert!(Musicnn::from_bytes(&scrambled).is_err());
    // A NaN among the weights (last 4 bytes: the end of some tensor's data).
    let mut poisoned = WEIGHTS.to_vec();
    let at = poisoned.len() - 4;
    poisoned[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = Musicnn::from_bytes(&poisoned).unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    // A foreign but valid safetensors file.
    let foreign = safetensors::serialize(
        [(
            "input_bn.gamma",
            safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                vec![1],
                &[0, 0, 128, 63],
            )
            .unwrap(),
        )],
        &None,
    )
    .unwrap();
    let err = Musicnn::from_bytes(&foreign).unwrap_err();
    println!("foreign: {err}");
    // The intact file still loads.
    assert!(Musicnn::from_bytes(WEIGHTS).is_ok());
}
