//! Loads the bundled `Moodscape.clap` in a real CLAP host (clack-host) and drives it the way a
//! DAW does: instantiate on the main thread, activate, process on a separate audio thread,
//! service main-thread callbacks meanwhile, deactivate.
//!
//! The bundle is built with the `ci` profile, so nice-plug's `assert_process_allocs` is armed:
//! one allocation inside `process()` aborts this test process. Every test here therefore also
//! checks that processing never allocates.
//!
//! Needs `cargo xtask bundle moodscape --profile ci` first (`cargo xtask test` does both).

mod common;
mod hostile_state;

use std::cell::Cell;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clack_extensions::audio_ports::{
    AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl, PluginAudioPorts,
};
use clack_extensions::audio_ports_config::{
    AudioPortsConfigBuffer, HostAudioPortsConfig, HostAudioPortsConfigImpl, PluginAudioPortsConfig,
};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::note_ports::{
    HostNotePorts, HostNotePortsImpl, NoteDialect, NoteDialects, NotePortInfoBuffer,
    NotePortRescanFlags, PluginNotePorts,
};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::{
    MidiEvent, ParamGestureBeginEvent, ParamGestureEndEvent, ParamValueEvent,
};
use clack_host::extensions::{Extension, PluginExtensionSide};
use clack_host::prelude::*;

use common::{
    assert_bit_exact, assert_no_thread_leak, fill_sentinel, param_hash, report_time, serial,
    thread_count, CcLog, CcMessage, CcRoute, Program, Signal, BLOCK_SIZES, CLAP_ID,
    OUTPUT_PARAM_IDS, PARAM_IDS, PLUGIN_NAME, SAMPLE_RATES, SECONDS_PER_CASE,
};

/// The test host. Stateless; its per-instance data lives in the handler types.
struct TestHost;

/// Host data shared between the main and the audio thread.
#[derive(Default)]
struct HostShared {
    /// Set by the plugin's `request_callback`; the main thread answers with `on_main_thread`.
    callback_requested: AtomicBool,
    /// Set by `request_restart`; a real host would deactivate and reactivate.
    restart_requests: AtomicU32,
    /// Set by `params.request_flush`; processing flushes parameters anyway.
    flush_requests: AtomicU32,
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restart_requests.fetch_add(1, Ordering::SeqCst);
    }

    fn request_process(&self) {}

    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostParamsImplShared for HostShared {
    fn request_flush(&self) {
        self.flush_requests.fetch_add(1, Ordering::SeqCst);
    }
}

/// Host data that lives on the main thread: counts of the plugin's main-thread notifications,
/// so a test can tell whether the plugin changed something it promised not to.
#[derive(Default)]
struct HostMainThread {
    /// `latency.changed` calls; the latency must stay 0.
    latency_changes: Cell<u32>,
    /// `params.rescan` calls.
    param_rescans: Cell<u32>,
    /// `audio_ports.rescan` calls.
    audio_port_rescans: Cell<u32>,
    /// `state.mark_dirty` calls.
    dirty_marks: Cell<u32>,
}

impl MainThreadHandler<'_> for HostMainThread {}

impl HostLatencyImpl for HostMainThread {
    fn changed(&self) {
        self.latency_changes.set(self.latency_changes.get() + 1);
    }
}

impl HostParamsImplMainThread for HostMainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.param_rescans.set(self.param_rescans.get() + 1);
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for HostMainThread {
    fn mark_dirty(&self) {
        self.dirty_marks.set(self.dirty_marks.get() + 1);
    }
}

impl HostAudioPortsImpl for HostMainThread {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        true
    }

    fn rescan(&self, _flags: AudioPortRescanFlags) {
        self.audio_port_rescans
            .set(self.audio_port_rescans.get() + 1);
    }
}

impl HostNotePortsImpl for HostMainThread {
    fn supported_dialects(&self) -> NoteDialects {
        NoteDialects::CLAP | NoteDialects::MIDI
    }

    fn rescan(&self, _flags: NotePortRescanFlags) {}
}

impl HostAudioPortsConfigImpl for HostMainThread {
    fn rescan(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLatency>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostAudioPorts>()
            .register::<HostNotePorts>()
            .register::<HostAudioPortsConfig>();
    }
}

