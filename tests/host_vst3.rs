//! Loads the bundled `Moodscape.vst3` in a real VST3 host (vst3-host, in-process) and drives it
//! like a DAW: load and configure on the control thread, process on a separate audio thread.
//!
//! vst3-host ties `setActive` to `start_processing`/`stop_processing` (both on the control
//! thread, as that crate requires); only `process` runs on the audio thread.
//!
//! The bundle is built with the `ci` profile, so nice-plug's `assert_process_allocs` is armed:
//! one allocation inside `process()` aborts this test process.
//!
//! Needs `cargo xtask bundle moodscape --profile ci` first (`cargo xtask test` does both).

mod common;
mod hostile_state;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use vst3_host::{AudioBuffers, Plugin, PluginEventData, SpeakerArrangement, Vst3Host};

use common::{
    assert_bit_exact, assert_no_thread_leak, fill_sentinel, param_hash, report_time, serial,
    thread_count, CcLog, CcMessage, CcRoute, Program, Signal, BLOCK_SIZES, OUTPUT_PARAM_IDS,
    PARAM_IDS, PLUGIN_NAME, SAMPLE_RATES, SECONDS_PER_CASE,
};

/// Loads the plugin in-process, configured for `sample_rate` and blocks of at most `max_block`,
/// and leaves it inactive (vst3-host activates it while loading).
fn load(sample_rate: f64, max_block: usize) -> Plugin {
    let path = common::vst3_bundle();
    let mut host = Vst3Host::builder()
        .sample_rate(sample_rate)
        .block_size(max_block)
        .with_process_isolation(false)
        .build()
        .expect("building the VST3 host");
    let mut plugin = host
        .load_plugin(&path)
        .unwrap_or_else(|error| panic!("loading {}: {error}", path.display()));
    // The load activated the component; a start/stop pair leaves it inactive and set up.
    plugin.start_processing().expect("start_processing");
    plugin.stop_processing().expect("stop_processing");
    plugin
}

/// Re-runs `setupProcessing` for a new rate and block size and starts processing.
fn activate(plugin: &mut Plugin, sample_rate: f64, max_block: usize) {
    plugin
        .reconfigure(sample_rate, max_block)
        .unwrap_or_else(|error| panic!("reconfigure to {sample_rate} Hz: {error}"));
    plugin
        .start_processing()
        .unwrap_or_else(|error| panic!("start_processing at {sample_rate} Hz: {error}"));
}

/// How one activation is driven.
struct Drive<'a> {
    /// The input, frame by frame.
    program: &'a Program,
    /// Channels of the main buses (2 = default stereo, 1 = mono arrangement).
    channels: usize,
    /// Block sizes used in turn; 0 makes an empty (numSamples 0) process call.
    blocks: &'a [usize],
    /// From this frame on the audio thread sleeps a little after each block, so the analysis
    /// thread sees every frame instead of a faster-than-real-time burst.
    pace_from: Option<u64>,
}

/// Block sizes `drive` will actually use, including the shortened last block.
fn block_sequence(drive: &Drive) -> Vec<usize> {
    let total = drive.program.total_frames();
    let mut frame = 0u64;
    let mut sequence = Vec::new();
    while frame < total {
        let frames =
            drive.blocks[sequence.len() % drive.blocks.len()].min((total - frame) as usize);
        sequence.push(frames);
        frame += frames as u64;
    }
    sequence
}

