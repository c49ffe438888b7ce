//! Streaming MusiCNN: the analysis engine's input conditioning (sanitise, downmix, rubato) to
//! 16 kHz, the front end one hop at a time, and the network every `patch_hop_seconds`.
//!
//! Frame `i` is the STFT frame centred on 16 kHz sample `i · 256`, exactly as in the offline
//! reference ([`super::mel_patches_for_clip`]); only frame 0 differs (zeros before the stream's
//! start where the offline path reflects the clip), so streamed patches equal offline patches
//! away from the start.

use std::sync::Arc;

use super::frontend::MelFrontEnd;
use super::{Musicnn, MusicnnOutput, FFT_SIZE, HOP, MEL_BANDS, PATCH_FRAMES, SAMPLE_RATE};
use crate::analysis::input::InputStage;

/// Lowest level [`MusicnnPatch::rms_db`] reports (digital silence).
pub const RMS_FLOOR_DB: f32 = -100.0;

/// One patch's outputs, with when it ended and how loud it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MusicnnPatch {
    /// Input time (seconds since the stream started) at the end of the patch.
    pub t_end: f64,
    /// RMS level of the patch's audio in dBFS (floor −100), so callers can gate silence.
    pub rms_db: f32,
    /// The network's outputs for the patch.
    pub output: MusicnnOutput,
}

/// Everything after the resampler: framing, mel, level and the network.
struct PatchMaker {
    /// The shared network.
    network: Arc<Musicnn>,
    /// STFT + mel + compression for one frame.
    frontend: MelFrontEnd,
    /// The current frame's 512 samples: the previous hop, then the hop being filled.
    frame: Vec<f32>,
    /// Samples of the current hop received so far (second half of `frame`).
    hop_filled: usize,
    /// Sum of squares of the hop being filled.
    hop_energy: f64,
    /// Log-mel ring of the last [`PATCH_FRAMES`] frames, `(frame, band)`.
    mel_ring: Vec<f32>,
    /// Energy of each hop in the ring, in step with `mel_ring`.
    energy_ring: Vec<f64>,
    /// Ring slot the next frame goes to.
    ring_next: usize,
    /// Frames computed since the stream started (or was reset).
    frames_total: u64,
    /// Frames until the next patch is due.
    frames_until_patch: usize,
    /// Frames between patches.
    hop_frames: usize,
    /// The ring unrolled into time order for the network.
    patch_mel: Vec<f32>,
    /// Patches quieter than this (dB RMS) skip the network and are not emitted: the mood
    /// analyser drops them anyway, and on a stopped transport the forward pass is most of the
    /// analysis thread's work. `None` emits every patch (the trainer's extraction).
    skip_below_db: Option<f32>,
}

impl PatchMaker {
    fn reset(&mut self) {
        self.frame.fill(0.0);
        self.hop_filled = 0;
        self.hop_energy = 0.0;
        self.mel_ring.fill(0.0);
        self.energy_ring.fill(0.0);
        self.ring_next = 0;
        self.frames_total = 0;
        self.frames_until_patch = PATCH_FRAMES;
    }

    /// Consumes 16 kHz mono samples.
    fn push(&mut self, mono_16k: &[f32], on_patch: &mut impl FnMut(&MusicnnPatch)) {
        let mut rest = mono_16k;
        while !rest.is_empty() {
            let take = (HOP - self.hop_filled).min(rest.len());
            let (now, later) = rest.split_at(take);
            let dst = &mut self.frame[HOP + self.hop_filled..HOP + self.hop_filled + take];
            dst.copy_from_slice(now);
            self.hop_energy += now
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>();
            self.hop_filled += take;
            rest = later;
            if self.hop_filled == HOP {
                self.finish_frame(on_patch);
            }
        }
    }

