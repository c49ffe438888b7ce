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
use image::{Delay, Frame, RgbImage, RgbaImage};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::landscape::LandscapePainter;
use crate::live::{
    capture_ring, drift_view, load_predictor, render_view, AnalysisControls, KeyframePolicy,
    LivePipeline, LiveState, Morph,
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
    /// Pan-and-zoom drift of the animation, 0 to 1 (the Motion parameter).
    pub motion: f32,
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
            motion: 0.5,
        }
    }
}

/// Most frames the animation keeps: a 60 s piece at 8 fps fits whole; longer inputs record one
/// frame every `length / MAX_ANIMATION_FRAMES` seconds of audio instead (a 30-minute file: one
/// per 3 s), so the GIF stays a few tens of MB whatever the length.
pub const MAX_ANIMATION_FRAMES: usize = 600;

/// What the demo produced, for the CLI to print.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Timeline rows, one per half second.
    pub timeline: Vec<TimelineRow>,
    /// Number of landscape keyframes painted.
    pub keyframes: usize,
    /// Number of animation frames.
    pub frames: usize,
    /// How the animation maps to audio time, e.g. whether frames were decimated: said in the
    /// output so that nobody mistakes a sped-up GIF for real time.
    pub animation_note: String,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Where the built-in piece's sections lie (empty for files).
    pub sections: Vec<synth::SectionSpan>,
}

/// Where the demo's audio comes from: the built-in piece in memory, or a file decoded as it
/// plays so that a long file never sits in memory whole.
enum AudioSource {
    /// The synthesised piece, interleaved, and the next frame to hand out.
    Piece {
        /// Interleaved samples.
        samples: Vec<f32>,
        /// Next frame to hand out.
        position: usize,
    },
    /// A file, with decoded samples not yet handed out.
    File {
        /// The streaming decoder.
        reader: crate::audio_file::AudioReader,
        /// Interleaved samples decoded but not yet handed out (from `offset` on).
        pending: Vec<f32>,
        /// First unread sample in `pending`.
        offset: usize,
        /// Whether the decoder has reached the end.
        finished: bool,
    },
}

impl AudioSource {
    /// Fills `planar` (one Vec per channel) with up to `max_frames` frames; 0 at the end.
    fn next_block(
        &mut self,
        channels: usize,
        max_frames: usize,
        planar: &mut [Vec<f32>],
    ) -> Result<usize> {
        let (samples, start): (&[f32], &mut usize) = match self {
            Self::Piece { samples, position } => {
                let frames = (samples.len() / channels)
                    .saturating_sub(*position)
                    .min(max_frames);
                let begin = *position * channels;
                *position += frames;
                deinterleave(&samples[begin..begin + frames * channels], channels, planar);
                return Ok(frames);
            }
            Self::File {
                reader,
                pending,
                offset,
                finished,
            } => {
                while !*finished && pending.len() - *offset < max_frames * channels {
                    pending.drain(..*offset);
                    *offset = 0;
                    match reader.next_block()? {
                        Some(block) => pending.extend_from_slice(block),
                        None => *finished = true,
                    }
                }
                (pending.as_slice(), offset)
            }
        };
        let frames = ((samples.len() - *start) / channels).min(max_frames);
        deinterleave(
            &samples[*start..*start + frames * channels],
            channels,
            planar,
        );
        *start += frames * channels;
        Ok(frames)
    }
}

/// Splits interleaved samples into per-channel buffers (cleared first).
fn deinterleave(interleaved: &[f32], channels: usize, planar: &mut [Vec<f32>]) {
    for (c, channel) in planar.iter_mut().enumerate() {
        channel.clear();
        channel.extend(interleaved.iter().skip(c).step_by(channels));
    }
}

/// Seconds of audio between recorded animation frames: `1 / fps`, stretched so that at most
/// [`MAX_ANIMATION_FRAMES`] cover `duration` (when it is known).
pub fn animation_step(duration: Option<f64>, fps: f32) -> f64 {
    let real_time = 1.0 / f64::from(fps.max(1.0));
    match duration {
        Some(duration) => real_time.max(duration / MAX_ANIMATION_FRAMES as f64),
        None => real_time,
    }
}

