//! Audio-thread side of the capture path: planar host blocks become interleaved frames in a
//! lock-free SPSC ring. When the analysis thread falls behind, new frames are dropped and counted;
//! the audio thread never waits.

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How much audio the ring holds, in seconds at [`super::MAX_SAMPLE_RATE`]. Four seconds covers
/// any analysis hiccup short of a stalled thread.
pub const RING_SECONDS: f32 = 4.0;

/// Creates a ring for `channels` interleaved channels holding [`RING_SECONDS`] at the highest
/// supported rate. Allocates: call it from `activate()`, never from `process()`.
pub fn capture_ring(
    channels: usize,
    dropped_frames: Arc<AtomicU64>,
) -> (CaptureWriter, CaptureReader) {
    let channels = channels.max(1);
    let frames = (RING_SECONDS * super::MAX_SAMPLE_RATE) as usize;
    let (producer, consumer) = HeapRb::<f32>::new(frames * channels).split();
    (
        CaptureWriter {
            producer,
            channels,
            dropped_frames,
        },
        CaptureReader { consumer, channels },
    )
}

/// The producer half, owned by the audio thread.
pub struct CaptureWriter {
    /// Lock-free SPSC producer into the pre-allocated ring.
    producer: HeapProd<f32>,
    /// Interleaving width; fixed for the lifetime of the ring.
    channels: usize,
    /// Frames that did not fit, shown in the editor so a stalled analysis is visible.
    dropped_frames: Arc<AtomicU64>,
}

impl CaptureWriter {
    /// Copies one host block (one slice per channel) into the ring as interleaved frames.
    ///
    /// Real-time safe: no allocation, no lock, no system call. Channels beyond the ring's width are
    /// ignored and missing ones are written as silence, so a layout mismatch cannot panic.
    pub fn write_block<S: AsRef<[f32]>>(&mut self, block: &[S]) {
        let block_frames = block.first().map_or(0, |channel| channel.as_ref().len());
        if block_frames == 0 {
            return;
        }
        let channels = self.channels;
        let (first, second) = self.producer.vacant_slices_mut();
        // The ring's capacity and every write are whole frames, so both regions are too.
        let first_frames = (first.len() / channels).min(block_frames);
        let second_frames = (second.len() / channels).min(block_frames - first_frames);
        interleave(block, 0, &mut first[..first_frames * channels], channels);
        interleave(
            block,
            first_frames,
            &mut second[..second_frames * channels],
            channels,
        );
        let written_frames = first_frames + second_frames;
        // SAFETY: exactly `written_frames * channels` slots from the write index were initialised.
        unsafe { self.producer.advance_write_index(written_frames * channels) };
        let dropped = block_frames - written_frames;
        if dropped > 0 {
            self.dropped_frames
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
    }
}

/// Writes frames `offset..offset + out.len() / channels` of the planar `block` interleaved into
/// `out`. Channels the block lacks are written as silence, extra ones are ignored.
fn interleave<S: AsRef<[f32]>>(
    block: &[S],
    offset: usize,
    out: &mut [MaybeUninit<f32>],
    channels: usize,
) {
    let frames = out.len() / channels;
    if frames == 0 {
        return;
    }
    let channel_slice = |channel: usize| {
        block
            .get(channel)
            .map(|samples| samples.as_ref())
            .and_then(|samples| samples.get(offset..offset + frames))
    };
    // Stereo and mono are the common layouts; their loops vectorise.
    match (channels, channel_slice(0), channel_slice(1)) {
        (1, Some(mono), _) => {
            for (slot, &sample) in out.iter_mut().zip(mono) {
                slot.write(sample);
            }
        }
        (2, Some(left), Some(right)) => {
            for ((frame, &l), &r) in out.chunks_exact_mut(2).zip(left).zip(right) {
                frame[0].write(l);
                frame[1].write(r);
            }
        }
        _ => {
            for channel in 0..channels {
                let source = channel_slice(channel);
                for (frame, slot) in out.chunks_exact_mut(channels).enumerate() {
                    let sample = source.map_or(0.0, |samples| samples[frame]);
                    slot[channel].write(sample);
                }
            }
        }
    }
}

/// The consumer half, owned by the analysis thread.
pub struct CaptureReader {
    /// Lock-free SPSC consumer of interleaved frames.
    consumer: HeapCons<f32>,
    /// Interleaving width, so reads always end on a frame boundary.
    channels: usize,
}

impl CaptureReader {
    /// Interleaving width of the frames in the ring.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Moves up to `out.len()` samples (whole frames only) out of the ring; returns how many.
    pub fn read(&mut self, out: &mut [f32]) -> usize {
        let whole = out.len() / self.channels * self.channels;
        // The writer only ever publishes whole frames, so this stays frame-aligned.
        self.consumer.pop_slice(&mut out[..whole])
    }

    /// Samples waiting in the ring.
    pub fn available(&self) -> usize {
        self.consumer.occupied_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_interleaved_and_overflow_is_counted() {
        let dropped = Arc::new(AtomicU64::new(0));
        let (mut writer, mut reader) = capture_ring(2, dropped.clone());
        let left = [1.0, 2.0, 3.0];
        let right = [-1.0, -2.0, -3.0];
        writer.write_block(&[&left[..], &right[..]]);
        let mut out = [0.0; 8];
        assert_eq!(reader.read(&mut out), 6);
        assert_eq!(&out[..6], &[1.0, -1.0, 2.0, -2.0, 3.0, -3.0]);

        let capacity_frames = (RING_SECONDS * super::super::MAX_SAMPLE_RATE) as usize;
        let big = vec![0.5f32; capacity_frames + 10];
        writer.write_block(&[&big[..], &big[..]]);
        assert_eq!(dropped.load(Ordering::Relaxed), 10);
        assert_eq!(reader.available(), capacity_frames * 2);
    }

    #[test]
    fn odd_reads_stay_frame_aligned() {
        let (mut writer, mut reader) = capture_ring(2, Arc::default());
        let samples = [0.25f32; 5];
        writer.write_block(&[&samples[..], &samples[..]]);
        let mut out = [0.0; 5];
        assert_eq!(reader.read(&mut out), 4);
        assert_eq!(reader.available(), 6);
    }
}