    /// Computes the frame that just completed and emits a patch when one is due.
    fn finish_frame(&mut self, on_patch: &mut impl FnMut(&MusicnnPatch)) {
        let slot = self.ring_next;
        self.frontend.log_mel_frame(
            &self.frame,
            &mut self.mel_ring[slot * MEL_BANDS..(slot + 1) * MEL_BANDS],
        );
        self.energy_ring[slot] = self.hop_energy;
        self.ring_next = (slot + 1) % PATCH_FRAMES;
        self.frame.copy_within(HOP..FFT_SIZE, 0);
        self.hop_filled = 0;
        self.hop_energy = 0.0;
        self.frames_total += 1;
        self.frames_until_patch -= 1;
        if self.frames_until_patch > 0 {
            return;
        }
        self.frames_until_patch = self.hop_frames;

        // Oldest frame first: the ring's next slot is the oldest.
        let split = self.ring_next * MEL_BANDS;
        let older = self.mel_ring.len() - split;
        self.patch_mel[..older].copy_from_slice(&self.mel_ring[split..]);
        self.patch_mel[older..].copy_from_slice(&self.mel_ring[..split]);
        let energy: f64 = self.energy_ring.iter().sum();
        let mean_square = energy / (PATCH_FRAMES * HOP) as f64;
        let rms_db = if mean_square > 0.0 {
            ((10.0 * mean_square.log10()) as f32).max(RMS_FLOOR_DB)
        } else {
            RMS_FLOOR_DB
        };
        if self
            .skip_below_db
            .is_some_and(|threshold| rms_db < threshold)
        {
            return;
        }
        // The network only fails on wrongly sized input, which the ring rules out.
        let Ok(outputs) = self.network.forward(&self.patch_mel, 1) else {
            return;
        };
        if let Some(output) = outputs.first() {
            on_patch(&MusicnnPatch {
                t_end: (self.frames_total * HOP as u64) as f64 / f64::from(SAMPLE_RATE),
                rms_db,
                output: *output,
            });
        }
    }
}

/// Streaming front end + network: any input rate and channel count (sanitised like the analysis
/// engine: non-finite → 0, clipped, denormals flushed), downmix, rubato to 16 kHz, STFT 512/256,
/// Slaney mel 96, log10(1 + 10000·x) with the fp16 cast. Emits one patch every
/// `patch_hop_seconds` once [`PATCH_FRAMES`] frames are available. Allocates only in `new`,
/// except inside the network's forward pass.
pub struct MusicnnStream {
    /// The analysis engine's sanitise / downmix / resample stage, towards 16 kHz.
    input: InputStage,
    /// Framing, mel and network after the resampler.
    patches: PatchMaker,
}

impl MusicnnStream {
    /// `input_rate` in Hz (an invalid rate falls back to treating the input as 16 kHz),
    /// `channels` interleaved (0 is treated as 1), a patch every `patch_hop_seconds` (rounded
    /// down to whole 16 ms frames, at least one frame; a non-finite or non-positive hop means
    /// non-overlapping 3 s patches).
    pub fn new(
        network: Arc<Musicnn>,
        input_rate: f64,
        channels: usize,
        patch_hop_seconds: f32,
    ) -> Self {
        let channels = channels.max(1);
        let input = if input_rate.is_finite() && input_rate >= 1.0 {
            InputStage::with_output_rate(input_rate, channels, SAMPLE_RATE)
                .unwrap_or_else(|_| InputStage::passthrough(channels))
        } else {
            InputStage::passthrough(channels)
        };
        let frames_per_second = f64::from(SAMPLE_RATE) / HOP as f64;
        let hop_frames = if patch_hop_seconds.is_finite() && patch_hop_seconds > 0.0 {
            // The epsilon makes 3 s (187.5 frames) one non-overlapping patch of 187.
            ((f64::from(patch_hop_seconds) * frames_per_second + 1e-6).floor() as usize)
                .clamp(1, 1 << 24)
        } else {
            PATCH_FRAMES
        };
        Self {
            input,
            patches: PatchMaker {
                network,
                frontend: MelFrontEnd::new(),
                frame: vec![0.0; FFT_SIZE],
                hop_filled: 0,
                hop_energy: 0.0,
                mel_ring: vec![0.0; PATCH_FRAMES * MEL_BANDS],
                energy_ring: vec![0.0; PATCH_FRAMES],
                ring_next: 0,
                frames_total: 0,
                frames_until_patch: PATCH_FRAMES,
                hop_frames,
                patch_mel: vec![0.0; PATCH_FRAMES * MEL_BANDS],
                skip_below_db: None,
            },
        }
    }

    /// From now on, patches quieter than `threshold_db` (RMS over the patch, dB) are neither
    /// run through the network nor emitted; their time still passes.
    pub fn skip_patches_below_db(&mut self, threshold_db: f32) {
        self.patches.skip_below_db = Some(threshold_db);
    }

    /// Frames (16 ms each) between two patches.
    pub fn hop_frames(&self) -> usize {
        self.patches.hop_frames
    }

    /// Feeds interleaved samples; `on_patch` is called for every patch completed by them, in
    /// order, on this thread.
    pub fn push_interleaved(&mut self, samples: &[f32], mut on_patch: impl FnMut(&MusicnnPatch)) {
        let Self { input, patches } = self;
        input.push(samples, &mut |mono_16k: &[f32]| {
            patches.push(mono_16k, &mut on_patch)
        });
    }

    /// Forgets all audio, as if freshly built (time restarts at 0).
    pub fn reset(&mut self) {
        self.input.reset();
        self.patches.reset();
    }
}