/// Runs the demo end to end.
pub fn run(options: &DemoOptions) -> Result<DemoReport> {
    let (mut source, sample_rate, channels, sections, duration) = match &options.input {
        Some(path) => {
            let reader = crate::audio_file::AudioReader::open(path)
                .with_context(|| format!("cannot use {}", path.display()))?;
            let (rate, channels) = (reader.sample_rate(), reader.channels());
            let duration = reader
                .total_frames()
                .map(|frames| frames as f64 / f64::from(rate));
            let source = AudioSource::File {
                reader,
                pending: Vec::new(),
                offset: 0,
                finished: false,
            };
            (source, rate, channels, Vec::new(), duration)
        }
        None => {
            let rate = 44_100;
            let (audio, spans) = synth::render(rate);
            let duration = (audio.len() / 2) as f64 / f64::from(rate);
            let source = AudioSource::Piece {
                samples: audio,
                position: 0,
            };
            (source, rate, 2, spans, Some(duration))
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
    let painter = LandscapePainter::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
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

    let progress = match duration {
        Some(duration) => indicatif::ProgressBar::new((duration * f64::from(sample_rate)) as u64)
            .with_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% ({eta} left)")
                    .expect("valid template"),
            ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{msg} {spinner} {elapsed}")
                .expect("valid template"),
        ),
    };
    progress.set_message("demo");

    // The animation is encoded as it is made, never held in memory.
    let gif_path = options.out_dir.join("landscape-morph.gif");
    let record_step = animation_step(duration, options.fps);
    let mut gif = GifWriter::create(&gif_path, options.fps, record_step)?;

    let mut policy = KeyframePolicy::new(options.style);
    let mut morph: Option<Morph> = None;
    let mut timeline = Vec::new();
    let mut keyframes = 0usize;
    let mut next_row = TIMELINE_STEP;
    let frame_step = 1.0 / f64::from(options.fps.max(1.0));
    let mut next_frame = 0.0;
    let mut next_recorded_frame = 0.0;
    let mut last_frame_time = 0.0;
    let size = options.size.max(16);

    let mut planar: Vec<Vec<f32>> = vec![Vec::with_capacity(BLOCK_FRAMES); channels];
    let mut position = 0usize;
    loop {
        let frames = source.next_block(channels, BLOCK_FRAMES, &mut planar)?;
        if frames == 0 {
            break;
        }
        let block: Vec<&[f32]> = planar.iter().map(Vec::as_slice).collect();
        writer.write_block(&block);
        while pipeline.step() {}
        position += frames;
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
                // The editor's picture: generator, then the learned upscaler.
                let image = painter
                    .paint(&request.latent, request.va, size)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let path = keyframe_dir.join(format!(
                    "{keyframes:03}-t{now:05.1}-v{:+.2}-a{:+.2}.png",
                    request.va.valence, request.va.arousal
                ));
                image
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
                if now >= next_recorded_frame && gif.frames < MAX_ANIMATION_FRAMES {
                    next_recorded_frame += record_step;
                    gif.push(&render_view(
                        &morph.current(),
                        drift_view(now, options.motion),
                        size,
                    ))?;
                }
            }
        }
        progress.set_position(position as u64);
    }
    progress.finish_and_clear();
    if position == 0 {
        bail!("{} holds no audio", source_name(options));
    }
    if dropped.load(Ordering::Relaxed) > 0 {
        bail!("the capture ring overflowed; the demo would not match the plugin");
    }
    let frames = gif.frames;
    let animation_note = gif.finish(position as f64 / f64::from(sample_rate))?;

    let mut files = vec![];
    let csv = options.out_dir.join("va-timeline.csv");
    timeline::write_csv(&csv, &timeline)?;
    files.push(csv);
    let plot = options.out_dir.join("va-timeline.png");
    timeline::plot(&timeline, &sections)
        .save(&plot)
        .with_context(|| format!("cannot write {}", plot.display()))?;
    files.push(plot);
    files.push(gif_path);
    files.push(keyframe_dir);
    Ok(DemoReport {
        frames,
        animation_note,
        timeline,
        keyframes,
        files,
        sections,
    })
}

/// The input's name for messages.
fn source_name(options: &DemoOptions) -> String {
    options
        .input
        .as_ref()
        .map_or_else(|| "the built-in piece".into(), |p| p.display().to_string())
}

/// The morph animation, encoded frame by frame as the demo runs.
struct GifWriter {
    /// The encoder, writing straight to the file.
    encoder: image::codecs::gif::GifEncoder<std::io::BufWriter<std::fs::File>>,
    /// Display time of each frame.
    delay: Delay,
    /// Playback rate, frames per second.
    fps: f32,
    /// Seconds of audio between recorded frames.
    step: f64,
    /// Frames written so far.
    frames: usize,
}

impl GifWriter {
    fn create(path: &Path, fps: f32, step: f64) -> Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut encoder =
            image::codecs::gif::GifEncoder::new_with_speed(std::io::BufWriter::new(file), 20);
        encoder.set_repeat(image::codecs::gif::Repeat::Infinite)?;
        let fps = fps.max(1.0);
        Ok(Self {
            encoder,
            delay: Delay::from_numer_denom_ms(1000, fps.round() as u32),
            fps,
            step,
            frames: 0,
        })
    }

    fn push(&mut self, frame: &RgbImage) -> Result<()> {
        let rgba: RgbaImage = image::DynamicImage::ImageRgb8(frame.clone()).to_rgba8();
        self.encoder
            .encode_frame(Frame::from_parts(rgba, 0, 0, self.delay))?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes the file; returns how the animation maps to `duration` seconds of audio.
    fn finish(self, duration: f64) -> Result<String> {
        let Self {
            encoder,
            fps,
            step,
            frames,
            ..
        } = self;
        drop(encoder);
        let covered = frames as f64 * step;
        let real_time = (step * f64::from(fps) - 1.0).abs() < 1e-6;
        Ok(if real_time && covered + 1.0 >= duration {
            format!("animation in real time, {fps} fps")
        } else if covered + step + 1.0 >= duration {
            format!(
                "animation capped at {MAX_ANIMATION_FRAMES} frames: one frame per {step:.2} s \
                 of audio, played at {fps} fps ({:.0}x real time)",
                step * f64::from(fps)
            )
        } else {
            format!(
                "animation capped at {MAX_ANIMATION_FRAMES} frames: it covers the first \
                 {covered:.0} s of {duration:.0} s"
            )
        })
    }
}