/// Moves the (processing) plugin to an audio thread, runs `drive.program` through it with
/// bit-exact checks after every block, and hands it back.
fn run(plugin: Plugin, sample_rate: f64, drive: &Drive) -> (Plugin, CcLog) {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("audio".into())
            .spawn_scoped(scope, move || audio_thread(plugin, sample_rate, drive))
            .unwrap()
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn audio_thread(mut plugin: Plugin, sample_rate: f64, drive: &Drive) -> (Plugin, CcLog) {
    let sequence = block_sequence(drive);
    // vst3-host takes the block length from the buffer length, so one buffer set per size,
    // all allocated before processing starts.
    let mut buffers: HashMap<usize, AudioBuffers> = HashMap::new();
    for &frames in &sequence {
        buffers.entry(frames).or_insert_with(|| {
            AudioBuffers::new(drive.channels, drive.channels, frames, sample_rate)
        });
    }
    let mut log = CcLog {
        sample_rate,
        max_block: sequence.iter().copied().max().unwrap_or(0),
        ..CcLog::default()
    };
    let mut frame = 0u64;
    for frames in sequence {
        let buffer = buffers.get_mut(&frames).unwrap();
        for channel in 0..drive.channels {
            drive
                .program
                .fill(channel, frame, &mut buffer.inputs[channel]);
            fill_sentinel(&mut buffer.outputs[channel]);
        }
        plugin.process_audio(buffer).unwrap_or_else(|error| {
            panic!("process failed at frame {frame} (block of {frames}): {error}")
        });
        for channel in 0..drive.channels {
            let context = || {
                format!("{sample_rate} Hz, block of {frames} at frame {frame}, channel {channel}")
            };
            let input = &buffer.inputs[channel];
            let output = &buffer.outputs[channel];
            if host_sees_silence(input) {
                assert_host_silenced(output, context);
            } else {
                assert_bit_exact(input, output, context);
            }
        }
        for event in plugin.take_output_events() {
            let at = frame + u64::try_from(event.sample_offset).unwrap_or(0);
            match event.data {
                PluginEventData::LegacyMidiCcOut {
                    control_number,
                    channel,
                    value,
                    ..
                } if control_number < 128 => log.messages.push(CcMessage {
                    frame: at,
                    channel: channel as u8,
                    controller: control_number,
                    value,
                }),
                other => log.unexpected.push(format!("{other:?} at frame {at}")),
            }
        }
        if frames > 0 && log.first_block_frames.is_none() {
            log.first_block_frames = Some(frames);
        }
        frame += frames as u64;
        if drive.pace_from.is_some_and(|from| frame >= from) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    log.frames = frame;
    (plugin, log)
}

/// Whether vst3-host will flag this channel block as silent and rewrite it.
///
/// After `process` vst3-host computes each output channel's silence flag itself, by comparing
/// every sample with `0.0` while its denormal guard has FTZ and DAZ set, and then writes `+0.0`
/// over flagged channels instead of copying them to the caller (`update_bus_silence_flags` and
/// `copy_outputs_to` in vst3-host 0.10). So a block made only of signed zeros and subnormals
/// reaches the caller as `+0.0` whatever the plugin wrote, and bit-exactness of such blocks
/// can only be checked in the CLAP host. Every block with one normal, infinite or NaN sample
/// is compared bit for bit.
fn host_sees_silence(input: &[f32]) -> bool {
    input
        .iter()
        .all(|sample| sample.is_subnormal() || *sample == 0.0)
}

/// A block vst3-host treated as silent must arrive as `+0.0` throughout: anything else means the
/// plugin wrote audible output for a silent input.
fn assert_host_silenced(output: &[f32], context: impl FnOnce() -> String) {
    if let Some(index) = output.iter().position(|sample| sample.to_bits() != 0) {
        panic!(
            "{}: silent input block, but output sample {index} is {:?} ({:#010x})",
            context(),
            output[index],
            output[index].to_bits()
        );
    }
}

/// Every parameter, the VA outputs included when the plugin has them, must still read a real
/// normalised value.
fn assert_params_sane(plugin: &Plugin, label: &str) {
    for param in plugin.get_parameters().expect("parameters") {
        assert!(
            param.value.is_finite() && (0.0..=1.0).contains(&param.value),
            "{label}: parameter {} reads {} (poisoned or out of range)",
            param.name,
            param.value
        );
    }
}

/// Settings under which the mood can follow the audio within a few seconds: shortest window,
/// no smoothing.
fn fast_mood(plugin: &mut Plugin) {
    for id in ["smoothing", "window"] {
        plugin
            .set_parameter(param_hash(id), 0.0)
            .unwrap_or_else(|error| panic!("setting {id}: {error}"));
    }
}

#[test]
fn info_buses_params_and_latency() {
    let _serial = serial();
    let mut plugin = load(44_100.0, 512);
    let info = plugin.info().clone();
    assert_eq!(info.name, PLUGIN_NAME);
    assert_eq!((info.audio_inputs, info.audio_outputs), (1, 1), "{info:?}");
    assert!(
        info.has_midi_output,
        "no event output bus for the CCs: {info:?}"
    );
    let arrangements = plugin.bus_arrangements().expect("bus arrangements");
    assert_eq!(arrangements.inputs, vec![SpeakerArrangement::STEREO]);
    assert_eq!(arrangements.outputs, vec![SpeakerArrangement::STEREO]);

    let params = plugin.get_parameters().expect("parameters");
    assert!(!params.is_empty(), "the plugin exposes no parameters");
    for id in PARAM_IDS {
        let param = params
            .iter()
            .find(|p| p.id == param_hash(id))
            .unwrap_or_else(|| panic!("parameter `{id}` is missing"));
        assert!(!param.is_read_only, "parameter `{id}` must be writable");
    }
    for id in OUTPUT_PARAM_IDS {
        match params.iter().find(|p| p.id == param_hash(id)) {
            Some(param) => assert!(param.is_read_only, "output `{id}` must be read-only"),
            None => eprintln!("note: the plugin exposes no `{id}` output parameter"),
        }
    }
    for sample_rate in [44_100.0, 192_000.0] {
        activate(&mut plugin, sample_rate, 512);
        assert_eq!(plugin.latency_samples(), 0, "latency at {sample_rate} Hz");
        plugin.stop_processing().unwrap();
    }
}

#[test]
fn bit_exact_at_every_block_size() {
    let _serial = serial();
    let sample_rate = 44_100.0;
    let mut plugin = load(sample_rate, 4096);
    let program = Program::new(sample_rate).then(Signal::Music, SECONDS_PER_CASE);
    for block in BLOCK_SIZES {
        let started = Instant::now();
        activate(&mut plugin, sample_rate, block);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[block],
            pace_from: None,
        };
        let (returned, log) = run(plugin, sample_rate, &drive);
        plugin = returned;
        plugin.stop_processing().unwrap();
        log.assert_valid(&format!("block size {block}"));
        report_time(&format!("vst3 block {block}"), started, SECONDS_PER_CASE);
    }
}

#[test]
fn bit_exact_at_every_sample_rate() {
    let _serial = serial();
    let mut plugin = load(48_000.0, 4096);
    // 44.1 kHz gets its ten seconds in `bit_exact_at_every_block_size`; here the block size
    // varies from call to call, as in real hosts, up to the maximum announced in setup.
    for sample_rate in SAMPLE_RATES.into_iter().filter(|&rate| rate != 44_100.0) {
        let started = Instant::now();
        let program = Program::new(sample_rate).then(Signal::Music, SECONDS_PER_CASE);
        activate(&mut plugin, sample_rate, 4096);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[4096, 511, 64, 1, 1000, 4096, 333],
            pace_from: None,
        };
        let (returned, log) = run(plugin, sample_rate, &drive);
        plugin = returned;
        plugin.stop_processing().unwrap();
        log.assert_valid(&format!("{sample_rate} Hz"));
        report_time(&format!("vst3 {sample_rate} Hz"), started, SECONDS_PER_CASE);
    }
}

