//! The committed landscape generator: shape, range, determinism, VA control, diversity (the
//! collapse test) and clear errors for bad weight files.
//!
//! `MOODSCAPE_CANDIDATE_GENERATOR=FILE` runs the same tests on a training run's export instead
//! (for example `target/landscape-run-v4/landscape-gen.safetensors`), so a candidate can be
//! judged by the goals, the `--ignored` ones included, before it replaces the shipped
//! model.

use moodscape::landscape::evaluation::{
    defect_share, full_width_seam, image_distance, mean_pairwise_distance, median_stripes,
    near_black_block, spearman, two_pixel_stripes,
};
use moodscape::landscape::latent::{walk, LATENT_DIM};
use moodscape::landscape::{Generator, ImageVaLabeller, LandscapeError, Latent};
use moodscape::va::Va;

/// Mean RMS distance (0-1 scale) between pairs of 64×64 training thumbnails: the data's own
/// spread, against which seed diversity is judged. It is a property of the photographs, not of
/// any model: [`training_spread`] recomputes it from `../shared/data/landscapes` whenever that
/// folder exists (the same 60 pictures and the same distance as `moodscape eval-landscape`'s
/// `diversity_training`), and [`recorded_spread_matches_the_data`] fails if this recorded value
/// no longer matches them. It is used as it is only where the data are absent.
const RECORDED_TRAINING_SPREAD: f32 = 0.345;

/// The landscape photographs the generator trains on, if this checkout has them.
fn landscape_folder() -> Option<std::path::PathBuf> {
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/landscapes/images");
    folder.is_dir().then_some(folder)
}

/// Mean pairwise RMS distance of 60 evenly spaced training photos (every 11th by name, as the
/// evaluation's held-out slice), centre-cropped to 64×64; `None` without the data.
fn measured_training_spread() -> Option<f32> {
    let folder = landscape_folder()?;
    let paths = moodscape::landscape::dataset::list_images(&folder).ok()?;
    let thumbnails: Vec<image::RgbImage> = paths
        .iter()
        .step_by(11)
        .take(60)
        .map(|p| moodscape::landscape::features::square_thumbnail(&image::open(p).unwrap(), 64))
        .collect();
    Some(mean_pairwise_distance(&thumbnails))
}

/// The training spread: measured from the data when present, else the recorded value.
fn training_spread() -> f32 {
    measured_training_spread().unwrap_or_else(|| {
        eprintln!(
            "../shared/data/landscapes absent: using the recorded training spread {RECORDED_TRAINING_SPREAD}"
        );
        RECORDED_TRAINING_SPREAD
    })
}

#[test]
fn recorded_spread_matches_the_data() {
    match measured_training_spread() {
        Some(measured) => assert!(
            (measured - RECORDED_TRAINING_SPREAD).abs() < 0.03,
            "the photos' spread is {measured:.3}, the recorded value {RECORDED_TRAINING_SPREAD}"
        ),
        None => eprintln!("../shared/data/landscapes absent: nothing to compare against"),
    }
}

/// A generator whose seeds differ by less than this share of the training spread has collapsed.
const COLLAPSE_SHARE: f32 = 0.25;

fn generator() -> Generator {
    match std::env::var_os("MOODSCAPE_CANDIDATE_GENERATOR") {
        Some(path) => {
            let bytes = std::fs::read(&path).expect("the candidate generator file is readable");
            Generator::from_bytes(&bytes).expect("the candidate generator loads")
        }
        None => {
            Generator::embedded().expect("models/landscape-gen.safetensors is committed and loads")
        }
    }
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
    let third = self::generator()
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

/// Spearman ρ between asked and labelled mood over `axis`² moods × `seeds` seeds (from
/// `first_seed`), judged by the committed labeller: (valence, arousal, |cross-talk| V→A and A→V).
fn consistency(axis: &[f32], seeds: u64, first_seed: u64) -> (f64, f64, [f64; 2]) {
    let generator = generator();
    let labeller = ImageVaLabeller::embedded().expect("models/image-va.bin loads");
    let (mut latents, mut moods) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        for &arousal in axis {
            for &valence in axis {
                latents.push(Latent::from_seed(first_seed + seed));
                moods.push(Va { valence, arousal });
            }
        }
    }
    let images = generator.generate_batch(&latents, &moods).unwrap();
    let labelled = labeller.label_images(&images).unwrap();
    let rho = |asked: fn(&Va) -> f32, read: fn(&Va) -> f32| {
        let asked: Vec<f32> = moods.iter().map(asked).collect();
        let read: Vec<f32> = labelled.iter().map(read).collect();
        spearman(&asked, &read)
    };
    (
        rho(|m| m.valence, |m| m.valence),
        rho(|m| m.arousal, |m| m.arousal),
        [
            rho(|m| m.valence, |m| m.arousal).abs(),
            rho(|m| m.arousal, |m| m.valence).abs(),
        ],
    )
}

