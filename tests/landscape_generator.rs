//! The committed landscape generator: shape, range, determinism, VA control, diversity (the
//! collapse test) and clear errors for bad weight files.

use moodscape::landscape::evaluation::{image_distance, mean_pairwise_distance, spearman};
use moodscape::landscape::latent::{walk, LATENT_DIM};
use moodscape::landscape::{Generator, ImageVaLabeller, LandscapeError, Latent};
use moodscape::va::Va;

/// Mean RMS distance (0-1 scale) between random pairs of 64×64 training thumbnails, measured by
/// `moodscape eval-landscape` (`diversity_training` in models/landscape-gen.md).
const TRAINING_SPREAD: f32 = 0.345;

/// A generator whose seeds differ by less than this share of the training spread has collapsed.
const COLLAPSE_SHARE: f32 = 0.25;

fn generator() -> Generator {
    Generator::embedded().expect("models/landscape-gen.safetensors is committed and loads")
}

fn neutral() -> Va {
    Va {
        valence: 0.0,
        arousal: 0.0,
    }
}

#[test]
fn output_has_the_model_size_and_uses_the_colour_range() {
    let generator = generator();
    assert_eq!(generator.image_size(), 64);
    let image = generator
        .generate(&Latent::from_seed(3), neutral())
        .unwrap();
    assert_eq!((image.width(), image.height()), (64, 64));
    let raw = image.as_raw();
    let min = *raw.iter().min().unwrap();
    let max = *raw.iter().max().unwrap();
    assert!(
        max - min > 60,
        "a landscape has contrast, got pixel range {min}..{max}"
    );
}

#[test]
fn same_seed_and_mood_give_identical_images() {
    let generator = generator();
    let va = Va {
        valence: 0.4,
        arousal: -0.3,
    };
    let first = generator.generate(&Latent::from_seed(42), va).unwrap();
    let second = generator.generate(&Latent::from_seed(42), va).unwrap();
    assert!(first.as_raw() == second.as_raw(), "images differ");
    // A fresh generator (as a restarted plugin would have) agrees too.
    let third = Generator::embedded()
        .unwrap()
        .generate(&Latent::from_seed(42), va)
        .unwrap();
    assert!(first.as_raw() == third.as_raw(), "images differ");
    // And a batch computes what single calls compute.
    let batch = generator
        .generate_batch(
            &[Latent::from_seed(42), Latent::from_seed(7)],
            &[va, neutral()],
        )
        .unwrap();
    // gemm blocks a 2-image batch differently, so float sums may round differently: at most one
    // 8-bit step per channel.
    let largest = batch[0]
        .as_raw()
        .iter()
        .zip(first.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        largest <= 1,
        "batch and single call differ by {largest} levels"
    );
}

#[test]
fn mood_changes_the_image() {
    let generator = generator();
    let latent = Latent::from_seed(5);
    let calm_bright = generator
        .generate(
            &latent,
            Va {
                valence: 1.0,
                arousal: -1.0,
            },
        )
        .unwrap();
    let dark_stormy = generator
        .generate(
            &latent,
            Va {
                valence: -1.0,
                arousal: 1.0,
            },
        )
        .unwrap();
    let distance = image_distance(&calm_bright, &dark_stormy);
    assert!(
        distance > 0.05,
        "opposite moods should give different images, RMS distance {distance}"
    );
    let luma = |image: &image::RgbImage| {
        image.as_raw().iter().map(|&v| v as f32).sum::<f32>() / image.as_raw().len() as f32
    };
    assert!(
        luma(&calm_bright) > luma(&dark_stormy),
        "calm-pleasant should be brighter than stormy-unpleasant ({} vs {})",
        luma(&calm_bright),
        luma(&dark_stormy)
    );
}

/// The committed labeller reads the mood the generator was asked for: a small version of the
/// card's emotion-consistency metric (3×3 grid × 8 seeds instead of 5×5 × 16). A broken or
/// swapped VA path drops ρ to about 0 or makes the cross-talk win.
#[test]
fn the_labeller_reads_the_requested_mood_from_the_pictures() {
    let generator = generator();
    let labeller = ImageVaLabeller::embedded().expect("models/image-va.bin loads");
    let axis = [-1.0, 0.0, 1.0];
    let (mut latents, mut moods) = (Vec::new(), Vec::new());
    for seed in 0..8 {
        for &arousal in &axis {
            for &valence in &axis {
                latents.push(Latent::from_seed(500 + seed));
                moods.push(Va { valence, arousal });
            }
        }
    }
    let images = generator.generate_batch(&latents, &moods).unwrap();
    let labelled: Vec<Va> = images.iter().map(|i| labeller.label(i).unwrap()).collect();
    let rho = |asked: fn(&Va) -> f32, read: fn(&Va) -> f32| {
        let asked: Vec<f32> = moods.iter().map(asked).collect();
        let read: Vec<f32> = labelled.iter().map(read).collect();
        spearman(&asked, &read)
    };
    let (valence, arousal) = (
        rho(|m| m.valence, |m| m.valence),
        rho(|m| m.arousal, |m| m.arousal),
    );
    let cross = [
        rho(|m| m.valence, |m| m.arousal).abs(),
        rho(|m| m.arousal, |m| m.valence).abs(),
    ];
    eprintln!("consistency ρ valence {valence:.3}, arousal {arousal:.3}; cross-talk {cross:.3?}");
    assert!(valence > 0.5, "valence consistency ρ {valence:.3}");
    assert!(arousal > 0.5, "arousal consistency ρ {arousal:.3}");
    assert!(
        cross[0] < valence && cross[1] < arousal,
        "cross-talk {cross:?} beats the axes ({valence:.3}, {arousal:.3})"
    );
}