/// The control for the poisoning check of the hostile test: on clean input the mood moves.
#[test]
fn mood_follows_the_audio() {
    let _serial = serial();
    let sample_rate = 48_000.0;
    let mut plugin = load(sample_rate, 511);
    let program = common::silence_then_music(sample_rate);
    activate(&mut plugin, sample_rate, 511);
    fast_mood(&mut plugin);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[511],
        pace_from: Some(0),
    };
    let (mut plugin, log) = run(plugin, sample_rate, &drive);
    plugin.stop_processing().unwrap();
    log.assert_valid("silence then music");
    log.assert_mood_moves(0, "silence then music");
}

#[test]
fn hostile_input_passes_bit_exact_and_does_not_poison() {
    let _serial = serial();
    let sample_rate = 48_000.0;
    let mut plugin = load(sample_rate, 511);
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
    let started = Instant::now();
    activate(&mut plugin, sample_rate, 511);
    fast_mood(&mut plugin);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[511, 64, 1, 511],
        pace_from: Some(recovery),
    };
    let (returned, log) = run(plugin, sample_rate, &drive);
    plugin = returned;
    log.assert_valid("hostile input");
    assert_params_sane(&plugin, "after the hostile burst");
    // A NaN that reached the mood would pin it for good (the CC mapping reads NaN as neutral).
    // After the burst the mood must still follow the audio, as it does in
    // `mood_follows_the_audio` without the burst.
    log.assert_mood_moves(recovery, "after the hostile burst");
    plugin.stop_processing().unwrap();
    // Normal audio after a fresh activation still passes and reports a sane mood.
    activate(&mut plugin, sample_rate, 511);
    let clean = Program::new(sample_rate).then(Signal::Music, 2.0);
    let drive = Drive {
        program: &clean,
        channels: 2,
        blocks: &[511],
        pace_from: None,
    };
    let (mut plugin, log) = run(plugin, sample_rate, &drive);
    plugin.stop_processing().unwrap();
    log.assert_valid("music after reactivation");
    report_time(
        "vst3 hostile",
        started,
        program.total_frames() as f64 / sample_rate + 2.0,
    );
}

