//! Level measures: AES17 RMS in dBFS and ITU-R BS.1770 K-weighted, gated loudness.

/// Floor reported for silence by every dB measure, so nothing is ever `-inf`.
pub const DB_FLOOR: f32 = -100.0;
/// AES17 reference: a full-scale sine reads 0 dBFS, so RMS dB gets +3.01 dB.
pub const AES17_OFFSET_DB: f64 = 3.010_299_956_639_812;
/// BS.1770 absolute gate.
const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// BS.1770 relative gate below the ungated mean.
const RELATIVE_GATE_DB: f64 = -10.0;
/// EBU Tech 3342 relative gate for loudness range.
const RANGE_RELATIVE_GATE_DB: f64 = -20.0;

/// One direct-form-II-transposed biquad section.
#[derive(Clone, Copy, Debug)]
struct Biquad {
    /// Feed-forward coefficients.
    b: [f64; 3],
    /// Feedback coefficients (a0 normalised to 1).
    a: [f64; 2],
    /// Transposed state.
    state: [f64; 2],
}

impl Biquad {
    #[inline]
    fn process(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.state[0];
        self.state[0] = self.b[1] * x - self.a[0] * y + self.state[1];
        self.state[1] = self.b[2] * x - self.a[1] * y;
        // Decaying tails must not turn into denormals.
        if self.state[0].abs() < 1e-30 {
            self.state[0] = 0.0;
        }
        if self.state[1].abs() < 1e-30 {
            self.state[1] = 0.0;
        }
        y
    }
}

/// The BS.1770 K-weighting filter (high shelf + RLB high-pass), designed for any sample rate with
/// the bilinear-transform parameters used by libebur128.
#[derive(Clone, Debug)]
pub struct KWeighting {
    /// Head-related high shelf, +4 dB above ~1.7 kHz.
    shelf: Biquad,
    /// Revised low-frequency B-curve high-pass at ~38 Hz.
    highpass: Biquad,
}

impl KWeighting {
    pub fn new(sample_rate: f64) -> Self {
        let f0 = 1_681.974_450_955_533;
        let gain_db = 3.999_843_853_973_347;
        let q = 0.707_175_236_955_419_6;
        let k = (std::f64::consts::PI * f0 / sample_rate).tan();
        let vh = 10f64.powf(gain_db / 20.0);
        let vb = vh.powf(0.499_666_774_154_541_6);
        let a0 = 1.0 + k / q + k * k;
        let shelf = Biquad {
            b: [
                (vh + vb * k / q + k * k) / a0,
                2.0 * (k * k - vh) / a0,
                (vh - vb * k / q + k * k) / a0,
            ],
            a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
            state: [0.0; 2],
        };
        let f0 = 38.135_470_876_024_44;
        let q = 0.500_327_037_323_877_3;
        let k = (std::f64::consts::PI * f0 / sample_rate).tan();
        let a0 = 1.0 + k / q + k * k;
        let highpass = Biquad {
            b: [1.0, -2.0, 1.0],
            a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
            state: [0.0; 2],
        };
        Self { shelf, highpass }
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f64 {
        self.highpass.process(self.shelf.process(x as f64))
    }

    pub fn reset(&mut self) {
        self.shelf.state = [0.0; 2];
        self.highpass.state = [0.0; 2];
    }
}

/// dB of a mean square, floored at [`DB_FLOOR`].
pub fn power_db(mean_square: f64) -> f32 {
    if mean_square > 1e-10 && mean_square.is_finite() {
        ((10.0 * mean_square.log10()) as f32).max(DB_FLOOR)
    } else {
        DB_FLOOR
    }
}

/// BS.1770 loudness of a block whose K-weighted mono mean square is `ms`. The mono downmix is
/// treated as the same signal on left and right (dual mono), so a -20 dBFS 1 kHz sine reads about
/// -20 LUFS, as it would played on both channels of a stereo track.
pub fn block_lufs(ms: f64) -> f64 {
    if ms > 1e-12 {
        -0.691 + 10.0 * (2.0 * ms).log10()
    } else {
        DB_FLOOR as f64
    }
}

/// Gated loudness and loudness range of a window from its K-weighted block mean squares.
/// `scratch` is reused for sorting. Returns (integrated LUFS, range dB).
pub fn gated_loudness(blocks: &[f64], scratch: &mut Vec<f64>) -> (f32, f32) {
    let abs_gate = |ms: &&f64| block_lufs(**ms) > ABSOLUTE_GATE_LUFS;
    let (sum, count) = blocks
        .iter()
        .filter(abs_gate)
        .fold((0.0, 0usize), |(s, n), ms| (s + ms, n + 1));
    if count == 0 {
        return (DB_FLOOR, 0.0);
    }
    let relative_gate = block_lufs(sum / count as f64) + RELATIVE_GATE_DB;
    let (gated_sum, gated_count) = blocks
        .iter()
        .filter(abs_gate)
        .filter(|ms| block_lufs(**ms) > relative_gate)
        .fold((0.0, 0usize), |(s, n), ms| (s + ms, n + 1));
    let integrated = if gated_count > 0 {
        block_lufs(gated_sum / gated_count as f64)
    } else {
        block_lufs(sum / count as f64)
    };
    let range_gate = block_lufs(sum / count as f64) + RANGE_RELATIVE_GATE_DB;
    scratch.clear();
    scratch.extend(
        blocks
            .iter()
            .map(|ms| block_lufs(*ms))
            .filter(|l| *l > ABSOLUTE_GATE_LUFS && *l > range_gate),
    );
    let range = if scratch.len() >= 2 {
        scratch.sort_unstable_by(f64::total_cmp);
        percentile_sorted(scratch, 0.95) - percentile_sorted(scratch, 0.10)
    } else {
        0.0
    };
    ((integrated as f32).max(DB_FLOOR), range as f32)
}

/// Linear-interpolated percentile of sorted, non-empty data.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi] * frac
}