type Instance = PluginInstance<TestHost>;
type Stopped = StoppedPluginAudioProcessor<TestHost>;

fn load_entry() -> PluginEntry {
    let path = common::clap_bundle();
    // SAFETY: the bundle is this crate's own plugin, built from this checkout.
    unsafe { PluginEntry::load(&path) }
        .unwrap_or_else(|error| panic!("loading {}: {error}", path.display()))
}

fn instantiate(entry: &PluginEntry) -> Instance {
    let host_info = HostInfo::new(
        "moodscape host_clap",
        "Moodscape tests",
        "https://example.invalid",
        "1.0.0",
    )
    .unwrap();
    let id = std::ffi::CString::new(CLAP_ID).unwrap();
    PluginInstance::<TestHost>::new(
        |_| HostShared::default(),
        |_| HostMainThread::default(),
        entry,
        &id,
        &host_info,
    )
    .expect("instantiating the plugin")
}

fn extension<E: Extension<ExtensionSide = PluginExtensionSide>>(
    instance: &Instance,
    name: &str,
) -> E {
    instance
        .plugin_shared_handle()
        .get_extension::<E>()
        .unwrap_or_else(|| panic!("the plugin does not implement the CLAP {name} extension"))
}

fn activate(instance: &mut Instance, sample_rate: f64, max_block: usize) -> Stopped {
    instance
        .activate(
            |_, _| (),
            PluginAudioConfiguration {
                sample_rate,
                min_frames_count: 1,
                max_frames_count: max_block as u32,
            },
        )
        .unwrap_or_else(|error| panic!("activating at {sample_rate} Hz: {error}"))
}

/// Answers a pending `request_callback` the way a host's main loop would.
fn service_main_thread(instance: &mut Instance) {
    if instance
        .access_shared_handler(|shared| shared.callback_requested.swap(false, Ordering::SeqCst))
    {
        instance.call_on_main_thread_callback();
    }
}

/// How one activation is driven.
struct Drive<'a> {
    /// The input, frame by frame.
    program: &'a Program,
    /// Channels of the main ports (2 = default stereo layout, 1 = mono layout).
    channels: usize,
    /// Block sizes used in turn; 0 makes an empty (frames_count 0) process call.
    blocks: &'a [usize],
    /// Parameter changes (id, normalised value) sent with the first process call.
    params: &'a [(u32, f64)],
    /// From this frame on the audio thread sleeps a little after each block, so the analysis
    /// thread sees every frame instead of a faster-than-real-time burst.
    pace_from: Option<u64>,
}

/// Starts processing on a separate audio thread, runs `drive.program` through the plugin with
/// bit-exact checks after every block, stops processing and hands the processor back. The main
/// thread meanwhile answers the plugin's callback requests, as CLAP's threading model expects.
fn run(
    instance: &mut Instance,
    processor: Stopped,
    sample_rate: f64,
    drive: &Drive,
) -> (Stopped, CcLog) {
    let max_block = drive.blocks.iter().copied().max().unwrap();
    std::thread::scope(|scope| {
        let audio = std::thread::Builder::new()
            .name("audio".into())
            .spawn_scoped(scope, move || {
                audio_thread(processor, sample_rate, max_block, drive)
            })
            .unwrap();
        while !audio.is_finished() {
            service_main_thread(instance);
            std::thread::sleep(Duration::from_millis(2));
        }
        let result = audio
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        service_main_thread(instance);
        result
    })
}