#[test]
fn silence_and_empty_blocks() {
    let _serial = serial();
    let sample_rate = 48_000.0;
    let mut plugin = load(sample_rate, 512);
    let program = Program::new(sample_rate)
        .then(Signal::Silence, SECONDS_PER_CASE)
        .then(Signal::Music, 2.0);
    let started = Instant::now();
    activate(&mut plugin, sample_rate, 512);
    // Starts with an empty call (numSamples 0, a VST3 parameter flush) and mixes more in. The
    // silent stretch itself comes back from vst3-host as +0.0 (see `host_sees_silence`); its
    // bits are checked in the CLAP host.
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[
            0, 512, 0, 77, 512, 1, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512,
        ],
        pace_from: None,
    };
    let (mut plugin, log) = run(plugin, sample_rate, &drive);
    plugin.stop_processing().unwrap();
    log.assert_valid("silence with empty blocks");
    assert_params_sane(&plugin, "after silence");
    report_time(
        "vst3 silence",
        started,
        program.total_frames() as f64 / sample_rate,
    );
}

#[test]
fn sample_rate_change_keeps_working() {
    let _serial = serial();
    let mut plugin = load(44_100.0, 1024);
    for sample_rate in [44_100.0, 96_000.0, 22_050.0] {
        activate(&mut plugin, sample_rate, 1024);
        assert_eq!(plugin.latency_samples(), 0, "latency at {sample_rate} Hz");
        let program = Program::new(sample_rate).then(Signal::Music, 2.0);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[1024, 100],
            pace_from: None,
        };
        let (returned, log) = run(plugin, sample_rate, &drive);
        plugin = returned;
        plugin.stop_processing().unwrap();
        log.assert_valid(&format!("after switching to {sample_rate} Hz"));
    }
}

#[test]
fn hundred_activation_cycles_leave_no_threads_behind() {
    let _serial = serial();
    let sample_rate = 48_000.0;
    let mut plugin = load(sample_rate, 256);
    let program = Program::new(sample_rate).then(Signal::Music, 1024.0 / sample_rate);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[256],
        pace_from: None,
    };
    let started = Instant::now();
    let before = thread_count();
    let mut while_active = 0;
    for cycle in 0..100 {
        plugin.start_processing().expect("start_processing");
        if cycle == 0 {
            while_active = thread_count();
        }
        let (returned, log) = run(plugin, sample_rate, &drive);
        plugin = returned;
        plugin.stop_processing().expect("stop_processing");
        log.assert_sent_at_activation(cycle);
    }
    let after = thread_count();
    assert_no_thread_leak("vst3", before, while_active, after, started);
}

#[test]
fn mono_arrangement_passes_bit_exact() {
    let _serial = serial();
    let sample_rate = 48_000.0;
    let mut plugin = load(sample_rate, 1024);
    plugin
        .set_bus_arrangements(&[SpeakerArrangement::MONO], &[SpeakerArrangement::MONO])
        .expect("the plugin refused a mono in/out arrangement");
    let arrangements = plugin.bus_arrangements().unwrap();
    assert_eq!(arrangements.inputs, vec![SpeakerArrangement::MONO]);
    assert_eq!(arrangements.outputs, vec![SpeakerArrangement::MONO]);
    let program = Program::new(sample_rate)
        .then(Signal::Music, 4.0)
        .then(Signal::Mixed, 0.5)
        .then(Signal::Music, 1.0);
    activate(&mut plugin, sample_rate, 1024);
    let drive = Drive {
        program: &program,
        channels: 1,
        blocks: &[0, 1024, 64, 1, 1024, 1024, 1024, 1024],
        pace_from: None,
    };
    let (mut plugin, log) = run(plugin, sample_rate, &drive);
    plugin.stop_processing().unwrap();
    log.assert_valid("mono");
}

