//! RMS and peak level in dBFS, computed on the analysis thread from captured audio.

/// Lowest level reported, so silence reads as a number rather than -inf.
pub const FLOOR_DB: f32 = -120.0;

/// Ballistics for the editor's level readout: RMS over a ~300 ms exponential window and a peak
/// that holds the maximum and decays at 20 dB/s.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    /// Per-frame smoothing coefficient of the mean square.
    rms_coefficient: f32,
    /// Per-frame peak decay factor (linear gain).
    peak_decay: f32,
    /// Running mean square of the downmix-free (per-sample) signal.
    mean_square: f32,
    /// Current peak magnitude, linear.
    peak: f32,
}

impl LevelMeter {
    pub fn new(sample_rate: f32) -> Self {
        let sample_rate = sample_rate.max(1.0);
        Self {
            rms_coefficient: 1.0 - (-1.0 / (0.3 * sample_rate)).exp(),
            peak_decay: 10f32.powf(-20.0 / 20.0 / sample_rate),
            mean_square: 0.0,
            peak: 0.0,
        }
    }

    /// Feeds interleaved frames. Non-finite samples count as silence so one NaN cannot stick.
    pub fn process(&mut self, interleaved: &[f32], channels: usize) {
        for frame in interleaved.chunks_exact(channels.max(1)) {
            let mut frame_square = 0.0;
            let mut frame_peak: f32 = 0.0;
            for &sample in frame {
                let sample = if sample.is_finite() { sample } else { 0.0 };
                frame_square += sample * sample;
                frame_peak = frame_peak.max(sample.abs());
            }
            frame_square /= frame.len() as f32;
            self.mean_square += self.rms_coefficient * (frame_square - self.mean_square);
            self.peak = (self.peak * self.peak_decay).max(frame_peak);
        }
        // Keeps the state out of the denormal range during long silences.
        if self.mean_square < 1e-30 {
            self.mean_square = 0.0;
        }
        if self.peak < 1e-15 {
            self.peak = 0.0;
        }
    }

    pub fn rms_db(&self) -> f32 {
        amplitude_to_db(self.mean_square.sqrt())
    }

    pub fn peak_db(&self) -> f32 {
        amplitude_to_db(self.peak)
    }
}

/// Linear amplitude to dBFS, floored at [`FLOOR_DB`].
pub fn amplitude_to_db(amplitude: f32) -> f32 {
    if amplitude > 0.0 && amplitude.is_finite() {
        (20.0 * amplitude.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_reads_minus_three_db_rms_and_zero_peak() {
        let sample_rate = 48_000.0;
        // Three seconds: ten time constants of the 300 ms RMS window.
        let sine: Vec<f32> = (0..144_000)
            .map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / sample_rate).sin())
            .collect();
        let mut meter = LevelMeter::new(sample_rate);
        meter.process(&sine, 1);
        assert!((meter.rms_db() + 3.01).abs() < 0.05, "{}", meter.rms_db());
        assert!(meter.peak_db().abs() < 0.01, "{}", meter.peak_db());
    }

    #[test]
    fn non_finite_samples_do_not_stick() {
        let mut meter = LevelMeter::new(48_000.0);
        meter.process(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40], 1);
        assert!(meter.rms_db().is_finite() && meter.peak_db().is_finite());
        meter.process(&vec![0.0; 96_000], 1);
        assert_eq!(meter.peak_db(), FLOOR_DB);
    }
}