fn audio_thread(
    processor: Stopped,
    sample_rate: f64,
    max_block: usize,
    drive: &Drive,
) -> (Stopped, CcLog) {
    let mut processor = processor
        .start_processing()
        .unwrap_or_else(|error| panic!("start_processing: {error}"));
    let channels = drive.channels;
    // Separate input and output storage: the plugin must copy, not rely on in-place buffers.
    let mut inputs = vec![vec![0.0f32; max_block.max(1)]; channels];
    let mut outputs = vec![vec![0.0f32; max_block.max(1)]; channels];
    let mut input_ports = AudioPorts::with_capacity(channels, 1);
    let mut output_ports = AudioPorts::with_capacity(channels, 1);
    let mut input_events = EventBuffer::with_capacity(16);
    let mut output_events = EventBuffer::with_capacity(1024);
    for &(id, value) in drive.params {
        input_events.push(&ParamValueEvent::new(
            0,
            ClapId::new(id),
            Pckn::match_all(),
            value,
        ));
    }
    let total = drive.program.total_frames();
    let mut log = CcLog {
        sample_rate,
        max_block,
        ..CcLog::default()
    };
    let mut frame = 0u64;
    let mut call = 0usize;
    while frame < total {
        let frames = drive.blocks[call % drive.blocks.len()].min((total - frame) as usize);
        call += 1;
        for channel in 0..channels {
            drive
                .program
                .fill(channel, frame, &mut inputs[channel][..frames]);
            fill_sentinel(&mut outputs[channel][..frames]);
        }
        let status = {
            let input_audio = input_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    inputs
                        .iter_mut()
                        .map(|buffer| InputChannel::variable(&mut buffer[..frames])),
                ),
            }]);
            let mut output_audio = output_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    outputs.iter_mut().map(|buffer| &mut buffer[..frames]),
                ),
            }]);
            processor.process(
                &input_audio,
                &mut output_audio,
                &InputEvents::from_buffer(&input_events),
                &mut OutputEvents::from_buffer(&mut output_events),
                Some(frame),
                None,
            )
        };
        if let Err(error) = status {
            panic!("process() failed at frame {frame} (block of {frames}): {error}");
        }
        input_events.clear();
        for channel in 0..channels {
            assert_bit_exact(
                &inputs[channel][..frames],
                &outputs[channel][..frames],
                || {
                    format!(
                        "{sample_rate} Hz, block of {frames} at frame {frame}, channel {channel}"
                    )
                },
            );
        }
        collect_events(&output_events, frame, &mut log);
        output_events.clear();
        if frames > 0 && log.first_block_frames.is_none() {
            log.first_block_frames = Some(frames);
        }
        frame += frames as u64;
        if drive.pace_from.is_some_and(|from| frame >= from) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    log.frames = frame;
    (processor.stop_processing(), log)
}

fn collect_events(events: &EventBuffer, block_start: u64, log: &mut CcLog) {
    for event in events.iter() {
        let frame = block_start + u64::from(event.header().time());
        if let Some(midi) = event.as_event::<MidiEvent>() {
            let [status, controller, value] = midi.data();
            if status & 0xf0 == 0xb0 {
                log.messages.push(CcMessage {
                    frame,
                    channel: status & 0x0f,
                    controller,
                    value,
                });
            } else {
                log.unexpected
                    .push(format!("MIDI {:02x?} at frame {frame}", midi.data()));
            }
        } else if event.as_event::<ParamValueEvent>().is_some()
            || event.as_event::<ParamGestureBeginEvent>().is_some()
            || event.as_event::<ParamGestureEndEvent>().is_some()
        {
            // Output-parameter traffic is allowed; it is not part of the CC stream.
        } else {
            log.unexpected.push(format!(
                "event type {} at frame {frame}",
                event.header().type_id()
            ));
        }
    }
}

/// Parameter id, display name, read-only flag, range and current value.
struct ParamSnapshot {
    /// CLAP parameter id (nice-plug's hash of the string id).
    id: u32,
    /// Display name, for messages.
    name: String,
    /// Whether the plugin marks it read-only (an output).
    read_only: bool,
    /// Smallest value; nice-plug reports 0.
    min: f64,
    /// Largest value: 1 for continuous parameters, the step count for stepped ones (nice-plug
    /// exposes normalised values, scaled by the step count for integers and booleans).
    max: f64,
    /// Current value, in `min..=max`.
    value: f64,
}

fn param_snapshot(instance: &mut Instance) -> Vec<ParamSnapshot> {
    let params: PluginParams = extension(instance, "params");
    let handle = instance.plugin_handle();
    let count = params.count(&handle);
    let mut buffer = ParamInfoBuffer::new();
    (0..count)
        .map(|index| {
            let info = params
                .get_info(&handle, index, &mut buffer)
                .unwrap_or_else(|| panic!("param_info({index}) failed"));
            let id = info.id.get();
            let name = String::from_utf8_lossy(info.name).into_owned();
            let read_only = info.flags.contains(ParamInfoFlags::IS_READONLY);
            let (min, max) = (info.min_value, info.max_value);
            let value = params
                .get_value(&handle, info.id)
                .unwrap_or_else(|| panic!("get_value({name}) failed"));
            assert!(
                value.is_finite() && (min..=max).contains(&value),
                "parameter {name} reads {value}, outside {min}..={max}"
            );
            ParamSnapshot {
                id,
                name,
                read_only,
                min,
                max,
                value,
            }
        })
        .collect()
}