/// The committed labeller reads the mood the generator was asked for: a small version of the
/// card's emotion-consistency metric (3×3 grid × 8 seeds instead of 5×5 × 16). A broken or
/// swapped VA path drops ρ to about 0 or makes the cross-talk win.
#[test]
#[ignore = "shipped v2 weights (step 9 727): 3x3x8 grid rho valence 0.534, arousal 0.503, but asking for arousal moves the labelled valence by 0.525 (cross-talk must stay below the axis); v1 read 0.301 / 0.323; reported in models/landscape-gen.md"]
fn the_labeller_reads_the_requested_mood_from_the_pictures() {
    let (valence, arousal, cross) = consistency(&[-1.0, 0.0, 1.0], 8, 500);
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
    let margin = COLLAPSE_SHARE * training_spread();
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
fn truncation_one_is_the_trained_generator_and_less_pulls_seeds_together() {
    let latents: Vec<Latent> = (0..8).map(|seed| Latent::from_seed(200 + seed)).collect();
    let moods = vec![neutral(); latents.len()];
    let trained = generator().generate_batch(&latents, &moods).unwrap();
    let at_one = generator()
        .with_truncation(1.0)
        .generate_batch(&latents, &moods)
        .unwrap();
    assert_eq!(trained, at_one, "truncation 1 must change nothing");

    let spread = |truncation: f32| {
        mean_pairwise_distance(
            &generator()
                .with_truncation(truncation)
                .generate_batch(&latents, &moods)
                .unwrap(),
        )
    };
    let (full, half, none) = (spread(1.0), spread(0.5), spread(1e-6));
    assert!(
        full > half && half > none,
        "seed spread must shrink with the truncation: {full} {half} {none}"
    );
    // At (almost) zero every seed paints its mood's average picture.
    assert!(none < 0.01, "seeds still differ at truncation 0: {none}");
}

/// Share of a walk's path length (the sum of its frame-to-frame distances) taken by its largest
/// step: 1/steps for an even walk, 1 when the picture holds still and then jumps once. Measured
/// against the path rather than the start-to-end distance: a smooth walk may curve away and back
/// (the middle mood looks unlike both ends), which shrinks the start-to-end distance without any
/// jump.
fn largest_step_share(frames: &[image::RgbImage]) -> f32 {
    let steps: Vec<f32> = frames
        .windows(2)
        .map(|pair| image_distance(&pair[0], &pair[1]))
        .collect();
    let path: f32 = steps.iter().sum();
    steps
        .iter()
        .fold(0.0, |largest: f32, &step| largest.max(step))
        / path.max(1e-9)
}

#[test]
fn the_step_share_flags_a_jump_and_not_a_curve() {
    let grey = |level: f32| image::RgbImage::from_pixel(8, 8, image::Rgb([level.round() as u8; 3]));
    let even: Vec<_> = (0..=10).map(|i| grey(40.0 + 16.0 * i as f32)).collect();
    let jump: Vec<_> = (0..=10)
        .map(|i| grey(if i < 6 { 40.0 } else { 200.0 }))
        .collect();
    let there_and_back: Vec<_> = (0..=10)
        .map(|i| grey(40.0 + 32.0 * (5 - (i - 5i32).abs()) as f32))
        .collect();
    assert!((largest_step_share(&even) - 0.1).abs() < 1e-3);
    assert!((largest_step_share(&jump) - 1.0).abs() < 1e-3);
    assert!((largest_step_share(&there_and_back) - 0.1).abs() < 1e-3);
    assert_eq!(image_distance(&there_and_back[0], &there_and_back[10]), 0.0);
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
    assert!(
        whole > 0.05,
        "the walk should go somewhere, end-to-end distance {whole}"
    );
    // Ten even steps give 0.10 each; the largest step of v1's and of v2's walk holds 0.17.
    let share = largest_step_share(&frames);
    eprintln!("largest walk step: {share:.3} of the path");
    assert!(
        share < 0.3,
        "a walk step jumps: it holds {share:.2} of the path"
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

#[test]
fn the_defect_detectors_find_planted_defects() {
    // A smooth gradient has neither defect.
    let clean =
        image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([60 + x as u8, 90 + y as u8, 120]));
    assert_eq!(near_black_block(&clean), None);
    assert_eq!(full_width_seam(&clean), None);
    let mut holed = clean.clone();
    for y in 40..46 {
        for x in 0..6 {
            holed.put_pixel(x, y, image::Rgb([5, 8, 3]));
        }
    }
    assert_eq!(near_black_block(&holed), Some((0, 40)));
    let mut cut = clean.clone();
    for y in 30..64 {
        for x in 0..64 {
            let p = cut.get_pixel(x, y).0;
            cut.put_pixel(x, y, image::Rgb([p[0] / 2, p[1] / 2, p[2] / 2]));
        }
    }
    assert_eq!(full_width_seam(&cut), Some(29));
    // Pictures too small to hold a block or a seam have neither (and do not panic).
    let tiny = image::RgbImage::new(3, 3);
    assert_eq!(near_black_block(&tiny), None);
    assert_eq!(full_width_seam(&tiny), None);
    assert_eq!(defect_share(&[holed, clean, cut, tiny]), 0.5);
}

#[test]
fn the_stripe_measure_finds_planted_two_pixel_stripes() {
    let smooth =
        image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([60 + x as u8, 90 + y as u8, 120]));
    // The same picture with its rows in pairs, as nearest 2× upsampling of 32 rows leaves it.
    let paired = image::RgbImage::from_fn(64, 64, |x, y| *smooth.get_pixel(x, y / 2 * 2));
    let (calm, streaky) = (two_pixel_stripes(&smooth), two_pixel_stripes(&paired));
    assert!(
        calm.share < 0.05 && calm.amplitude < 0.05,
        "a smooth gradient: {calm:?}"
    );
    // Green rises 2 per pair of rows, luma 0.587 · 2: those steps on 31 of the 63 boundaries
    // are a component of 1.174 · 31 / 63 luma levels at the 2-px period.
    assert!(streaky.share > 0.9, "rows in pairs: {streaky:?}");
    assert!(
        (streaky.amplitude - 1.174 * 31.0 / 63.0).abs() < 0.02,
        "rows in pairs: {streaky:?}"
    );
    // A flat picture has no stripes and no division by zero; nor does a single pixel.
    let flat = two_pixel_stripes(&image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9])));
    assert_eq!((flat.share, flat.amplitude), (0.0, 0.0));
    let dot = two_pixel_stripes(&image::RgbImage::new(1, 1));
    assert_eq!((dot.share, dot.amplitude), (0.0, 0.0));
    assert_eq!(median_stripes(&[smooth, paired.clone(), paired]), streaky);
}

