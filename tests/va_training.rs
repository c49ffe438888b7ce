//! The whole `train-va` pipeline on a tiny synthetic 4Q-shaped dataset: labels from word norms,
//! features from the real decoder + Analyzer, grouped cross-validation, model file, card, cache.

use std::path::{Path, PathBuf};

use moodscape::va::evaluation::METRIC_NAMES;
use moodscape::va::features::extract_clip;
use moodscape::va::mood_analyzer::{extract_patches, shared_network};
use moodscape::va::train::{train, Extractors, TrainOptions, SHIPPED};
use moodscape::va::VaModel;

/// (mood tag, valence 1-9, arousal 1-9) for the fake norms, two per quadrant.
const NORMS: [(&str, f32, f32); 8] = [
    ("joyful", 8.0, 6.5),
    ("cheerful", 7.8, 6.0),
    ("angry", 2.0, 7.0),
    ("tense", 2.8, 6.5),
    ("sad", 2.0, 3.0),
    ("gloomy", 2.5, 2.8),
    ("calm", 7.0, 2.0),
    ("serene", 7.5, 2.5),
];

/// Six seconds of audio whose energy follows arousal and whose harmony follows valence.
fn clip_audio(quadrant: u8, variant: usize, rate: u32) -> Vec<f32> {
    let high_arousal = quadrant <= 2;
    let positive = quadrant == 1 || quadrant == 4;
    let root = 196.0 * (1.0 + variant as f32 * 0.06);
    let third = if positive { 1.26 } else { 1.19 };
    let beat = if high_arousal { 0.35 } else { 1.2 };
    let level = if high_arousal { 0.5 } else { 0.05 };
    (0..rate * 6)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let chord: f32 = [1.0, third, 1.5]
                .iter()
                .map(|ratio| (t * root * ratio * std::f32::consts::TAU).sin())
                .sum();
            let click = (-(t % beat) * 40.0).exp()
                * (t * 2_000.0 * std::f32::consts::TAU).sin()
                * if high_arousal { 1.0 } else { 0.1 };
            level * (0.3 * chord + 0.6 * click)
        })
        .collect()
}

fn write_dataset(root: &Path) {
    let norms = root.join("word-norms");
    std::fs::create_dir_all(&norms).unwrap();
    let mut csv = String::from(",Word,V.Mean.Sum,A.Mean.Sum\n");
    for (index, (word, v, a)) in NORMS.iter().enumerate() {
        csv.push_str(&format!("{index},{word},{v},{a}\n"));
    }
    std::fs::write(norms.join("Ratings_Warriner_et_al.csv"), csv).unwrap();

    let music = root.join("music-4q");
    let mut metadata =
        String::from("\"Song\",\"Artist\",\"Title\",\"Quadrant\",\"MoodsFoundStr\"\n");
    let rate = 22_050;
    for quadrant in 1..=4u8 {
        let folder = music.join(format!("audio/Q{quadrant}"));
        std::fs::create_dir_all(&folder).unwrap();
        let tags = format!(
            "{}; {}",
            NORMS[2 * (quadrant as usize - 1)].0,
            NORMS[2 * (quadrant as usize - 1) + 1].0
        );
        for variant in 0..6 {
            let song = format!("MT{quadrant}{variant:04}");
            metadata.push_str(&format!(
                "\"{song}\",\"Artist, {variant}\",\"T\",\"Q{quadrant}\",\"{tags}\"\n"
            ));
            // WAV content under the dataset's .ogg name: the decoder probes the content.
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut writer =
                hound::WavWriter::create(folder.join(format!("{song}.ogg")), spec).unwrap();
            for sample in clip_audio(quadrant, variant, rate) {
                writer.write_sample((sample * 32_000.0) as i16).unwrap();
            }
            writer.finalize().unwrap();
        }
    }
    std::fs::write(music.join("panda_dataset_taffc_metadata.csv"), metadata).unwrap();
}

fn options(root: &Path) -> TrainOptions {
    TrainOptions {
        data_dir: root.to_path_buf(),
        cache_dir: root.join("cache"),
        model_out: root.join("model.bin"),
        card_out: root.join("card.md"),
        folds: 3,
        repeats: 2,
        lambdas: vec![0.1, 1.0],
        window_seconds: 10.0,
        row_step: 1,
        workers: 2,
        resamples: 30,
        clips_per_quadrant: None,
        command: "test".into(),
    }
}

#[test]
fn pipeline_trains_scores_saves_and_resumes() {
    let root: PathBuf =
        std::env::temp_dir().join(format!("moodscape-va-train-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    write_dataset(&root);
    let options = options(&root);

    let network = shared_network()
        .as_ref()
        .expect("the MusiCNN network loads");
    let extractors = Extractors {
        engine: &extract_clip,
        patches: &|path| extract_patches(path, network),
        patch_cache_key: "patches".into(),
    };
    let report = train(&options, &extractors).expect("training runs");
    assert_eq!(report.clips, 24);
    assert_eq!(report.clips_per_quadrant, [6, 6, 6, 6]);
    assert!(report.failed_clips.is_empty());
    // 6 s clips: a row per 0.5 s summary once the first 3 s patch exists.
    assert!(report.rows >= 24 * 6, "{} rows", report.rows);
    assert_eq!(
        report.sign_ceiling, 1.0,
        "the fake norms agree with every quadrant"
    );

    // The synthetic moods are plain in the audio: out-of-fold arousal must be found.
    let shipped = &report.ablation[SHIPPED];
    let arousal_r = shipped.bootstrap[10].mean;
    assert!(arousal_r > 0.7, "per-clip arousal r {arousal_r}");
    // The spread calibration gives out-of-fold clip predictions the targets' range.
    let spread = shipped.spread_clip.1 / report.target_spread.1;
    assert!(spread > 0.7, "arousal spread ratio {spread}");
    for variant in report
        .ablation
        .iter()
        .chain([&report.by_artist, &report.uncalibrated])
    {
        assert_eq!(variant.bootstrap.len(), METRIC_NAMES.len());
        for estimate in &variant.bootstrap {
            assert!(estimate.low <= estimate.mean + 1e-9 || estimate.low.is_nan());
        }
    }

    // The written model loads and the card reports every metric.
    let model = VaModel::load(&options.model_out).expect("model loads");
    let va = model.predict_values(&vec![0.0; model.feature_names.len()]);
    assert!(va.valence.is_finite() && va.arousal.is_finite());
    let card = std::fs::read_to_string(&options.card_out).unwrap();
    for name in METRIC_NAMES {
        assert!(card.contains(name), "card lacks {name}");
    }
    assert!(card.contains("3-fold CV grouped by clip"));
    assert!(card.contains("grouped by **artist**"));
    for name in [
        "engine features alone",
        "MusiCNN embedding alone",
        "MusiCNN taggram alone",
    ] {
        assert!(card.contains(name), "card lacks the ablation row {name}");
    }

    // A rerun reads every clip from the cache (a deleted source would otherwise fail).
    let cache_files = std::fs::read_dir(root.join("cache"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .count();
    // One file per clip in each cache: engine rows and MusiCNN patches.
    assert_eq!(cache_files, 2 * 24);
    std::fs::remove_dir_all(root.join("music-4q/audio")).unwrap();
    let again = train(&options, &extractors).expect("rerun from the cache");
    assert_eq!(again.rows, report.rows);
    assert!(again.failed_clips.is_empty());
    std::fs::remove_dir_all(&root).ok();
}