fn latency(instance: &mut Instance) -> u32 {
    let latency: PluginLatency = extension(instance, "latency");
    latency.get(&instance.plugin_handle())
}

/// Every parameter, the VA outputs included when the plugin has them, must still read a real
/// number in its range (`param_snapshot` checks each value).
fn assert_params_sane(instance: &mut Instance, label: &str) {
    let params = param_snapshot(instance);
    let outputs = params
        .iter()
        .filter(|p| OUTPUT_PARAM_IDS.iter().any(|id| param_hash(id) == p.id))
        .count();
    eprintln!(
        "{label}: {} parameters sane, {outputs} of them VA outputs",
        params.len()
    );
}

/// Settings under which the mood can follow the audio within a few seconds: shortest window,
/// no smoothing (both are continuous parameters, so 0 is the minimum).
fn fast_mood() -> [(u32, f64); 2] {
    [(param_hash("smoothing"), 0.0), (param_hash("window"), 0.0)]
}

#[test]
fn descriptor_ports_params_and_latency() {
    let _serial = serial();
    let entry = load_entry();
    let factory = entry
        .get_plugin_factory()
        .expect("the bundle exposes a plugin factory");
    let descriptor = factory
        .plugin_descriptors()
        .find(|d| d.id().map(CStr::to_bytes) == Some(CLAP_ID.as_bytes()))
        .unwrap_or_else(|| panic!("no plugin with id {CLAP_ID} in the bundle"));
    assert_eq!(
        descriptor.name().map(CStr::to_bytes),
        Some(PLUGIN_NAME.as_bytes())
    );

    let mut instance = instantiate(&entry);
    let params = param_snapshot(&mut instance);
    assert!(!params.is_empty(), "the plugin exposes no parameters");
    for id in PARAM_IDS {
        let param = params
            .iter()
            .find(|p| p.id == param_hash(id))
            .unwrap_or_else(|| panic!("parameter `{id}` is missing"));
        assert!(!param.read_only, "parameter `{id}` must be writable");
    }
    for id in OUTPUT_PARAM_IDS {
        match params.iter().find(|p| p.id == param_hash(id)) {
            Some(param) => assert!(param.read_only, "output `{id}` must be read-only"),
            None => eprintln!("note: the plugin exposes no `{id}` output parameter"),
        }
    }

    // Default layout: one stereo main input and output.
    let ports: PluginAudioPorts = extension(&instance, "audio-ports");
    let notes: PluginNotePorts = extension(&instance, "note-ports");
    let configs: PluginAudioPortsConfig = extension(&instance, "audio-ports-config");
    let handle = instance.plugin_handle();
    let mut buffer = AudioPortInfoBuffer::new();
    for is_input in [true, false] {
        assert_eq!(ports.count(&handle, is_input), 1, "main port only");
        let port = ports.get(&handle, 0, is_input, &mut buffer).unwrap();
        assert_eq!(port.channel_count, 2, "stereo by default");
    }
    // The note output the CCs leave through, speaking MIDI.
    assert!(notes.count(&handle, false) >= 1, "no note output port");
    let mut note_buffer = NotePortInfoBuffer::new();
    let note_port = notes.get(&handle, 0, false, &mut note_buffer).unwrap();
    assert!(
        note_port.supported_dialects.supports(NoteDialect::Midi),
        "note output does not speak MIDI"
    );
    // The port configurations offer stereo and mono.
    let mut config_buffer = AudioPortsConfigBuffer::new();
    let channel_counts: Vec<(u32, u32)> = (0..configs.count(&handle))
        .filter_map(|index| {
            let config = configs.get(&handle, index, &mut config_buffer)?;
            Some((
                config.main_input?.channel_count,
                config.main_output?.channel_count,
            ))
        })
        .collect();
    assert!(
        channel_counts.contains(&(2, 2)),
        "configs: {channel_counts:?}"
    );
    assert!(
        channel_counts.contains(&(1, 1)),
        "configs: {channel_counts:?}"
    );

    for sample_rate in [44_100.0, 192_000.0] {
        let processor = activate(&mut instance, sample_rate, 512);
        assert_eq!(latency(&mut instance), 0, "latency at {sample_rate} Hz");
        instance.deactivate(processor);
    }
    assert_eq!(
        instance.access_handler(|h| h.latency_changes.get()),
        0,
        "the plugin reported a latency change"
    );
}

