//! Cost of the audio thread's work per sample, against a plain copy of the same buffers.
//!
//! The audio thread's whole job in `process()` is `CaptureWriter::write_block` plus
//! `CcScheduler::poll` (and three relaxed atomic stores). This times exactly that code at 48 kHz
//! stereo in 512-sample blocks, next to `copy_from_slice` of the same two channels into two other
//! buffers, measured in the same run, and next to the same copy into a ring-sized destination
//! (the same memory traffic the ring causes). Run with `cargo bench --bench process`.

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
}
