//! Moodscape: listens to music, estimates its mood as valence/arousal and paints a landscape.
//!
//! The DSP and ML live in plugin-free modules (`analysis`, `va`, `landscape`, `live`) so the CLI,
//! the trainers, the tests and the benchmarks use exactly the code the plugin runs. This file is
//! only the plugin shell: it copies audio into the capture ring, mirrors parameters into atomics
//! and sends the mood as MIDI CC.

pub mod analysis;
pub mod audio_file;
pub mod cli;
pub mod demo;
mod editor;
pub mod landscape;
pub mod live;
mod matmul;
mod params;
pub mod pretrained;
pub mod survey;
pub mod va;

use nice_plug::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use live::{capture_ring, AnalysisControls, AnalysisWorker, CaptureWriter, CcScheduler, LiveState};
pub use params::MoodscapeParams;

/// The plugin instance.
pub struct Moodscape {
    /// Host-visible parameters and persisted editor state.
    params: Arc<MoodscapeParams>,
    /// Readouts published by the analysis thread for the editor and the CC output.
    live: Arc<LiveState>,
    /// Parameter values mirrored into atomics for the analysis thread.
    controls: Arc<AnalysisControls>,
    /// Audio-thread end of the capture ring; `None` while deactivated.
    capture: Option<CaptureWriter>,
    /// The analysis thread; `None` while deactivated.
    worker: Option<AnalysisWorker>,
    /// Decides when the mood goes out as MIDI CC.
    cc: CcScheduler,
    /// Test hook of `ci` builds (debug assertions) only: armed at activation by the
    /// `MOODSCAPE_ALLOC_CANARY` environment variable, it makes `process()` allocate, so the host
    /// tests can prove that the bundle they load aborts on an allocation there. Always false in
    /// release builds.
    alloc_canary: bool,
}

impl Default for Moodscape {
    fn default() -> Self {
        let params = Arc::new(MoodscapeParams::default());
        // `moodscape standalone --osc HOST:PORT` turns OSC on from the command line.
        if let Some(settings) = cli::standalone::osc_preset() {
            params.osc.set(settings);
        }
        // The analysis thread's OSC sender reads the same settings the editor edits.
        let controls = AnalysisControls {
            osc: params.osc.clone(),
            ..AnalysisControls::default()
        };
        Self {
            params,
            live: Arc::new(LiveState::default()),
            controls: Arc::new(controls),
            capture: None,
            worker: None,
            cc: CcScheduler::new(48_000.0),
            alloc_canary: false,
        }
    }
}

impl Moodscape {
    fn stop_worker(&mut self) {
        if let Some(mut worker) = self.worker.take() {
            worker.stop();
        }
        self.capture = None;
    }

    fn mirror_controls(&self) {
        let params = &self.params;
        let controls = &self.controls;
        controls
            .smoothing_ms
            .store(params.smoothing_ms.value(), Ordering::Relaxed);
        controls
            .window_seconds
            .store(params.window_seconds.value(), Ordering::Relaxed);
        controls
            .freeze
            .store(params.freeze.value(), Ordering::Relaxed);
    }

    /// Puts a mood loaded with the project on the readouts, or else remembers the current mood
    /// for the next save. Atomics only: called from `process()` and `activate()`.
    fn sync_saved_mood(&self) {
        match self.params.saved_mood.take_restore() {
            Some(va) => {
                self.live.valence.store(va.valence, Ordering::Relaxed);
                self.live.arousal.store(va.arousal, Ordering::Relaxed);
            }
            None => self.params.saved_mood.record(self.live.va()),
        }
    }
}

impl Plugin for Moodscape {
    const NAME: &'static str = "Moodscape";
    const VENDOR: &'static str = "Moodscape";
    const URL: &'static str = "https://example.invalid/moodscape";
    const EMAIL: &'static str = "moodscape@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type SysExMessage = ();
    type BackgroundTask = ();
    type Editor = editor::MoodscapeEditor;

    /// Out-of-range saved values are clamped before they load (see `params::sanitize_state`).
    fn filter_state(state: &mut PluginState) {
        params::sanitize_state(state);
    }

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.live.clone())
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.stop_worker();
        let channels = audio_io_layout
            .main_input_channels
            .map_or(1, NonZeroU32::get) as usize;
        let sample_rate = buffer_config.sample_rate;
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return false;
        }
        let (writer, reader) = capture_ring(channels, self.live.dropped_frames.clone());
        self.mirror_controls();
        // Before the thread starts, so its smoother starts from a mood loaded with the project.
        self.sync_saved_mood();
        let predictor = live::load_predictor(&self.live);
        match AnalysisWorker::spawn(
            reader,
            sample_rate,
            self.live.clone(),
            self.controls.clone(),
            predictor,
        ) {
            Ok(worker) => {
                self.worker = Some(worker);
                self.capture = Some(writer);
            }
            // Without the thread the plugin still passes audio; the editor shows why it is idle.
            Err(error) => self
                .live
                .set_model_status(format!("analysis thread failed to start: {error}")),
        }
        self.cc = CcScheduler::new(sample_rate);
        self.alloc_canary =
            cfg!(debug_assertions) && std::env::var_os("MOODSCAPE_ALLOC_CANARY").is_some();
        true
    }

    fn reset(&mut self) {
        self.cc.reset();
    }

    fn deactivate(&mut self) {
        self.stop_worker();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        if self.alloc_canary {
            // Deliberately breaks the audio-thread rule; only the allocation test arms it.
            std::hint::black_box(Vec::<u8>::with_capacity(64));
        }
        // Pass-through is the host's copy of input to output (or in-place); nothing here writes the
        // buffer, which is what makes the output bit-exact.
        if let Some(capture) = self.capture.as_mut() {
            capture.write_block(buffer.as_slice_immutable());
        }
        self.mirror_controls();
        self.sync_saved_mood();

        let params = &self.params;
        let channel = (params.cc_channel.value() - 1).clamp(0, 15) as u8;
        let controllers = [
            params.cc_valence.value().clamp(0, 119) as u8,
            params.cc_arousal.value().clamp(0, 119) as u8,
        ];
        let block_samples = buffer.samples() as u32;
        self.cc.poll(
            self.live.va(),
            channel,
            controllers,
            block_samples,
            |event| {
                // A full host queue only loses this message; the refresh re-sends it.
                let _ = context.try_send_event(NoteEvent::MidiCC {
                    timing: 0,
                    channel: event.channel,
                    cc: event.controller,
                    value: f32::from(event.value) / 127.0,
                });
            },
        );
        ProcessStatus::Normal
    }
}

impl Drop for Moodscape {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

impl ClapPlugin for Moodscape {
    const CLAP_ID: &'static str = "dev.moodscape.moodscape";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Listens to the music, estimates its mood and paints an emotional landscape");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Moodscape {
    const VST3_CLASS_ID: [u8; 16] = *b"MoodscapeAnalyzr";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Moodscape);
nice_export_vst3!(Moodscape);