#[test]
fn bit_exact_at_every_block_size() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let sample_rate = 44_100.0;
    let program = Program::new(sample_rate).then(Signal::Music, SECONDS_PER_CASE);
    for block in BLOCK_SIZES {
        let started = Instant::now();
        let processor = activate(&mut instance, sample_rate, block);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[block],
            params: &[],
            pace_from: None,
        };
        let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        log.assert_valid(&format!("block size {block}"));
        report_time(&format!("clap block {block}"), started, SECONDS_PER_CASE);
    }
}

#[test]
fn bit_exact_at_every_sample_rate() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    // 44.1 kHz gets its ten seconds in `bit_exact_at_every_block_size`. Here the host varies the
    // block size from call to call, as real hosts do, up to the 4096 it announced.
    for sample_rate in SAMPLE_RATES.into_iter().filter(|&rate| rate != 44_100.0) {
        let started = Instant::now();
        let program = Program::new(sample_rate).then(Signal::Music, SECONDS_PER_CASE);
        let processor = activate(&mut instance, sample_rate, 4096);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[4096, 511, 64, 1, 1000, 4096, 333],
            params: &[],
            pace_from: None,
        };
        let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        log.assert_valid(&format!("{sample_rate} Hz"));
        report_time(&format!("clap {sample_rate} Hz"), started, SECONDS_PER_CASE);
    }
}

/// The control for the poisoning check of the hostile test: on clean input the mood moves.
#[test]
fn mood_follows_the_audio() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let sample_rate = 48_000.0;
    let program = common::silence_then_music(sample_rate);
    let fast = fast_mood();
    let processor = activate(&mut instance, sample_rate, 511);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[511],
        params: &fast,
        pace_from: Some(0),
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    log.assert_valid("silence then music");
    log.assert_mood_moves(0, "silence then music");
}

#[test]
fn hostile_input_passes_bit_exact_and_does_not_poison() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate)
        .then(Signal::Music, 2.0)
        .then(Signal::NaNs, 0.5)
        .then(Signal::PosInf, 0.25)
        .then(Signal::NegInf, 0.25)
        .then(Signal::Denormals, 0.5)
        .then(Signal::Square, 1.0)
        .then(Signal::Mixed, 1.0)
        .then(Signal::Silence, 3.0)
        .then(Signal::Music, 5.0);
    let recovery = program.start_of(Signal::Silence).unwrap();
    let fast = fast_mood();
    let started = Instant::now();
    let processor = activate(&mut instance, sample_rate, 511);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[511, 64, 1, 511],
        params: &fast,
        pace_from: Some(recovery),
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    log.assert_valid("hostile input");
    assert_params_sane(&mut instance, "after the hostile burst");
    // A NaN that reached the mood would pin it for good (the CC mapping reads NaN as neutral).
    // After the burst the mood must still follow the audio, as it does in
    // `mood_follows_the_audio` without the burst.
    log.assert_mood_moves(recovery, "after the hostile burst");
    // Normal audio after a fresh reset still passes and reports a sane mood.
    instance.deactivate(processor);
    let processor = activate(&mut instance, sample_rate, 511);
    let clean = Program::new(sample_rate).then(Signal::Music, 2.0);
    let drive = Drive {
        program: &clean,
        channels: 2,
        blocks: &[511],
        params: &[],
        pace_from: None,
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    log.assert_valid("music after reactivation");
    report_time(
        "clap hostile",
        started,
        program.total_frames() as f64 / sample_rate + 2.0,
    );
}