/// The artefact scan: a 5×5 VA grid × 16 seeds, no near-black 6×6 block and no
/// full-width seam anywhere.
#[test]
#[ignore = "shipped v2 weights: 109 of 400 pictures have a near-black 6x6 block or a full-width seam (v1: 113); the scan also flags 13 % of the training photos themselves (silhouettes, sea horizons), see eval-landscape defects_real_share; goal not met, reported in models/landscape-gen.md"]
fn no_black_blocks_or_seams_over_the_mood_grid() {
    let generator = generator();
    let axis = [-1.0, -0.5, 0.0, 0.5, 1.0];
    let mut defects = Vec::new();
    for seed in 1..=16u64 {
        let (latents, moods): (Vec<Latent>, Vec<Va>) = axis
            .iter()
            .flat_map(|&arousal| {
                axis.iter()
                    .map(move |&valence| (Latent::from_seed(seed), Va { valence, arousal }))
            })
            .unzip();
        for (image, va) in generator
            .generate_batch(&latents, &moods)
            .unwrap()
            .iter()
            .zip(&moods)
        {
            if let Some(at) = near_black_block(image) {
                defects.push(format!("seed {seed} {va:?}: near-black block at {at:?}"));
            }
            if let Some(row) = full_width_seam(image) {
                defects.push(format!("seed {seed} {va:?}: seam below row {row}"));
            }
        }
    }
    assert!(
        defects.is_empty(),
        "{} of 400 pictures have defects, e.g. {:?}",
        defects.len(),
        &defects[..defects.len().min(8)]
    );
}

