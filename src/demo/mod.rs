//! `moodscape demo`: a built-in piece (or any audio file) through the live pipeline, written out
//! as a VA timeline, landscape keyframes and an animation of the morph.
//!
//! The audio goes through the plugin's own path: host-sized blocks into the capture ring, the
//! [`LivePipeline`] that the analysis thread runs, the keyframe policy and the morph that the
//! editor uses. Only the clock differs: audio time instead of wall time, so the demo runs as fast
//! as the CPU allows and gives the same result every time.

pub mod synth;
pub mod timeline;

use anyhow::{bail, Context, Result};
use image::{imageops::FilterType, Delay, Frame, RgbImage, RgbaImage};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::landscape::Generator;
use crate::live::{
    capture_ring, load_predictor, AnalysisControls, KeyframePolicy, LivePipeline, LiveState, Morph,
};
use timeline::TimelineRow;

/// Host block size the demo feeds the ring with.
const BLOCK_FRAMES: usize = 512;
/// Seconds between timeline rows (the model's update rate).
const TIMELINE_STEP: f64 = 0.5;

/// What to run and where to write it.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Output folder (created if needed).
    pub out_dir: PathBuf,
    /// An audio file to use instead of the built-in piece.
    pub input: Option<PathBuf>,
    /// Landscape style (the Style parameter).
    pub style: u32,
    /// Frames per second of the animation.
    pub fps: f32,
    /// Side of the saved keyframes and animation frames, pixels.
    pub size: u32,
    /// Morph length, seconds (the Morph parameter).
    pub morph_seconds: f32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            out_dir: PathBuf::from("moodscape-demo"),
            input: None,
            style: 7,
            fps: 8.0,
            size: 192,
            morph_seconds: 2.0,
        }
    }
}

/// What the demo produced, for the CLI to print.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Timeline rows, one per half second.
    pub timeline: Vec<TimelineRow>,
    /// Number of landscape keyframes painted.
    pub keyframes: usize,
    /// Number of animation frames.
    pub frames: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Where the built-in piece's sections lie (empty for files).
    pub sections: Vec<synth::SectionSpan>,
}

/// Runs the demo end to end.
pub fn run(options: &DemoOptions) -> Result<DemoReport> {
    let (audio, sample_rate, channels, sections) = match &options.input {
        Some(path) => {
            let decoded = crate::audio_file::decode_file(path)
                .with_context(|| format!("cannot use {}", path.display()))?;
            if decoded.frames() == 0 {
                bail!("{} holds no audio", path.display());
            }
            (
                decoded.samples,
                decoded.sample_rate,
                decoded.channels,
                Vec::new(),
            )
        }
        None => {
            let rate = 44_100;
            let (audio, spans) = synth::render(rate);
            (audio, rate, 2, spans)
        }
    };
    let keyframe_dir = options.out_dir.join("keyframes");
    std::fs::create_dir_all(&keyframe_dir)
        .with_context(|| format!("cannot create {}", keyframe_dir.display()))?;

    let live = Arc::new(LiveState::default());
    let predictor = load_predictor(&live);
    if predictor.is_none() {
        bail!("{}", live.model_status());
    }
    let generator = Generator::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dropped = Arc::new(AtomicU64::new(0));
    let (mut writer, reader) = capture_ring(channels, dropped.clone());
    let controls = Arc::new(AnalysisControls::default());
    let mut pipeline = LivePipeline::new(
        reader,
        sample_rate as f32,
        live.clone(),
        controls,
        predictor,
    );

    // Planar copies, as a host hands them to `process()`.
    let frames = audio.len() / channels;
    let planar: Vec<Vec<f32>> = (0..channels)
        .map(|c| audio.iter().skip(c).step_by(channels).copied().collect())
        .collect();

    let progress = indicatif::ProgressBar::new(frames as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% ({eta} left)")
            .expect("valid template"),
    );
    progress.set_message("demo");

    let mut policy = KeyframePolicy::new(options.style);
    let mut morph: Option<Morph> = None;
    let mut timeline = Vec::new();
    let mut animation = Vec::new();
    let mut keyframes = 0usize;
    let mut next_row = TIMELINE_STEP;
    let frame_step = 1.0 / f64::from(options.fps.max(1.0));
    let mut next_frame = 0.0;
    let mut last_frame_time = 0.0;
    let size = options.size.max(16);

    let mut position = 0;
    while position < frames {
        let end = (position + BLOCK_FRAMES).min(frames);
        let block: Vec<&[f32]> = planar.iter().map(|c| &c[position..end]).collect();
        writer.write_block(&block);
        while pipeline.step() {}
        position = end;
        let now = position as f64 / f64::from(sample_rate);

        if now >= next_row {
            next_row += TIMELINE_STEP;
            timeline.push(TimelineRow::capture(now, &live, &sections));
        }
        if now >= next_frame {
            let elapsed = now - last_frame_time;
            last_frame_time = now;
            next_frame += frame_step;
            if let Some(request) = policy.update(elapsed, live.va(), options.style) {
                let image = generator
                    .generate(&request.latent, request.va)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let path = keyframe_dir.join(format!(
                    "{keyframes:03}-t{now:05.1}-v{:+.2}-a{:+.2}.png",
                    request.va.valence, request.va.arousal
                ));
                upscale(&image, size)
                    .save(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                keyframes += 1;
                match morph.as_mut() {
                    Some(morph) => morph.retarget(image),
                    None => morph = Some(Morph::new(image, options.morph_seconds)),
                }
            }
            if let Some(morph) = morph.as_mut() {
                morph.advance(elapsed as f32, options.morph_seconds);
                animation.push(upscale(&morph.current(), size));
            }
        }
        progress.set_position(position as u64);
    }
    progress.finish_and_clear();
    if dropped.load(Ordering::Relaxed) > 0 {
        bail!("the capture ring overflowed; the demo would not match the plugin");
    }

    let mut files = vec![];
    let csv = options.out_dir.join("va-timeline.csv");
    timeline::write_csv(&csv, &timeline)?;
    files.push(csv);
    let plot = options.out_dir.join("va-timeline.png");
    timeline::plot(&timeline, &sections)
        .save(&plot)
        .with_context(|| format!("cannot write {}", plot.display()))?;
    files.push(plot);
    let gif = options.out_dir.join("landscape-morph.gif");
    write_gif(&gif, &animation, options.fps)?;
    files.push(gif);
    files.push(keyframe_dir);
    Ok(DemoReport {
        frames: animation.len(),
        timeline,
        keyframes,
        files,
        sections,
    })
}

fn upscale(image: &RgbImage, size: u32) -> RgbImage {
    image::imageops::resize(image, size, size, FilterType::CatmullRom)
}

fn write_gif(path: &Path, frames: &[RgbImage], fps: f32) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut encoder =
        image::codecs::gif::GifEncoder::new_with_speed(std::io::BufWriter::new(file), 20);
    encoder.set_repeat(image::codecs::gif::Repeat::Infinite)?;
    let delay = Delay::from_numer_denom_ms(1000, fps.max(1.0).round() as u32);
    for frame in frames {
        let rgba: RgbaImage = image::DynamicImage::ImageRgb8(frame.clone()).to_rgba8();
        encoder.encode_frame(Frame::from_parts(rgba, 0, 0, delay))?;
    }
    Ok(())
}
