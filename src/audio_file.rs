//! Decoding audio files (WAV, FLAC, MP3, Ogg Vorbis) with symphonia into interleaved f32.
//!
//! [`AudioReader`] streams blocks so long files need not fit in memory; [`decode_file`] collects a
//! whole file. Every failure is an [`AudioFileError`] whose message fits on one line.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Consecutive undecodable packets after which a stream counts as corrupt rather than glitched.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;

/// Why a file could not be decoded.
#[derive(Debug)]
pub enum AudioFileError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file has zero bytes, or a container with no audio samples in it.
    Empty(PathBuf),
    /// No supported container/codec recognised the data.
    Unsupported {
        /// The file.
        path: PathBuf,
        /// symphonia's reason.
        reason: String,
    },
    /// The container was recognised but its audio data is malformed.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl std::fmt::Display for AudioFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Single line: the CLI prints this as its whole error message.
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        match self {
            Self::Io { path, source } => {
                write!(
                    f,
                    "cannot read {}: {}",
                    path.display(),
                    one_line(&source.to_string())
                )
            }
            Self::Empty(path) => write!(f, "{} contains no audio", path.display()),
            Self::Unsupported { path, reason } => write!(
                f,
                "{} is not a supported audio file (WAV, FLAC, MP3, Ogg Vorbis): {}",
                path.display(),
                one_line(reason)
            ),
            Self::Corrupt { path, reason } => {
                write!(f, "{} is corrupt: {}", path.display(), one_line(reason))
            }
        }
    }
}

/// No `source()`: every message already carries its cause, and a chain would print it twice.
impl std::error::Error for AudioFileError {}

/// A whole decoded file.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Interleaved samples, nominally in [-1, 1].
    pub samples: Vec<f32>,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: usize,
}

impl DecodedAudio {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Length in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.frames() as f64 / self.sample_rate.max(1) as f64
    }
}

/// Streaming decoder for one file.
pub struct AudioReader {
    /// For error messages.
    path: PathBuf,
    /// The demuxer.
    format: Box<dyn FormatReader>,
    /// The decoder of the chosen track.
    decoder: Box<dyn Decoder>,
    /// The audio track being decoded.
    track_id: u32,
    /// Frames per second (from the codec parameters or the first block).
    sample_rate: u32,
    /// Channels per frame.
    channels: usize,
    /// Conversion buffer, grown to the largest packet seen.
    buffer: Option<SampleBuffer<f32>>,
    /// Frames delivered so far.
    frames_read: u64,
    /// Length of the stream in frames, when the container says (for progress and planning).
    total_frames: Option<u64>,
    /// A first block decoded while probing the format, handed out by the first `next_block`.
    pending_first: bool,
}

impl AudioReader {
    /// Opens and probes a file; fails early on missing, empty or unrecognised files.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioFileError> {
        let path = path.as_ref().to_path_buf();
        let io_error = |source| AudioFileError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(io_error)?;
        let length = file.metadata().map_err(io_error)?.len();
        if length == 0 {
            return Err(AudioFileError::Empty(path));
        }
        // symphonia trusts a WAV header's numbers and panics on some (a zero sample rate makes
        // a zero time base): check them before it sees the file.
        if let Err(reason) = check_wav_header(&mut file) {
            return Err(AudioFileError::Corrupt { path, reason });
        }
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(extension);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| classify(&path, e, false))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioFileError::Unsupported {
                path: path.clone(),
                reason: "no audio track".into(),
            })?;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| classify(&path, e, false))?;
        let track_id = track.id;
        let sample_rate = track.codec_params.sample_rate.unwrap_or(0);
        let channels = track.codec_params.channels.map_or(0, |c| c.count());
        let total_frames = track.codec_params.n_frames.filter(|&n| n > 0);
        let mut reader = Self {
            path,
            format,
            decoder,
            track_id,
            sample_rate,
            channels,
            buffer: None,
            frames_read: 0,
            total_frames,
            pending_first: false,
        };
        // Some formats only reveal rate and layout with the first decoded packet; decoding it
        // now also turns an unreadable stream into an error at open time.
        if reader.decode_next()?.is_none() {
            return Err(AudioFileError::Empty(reader.path));
        }
        reader.pending_first = true;
        Ok(reader)
    }

    /// Frames per second.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// The stream's length in frames as the container declares it, if it does (an estimate:
    /// the decoded count may differ by an encoder's padding).
    pub fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }

    /// The next block of interleaved samples, `None` at the end of the stream.
    pub fn next_block(&mut self) -> Result<Option<&[f32]>, AudioFileError> {
        if self.pending_first {
            self.pending_first = false;
        } else if self.decode_next()?.is_none() {
            return Ok(None);
        }
        Ok(self.buffer.as_ref().map(|b| b.samples()))
    }

    /// Decodes packets until one yields samples; `Some(frames)` or `None` at the end.
    fn decode_next(&mut self) -> Result<Option<usize>, AudioFileError> {
        let mut bad_packets = 0;
        loop {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Ok(None)
                }
                Err(SymphoniaError::ResetRequired) => return Ok(None),
                Err(e) => return Err(classify(&self.path, e, true)),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                // A damaged packet in an otherwise good stream is skipped, as players do.
                Err(SymphoniaError::DecodeError(reason)) => {
                    bad_packets += 1;
                    if bad_packets >= MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(AudioFileError::Corrupt {
                            path: self.path.clone(),
                            reason: format!(
                                "{bad_packets} undecodable packets in a row ({reason})"
                            ),
                        });
                    }
                    continue;
                }
                Err(SymphoniaError::IoError(_)) => return Ok(None),
                Err(e) => return Err(classify(&self.path, e, true)),
            };
            let spec = *decoded.spec();
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            let channels = spec.channels.count();
            if self.frames_read == 0 && self.buffer.is_none() {
                self.sample_rate = spec.rate;
                self.channels = channels;
            } else if channels != self.channels || spec.rate != self.sample_rate {
                return Err(AudioFileError::Unsupported {
                    path: self.path.clone(),
                    reason: "channel count or sample rate changes mid-stream".into(),
                });
            }
            if self.sample_rate == 0 || self.channels == 0 {
                return Err(AudioFileError::Corrupt {
                    path: self.path.clone(),
                    reason: "stream declares zero sample rate or channels".into(),
                });
            }
            let needed = decoded.capacity() as u64;
            if self
                .buffer
                .as_ref()
                .is_none_or(|b| (b.capacity() as u64) < needed)
            {
                self.buffer = Some(SampleBuffer::new(needed, spec));
            }
            if let Some(buffer) = self.buffer.as_mut() {
                buffer.copy_interleaved_ref(decoded);
            }
            self.frames_read += frames as u64;
            return Ok(Some(frames));
        }
    }
}