#[test]
fn silence_and_empty_blocks() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate)
        .then(Signal::Silence, SECONDS_PER_CASE)
        .then(Signal::Music, 2.0);
    let started = Instant::now();
    let processor = activate(&mut instance, sample_rate, 512);
    // Starts with an empty call (frames_count 0) and mixes a few more in. nice-plug's CLAP wrapper
    // skips the plugin for those and logs a debug-assertion warning for each, so they are few.
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[
            0, 512, 0, 77, 512, 1, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512,
        ],
        params: &[],
        pace_from: None,
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    log.assert_valid("silence with empty blocks");
    assert_params_sane(&mut instance, "after silence");
    report_time(
        "clap silence",
        started,
        program.total_frames() as f64 / sample_rate,
    );
}

#[test]
fn sample_rate_change_keeps_working() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    for sample_rate in [44_100.0, 96_000.0, 22_050.0] {
        let processor = activate(&mut instance, sample_rate, 1024);
        assert_eq!(latency(&mut instance), 0, "latency at {sample_rate} Hz");
        let program = Program::new(sample_rate).then(Signal::Music, 2.0);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[1024, 100],
            params: &[],
            pace_from: None,
        };
        let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        log.assert_valid(&format!("after switching to {sample_rate} Hz"));
    }
}

#[test]
fn hundred_activation_cycles_leave_no_threads_behind() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate).then(Signal::Music, 1024.0 / sample_rate);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[256],
        params: &[],
        pace_from: None,
    };
    let started = Instant::now();
    let before = thread_count();
    let mut while_active = 0;
    for cycle in 0..100 {
        let processor = activate(&mut instance, sample_rate, 256);
        if cycle == 0 {
            while_active = thread_count();
        }
        let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        log.assert_sent_at_activation(cycle);
    }
    let after = thread_count();
    assert_no_thread_leak("clap", before, while_active, after, started);
}

#[test]
fn mono_layout_passes_bit_exact() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let configs: PluginAudioPortsConfig = extension(&instance, "audio-ports-config");
    let mono_id = {
        let handle = instance.plugin_handle();
        let mut buffer = AudioPortsConfigBuffer::new();
        (0..configs.count(&handle))
            .find_map(|index| {
                let config = configs.get(&handle, index, &mut buffer)?;
                let mono = config.main_input.is_some_and(|p| p.channel_count == 1)
                    && config.main_output.is_some_and(|p| p.channel_count == 1);
                mono.then_some(config.id)
            })
            .expect("no mono in/out port configuration")
    };
    configs
        .select(&instance.plugin_handle(), mono_id)
        .expect("selecting the mono configuration");
    let ports: PluginAudioPorts = extension(&instance, "audio-ports");
    {
        let handle = instance.plugin_handle();
        let mut buffer = AudioPortInfoBuffer::new();
        for is_input in [true, false] {
            let port = ports.get(&handle, 0, is_input, &mut buffer).unwrap();
            assert_eq!(port.channel_count, 1, "mono selected, input: {is_input}");
        }
    }
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate)
        .then(Signal::Music, 4.0)
        .then(Signal::Mixed, 0.5)
        .then(Signal::Music, 1.0);
    let processor = activate(&mut instance, sample_rate, 1024);
    let drive = Drive {
        program: &program,
        channels: 1,
        blocks: &[0, 1024, 64, 1, 1024, 1024, 1024, 1024],
        params: &[],
        pace_from: None,
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    log.assert_valid("mono");
}

