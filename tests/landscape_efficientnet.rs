//! The candle port of EfficientNet-Lite0 against its reference: the committed fixture
//! (`tests/fixtures/efficientnet/`, a synthetic picture drawn by `xtask/convert/efficientnet.py`
//! and the embedding, logits and stage summary of that script's independent numpy float64 forward pass on the
//! original, unfolded `.pth` weights) must be reproduced within 1e-3; broken weight files must be
//! refused with an error.

use moodscape::pretrained::efficientnet::{
    EfficientNetLite0, CLASS_COUNT, EMBEDDING_DIM, MULTI_LEVEL_DIM, STAGE_SUMMARY_DIM,
};

/// The reference outputs stored beside the fixture picture.
struct Reference {
    /// Top-1 ImageNet class of the reference.
    top1_class: usize,
    /// 1280-d pooled embedding.
    embedding: Vec<f32>,
    /// 1000 ImageNet logits.
    logits: Vec<f32>,
    /// Channel means of the last block of stages 2-7 (what the mood labeller reads besides the
    /// embedding).
    stage_summary: Vec<f32>,
}

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/efficientnet")
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture_dir().join("reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    };
    Reference {
        top1_class: json["top1_class"].as_u64().unwrap() as usize,
        embedding: floats("embedding"),
        logits: floats("logits"),
        stage_summary: floats("stage_summary"),
    }
}

fn weights_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/efficientnet-lite0.safetensors")
}

fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_the_reference_forward_on_the_fixture() {
    let reference = reference();
    assert_eq!(reference.embedding.len(), EMBEDDING_DIM);
    assert_eq!(reference.logits.len(), CLASS_COUNT);
    let net = EfficientNetLite0::from_file(&weights_path()).expect("committed weights load");
    let picture = image::open(fixture_dir().join("input.png"))
        .unwrap()
        .to_rgb8();
    let embedding = net.embed(&picture).unwrap();
    let logits = net.classify(&embedding).unwrap();
    let embedding_error = max_abs_difference(&embedding, &reference.embedding);
    let logit_error = max_abs_difference(&logits, &reference.logits);
    assert!(
        embedding_error < 1e-3,
        "embedding differs from the reference by up to {embedding_error}"
    );
    assert!(
        logit_error < 1e-3,
        "logits differ from the reference by up to {logit_error}"
    );
    let top1 = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    assert_eq!(top1, Some(reference.top1_class));
    // The fixture is not a degenerate input: the embedding is spread out.
    let nonzero = embedding.iter().filter(|v| **v > 1e-3).count();
    assert!(nonzero > 300, "only {nonzero} active embedding channels");
}

#[test]
fn multi_level_features_match_the_reference_on_the_fixture() {
    let reference = reference();
    assert_eq!(reference.stage_summary.len(), STAGE_SUMMARY_DIM);
    let net = EfficientNetLite0::from_file(&weights_path()).unwrap();
    let picture = image::open(fixture_dir().join("input.png"))
        .unwrap()
        .to_rgb8();
    let features = net.multi_level_features(&picture).unwrap();
    assert_eq!(features.len(), MULTI_LEVEL_DIM);
    let (embedding, stage_summary) = features.split_at(EMBEDDING_DIM);
    let embedding_error = max_abs_difference(embedding, &reference.embedding);
    let summary_error = max_abs_difference(stage_summary, &reference.stage_summary);
    assert!(
        embedding_error < 1e-3,
        "embedding differs from the reference by up to {embedding_error}"
    );
    assert!(
        summary_error < 1e-3,
        "stage summary differs from the reference by up to {summary_error}"
    );
    // Every stage contributes something: no all-zero block of channels.
    let mut start = 0;
    for (stage, width) in (2..).zip([24usize, 40, 80, 112, 192, 320]) {
        let spread: f32 = stage_summary[start..start + width]
            .iter()
            .map(|v| v.abs())
            .sum();
        assert!(spread > 1e-3, "stage {stage} summary is all zero");
        start += width;
    }
}

#[test]
fn other_pictures_give_other_embeddings_of_any_size() {
    let net = EfficientNetLite0::from_file(&weights_path()).unwrap();
    let reference = reference();
    // A small, non-square picture goes through the resize path.
    let picture = image::RgbImage::from_fn(97, 64, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8])
    });
    let embedding = net.embed(&picture).unwrap();
    assert_eq!(embedding.len(), EMBEDDING_DIM);
    assert!(embedding.iter().all(|v| v.is_finite()));
    assert!(max_abs_difference(&embedding, &reference.embedding) > 0.1);
    assert!(net.embed(&image::RgbImage::new(0, 0)).is_err());
    assert!(net.embed_preprocessed(&[0.0; 10]).is_err());
}

#[test]
fn broken_weight_files_are_refused() {
    let bytes = std::fs::read(weights_path()).unwrap();
    // Truncated.
    let error = EfficientNetLite0::from_bytes(&bytes[..bytes.len() / 2])
        .err()
        .expect("truncated weights must be refused");
    assert!(error.to_string().contains("EfficientNet-Lite0"), "{error}");
    // Garbage.
    assert!(EfficientNetLite0::from_bytes(b"not a safetensors file").is_err());
    // A NaN planted in the data (the last 4 bytes are the last fc bias, float32).
    let mut poisoned = bytes.clone();
    let end = poisoned.len();
    poisoned[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(EfficientNetLite0::from_bytes(&poisoned).is_err());
    // A missing file names the path and the committed location.
    let error =
        EfficientNetLite0::from_file(std::path::Path::new("/nonexistent/effnet.safetensors"))
            .err()
            .unwrap();
    assert!(
        error
            .to_string()
            .contains("models/efficientnet-lite0.safetensors"),
        "{error}"
    );
}
