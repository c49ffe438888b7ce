//! The analysis thread: drains the capture ring, meters it, runs the analysis engine and the VA
//! model, smooths the result and publishes it through [`LiveState`].

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{CaptureReader, LevelMeter, LiveState, OscConfig, OscSender};
use crate::analysis::{Analyzer, AnalyzerConfig, FeatureSummary};
use crate::va::Va;

/// Maps one analysis summary to a mood. Boxed so the worker does not depend on the model type.
pub type VaPredictor = Box<dyn FnMut(&FeatureSummary) -> Va + Send>;

/// How long the thread sleeps when the ring is empty; bounds the added latency of the readouts.
const IDLE_SLEEP: Duration = Duration::from_millis(5);
/// Frames moved out of the ring per step.
const CHUNK_FRAMES: usize = 4096;

/// Settings the worker reads every step, mirrored from the plugin parameters by the audio thread.
#[derive(Debug)]
pub struct AnalysisControls {
    /// Time constant of the one-pole VA smoother, milliseconds.
    pub smoothing_ms: AtomicF32,
    /// Length of the analysis window, seconds.
    pub window_seconds: AtomicF32,
    /// Holds the current mood and skips analysis while set.
    pub freeze: AtomicBool,
    /// Where the mood goes over OSC (off by default); the pipeline's sender reads it.
    pub osc: Arc<OscConfig>,
}

impl Default for AnalysisControls {
    fn default() -> Self {
        Self {
            smoothing_ms: AtomicF32::new(1500.0),
            window_seconds: AtomicF32::new(AnalyzerConfig::default().window_seconds),
            freeze: AtomicBool::new(false),
            osc: Arc::default(),
        }
    }
}

/// Owns the analysis thread; dropping it stops and joins the thread.
pub struct AnalysisWorker {
    /// Asks the thread to finish its current step and exit.
    stop: Arc<AtomicBool>,
    /// Joined on stop so no thread outlives a deactivate.
    handle: Option<JoinHandle<()>>,
}

impl AnalysisWorker {
    /// Starts the thread. `predictor` is `None` when no usable VA model exists: the mood then stays
    /// neutral while levels and features are still published.
    pub fn spawn(
        reader: CaptureReader,
        sample_rate: f32,
        live: Arc<LiveState>,
        controls: Arc<AnalysisControls>,
        predictor: Option<VaPredictor>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("moodscape-analysis".into())
            .spawn(move || {
                let mut task = LivePipeline::new(reader, sample_rate, live, controls, predictor);
                while !thread_stop.load(Ordering::Acquire) {
                    if !task.step() {
                        std::thread::sleep(IDLE_SLEEP);
                    }
                }
            })?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops and joins the thread. Idempotent.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            // A panic inside the analysis must not take the host down with it.
            let _ = handle.join();
        }
    }
}

impl Drop for AnalysisWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the analysis thread does, steppable on its own: the worker calls [`Self::step`] in
/// a loop, and `moodscape demo` drives it synchronously so the demo runs the exact live path.
pub struct LivePipeline {
    /// Source of captured frames.
    reader: CaptureReader,
    /// Host sample rate of the captured frames.
    sample_rate: f32,
    /// Where results go.
    live: Arc<LiveState>,
    /// Parameter mirror.
    controls: Arc<AnalysisControls>,
    /// The model, if one loaded.
    predictor: Option<VaPredictor>,
    /// The shared analysis engine, rebuilt when the window length changes.
    analyzer: Analyzer,
    /// Window length the analyser was built with.
    window_seconds: f32,
    /// Level readout ballistics.
    meter: LevelMeter,
    /// Reused read buffer, allocated once.
    chunk: Vec<f32>,
    /// Latest model output that the smoother moves towards.
    target: Va,
    /// Smoothed mood.
    smoothed: Va,
    /// Whether the previous step was frozen, to restart the window cleanly afterwards.
    was_frozen: bool,
    /// Sends the published state over OSC when the user turned it on; idle otherwise.
    osc: OscSender,
}