#[test]
fn state_round_trips() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let state: PluginState = extension(&instance, "state");
    let params: PluginParams = extension(&instance, "params");
    let original = param_snapshot(&mut instance);
    let mut saved = Vec::new();
    state
        .save(&instance.plugin_handle(), &mut saved)
        .expect("saving state");
    assert!(!saved.is_empty(), "empty state");

    // Change every writable parameter through the host's parameter path (flush while inactive).
    let mut changes = EventBuffer::new();
    for param in original.iter().filter(|p| !p.read_only) {
        let middle = (param.min + param.max) / 2.0;
        let target = if param.value < middle {
            param.max
        } else {
            param.min
        };
        changes.push(&ParamValueEvent::new(
            0,
            ClapId::new(param.id),
            Pckn::match_all(),
            target,
        ));
    }
    {
        let mut handle = instance
            .inactive_plugin_handle()
            .expect("the plugin is inactive");
        params.flush(
            &mut handle,
            &InputEvents::from_buffer(&changes),
            &mut OutputEvents::void(),
        );
    }
    let changed = param_snapshot(&mut instance);
    for (before, after) in original.iter().zip(&changed) {
        if !before.read_only {
            assert_ne!(before.value, after.value, "{} did not change", before.name);
        }
    }
    let mut saved_changed = Vec::new();
    state
        .save(&instance.plugin_handle(), &mut saved_changed)
        .expect("saving changed state");
    assert_ne!(
        saved, saved_changed,
        "the state does not capture parameter values"
    );

    // Back to the original state.
    state
        .load(&instance.plugin_handle(), &mut saved.as_slice())
        .expect("loading the saved state");
    for (before, after) in original.iter().zip(param_snapshot(&mut instance)) {
        assert_eq!(
            before.value, after.value,
            "{} not restored by the state",
            before.name
        );
    }
    // And the changed state restores into a fresh instance, which then still processes.
    let mut other = instantiate(&entry);
    state_of(&other)
        .load(&other.plugin_handle(), &mut saved_changed.as_slice())
        .expect("loading into a fresh instance");
    for (expected, actual) in changed.iter().zip(param_snapshot(&mut other)) {
        if !expected.read_only {
            assert_eq!(
                expected.value, actual.value,
                "{} in the copy",
                expected.name
            );
        }
    }
    let sample_rate = 44_100.0;
    let processor = activate(&mut other, sample_rate, 512);
    let program = Program::new(sample_rate).then(Signal::Music, 1.0);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[512],
        params: &[],
        pace_from: None,
    };
    let (processor, log) = run(&mut other, processor, sample_rate, &drive);
    other.deactivate(processor);
    // The changed state moved both controllers to their maximum, 119, and the channel to 16;
    // Freeze went on with the saved mood, neutral (this instance never processed).
    let route = CcRoute {
        channel: 15,
        valence: 119,
        arousal: 119,
    };
    log.assert_carries("after loading a changed state", route, 0.0, 0.0);
}

fn save_state(instance: &mut Instance) -> Vec<u8> {
    let mut saved = Vec::new();
    state_of(instance)
        .save(&instance.plugin_handle(), &mut saved)
        .expect("saving state");
    saved
}

fn load_state(instance: &mut Instance, state: &serde_json::Value) {
    let bytes = common::clap_state_bytes(state);
    state_of(instance)
        .load(&instance.plugin_handle(), &mut &bytes[..])
        .expect("loading an edited state");
}

/// The CCs carry the mood the plugin holds: valence on the valence CC, arousal on the arousal
/// CC, on the configured channel, mapped to 0..127 with neutral at 64 as the README says. The
/// mood is held (Freeze on, loaded with the project), so nothing depends on the VA model.
#[test]
fn cc_carry_the_held_mood_on_the_configured_controllers() {
    let _serial = serial();
    assert_eq!(common::readme_cc_value(0.0), 64, "the README's neutral");
    let entry = load_entry();
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate).then(Signal::Music, 1.5);
    for (valence, arousal, route) in common::held_mood_cases() {
        let mut instance = instantiate(&entry);
        let saved = save_state(&mut instance);
        load_state(
            &mut instance,
            &common::frozen_state(&saved, valence, arousal, route),
        );
        let processor = activate(&mut instance, sample_rate, 512);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[512, 100],
            params: &[],
            pace_from: None,
        };
        let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        log.assert_carries(
            &format!("held V {valence:+} A {arousal:+} on {route:?}"),
            route,
            valence,
            arousal,
        );
    }
}

