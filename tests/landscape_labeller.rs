//! The committed image VA labeller (ridge on EfficientNet-Lite0 embeddings): loads, labels real
//! decoded image files, orders obvious moods, and refuses corrupt model files; plus the colour
//! features the realism metric still uses.

use image::{Rgb, RgbImage};
use moodscape::landscape::features::{image_features, FEATURE_COUNT, FEATURE_NAMES};
use moodscape::landscape::labeller::{fit_score, ImageVaLabeller, LabellerHead};
use moodscape::landscape::LandscapeError;

/// A sunny scene: blue sky over green, sunlit grass.
fn sunny_meadow() -> RgbImage {
    RgbImage::from_fn(160, 120, |_, y| {
        if y < 60 {
            Rgb([120, 180, 250])
        } else {
            Rgb([90, 190, 60])
        }
    })
}

/// A night storm: near-black clouds with noisy grey streaks over dark ground.
fn night_storm() -> RgbImage {
    RgbImage::from_fn(160, 120, |x, y| {
        let streak = ((x * 7 + y * 13) % 11 == 0) as u8 * 70;
        if y < 70 {
            Rgb([25 + streak, 25 + streak, 35 + streak])
        } else {
            Rgb([15, 15, 12])
        }
    })
}

/// Writes `image` as a JPEG and decodes it back, as the labeller sees files on disk.
fn through_jpeg(image: &RgbImage, name: &str) -> RgbImage {
    let path = std::env::temp_dir().join(format!("moodscape-{name}-{}.jpg", std::process::id()));
    image.save(&path).unwrap();
    let decoded = image::open(&path).unwrap();
    std::fs::remove_file(&path).ok();
    decoded.to_rgb8()
}

#[test]
fn labels_decoded_files_with_plausible_moods() {
    let labeller = ImageVaLabeller::embedded().expect(
        "models/image-va.bin and models/efficientnet-lite0.safetensors are committed and load",
    );
    let sunny = labeller
        .label(&through_jpeg(&sunny_meadow(), "sunny"))
        .unwrap();
    let storm = labeller
        .label(&through_jpeg(&night_storm(), "storm"))
        .unwrap();
    for va in [sunny, storm] {
        assert!((-1.0..=1.0).contains(&va.valence) && (-1.0..=1.0).contains(&va.arousal));
    }
    assert!(
        sunny.valence > storm.valence + 0.05,
        "sunny {sunny:?} should be more pleasant than storm {storm:?}"
    );
}

#[test]
fn features_are_finite_and_respond_to_brightness() {
    assert_eq!(FEATURE_NAMES.len(), FEATURE_COUNT);
    let black = RgbImage::new(64, 64);
    let bright = RgbImage::from_pixel(64, 64, Rgb([240, 240, 240]));
    let (f_black, f_bright) = (image_features(&black), image_features(&bright));
    assert!(f_black.iter().chain(&f_bright).all(|v| v.is_finite()));
    let luma = FEATURE_NAMES
        .iter()
        .position(|n| *n == "luma_mean")
        .unwrap();
    let dark = FEATURE_NAMES
        .iter()
        .position(|n| *n == "dark_fraction")
        .unwrap();
    assert!(f_bright[luma] > 0.9 && f_black[luma] < 0.01);
    assert_eq!((f_black[dark], f_bright[dark]), (1.0, 0.0));
    // A flat image has no texture; the storm has some.
    let gradient = FEATURE_NAMES
        .iter()
        .position(|n| *n == "gradient_mean")
        .unwrap();
    assert_eq!(f_bright[gradient], 0.0);
    assert!(image_features(&night_storm())[gradient] > 0.0);
}

#[test]
fn corrupt_model_files_are_clear_errors() {
    for bytes in [&b""[..], &b"\x01\x00\x00\x00garbage"[..]] {
        match LabellerHead::from_bytes(bytes) {
            Err(LandscapeError::Model(message)) => {
                assert!(message.contains("labeller"), "unclear: {message}")
            }
            other => panic!("corrupt labeller loaded: {:?}", other.err()),
        }
    }
    let real = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/image-va.bin")).unwrap();
    assert!(LabellerHead::from_bytes(&real).is_ok());
    assert!(LabellerHead::from_bytes(&real[..real.len() / 3]).is_err());
}

#[test]
fn fit_score_is_right_on_known_cases() {
    let truth = [1.0, 2.0, 3.0, 4.0];
    let perfect = fit_score(&truth, &truth);
    assert!((perfect.r2 - 1.0).abs() < 1e-12 && (perfect.r - 1.0).abs() < 1e-12);
    let mean_only = fit_score(&[2.5; 4], &truth);
    assert!(mean_only.r2.abs() < 1e-12);
    let inverted = fit_score(&[4.0, 3.0, 2.0, 1.0], &truth);
    assert!((inverted.r + 1.0).abs() < 1e-12 && inverted.r2 < 0.0);
}

/// Pictures between a sunny meadow and a night storm, at the generator's 64×64.
fn meadow_to_storm(count: usize) -> Vec<RgbImage> {
    let (meadow, storm) = (
        image::imageops::resize(
            &sunny_meadow(),
            64,
            64,
            image::imageops::FilterType::Triangle,
        ),
        image::imageops::resize(
            &night_storm(),
            64,
            64,
            image::imageops::FilterType::Triangle,
        ),
    );
    (0..count)
        .map(|i| {
            let t = i as f32 / (count - 1) as f32;
            RgbImage::from_fn(64, 64, |x, y| {
                let (a, b) = (meadow.get_pixel(x, y), storm.get_pixel(x, y));
                Rgb(std::array::from_fn(|c| {
                    (a[c] as f32 * (1.0 - t) + b[c] as f32 * t).round() as u8
                }))
            })
        })
        .collect()
}

#[test]
fn the_data_ceiling_rewards_labels_that_match_the_pictures() {
    use moodscape::landscape::evaluation::data_ceiling_consistency;
    use moodscape::va::Va;
    let labeller = ImageVaLabeller::embedded().expect("the committed labeller loads");
    let pictures = meadow_to_storm(24);
    let read = labeller.label_images(&pictures).unwrap();
    // Conditioning = the labeller's own reading, stretched onto [-1, 1] per axis.
    let stretch = |get: fn(&Va) -> f32| {
        let values: Vec<f32> = read.iter().map(get).collect();
        let (low, high) = values
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(high - low > 0.05, "the blends should read differently");
        values
            .into_iter()
            .map(move |v| 2.0 * (v - low) / (high - low) - 1.0)
            .collect::<Vec<f32>>()
    };
    let (valence, arousal) = (stretch(|va| va.valence), stretch(|va| va.arousal));
    let matching: Vec<Va> = valence
        .iter()
        .zip(&arousal)
        .map(|(&valence, &arousal)| Va { valence, arousal })
        .collect();
    let [v, a] = data_ceiling_consistency(&labeller, &pictures, &matching, 2, 3).unwrap();
    assert!(v > 0.6 && a > 0.6, "labels that match: ρ {v:.3} / {a:.3}");

    let reversed: Vec<Va> = matching.iter().rev().copied().collect();
    let [v, a] = data_ceiling_consistency(&labeller, &pictures, &reversed, 2, 3).unwrap();
    assert!(
        v < -0.3 && a < -0.3,
        "labels of the wrong pictures: ρ {v:.3} / {a:.3}"
    );

    let error = data_ceiling_consistency(&labeller, &pictures, &matching[1..], 2, 3).unwrap_err();
    assert!(error.to_string().contains("cannot fill"), "{error}");
}
