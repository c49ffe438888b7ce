//! The analysis thread: drains the capture ring, meters it, runs the mood analyser (engine +
//! MusiCNN + silence gate, [`MoodAnalyzer`]) and the VA model, smooths the result and publishes it
//! through [`LiveState`].
//!
//! Silence and warming hold the mood: while the short-term level is under the silence threshold,
//! or before a MusiCNN patch of music lies inside the window, the model is not asked and the
//! smoothed VA (hence the MIDI CCs) stays where it was; `LiveState::mood_state` says which.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{CaptureReader, LevelMeter, LiveState, OscConfig, OscSender};
use crate::analysis::AnalyzerConfig;
use crate::pretrained::musicnn::Musicnn;
use crate::va::mood::MOOD_WINDOW_SECONDS;
use crate::va::mood_analyzer::{MoodAnalyzer, MoodState};
use crate::va::Va;

/// Maps one mood row to a mood. Boxed so the worker does not depend on the model type.
pub type VaPredictor = Box<dyn FnMut(&[f32]) -> Va + Send>;

/// What the analysis thread needs to estimate the mood.
pub struct MoodEstimator {
    /// The VA model on mood rows.
    pub predict: VaPredictor,
    /// The MusiCNN network the rows need (`None`: engine-only rows, for engine-only models and
    /// tests).
    pub network: Option<Arc<Musicnn>>,
}