impl LivePipeline {
    pub fn new(
        reader: CaptureReader,
        sample_rate: f32,
        live: Arc<LiveState>,
        controls: Arc<AnalysisControls>,
        predictor: Option<VaPredictor>,
    ) -> Self {
        let window_seconds = sanitize_window(controls.window_seconds.load(Ordering::Relaxed));
        let channels = reader.channels();
        Self {
            analyzer: build_analyzer(sample_rate, channels, window_seconds),
            chunk: vec![0.0; CHUNK_FRAMES * channels],
            meter: LevelMeter::new(sample_rate),
            osc: OscSender::new(controls.osc.clone()),
            target: live.va(),
            smoothed: live.va(),
            reader,
            sample_rate,
            live,
            controls,
            predictor,
            window_seconds,
            was_frozen: false,
        }
    }

    /// Processes one chunk; returns false when the ring was empty.
    pub fn step(&mut self) -> bool {
        // First, so the OSC refresh also runs while frozen or while no audio arrives.
        self.osc.poll(&self.live);
        let read = self.reader.read(&mut self.chunk);
        if read == 0 {
            return false;
        }
        let channels = self.reader.channels();
        let samples = &self.chunk[..read];
        self.meter.process(samples, channels);
        self.live
            .rms_db
            .store(self.meter.rms_db(), Ordering::Relaxed);
        self.live
            .peak_db
            .store(self.meter.peak_db(), Ordering::Relaxed);

        if self.controls.freeze.load(Ordering::Relaxed) {
            self.was_frozen = true;
            return true;
        }
        let window_seconds = sanitize_window(self.controls.window_seconds.load(Ordering::Relaxed));
        if self.was_frozen {
            // Continue from whatever was held (possibly a mood picked by hand), without a jump.
            self.smoothed = self.live.va();
            self.target = self.smoothed;
        }
        if self.was_frozen || window_seconds != self.window_seconds {
            self.analyzer = build_analyzer(self.sample_rate, channels, window_seconds);
            self.window_seconds = window_seconds;
            self.was_frozen = false;
        }

        let live = &self.live;
        let predictor = &mut self.predictor;
        let target = &mut self.target;
        self.analyzer.push_interleaved(samples, |summary| {
            live.publish_summary(summary);
            if let Some(predict) = predictor.as_mut() {
                let va = predict(summary);
                if va.valence.is_finite() && va.arousal.is_finite() {
                    *target = Va {
                        valence: va.valence.clamp(-1.0, 1.0),
                        arousal: va.arousal.clamp(-1.0, 1.0),
                    };
                    live.raw_valence.store(target.valence, Ordering::Relaxed);
                    live.raw_arousal.store(target.arousal, Ordering::Relaxed);
                }
            }
        });

        let elapsed = (read / channels) as f32 / self.sample_rate;
        let tau = self.controls.smoothing_ms.load(Ordering::Relaxed).max(0.0) / 1000.0;
        let alpha = if tau > 0.0 {
            1.0 - (-elapsed / tau).exp()
        } else {
            1.0
        };
        self.smoothed.valence += alpha * (self.target.valence - self.smoothed.valence);
        self.smoothed.arousal += alpha * (self.target.arousal - self.smoothed.arousal);
        self.live
            .valence
            .store(self.smoothed.valence, Ordering::Relaxed);
        self.live
            .arousal
            .store(self.smoothed.arousal, Ordering::Relaxed);
        true
    }
}

/// Keeps the window within what the parameter allows even if a host sends garbage.
fn sanitize_window(seconds: f32) -> f32 {
    if seconds.is_finite() {
        seconds.clamp(2.0, 60.0).round()
    } else {
        AnalyzerConfig::default().window_seconds
    }
}

fn build_analyzer(sample_rate: f32, channels: usize, window_seconds: f32) -> Analyzer {
    Analyzer::new(
        f64::from(sample_rate),
        channels,
        AnalyzerConfig {
            window_seconds,
            ..AnalyzerConfig::default()
        },
    )
}
