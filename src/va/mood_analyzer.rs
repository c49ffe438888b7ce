//! The one analysis path for mood: audio in, one [`MoodFrame`] per engine summary out.
//!
//! [`MoodAnalyzer`] pushes the same samples through the silence gate, the MusiCNN stream
//! (a patch every [`PATCH_HOP_SECONDS`]) and the analysis engine (a summary every 0.5 s over the
//! window), and joins them into mood rows with [`super::mood::assemble_row`]. The live pipeline
//! (plugin and `moodscape demo`), `moodscape analyze` and the survey kit run it; the trainer runs
//! its two halves separately (so the expensive network output is cached apart from the engine's)
//! and joins them with the same `assemble_row`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::mood::{assemble_row, mood_feature_names, PatchRecord, PatchWindow};
use super::silence::{SilenceGate, SILENCE_THRESHOLD_DB};
use crate::analysis::{Analyzer, AnalyzerConfig, AnalyzerError, FeatureSummary};
use crate::audio_file::{AudioFileError, AudioReader};
use crate::pretrained::musicnn::{Musicnn, MusicnnStream};

/// Seconds between two MusiCNN patches, live and in training (patches do not overlap): one
/// 3 s patch per 3 s of audio keeps the network inside the analysis thread's CPU budget.
pub const PATCH_HOP_SECONDS: f32 = 3.0;

/// What a frame says about the mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoodState {
    /// The row holds at least one patch of music: the model may estimate.
    Ready,
    /// No MusiCNN patch of music ends inside the window yet (the first ~3 s, or after a long
    /// silence): no estimate.
    Warming,
    /// The short-term level is under the silence threshold: no estimate.
    Silent,
}

impl MoodState {
    /// Name written by `moodscape analyze` (`mood_state` column).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ready => "music",
            Self::Warming => "warming",
            Self::Silent => "silent",
        }
    }
}

/// One engine summary joined with the MusiCNN patches of its window.
pub struct MoodFrame<'a> {
    /// The engine's summary (its `t` counts from the engine's last rebuild; see `t`).
    pub summary: &'a FeatureSummary,
    /// Input time at the end of the window, seconds since this analyser started.
    pub t: f64,
    /// The mood row ([`mood_feature_names`] order); patch columns are zero unless `Ready`.
    pub row: &'a [f32],
    /// Patches pooled into the row.
    pub patches: usize,
    /// Whether the row can be estimated.
    pub state: MoodState,
    /// Short-term (3 s) level at the end of the window, dBFS.
    pub level_db: f32,
}

/// Streaming mood analyser: push audio of any rate, channel count and block size.
pub struct MoodAnalyzer {
    /// The analysis engine.
    engine: Analyzer,
    /// MusiCNN front end + network (`None`: engine-only rows, for tests and engine-only models).
    stream: Option<MusicnnStream>,
    /// Recent patches of music.
    patches: PatchWindow,
    /// Short-term level.
    gate: SilenceGate,
    /// Window the patches are pooled over (the engine's window).
    window_seconds: f64,
    /// The row handed out, reused so emitting does not allocate.
    row: Vec<f32>,
    /// Input rate and channels, to rebuild the engine with another window.
    format: (f64, usize),
    /// Input frames pushed so far.
    frames_in: u64,
    /// Input time at which the engine was last rebuilt (its summaries count from there).
    engine_start: f64,
}

impl MoodAnalyzer {
    /// Builds the analyser; invalid rates and channel counts are repaired as
    /// [`Analyzer::new`] does.
    pub fn new(
        input_rate: f64,
        channels: usize,
        config: AnalyzerConfig,
        network: Option<Arc<Musicnn>>,
    ) -> Self {
        let engine = Analyzer::new(input_rate, channels, config);
        Self::build(engine, input_rate, channels, network)
    }

    /// As [`new`](Self::new), refusing invalid rates and channel counts.
    pub fn try_new(
        input_rate: f64,
        channels: usize,
        config: AnalyzerConfig,
        network: Option<Arc<Musicnn>>,
    ) -> Result<Self, AnalyzerError> {
        let engine = Analyzer::try_new(input_rate, channels, config)?;
        Ok(Self::build(engine, input_rate, channels, network))
    }

    fn build(
        engine: Analyzer,
        input_rate: f64,
        channels: usize,
        network: Option<Arc<Musicnn>>,
    ) -> Self {
        let channels = channels.max(1);
        let window_seconds = f64::from(engine.config().window_seconds);
        Self {
            stream: network.map(|net| {
                let mut stream = MusicnnStream::new(net, input_rate, channels, PATCH_HOP_SECONDS);
                // A patch of silence says nothing about the music around it: the stream neither
                // runs the network on it nor emits it.
                stream.skip_patches_below_db(SILENCE_THRESHOLD_DB);
                stream
            }),
            patches: PatchWindow::new(),
            gate: SilenceGate::new(input_rate, channels),
            window_seconds,
            row: vec![0.0; mood_feature_names().len()],
            format: (input_rate, channels),
            frames_in: 0,
            engine_start: 0.0,
            engine,
        }
    }

