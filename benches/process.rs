//! Cost of the audio thread's work per sample, against a plain copy of the same buffers.
//!
//! The audio thread's whole job in `process()` is `CaptureWriter::write_block` plus
//! `CcScheduler::poll` (and three relaxed atomic stores). This times exactly that code at 48 kHz
//! stereo in 512-sample blocks, next to `copy_from_slice` of the same two channels into two other
//! buffers, measured in the same run, and next to the same copy into a ring-sized destination
//! (the same memory traffic the ring causes).
//!
//! Then the plugin's whole `process()` call as a host makes it: the bundled `Moodscape.clap`
//! loaded in clack-host, activated at 48 kHz with 512-frame blocks, fed the same two channels
//! into separate output buffers (so nice-plug's wrapper copies input to output, parameters and
//! events are handled, the capture and the CC scheduler run, and the analysis thread drains the
//! ring meanwhile). Its baseline, measured in the same run with rounds interleaved, is the host
//! copying the same input into the same output buffers: what a plugin that does nothing but
//! pass audio through must cost at least. Needs the bundle (`cargo xtask bundle moodscape
//! --profile ci`, or `--release` to time the release build); without it that part says so and is
//! skipped. Run with `cargo bench --profile ci --bench process`.

#[path = "../tests/common/mod.rs"]
mod common;

use moodscape::live::{capture_ring, CaptureReader, CcScheduler};
use moodscape::va::Va;
use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE_RATE: f32 = 48_000.0;
const BLOCK: usize = 512;
/// Blocks per timed batch; 1000 × 512 frames fit in the ring, so nothing is dropped mid-batch.
const BATCH: usize = 1000;
const ROUNDS: usize = 40;

fn test_block() -> [Vec<f32>; 2] {
    let left = (0..BLOCK).map(|n| (n as f32 * 0.01).sin()).collect();
    let right = (0..BLOCK).map(|n| (n as f32 * 0.013).cos()).collect();
    [left, right]
}

fn drain(reader: &mut CaptureReader, scratch: &mut [f32]) {
    while reader.read(scratch) > 0 {}
}

/// Median of per-round durations, as nanoseconds per sample (per channel-sample).
fn ns_per_sample(mut rounds: Vec<Duration>) -> f64 {
    rounds.sort();
    let median = rounds[rounds.len() / 2];
    median.as_nanos() as f64 / (BATCH * BLOCK * 2) as f64
}

fn main() {
    let input = test_block();
    let slices: [&[f32]; 2] = [&input[0], &input[1]];

    let dropped = Arc::new(AtomicU64::new(0));
    let (mut writer, mut reader) = capture_ring(2, dropped.clone());
    let mut scheduler = CcScheduler::new(SAMPLE_RATE);
    let mut scratch = vec![0.0f32; 1 << 16];
    let mut events = 0u64;
    let mut capture_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for block in 0..BATCH {
            writer.write_block(black_box(&slices));
            let va = Va {
                valence: (block as f32 * 0.001).sin(),
                arousal: 0.0,
            };
            scheduler.poll(va, 0, [20, 21], BLOCK as u32, |_| events += 1);
        }
        capture_rounds.push(start.elapsed());
        drain(&mut reader, &mut scratch);
    }

    let mut copy_out = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let mut copy_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..BATCH {
            for (out, input) in copy_out.iter_mut().zip(black_box(&slices)) {
                out.copy_from_slice(input);
            }
            black_box(&mut copy_out);
        }
        copy_rounds.push(start.elapsed());
    }

    // The same copy, but into a ring-sized destination walked forward like the capture ring, so
    // both sides pay the same cache misses; this isolates interleaving, ring and CC overhead.
    let ring_len = (moodscape::live::RING_SECONDS * moodscape::live::MAX_SAMPLE_RATE) as usize * 2;
    let mut far_destination = vec![0.0f32; ring_len];
    let mut far_rounds = Vec::with_capacity(ROUNDS);
    let mut offset = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..BATCH {
            if offset + 2 * BLOCK > ring_len {
                offset = 0;
            }
            for input in black_box(&slices) {
                far_destination[offset..offset + BLOCK].copy_from_slice(input);
                offset += BLOCK;
            }
            black_box(&mut far_destination);
        }
        far_rounds.push(start.elapsed());
    }

    let process = ns_per_sample(capture_rounds);
    let copy = ns_per_sample(copy_rounds);
    let far_copy = ns_per_sample(far_rounds);
    assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
    println!("48 kHz stereo, {BLOCK}-sample blocks, median of {ROUNDS} rounds x {BATCH} blocks");
    println!("plain copy of the same buffers: {copy:.3} ns/sample");
    println!("process() work (capture + CC):  {process:.3} ns/sample");
    println!("plain copy into a ring-sized buffer: {far_copy:.3} ns/sample");
    println!(
        "ratio to plain copy (cache-hot):      {:.2}x",
        process / copy
    );
    println!(
        "ratio to plain copy (ring-sized):     {:.2}x",
        process / far_copy
    );
    println!("CC events sent: {events}");

    whole_process(&input);
}