#[test]
fn seeds_give_different_landscapes_at_the_same_mood() {
    let generator = generator();
    let margin = COLLAPSE_SHARE * TRAINING_SPREAD;
    for va in [
        neutral(),
        Va {
            valence: 0.8,
            arousal: -0.8,
        },
        Va {
            valence: -0.8,
            arousal: 0.8,
        },
    ] {
        let latents: Vec<Latent> = (0..8).map(|seed| Latent::from_seed(100 + seed)).collect();
        let images = generator
            .generate_batch(&latents, &vec![va; latents.len()])
            .unwrap();
        let diversity = mean_pairwise_distance(&images);
        assert!(
            diversity > margin,
            "collapsed at {va:?}: diversity {diversity} <= margin {margin}"
        );

        // The same metric flags a collapsed generator: one latent for every "seed".
        let collapsed = generator
            .generate_batch(&vec![latents[0].clone(); 8], &[va; 8])
            .unwrap();
        let collapsed_diversity = mean_pairwise_distance(&collapsed);
        assert!(
            collapsed_diversity <= margin,
            "the metric must flag identical outputs, got {collapsed_diversity}"
        );
    }
}

#[test]
fn latent_walks_are_smooth() {
    let generator = generator();
    let moods = [
        Va {
            valence: -0.8,
            arousal: 0.6,
        },
        Va {
            valence: 0.7,
            arousal: -0.5,
        },
    ];
    let frames: Vec<_> = (0..=10)
        .map(|i| {
            let (latent, va) = walk(&[11, 12], &moods, i as f32 / 10.0);
            generator.generate(&latent, va).unwrap()
        })
        .collect();
    let whole = image_distance(&frames[0], &frames[10]);
    let largest_step = frames
        .windows(2)
        .map(|pair| image_distance(&pair[0], &pair[1]))
        .fold(0.0, f32::max);
    assert!(
        whole > 0.05,
        "the walk should go somewhere, end-to-end distance {whole}"
    );
    assert!(
        largest_step < 0.6 * whole,
        "a walk step jumps: {largest_step} of {whole}"
    );
}

#[test]
fn slerp_keeps_endpoints_and_norm() {
    let a = Latent::from_seed(1);
    let b = Latent::from_seed(2);
    assert_eq!(a.slerp(&b, 0.0).values.len(), LATENT_DIM);
    let close = |x: &Latent, y: &Latent| {
        x.values
            .iter()
            .zip(&y.values)
            .all(|(p, q)| (p - q).abs() < 1e-4)
    };
    assert!(close(&a.slerp(&b, 0.0), &a));
    assert!(close(&a.slerp(&b, 1.0), &b));
    let norm = |l: &Latent| l.values.iter().map(|v| v * v).sum::<f32>().sqrt();
    let middle = a.slerp(&b, 0.5);
    assert!(
        norm(&middle) > 0.85 * norm(&a).min(norm(&b)),
        "slerp should not shrink towards the origin"
    );
    assert!(a.slerp(&b, f32::NAN).values.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_moods_and_latents_do_not_panic() {
    let generator = generator();
    let image = generator
        .generate(
            &Latent::from_seed(1),
            Va {
                valence: f32::NAN,
                arousal: f32::INFINITY,
            },
        )
        .unwrap();
    let neutral_image = generator
        .generate(
            &Latent::from_seed(1),
            Va {
                valence: 0.0,
                arousal: 1.0,
            },
        )
        .unwrap();
    assert!(
        image.as_raw() == neutral_image.as_raw(),
        "NaN valence counts as neutral, +inf arousal as +1"
    );
    let short = Latent {
        values: vec![0.0; 3],
    };
    assert!(matches!(
        generator.generate(&short, neutral()),
        Err(LandscapeError::Model(_))
    ));
}

#[test]
fn corrupt_weight_files_are_clear_errors() {
    for bytes in [&b""[..], &b"not a safetensors file at all"[..]] {
        let error = Generator::from_bytes(bytes)
            .err()
            .expect("garbage must not load");
        assert!(
            error.to_string().contains("safetensors"),
            "unclear error: {error}"
        );
    }
    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/landscape-gen.safetensors"
    ))
    .unwrap();
    assert!(
        Generator::from_bytes(&real[..real.len() / 2]).is_err(),
        "a truncated file must not load"
    );
    // A valid safetensors file that holds some other network.
    let other =
        candle_core::Tensor::zeros((2, 2), candle_core::DType::F32, &candle_core::Device::Cpu)
            .unwrap();
    let path = std::env::temp_dir().join(format!(
        "moodscape-other-{}.safetensors",
        std::process::id()
    ));
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("x".to_string(), other)]),
        &path,
    )
    .unwrap();
    let error = Generator::from_bytes(&std::fs::read(&path).unwrap())
        .err()
        .expect("a foreign network must not load");
    std::fs::remove_file(&path).ok();
    assert!(
        error.to_string().contains("config.channels"),
        "unclear error: {error}"
    );
}