/// Default time constant of the VA smoother (the Smoothing parameter), milliseconds: short
/// enough that the shown mood crosses half-way to a new section's within 4 s (README,
/// "Measured"), long enough to hide the step every new MusiCNN patch makes.
pub const DEFAULT_SMOOTHING_MS: f32 = 800.0;

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
            smoothing_ms: AtomicF32::new(DEFAULT_SMOOTHING_MS),
            window_seconds: AtomicF32::new(MOOD_WINDOW_SECONDS),
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
    /// Starts the thread. `estimator` is `None` when no usable VA model or network exists: the
    /// mood then stays neutral while levels and features are still published.
    pub fn spawn(
        reader: CaptureReader,
        sample_rate: f32,
        live: Arc<LiveState>,
        controls: Arc<AnalysisControls>,
        estimator: Option<MoodEstimator>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("moodscape-analysis".into())
            .spawn(move || {
                let mut task = LivePipeline::new(reader, sample_rate, live, controls, estimator);
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
    /// The network the analyser was built with, to rebuild it after a freeze.
    network: Option<Arc<Musicnn>>,
    /// The shared mood analyser (engine + MusiCNN + silence gate).
    analyzer: MoodAnalyzer,
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
        estimator: Option<MoodEstimator>,
    ) -> Self {
        let window_seconds = sanitize_window(controls.window_seconds.load(Ordering::Relaxed));
        let channels = reader.channels();
        let (predictor, network) = match estimator {
            Some(estimator) => (Some(estimator.predict), estimator.network),
            None => (None, None),
        };
        Self {
            analyzer: build_analyzer(sample_rate, channels, window_seconds, network.clone()),
            network,
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
        if self.was_frozen {
            // The held mood may be far from the music now: start the window afresh.
            self.analyzer = build_analyzer(
                self.sample_rate,
                channels,
                window_seconds,
                self.network.clone(),
            );
            self.window_seconds = window_seconds;
            self.was_frozen = false;
        } else if window_seconds != self.window_seconds {
            // Keeps the MusiCNN stream and its patches; only the engine's history restarts.
            self.analyzer.set_window(window_seconds);
            self.window_seconds = window_seconds;
        }

        let live = &self.live;
        let predictor = &mut self.predictor;
        let target = &mut self.target;
        let mut holding = None;
        self.analyzer.push_interleaved(samples, |frame| {
            live.publish_summary(frame.summary);
            live.set_mood_state(frame.state);
            if frame.state != MoodState::Ready {
                holding = Some(true);
                return;
            }
            holding = Some(false);
            if let Some(predict) = predictor.as_mut() {
                let va = predict(frame.row);
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
        if holding == Some(true) {
            // Silence or warming: the mood (and the CCs) hold where they are.
            self.target = self.smoothed;
        }

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
        MOOD_WINDOW_SECONDS
    }
}

fn build_analyzer(
    sample_rate: f32,
    channels: usize,
    window_seconds: f32,
    network: Option<Arc<Musicnn>>,
) -> MoodAnalyzer {
    MoodAnalyzer::new(
        f64::from(sample_rate),
        channels,
        AnalyzerConfig {
            window_seconds,
            ..AnalyzerConfig::default()
        },
        network,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::capture_ring;
    use std::sync::atomic::AtomicU64;

    const RATE: f32 = 48_000.0;
    /// Host block: 10 ms, stepped after every block so readouts can be sampled finely.
    const BLOCK: usize = 480;

    /// A pipeline on engine-only rows with a stand-in model: valence follows the window's RMS
    /// level (column 0), arousal is fixed, so tests can steer the "mood" with the input level.
    struct Rig {
        writer: crate::live::CaptureWriter,
        pipeline: LivePipeline,
        live: Arc<LiveState>,
        controls: Arc<AnalysisControls>,
        /// Input seconds pushed.
        t: f64,
    }

    fn level_model() -> VaPredictor {
        Box::new(|row: &[f32]| Va {
            valence: ((row[0] + 40.0) / 30.0).clamp(-1.0, 1.0),
            arousal: 0.5,
        })
    }

    fn rig(estimator: Option<MoodEstimator>) -> Rig {
        let (writer, reader) = capture_ring(2, Arc::new(AtomicU64::new(0)));
        let live = Arc::new(LiveState::default());
        let controls = Arc::new(AnalysisControls::default());
        let pipeline = LivePipeline::new(reader, RATE, live.clone(), controls.clone(), estimator);
        Rig {
            writer,
            pipeline,
            live,
            controls,
            t: 0.0,
        }
    }

    fn engine_only() -> Option<MoodEstimator> {
        Some(MoodEstimator {
            predict: level_model(),
            network: None,
        })
    }

    impl Rig {
        /// Plays `seconds` of a 220 Hz tone with amplitude `amplitude` (0 = digital silence),
        /// calling `each` after every block.
        fn play(&mut self, seconds: f64, amplitude: f32, mut each: impl FnMut(&Rig)) {
            let blocks = (seconds * f64::from(RATE) / BLOCK as f64).round() as usize;
            for _ in 0..blocks {
                let start = (self.t * f64::from(RATE)) as usize;
                let block: Vec<f32> = (0..BLOCK)
                    .map(|i| {
                        let n = (start + i) as f32;
                        amplitude * (std::f32::consts::TAU * 220.0 * n / RATE).sin()
                    })
                    .collect();
                self.writer.write_block(&[&block, &block]);
                while self.pipeline.step() {}
                self.t += BLOCK as f64 / f64::from(RATE);
                each(self);
            }
        }
    }

    #[test]
    fn freeze_stops_the_mood_but_not_the_level_readouts() {
        let mut rig = rig(engine_only());
        rig.play(4.0, 0.3, |_| {});
        let before = rig.live.va();
        assert!(before.valence != 0.0, "the mood moved while playing");
        rig.controls.freeze.store(true, Ordering::Relaxed);
        let rms_loud = rig.live.rms_db.load(Ordering::Relaxed);
        rig.play(3.0, 0.01, |rig| assert_eq!(rig.live.va(), before, "frozen"));
        let rms_quiet = rig.live.rms_db.load(Ordering::Relaxed);
        assert!(
            rms_quiet < rms_loud - 20.0,
            "levels go on while frozen: {rms_loud} -> {rms_quiet}"
        );
        rig.controls.freeze.store(false, Ordering::Relaxed);
        rig.play(4.0, 0.01, |_| {});
        assert!(rig.live.va() != before, "unfrozen, the mood follows again");
    }

    #[test]
    fn a_step_reaches_63_percent_in_one_time_constant() {
        let tau = 2.0;
        let mut rig = rig(Some(MoodEstimator {
            predict: Box::new(|_: &[f32]| Va {
                valence: 0.8,
                arousal: -0.6,
            }),
            network: None,
        }));
        rig.controls
            .smoothing_ms
            .store(tau as f32 * 1000.0, Ordering::Relaxed);
        let mut trace = Vec::new();
        rig.play(6.0, 0.3, |rig| {
            trace.push((
                rig.t,
                rig.live.va(),
                rig.live.raw_valence.load(Ordering::Relaxed),
            ))
        });
        let step_at = trace.iter().find(|(_, _, raw)| *raw != 0.0).unwrap().0;
        let at_tau = trace
            .iter()
            .find(|(t, _, _)| *t >= step_at + tau)
            .unwrap()
            .1;
        let (share_v, share_a) = (at_tau.valence / 0.8, at_tau.arousal / -0.6);
        for share in [share_v, share_a] {
            assert!(
                (share - 0.632).abs() < 0.04,
                "after one time constant the step is {share:.3} done"
            );
        }
    }

    #[test]
    fn silence_holds_the_mood_and_says_so() {
        let mut rig = rig(engine_only());
        rig.play(5.0, 0.3, |_| {});
        assert_eq!(rig.live.mood_state(), MoodState::Ready);
        let playing = rig.live.va();
        // Digital silence: after the 3 s short-term span the gate closes and VA holds.
        rig.play(4.0, 0.0, |_| {});
        assert_eq!(rig.live.mood_state(), MoodState::Silent);
        let held = rig.live.va();
        rig.play(6.0, 0.0, |rig| {
            assert_eq!(rig.live.va(), held, "holds in silence")
        });
        // -80 dBFS is silence too (the model would read it as a very different mood).
        rig.play(6.0, 1e-4, |rig| {
            assert_eq!(rig.live.va(), held, "holds at -80 dBFS")
        });
        assert_eq!(rig.live.mood_state(), MoodState::Silent);
        assert!(
            (held.valence - playing.valence).abs() < 0.3,
            "held near the music's mood"
        );
        // Music again: the gate opens at once and the mood follows.
        rig.play(3.0, 0.3, |_| {});
        assert_eq!(rig.live.mood_state(), MoodState::Ready);
        assert!(rig.live.va() != held);
    }

    #[test]
    fn digital_silence_from_the_start_never_leaves_neutral() {
        let mut rig = rig(engine_only());
        rig.play(12.0, 0.0, |rig| assert_eq!(rig.live.va(), Va::default()));
        assert_eq!(rig.live.mood_state(), MoodState::Silent);
        assert!(
            rig.live.summaries.load(Ordering::Relaxed) > 0,
            "readouts still run"
        );
    }

    #[test]
    fn a_window_change_keeps_the_stream_going() {
        let mut rig = rig(engine_only());
        rig.play(6.0, 0.3, |_| {});
        let summaries = rig.live.summaries.load(Ordering::Relaxed);
        rig.controls.window_seconds.store(8.0, Ordering::Relaxed);
        let mut states = Vec::new();
        rig.play(3.0, 0.005, |rig| states.push(rig.live.mood_state()));
        assert_eq!(rig.pipeline.window_seconds, 8.0);
        assert_eq!(rig.pipeline.analyzer.window_seconds(), 8.0);
        let after = rig.live.summaries.load(Ordering::Relaxed);
        assert!(
            after >= summaries + 5,
            "summaries go on: {summaries} -> {after}"
        );
        assert!(
            states.iter().all(|s| *s == MoodState::Ready),
            "no re-warming"
        );
        assert!(
            rig.live.raw_valence.load(Ordering::Relaxed) < 0.0,
            "the model follows the quieter music"
        );
    }

    #[test]
    fn without_a_model_audio_is_metered_and_the_status_says_why() {
        let live = LiveState::default();
        let estimator = super::super::model::estimator_from(
            &Err("the model file is corrupt: test".into()),
            &Err("the MusiCNN network cannot be used: test".into()),
            &live,
        );
        assert!(estimator.is_none());
        assert!(!live.model_ready.load(Ordering::Relaxed));
        assert!(
            live.model_status().contains("corrupt"),
            "{}",
            live.model_status()
        );

        let mut rig = rig(None);
        rig.play(4.0, 0.3, |_| {});
        assert_eq!(rig.live.va(), Va::default(), "no model, neutral mood");
        assert!(rig.live.rms_db.load(Ordering::Relaxed) > -20.0);
        assert!(rig.live.summaries.load(Ordering::Relaxed) > 0);
    }

    /// The capture ring holds 4 s; a step that runs a MusiCNN forward pass must take a small
    /// fraction of that, or the audio thread would drop frames while the network runs.
    #[test]
    fn a_step_with_a_forward_pass_fits_easily_in_the_capture_ring() {
        let network = match crate::va::mood_analyzer::shared_network() {
            Ok(network) => network.clone(),
            Err(error) => panic!("{error}"),
        };
        let mut rig = rig(Some(MoodEstimator {
            predict: level_model(),
            network: Some(network),
        }));
        let mut slowest = 0f64;
        let started = std::time::Instant::now();
        let mut total = 0.0;
        for _ in 0..(12 * 100) {
            let start = (rig.t * f64::from(RATE)) as usize;
            let block: Vec<f32> = (0..BLOCK)
                .map(|i| 0.3 * (std::f32::consts::TAU * 220.0 * (start + i) as f32 / RATE).sin())
                .collect();
            rig.writer.write_block(&[&block, &block]);
            let step = std::time::Instant::now();
            while rig.pipeline.step() {}
            slowest = slowest.max(step.elapsed().as_secs_f64());
            total += step.elapsed().as_secs_f64();
            rig.t += BLOCK as f64 / f64::from(RATE);
        }
        println!(
            "slowest step {:.1} ms; {:.2} % of one core over 12 s of 48 kHz stereo ({:.1} s wall)",
            slowest * 1e3,
            total / 12.0 * 100.0,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(rig.live.mood_state(), MoodState::Ready);
        assert!(
            slowest < f64::from(crate::live::RING_SECONDS) / 4.0,
            "a step took {slowest:.3} s against a {} s ring",
            crate::live::RING_SECONDS
        );
    }
}