#[test]
fn state_round_trips() {
    let _serial = serial();
    let mut plugin = load(44_100.0, 512);
    let original = plugin.get_parameters().expect("parameters");
    let saved = plugin.save_state().expect("saving state");
    assert!(!saved.is_empty(), "empty state");

    // Move every writable parameter to the other end of its range.
    for param in original.iter().filter(|p| !p.is_read_only) {
        let target = if param.value < 0.5 { 1.0 } else { 0.0 };
        plugin.set_parameter(param.id, target).unwrap();
    }
    let changed = plugin.get_parameters().unwrap();
    for (before, after) in original.iter().zip(&changed) {
        if !before.is_read_only {
            assert_ne!(before.value, after.value, "{} did not change", before.name);
        }
    }
    let saved_changed = plugin.save_state().expect("saving changed state");
    assert_ne!(
        saved, saved_changed,
        "the state does not capture parameter values"
    );

    plugin.load_state(&saved).expect("loading the saved state");
    for (before, after) in original.iter().zip(plugin.get_parameters().unwrap()) {
        assert_eq!(before.value, after.value, "{} not restored", before.name);
    }

    // The changed state restores into a fresh instance, which then still processes.
    let sample_rate = 44_100.0;
    let mut other = load(sample_rate, 512);
    other
        .load_state(&saved_changed)
        .expect("loading into a fresh instance");
    for (expected, actual) in changed.iter().zip(other.get_parameters().unwrap()) {
        if !expected.is_read_only {
            assert_eq!(
                expected.value, actual.value,
                "{} in the copy",
                expected.name
            );
        }
    }
    activate(&mut other, sample_rate, 512);
    let program = Program::new(sample_rate).then(Signal::Music, 1.0);
    let drive = Drive {
        program: &program,
        channels: 2,
        blocks: &[512],
        pace_from: None,
    };
    let (mut other, log) = run(other, sample_rate, &drive);
    other.stop_processing().unwrap();
    // The changed state moved both controllers to their maximum, 119, and the channel to 16;
    // Freeze went on with the saved mood, neutral (this instance never processed).
    let route = CcRoute {
        channel: 15,
        valence: 119,
        arousal: 119,
    };
    log.assert_carries("after loading a changed state", route, 0.0, 0.0);
}

/// The CCs carry the mood the plugin holds: valence on the valence CC, arousal on the arousal
/// CC, on the configured channel, mapped to 0..127 with neutral at 64 as the README says. The
/// mood is held (Freeze on, loaded with the project), so nothing depends on the VA model.
#[test]
fn cc_carry_the_held_mood_on_the_configured_controllers() {
    let _serial = serial();
    assert_eq!(common::readme_cc_value(0.0), 64, "the README's neutral");
    let sample_rate = 48_000.0;
    let program = Program::new(sample_rate).then(Signal::Music, 1.5);
    for (valence, arousal, route) in common::held_mood_cases() {
        let mut plugin = load(sample_rate, 512);
        let saved = plugin.save_state().expect("saving state");
        plugin
            .load_state(&common::vst3_state_bytes(&common::frozen_state(
                &saved, valence, arousal, route,
            )))
            .expect("loading an edited state");
        activate(&mut plugin, sample_rate, 512);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[512, 100],
            pace_from: None,
        };
        let (mut plugin, log) = run(plugin, sample_rate, &drive);
        plugin.stop_processing().unwrap();
        log.assert_carries(
            &format!("held V {valence:+} A {arousal:+} on {route:?}"),
            route,
            valence,
            arousal,
        );
    }
}

/// The host tests load the bundle they think they do: the one in this build's target directory,
/// newer than the sources, and built with the allocation guard armed (a `ci` build). The
/// canary makes `process()` allocate in a child process, which must abort.
#[test]
fn bundle_is_a_fresh_ci_build() {
    if common::in_alloc_canary_child() {
        let sample_rate = 48_000.0;
        let mut plugin = load(sample_rate, 64);
        activate(&mut plugin, sample_rate, 64);
        let program = Program::new(sample_rate).then(Signal::Music, 0.01);
        let drive = Drive {
            program: &program,
            channels: 2,
            blocks: &[64],
            pace_from: None,
        };
        let (mut plugin, _) = run(plugin, sample_rate, &drive);
        plugin.stop_processing().unwrap();
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
    let binary = common::vst3_bundle()
        .join("Contents")
        .join("x86_64-linux")
        .join("Moodscape.so");
    common::assert_bundle_fresh(&binary);
    common::assert_alloc_canary_caught("bundle_is_a_fresh_ci_build");
}

/// A saved state with out-of-range values (as a damaged or hand-edited project could hold) is
/// clamped on load: the plugin runs with, shows and saves again only values inside the
/// parameters' ranges, and an editor size that fits a screen.
#[test]
fn hostile_saved_state_is_clamped_on_load() {
    let _serial = serial();
    let plugin = load(44_100.0, 512);
    let saved = plugin.save_state().expect("saving state");
    let hostile = hostile_state::hostile_state(&saved);

    let mut other = load(44_100.0, 512);
    other.load_state(&hostile).expect("loading a hostile state");
    for param in other.get_parameters().unwrap() {
        assert!(
            (0.0..=1.0).contains(&param.value),
            "{} shows normalised {}",
            param.name,
            param.value
        );
    }
    let resaved = other.save_state().expect("saving the loaded state");
    hostile_state::assert_state_clamped(&resaved, "VST3");
}