/// Moods steer the picture: for the same seed, pictures 1.0 apart in VA differ at least three
/// times as much as pictures 0.1 apart (mean RMS over 16 seeds and both axes, around the middle
/// and the corners of the square).
#[test]
fn far_moods_differ_more_than_near_moods() {
    let generator = generator();
    let centres = [
        (-0.45, -0.45),
        (0.45, -0.45),
        (-0.45, 0.45),
        (0.45, 0.45),
        (0.0, 0.0),
    ];
    let (mut far, mut near) = (0.0f32, 0.0f32);
    let mut pairs = 0;
    for seed in 0..16u64 {
        let latent = Latent::from_seed(300 + seed);
        for &(v, a) in &centres {
            for (dv, da) in [(1.0, 0.0), (0.0, 1.0)] {
                let at = |step: f32| Va {
                    valence: v - dv * step / 2.0,
                    arousal: a - da * step / 2.0,
                };
                let to = |step: f32| Va {
                    valence: v + dv * step / 2.0,
                    arousal: a + da * step / 2.0,
                };
                let images = generator
                    .generate_batch(
                        &vec![latent.clone(); 4],
                        &[at(1.0), to(1.0), at(0.1), to(0.1)],
                    )
                    .unwrap();
                far += image_distance(&images[0], &images[1]);
                near += image_distance(&images[2], &images[3]);
                pairs += 1;
            }
        }
    }
    let (far, near) = (far / pairs as f32, near / pairs as f32);
    eprintln!(
        "mean RMS distance: 1.0 apart {far:.4}, 0.1 apart {near:.4}, ratio {:.2}",
        far / near
    );
    assert!(
        far >= 3.0 * near,
        "1.0 apart {far:.4} is not 3× 0.1 apart {near:.4}"
    );
}

/// The consistency goal on the card's full grid: Spearman ρ ≥ 0.8 between the requested
/// and the labelled mood on each axis (5×5 VA grid × 16 seeds, labeller v2), with the cross-talk
/// smaller than either axis.
#[test]
#[ignore = "shipped v2 weights: rho valence 0.521, arousal 0.569 (goal 0.8; v1 0.381 / 0.284); a generator painting its training data perfectly would score 0.88 / 0.85 (eval-landscape data_ceiling_rho); goal not met, reported in models/landscape-gen.md"]
fn consistency_reaches_the_goal_on_the_full_grid() {
    let (valence, arousal, cross) = consistency(&[-1.0, -0.5, 0.0, 0.5, 1.0], 16, 1000);
    eprintln!("full grid: ρ valence {valence:.3}, arousal {arousal:.3}; cross-talk {cross:.3?}");
    assert!(
        valence >= 0.8 && arousal >= 0.8,
        "ρ {valence:.3} / {arousal:.3} below 0.8"
    );
    assert!(
        cross[0] < valence && cross[1] < arousal,
        "cross-talk {cross:?}"
    );
}
