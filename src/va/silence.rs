//! The silence gate: below a fixed short-term level there is no mood to estimate.
//!
//! Digital silence, a stopped transport or a noise floor carry no music, yet a model fed their
//! features still answers (the first model read silence as its most unpleasant mood). The gate
//! measures the RMS level of the last [`SILENCE_WINDOW_SECONDS`] (EBU R128's short-term span)
//! and calls the input silent while it stays below [`SILENCE_THRESHOLD_DB`] dBFS. While silent:
//! - the live pipeline holds the last mood (so the MIDI CCs hold too) and the editor says
//!   "silence";
//! - `moodscape analyze` writes the record with `mood_state = "silent"` and empty VA, and the
//!   clip summary leaves it out.
//!
//! Holding rather than easing to neutral: a pause inside a song (or the transport stopping
//! between takes) should not repaint the landscape as "neutral"; the music that resumes moves it.
//!
//! The gate allocates only in [`SilenceGate::new`]; pushing never allocates.

/// Short-term level (dBFS, AES17: a full-scale sine reads 0) below which the input is silent.
/// -60 dBFS sits 20-30 dB under the quietest passages of mastered music and well above a
/// 16-bit dither floor (about -98 dBFS) or a typical interface's noise (-90 to -100 dBFS).
pub const SILENCE_THRESHOLD_DB: f32 = -60.0;
/// Span of the short-term level, seconds.
pub const SILENCE_WINDOW_SECONDS: f32 = 3.0;
/// Resolution of the short-term level: it is kept as a ring of block energies.
const BLOCK_SECONDS: f32 = 0.1;
/// AES17: RMS of a full-scale sine is 1/√2, which should read 0 dB.
const AES17_OFFSET_DB: f32 = 3.010_3;

/// Short-term RMS over the last few seconds of interleaved input, as a silent/not-silent call.
#[derive(Debug, Clone)]
pub struct SilenceGate {
    /// Interleaved samples per channel frame.
    channels: usize,
    /// Frames per energy block.
    block_frames: usize,
    /// Mean square of each finished block, oldest overwritten first.
    blocks: Vec<f64>,
    /// Next slot of `blocks` to write.
    next_block: usize,
    /// Finished blocks so far (saturates at `blocks.len()`).
    filled: usize,
    /// Sum of squares of the block being filled.
    current_sum: f64,
    /// Frames in the block being filled.
    current_frames: usize,
}

impl SilenceGate {
    /// A gate for `channels`-channel interleaved audio at `sample_rate` Hz.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let rate = if sample_rate.is_finite() && sample_rate >= 1.0 {
            sample_rate
        } else {
            48_000.0
        };
        let block_frames = ((rate * BLOCK_SECONDS as f64).round() as usize).max(1);
        let count = (SILENCE_WINDOW_SECONDS / BLOCK_SECONDS).round() as usize;
        Self {
            channels: channels.max(1),
            block_frames,
            blocks: vec![0.0; count],
            next_block: 0,
            filled: 0,
            current_sum: 0.0,
            current_frames: 0,
        }
    }

    /// Feeds interleaved samples (any length; a trailing partial frame is counted by sample).
    /// Non-finite samples count as silence.
    pub fn push(&mut self, interleaved: &[f32]) {
        for frame in interleaved.chunks(self.channels) {
            let mut square = 0.0f64;
            for &sample in frame {
                if sample.is_finite() {
                    square += f64::from(sample) * f64::from(sample);
                }
            }
            self.current_sum += square / self.channels as f64;
            self.current_frames += 1;
            if self.current_frames == self.block_frames {
                self.blocks[self.next_block] = self.current_sum / self.block_frames as f64;
                self.next_block = (self.next_block + 1) % self.blocks.len();
                self.filled = (self.filled + 1).min(self.blocks.len());
                self.current_sum = 0.0;
                self.current_frames = 0;
            }
        }
    }

    /// Short-term level in dBFS (AES17), over the finished blocks plus the one being filled;
    /// -100 when nothing has been heard.
    pub fn level_db(&self) -> f32 {
        let finished: f64 =
            self.blocks[..self.filled].iter().sum::<f64>() * self.block_frames as f64;
        let frames = self.filled * self.block_frames + self.current_frames;
        if frames == 0 {
            return -100.0;
        }
        let mean_square = (finished + self.current_sum) / frames as f64;
        if mean_square <= 1e-10 {
            return -100.0;
        }
        (10.0 * mean_square.log10()) as f32 + AES17_OFFSET_DB
    }

    /// True while the short-term level is under [`SILENCE_THRESHOLD_DB`].
    pub fn is_silent(&self) -> bool {
        self.level_db() < SILENCE_THRESHOLD_DB
    }

    /// Forgets everything heard.
    pub fn reset(&mut self) {
        self.blocks.fill(0.0);
        self.next_block = 0;
        self.filled = 0;
        self.current_sum = 0.0;
        self.current_frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: f64, seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (rate * seconds) as usize;
        (0..n)
            .flat_map(|i| {
                let x = amplitude * (std::f64::consts::TAU * 440.0 * i as f64 / rate).sin() as f32;
                [x, x]
            })
            .collect()
    }

    #[test]
    fn a_full_scale_sine_reads_zero_db_and_silence_is_silent() {
        let mut gate = SilenceGate::new(48_000.0, 2);
        assert!(gate.is_silent(), "nothing heard yet counts as silent");
        gate.push(&sine(48_000.0, 1.0, 1.0));
        assert!(gate.level_db().abs() < 0.1, "{}", gate.level_db());
        assert!(!gate.is_silent());
        gate.push(&vec![0.0; 48_000 * 2 * 3]);
        assert!(gate.is_silent(), "{}", gate.level_db());
    }

    #[test]
    fn the_threshold_sits_at_minus_sixty_dbfs() {
        for (level_db, silent) in [(-55.0f32, false), (-65.0, true), (-80.0, true)] {
            let mut gate = SilenceGate::new(44_100.0, 2);
            gate.push(&sine(44_100.0, 4.0, 10f32.powf(level_db / 20.0)));
            assert_eq!(
                gate.is_silent(),
                silent,
                "{level_db} dB reads {}",
                gate.level_db()
            );
        }
    }

    #[test]
    fn music_is_heard_at_once_and_silence_after_the_short_term_span() {
        let mut gate = SilenceGate::new(48_000.0, 2);
        gate.push(&vec![0.0; 48_000 * 2 * 5]);
        gate.push(&sine(48_000.0, 0.05, 0.3));
        assert!(!gate.is_silent(), "50 ms of music opens the gate");
        gate.push(&sine(48_000.0, 3.0, 0.3));
        gate.push(&vec![0.0; 48_000 * 2]);
        assert!(
            !gate.is_silent(),
            "1 s after the music the short-term level still holds it"
        );
        gate.push(&vec![0.0; 48_000 * 2 * 3]);
        assert!(gate.is_silent(), "{}", gate.level_db());
        gate.push(&[f32::NAN, f32::INFINITY]);
        assert!(gate.level_db().is_finite());
    }
}