/// The plugin in a real host sends the mood over OSC to a real UDP socket on 127.0.0.1: first a
/// held mood (exact values), then, unfrozen on music, the live readouts.
#[test]
fn osc_reaches_a_udp_socket() {
    let _serial = serial();
    let receiver = common::OscReceiver::bind();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let saved = save_state(&mut instance);
    let mut state = common::frozen_state(&saved, 0.6, -0.4, CcRoute::default());
    common::set_state_field(
        &mut state,
        "osc",
        serde_json::json!({
            "enabled": true,
            "host": "127.0.0.1",
            "port": receiver.port(),
            "prefix": "/clack",
        }),
    );
    load_state(&mut instance, &state);
    let sample_rate = 48_000.0;

    let held = Program::new(sample_rate).then(Signal::Music, 1.0);
    let processor = activate(&mut instance, sample_rate, 256);
    let drive = Drive {
        program: &held,
        channels: 2,
        blocks: &[256],
        params: &[],
        pace_from: Some(0),
    };
    let (processor, log) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    log.assert_carries("held mood with OSC on", CcRoute::default(), 0.6, -0.4);
    let bundles = receiver.bundles(Duration::from_millis(300));
    assert!(
        !bundles.is_empty(),
        "no OSC bundle arrived from the held run"
    );
    for bundle in &bundles {
        let va = common::assert_osc_bundle(bundle, "/clack");
        assert_eq!(va, Some((0.6, -0.4)), "held mood over OSC: {bundle:?}");
    }

    // Unfrozen on music: the analysis readouts join the mood.
    let music = Program::new(sample_rate).then(Signal::Music, 4.0);
    let mut params = fast_mood().to_vec();
    params.push((param_hash("freeze"), 0.0));
    let processor = activate(&mut instance, sample_rate, 256);
    let drive = Drive {
        program: &music,
        channels: 2,
        blocks: &[256],
        params: &params,
        pace_from: Some(0),
    };
    let (processor, _) = run(&mut instance, processor, sample_rate, &drive);
    instance.deactivate(processor);
    let bundles = receiver.bundles(Duration::from_millis(300));
    eprintln!("{} live bundles; last: {:?}", bundles.len(), bundles.last());
    for bundle in &bundles {
        assert!(
            common::assert_osc_bundle(bundle, "/clack").is_some(),
            "the live mood is always sent: {bundle:?}"
        );
    }
    assert!(
        bundles.iter().any(|bundle| {
            common::osc_arg(bundle, "/clack/silent") == Some(&rosc::OscType::Int(0))
        }),
        "no bundle with the analysis readouts of music (silent 0) in {} bundles",
        bundles.len()
    );
}

/// The host tests load the bundle they think they do: the one in this build's target directory,
/// newer than the sources, and built with the allocation guard armed (a `ci` build). The
/// canary makes `process()` allocate in a child process, which must abort.
#[test]
fn bundle_is_a_fresh_ci_build() {
    if common::in_alloc_canary_child() {
        let entry = load_entry();
        let mut instance = instantiate(&entry);
        let sample_rate = 48_000.0;
        let processor = activate(&mut instance, sample_rate, 64);
        let program = Program::new(sample_rate).then(Signal::Music, 0.01);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[64],
            params: &[],
            pace_from: None,
        };
        let (processor, _) = run(&mut instance, processor, sample_rate, &drive);
        instance.deactivate(processor);
        eprintln!("the child processed audio with the allocation canary armed");
        return;
    }
    let _serial = serial();
    let canonical = |path: std::path::PathBuf| path.canonicalize().unwrap_or(path);
    assert_eq!(
        canonical(common::bundle_dir().parent().unwrap().to_path_buf()),
        canonical(common::target_dir_of_this_executable()),
        "bundle_dir() is not in the target directory this test was built into"
    );
    common::assert_bundle_fresh(&common::clap_bundle());
    common::assert_alloc_canary_caught("bundle_is_a_fresh_ci_build");
}

fn state_of(instance: &Instance) -> PluginState {
    extension(instance, "state")
}

/// A saved state with out-of-range values (as a damaged or hand-edited project could hold) is
/// clamped on load: the plugin runs with, shows and saves again only values inside the
/// parameters' ranges, and an editor size that fits a screen.
#[test]
fn hostile_saved_state_is_clamped_on_load() {
    let _serial = serial();
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let mut saved = Vec::new();
    state_of(&instance)
        .save(&instance.plugin_handle(), &mut saved)
        .expect("saving state");
    let hostile = hostile_state::hostile_state(&saved);

    let mut other = instantiate(&entry);
    state_of(&other)
        .load(&other.plugin_handle(), &mut hostile.as_slice())
        .expect("loading a hostile state");
    for param in param_snapshot(&mut other) {
        assert!(
            (param.min..=param.max).contains(&param.value),
            "{} shows {} outside {}..{}",
            param.name,
            param.value,
            param.min,
            param.max
        );
    }
    let mut resaved = Vec::new();
    state_of(&other)
        .save(&other.plugin_handle(), &mut resaved)
        .expect("saving the loaded state");
    hostile_state::assert_state_clamped(&resaved, "CLAP");
}