    /// Rebuilds the engine with another window, keeping the MusiCNN stream and its patches (so a
    /// window change costs the engine's history only). Allocates.
    pub fn set_window(&mut self, window_seconds: f32) {
        let config = AnalyzerConfig {
            window_seconds,
            ..self.engine.config()
        };
        self.engine = Analyzer::new(self.format.0, self.format.1, config);
        self.window_seconds = f64::from(self.engine.config().window_seconds);
        self.engine_start = self.input_seconds();
    }

    /// The window in force, seconds.
    pub fn window_seconds(&self) -> f64 {
        self.window_seconds
    }

    /// Input time consumed, seconds.
    pub fn input_seconds(&self) -> f64 {
        self.frames_in as f64 / self.format.0.max(1.0)
    }

    /// Whether MusiCNN runs (otherwise rows carry engine features only).
    pub fn has_network(&self) -> bool {
        self.stream.is_some()
    }

    /// Feeds interleaved samples; `on_frame` is called once per engine summary, in time order.
    pub fn push_interleaved(&mut self, samples: &[f32], mut on_frame: impl FnMut(&MoodFrame<'_>)) {
        self.gate.push(samples);
        self.frames_in += (samples.len() / self.format.1) as u64;
        let patches = &mut self.patches;
        if let Some(stream) = self.stream.as_mut() {
            // Only patches of music arrive here (see `new`).
            stream.push_interleaved(samples, |patch| {
                patches.push(
                    patch.t_end,
                    patch.rms_db,
                    &patch.output.embedding,
                    &patch.output.taggram,
                );
            });
        }
        let (gate, row, window, engine_only, start) = (
            &self.gate,
            &mut self.row,
            self.window_seconds,
            self.stream.is_none(),
            self.engine_start,
        );
        self.engine.push_interleaved(samples, |summary| {
            let t = start + summary.t;
            let pooled = assemble_row(&summary.values, t, window, patches, row);
            let level_db = gate.level_db();
            let state = if gate.is_silent() {
                MoodState::Silent
            } else if pooled > 0 || engine_only {
                MoodState::Ready
            } else {
                MoodState::Warming
            };
            on_frame(&MoodFrame {
                summary,
                t,
                row,
                patches: pooled,
                state,
                level_db,
            });
        });
    }

    /// Forgets all audio, as if freshly built.
    pub fn reset(&mut self) {
        self.engine.reset();
        if let Some(stream) = self.stream.as_mut() {
            stream.reset();
        }
        self.patches.clear();
        self.gate.reset();
        self.frames_in = 0;
        self.engine_start = 0.0;
    }
}

/// The embedded MusiCNN network, parsed once per process and shared by every analyser; the
/// error is the message the editor and the CLI show.
pub fn shared_network() -> &'static Result<Arc<Musicnn>, String> {
    static NETWORK: OnceLock<Result<Arc<Musicnn>, String>> = OnceLock::new();
    NETWORK.get_or_init(|| {
        Musicnn::embedded()
            .map(Arc::new)
            .map_err(|e| format!("the MusiCNN network cannot be used: {e}"))
    })
}

/// What was analysed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoodFileAnalysis {
    /// Length of the decoded audio in seconds.
    pub duration_seconds: f64,
    /// Frames emitted.
    pub frames: usize,
}

/// Decodes `path` block by block through a [`MoodAnalyzer`], calling `on_frame` per summary.
pub fn analyze_mood_file(
    path: &Path,
    config: AnalyzerConfig,
    network: Option<Arc<Musicnn>>,
    mut on_frame: impl FnMut(&MoodFrame<'_>),
) -> Result<MoodFileAnalysis, AudioFileError> {
    let mut reader = AudioReader::open(path)?;
    let (sample_rate, channels) = (reader.sample_rate(), reader.channels());
    let mut analyzer = MoodAnalyzer::try_new(sample_rate as f64, channels, config, network)
        .map_err(|e| AudioFileError::Unsupported {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let mut frames = 0;
    while let Some(block) = reader.next_block()? {
        analyzer.push_interleaved(block, |frame| {
            frames += 1;
            on_frame(frame);
        });
    }
    Ok(MoodFileAnalysis {
        duration_seconds: reader.frames_read() as f64 / sample_rate.max(1) as f64,
        frames,
    })
}

/// The trainer's expensive half: every MusiCNN patch of a file, through the same
/// `MusicnnStream` and hop the live path uses (patches of silence included; the join drops
/// them as the live path does).
pub fn extract_patches(path: &Path, network: &Arc<Musicnn>) -> anyhow::Result<Vec<PatchRecord>> {
    let mut reader = AudioReader::open(path)?;
    let mut stream = MusicnnStream::new(
        network.clone(),
        reader.sample_rate() as f64,
        reader.channels(),
        PATCH_HOP_SECONDS,
    );
    let mut patches = Vec::new();
    while let Some(block) = reader.next_block()? {
        stream.push_interleaved(block, |patch| {
            patches.push(PatchRecord {
                t_end: patch.t_end,
                rms_db: patch.rms_db,
                embedding: patch.output.embedding.to_vec(),
                taggram: patch.output.taggram.to_vec(),
            })
        });
    }
    Ok(patches)
}
