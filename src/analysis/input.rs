//! Input conditioning: sanitise, downmix and resample whatever the host sends to
//! [`INTERNAL_RATE`](super::INTERNAL_RATE) mono.

use rubato::{
    FftFixedIn, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::INTERNAL_RATE;

/// Largest magnitude a sample may have after sanitising (+24 dBFS): keeps squared sums finite
/// even when a broken host sends huge values.
const SAMPLE_LIMIT: f32 = 16.0;
/// Magnitudes below this are flushed to zero so denormals never reach the filters.
const DENORMAL_FLOOR: f32 = 1.0e-20;
/// Input frames handed to rubato per call.
const RESAMPLER_CHUNK: usize = 1024;
/// Above this many input frames per resampling period the exact FFT resampler would need a huge
/// transform, so an asynchronous sinc resampler takes over (odd rates such as 44 099 Hz).
const MAX_FFT_PERIOD: usize = 4096;

/// Non-finite samples become silence and huge ones are clipped, before anything else sees them,
/// so that a NaN burst cannot poison filter or FFT state.
#[inline]
pub fn sanitize(sample: f32) -> f32 {
    if sample.is_finite() {
        let clipped = sample.clamp(-SAMPLE_LIMIT, SAMPLE_LIMIT);
        if clipped.abs() < DENORMAL_FLOOR {
            0.0
        } else {
            clipped
        }
    } else {
        0.0
    }
}

/// The resampler used for one input rate.
enum RateConverter {
    /// The input already runs at the internal rate.
    Passthrough,
    /// Exact rational resampling for common rates (44.1k, 48k, 96k ...).
    Fft(Box<FftFixedIn<f32>>),
    /// Arbitrary ratios, where the FFT resampler's period would be enormous.
    Sinc(Box<SincFixedIn<f32>>),
}

/// Turns interleaved host audio into internal-rate mono blocks without allocating per call.
pub struct InputStage {
    /// Interleaved channel count of the input.
    channels: usize,
    /// Which channel the next incoming sample belongs to: blocks may split a frame.
    channel_cursor: usize,
    /// Sum of the current frame's channels so far.
    frame_sum: f32,
    /// The resampler, or none when the input is already at the internal rate.
    converter: RateConverter,
    /// Mono input collected until the resampler has a full chunk.
    chunk_in: Vec<f32>,
    /// Frames the resampler consumes per call.
    chunk_len: usize,
    /// Resampler output for one chunk.
    chunk_out: Vec<f32>,
    /// Output frames still to drop so that internal time lines up with input time
    /// (the resampler's group delay).
    delay_to_skip: usize,
    /// Delay of the resampler as built, restored on reset.
    initial_delay: usize,
}

impl InputStage {
    /// `input_rate` must be finite and positive, `channels` at least 1 (the caller validates).
    pub fn new(input_rate: f64, channels: usize) -> Result<Self, String> {
        Self::with_output_rate(input_rate, channels, INTERNAL_RATE)
    }

    /// The same conditioning towards another rate (MusiCNN's 16 kHz front end shares it).
    pub fn with_output_rate(
        input_rate: f64,
        channels: usize,
        output_rate: u32,
    ) -> Result<Self, String> {
        let rate = input_rate.round() as usize;
        let internal = output_rate as usize;
        let converter = if rate == internal {
            RateConverter::Passthrough
        } else if rate / gcd(rate, internal) <= MAX_FFT_PERIOD {
            let fft = FftFixedIn::<f32>::new(rate, internal, RESAMPLER_CHUNK, 1, 1)
                .map_err(|e| format!("cannot resample from {rate} Hz: {e}"))?;
            RateConverter::Fft(Box::new(fft))
        } else {
            let parameters = SincInterpolationParameters {
                sinc_len: 128,
                f_cutoff: 0.95,
                oversampling_factor: 128,
                interpolation: SincInterpolationType::Linear,
                window: WindowFunction::BlackmanHarris2,
            };
            let sinc = SincFixedIn::<f32>::new(
                internal as f64 / input_rate,
                1.0,
                parameters,
                RESAMPLER_CHUNK,
                1,
            )
            .map_err(|e| format!("cannot resample from {input_rate} Hz: {e}"))?;
            RateConverter::Sinc(Box::new(sinc))
        };
        let (chunk_len, out_len, delay) = match &converter {
            RateConverter::Passthrough => (RESAMPLER_CHUNK, 0, 0),
            RateConverter::Fft(r) => (
                r.input_frames_next(),
                r.output_frames_max(),
                r.output_delay(),
            ),
            RateConverter::Sinc(r) => (
                r.input_frames_next(),
                r.output_frames_max(),
                r.output_delay(),
            ),
        };
        Ok(Self {
            channels,
            channel_cursor: 0,
            frame_sum: 0.0,
            converter,
            chunk_in: Vec::with_capacity(chunk_len),
            chunk_len,
            chunk_out: vec![0.0; out_len],
            delay_to_skip: delay,
            initial_delay: delay,
        })
    }

    /// Forget all buffered audio, as if freshly built.
    pub fn reset(&mut self) {
        self.channel_cursor = 0;
        self.frame_sum = 0.0;
        self.chunk_in.clear();
        self.delay_to_skip = self.initial_delay;
        match &mut self.converter {
            RateConverter::Passthrough => {}
            RateConverter::Fft(r) => r.reset(),
            RateConverter::Sinc(r) => r.reset(),
        }
    }

    /// Feeds interleaved samples; `sink` receives internal-rate mono blocks in order.
    pub fn push(&mut self, interleaved: &[f32], sink: &mut impl FnMut(&[f32])) {
        let inv_channels = 1.0 / self.channels as f32;
        let mut rest = interleaved;
        // Fast path: whole frames straight into the chunk, a chunk's worth at a time.
        while self.channel_cursor == 0 && rest.len() >= self.channels {
            let room = self.chunk_len - self.chunk_in.len();
            let frames = (rest.len() / self.channels).min(room);
            let (now, later) = rest.split_at(frames * self.channels);
            if self.channels == 1 {
                self.chunk_in.extend(now.iter().map(|&x| sanitize(x)));
            } else {
                self.chunk_in
                    .extend(now.chunks_exact(self.channels).map(|frame| {
                        let total: f32 = frame.iter().map(|&x| sanitize(x)).sum();
                        sanitize(total * inv_channels)
                    }));
            }
            rest = later;
            if self.chunk_in.len() >= self.chunk_len {
                self.flush_chunk(sink);
            }
        }
        for &sample in rest {
            self.frame_sum += sanitize(sample);
            self.channel_cursor += 1;
            if self.channel_cursor < self.channels {
                continue;
            }
            let mono = sanitize(self.frame_sum * inv_channels);
            self.channel_cursor = 0;
            self.frame_sum = 0.0;
            self.chunk_in.push(mono);
            if self.chunk_in.len() >= self.chunk_len {
                self.flush_chunk(sink);
            }
        }
        // Without a resampler nothing needs a full chunk: hand on everything now.
        if matches!(self.converter, RateConverter::Passthrough) && !self.chunk_in.is_empty() {
            self.flush_chunk(sink);
        }
    }

    /// Runs one full input chunk through the converter.
    fn flush_chunk(&mut self, sink: &mut impl FnMut(&[f32])) {
        let produced = match &mut self.converter {
            RateConverter::Passthrough => {
                sink(&self.chunk_in);
                self.chunk_in.clear();
                return;
            }
            RateConverter::Fft(r) => {
                r.process_into_buffer(&[&self.chunk_in], &mut [&mut self.chunk_out], None)
            }
            RateConverter::Sinc(r) => {
                r.process_into_buffer(&[&self.chunk_in], &mut [&mut self.chunk_out], None)
            }
        };
        self.chunk_in.clear();
        // Buffers are sized from the resampler itself, so an error here would be a rubato bug;
        // dropping the chunk is the only non-panicking answer.
        let Ok((_, written)) = produced else { return };
        let skip = self.delay_to_skip.min(written);
        self.delay_to_skip -= skip;
        for sample in &mut self.chunk_out[skip..written] {
            *sample = sanitize(*sample);
        }
        if written > skip {
            sink(&self.chunk_out[skip..written]);
        }
    }
}

/// Greatest common divisor, for picking the resampler.
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl InputStage {
    /// A stage that only downmixes: the fallback if no resampler can be built.
    pub fn passthrough(channels: usize) -> Self {
        Self {
            channels: channels.max(1),
            channel_cursor: 0,
            frame_sum: 0.0,
            converter: RateConverter::Passthrough,
            chunk_in: Vec::with_capacity(RESAMPLER_CHUNK),
            chunk_len: RESAMPLER_CHUNK,
            chunk_out: Vec::new(),
            delay_to_skip: 0,
            initial_delay: 0,
        }
    }
}