/// How much of a file's start [`check_wav_header`] reads: the `fmt ` chunk comes first in
/// practice, after at most a few metadata chunks.
const WAV_HEADER_PROBE_BYTES: u64 = 1 << 16;

/// Rejects a RIFF/WAVE file whose `fmt ` chunk holds numbers no decoder can use (zero sample
/// rate, channels or block size, or an ADPCM block too small for its channels). Files that are
/// not RIFF/WAVE, or whose `fmt ` chunk lies beyond the first 64 KiB, pass unchecked. Leaves the
/// file positioned at its start.
fn check_wav_header(file: &mut File) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut head = Vec::new();
    let read = file
        .by_ref()
        .take(WAV_HEADER_PROBE_BYTES)
        .read_to_end(&mut head);
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    if read.is_err() || head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(());
    }
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let mut at = 12;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let size = u32_at(at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if size < 16 || body + 16 > head.len() {
                return Err("the WAV format chunk is too short".into());
            }
            let format = u16_at(body);
            let channels = u16_at(body + 2);
            let sample_rate = u32_at(body + 4);
            let block_align = u16_at(body + 12);
            let bits = u16_at(body + 14);
            if sample_rate == 0 {
                return Err("the WAV header says the sample rate is 0 Hz".into());
            }
            if channels == 0 {
                return Err("the WAV header says the file has 0 channels".into());
            }
            if block_align == 0 {
                return Err("the WAV header says each frame takes 0 bytes".into());
            }
            // MS and IMA ADPCM: the block holds a per-channel preamble (7 and 4 bytes) first.
            let preamble = match format {
                0x0002 => Some(7),
                0x0011 => Some(4),
                _ => None,
            };
            if let Some(preamble) = preamble {
                if bits == 0 || u32::from(block_align) <= preamble * u32::from(channels) {
                    return Err(format!(
                        "the WAV header's ADPCM block of {block_align} bytes cannot hold \
                         {channels} channels of {bits}-bit samples"
                    ));
                }
            }
            return Ok(());
        }
        // Chunks are padded to an even size.
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Ok(())
}

/// Maps a symphonia error to ours; `after_open` separates bad data from unknown formats.
fn classify(path: &Path, error: SymphoniaError, after_open: bool) -> AudioFileError {
    match error {
        SymphoniaError::IoError(source) if !after_open => {
            if source.kind() == std::io::ErrorKind::UnexpectedEof {
                AudioFileError::Corrupt {
                    path: path.to_path_buf(),
                    reason: "the file ends before any audio (truncated?)".into(),
                }
            } else {
                AudioFileError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        }
        SymphoniaError::Unsupported(reason) => AudioFileError::Unsupported {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        },
        other => AudioFileError::Corrupt {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

/// Decodes a whole file into memory.
pub fn decode_file(path: impl AsRef<Path>) -> Result<DecodedAudio, AudioFileError> {
    let mut reader = AudioReader::open(path)?;
    let mut samples = Vec::new();
    while let Some(block) = reader.next_block()? {
        samples.extend_from_slice(block);
    }
    Ok(DecodedAudio {
        samples,
        sample_rate: reader.sample_rate(),
        channels: reader.channels(),
    })
}