mod host {
    //! The smallest CLAP host that can run the plugin: no extensions, no main-thread callbacks.
    use clack_host::prelude::*;

    /// The bench host; its handlers hold nothing.
    pub struct BenchHost;

    /// Shared host data: nothing to share.
    pub struct Shared;

    impl SharedHandler<'_> for Shared {
        fn request_restart(&self) {}
        fn request_process(&self) {}
        fn request_callback(&self) {}
    }

    impl HostHandlers for BenchHost {
        type Shared<'a> = Shared;
        type MainThread<'a> = ();
        type AudioProcessor<'a> = ();
    }
}

/// Median of per-round durations as nanoseconds per channel-sample of `blocks` 512-frame blocks.
fn median_ns(mut rounds: Vec<Duration>, blocks: usize) -> f64 {
    rounds.sort();
    rounds[rounds.len() / 2].as_nanos() as f64 / (blocks * BLOCK * 2) as f64
}

/// Times the plugin's whole `process()` through clack-host against a host-side copy.
fn whole_process(input: &[Vec<f32>; 2]) {
    use clack_host::prelude::*;

    let path = common::bundle_dir().join("Moodscape.clap");
    if !path.exists() {
        println!(
            "whole process() through a CLAP host: SKIPPED, {} is missing \
             (run `cargo xtask bundle moodscape --profile ci` first)",
            path.display()
        );
        return;
    }
    // SAFETY: the bundle is this crate's own plugin.
    let entry = unsafe { PluginEntry::load(&path) }.expect("loading the CLAP bundle");
    let host_info = HostInfo::new(
        "moodscape bench",
        "Moodscape",
        "https://example.invalid",
        "1",
    )
    .unwrap();
    let id = std::ffi::CString::new(common::CLAP_ID).unwrap();
    let mut instance =
        PluginInstance::<host::BenchHost>::new(|_| host::Shared, |_| (), &entry, &id, &host_info)
            .expect("instantiating the plugin");
    let config = PluginAudioConfiguration {
        sample_rate: f64::from(SAMPLE_RATE),
        min_frames_count: 1,
        max_frames_count: BLOCK as u32,
    };
    let processor = instance
        .activate(|_, _| (), config)
        .expect("activating the plugin");
    let mut processor = processor.start_processing().expect("start_processing");

    let mut inputs = input.clone();
    let mut outputs = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let mut input_ports = AudioPorts::with_capacity(2, 1);
    let mut output_ports = AudioPorts::with_capacity(2, 1);
    let input_events = EventBuffer::with_capacity(16);
    let mut output_events = EventBuffer::with_capacity(1024);
    // A tenth of the batch per round keeps each round well inside the 16 s ring at 48 kHz even
    // if the analysis thread fell behind, so the ring never drops and changes the cost.
    let blocks = BATCH / 10;
    let mut steady_time = 0u64;
    let mut plugin_rounds = Vec::with_capacity(ROUNDS);
    let mut copy_rounds = Vec::with_capacity(ROUNDS);
    let mut cc_events = 0usize;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..blocks {
            let input_audio = input_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    inputs
                        .iter_mut()
                        .map(|buffer| InputChannel::variable(&mut buffer[..])),
                ),
            }]);
            let mut output_audio = output_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    outputs.iter_mut().map(|buffer| &mut buffer[..]),
                ),
            }]);
            processor
                .process(
                    &input_audio,
                    &mut output_audio,
                    &InputEvents::from_buffer(&input_events),
                    &mut OutputEvents::from_buffer(&mut output_events),
                    Some(steady_time),
                    None,
                )
                .expect("process()");
            steady_time += BLOCK as u64;
            cc_events += output_events.len() as usize;
            output_events.clear();
        }
        plugin_rounds.push(start.elapsed());
        black_box(&mut outputs);

        let start = Instant::now();
        for _ in 0..blocks {
            for (out, input) in outputs.iter_mut().zip(black_box(&inputs)) {
                out.copy_from_slice(input);
            }
            black_box(&mut outputs);
        }
        copy_rounds.push(start.elapsed());
    }
    assert!(
        outputs.iter().zip(&inputs).all(|(out, input)| out
            .iter()
            .zip(input)
            .all(|(a, b)| a.to_bits() == b.to_bits())),
        "the plugin's output is not its input"
    );
    let processor = processor.stop_processing();
    instance.deactivate(processor);

    let plugin = median_ns(plugin_rounds, blocks);
    let copy = median_ns(copy_rounds, blocks);
    println!(
        "whole process() through clack-host ({}), median of {ROUNDS} rounds x {blocks} blocks:",
        path.display()
    );
    println!("host copy of the same buffers (baseline): {copy:.3} ns/sample");
    println!("plugin process() call:                    {plugin:.3} ns/sample");
    println!(
        "ratio to the host copy:                   {:.2}x ({:.2} us per 512-frame block; a \
         block lasts {:.0} us at 48 kHz)",
        plugin / copy,
        plugin * (BLOCK * 2) as f64 / 1000.0,
        BLOCK as f64 / f64::from(SAMPLE_RATE) * 1e6
    );
    println!("CC events from the plugin: {cc_events}");
}
