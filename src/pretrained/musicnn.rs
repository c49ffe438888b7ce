//! MSD-MusiCNN (Pons & Serra, 2019, "musicnn: pre-trained convolutional neural networks for
//! music audio tagging"), ported from the `musicnn` 0.1.0 wheel's `MSD_musicnn` checkpoint. See
//! `models/musicnn-msd.md` for origin, licence, conversion command and measured speed.
//!
//! - [`Musicnn`]: the network. Weights are read and shape-checked through candle's safetensors
//!   loader ([`super::load_checked`]); the forward pass is a set of im2col / strided-view matrix
//!   products on the `gemm` crate (the kernel candle's CPU matmul uses), called with no
//!   parallelism so that it runs on the calling thread only (it shares the analysis thread).
//! - [`mel_patches_for_clip`]: the reference front end on a whole 16 kHz clip, as
//!   `musicnn/extractor.py` computes it.
//! - [`MusicnnStream`]: the live front end (any rate and channel count) plus the network,
//!   emitting one [`MusicnnPatch`] every `patch_hop_seconds`.

mod frontend;
mod network;
mod stream;

pub use self::frontend::{log_mel_for_clip, mel_patches_for_clip};
pub use self::network::Musicnn;
pub use self::stream::{MusicnnPatch, MusicnnStream, RMS_FLOOR_DB};

/// Width of the penultimate layer (dense 1506->200, ReLU, batch_normalization_10).
pub const EMBEDDING_DIM: usize = 200;
/// MSD tags (dense_1 200->50, sigmoid), in the checkpoint's order.
pub const TAG_COUNT: usize = 50;
/// 187 frames of hop 256 at 16 kHz (~3 s): the patch length the network was trained on.
pub const PATCH_FRAMES: usize = 187;
/// Mel bands of the front end.
pub const MEL_BANDS: usize = 96;
/// Sample rate of the front end.
pub const SAMPLE_RATE: u32 = 16_000;
/// STFT size of the front end.
pub const FFT_SIZE: usize = 512;
/// STFT hop of the front end (one mel frame per hop).
pub const HOP: usize = 256;

/// Name used in [`super::PretrainedError`]s.
pub(crate) const NETWORK_NAME: &str = "MusiCNN";

/// The 50 MSD tags, in the order of [`MusicnnOutput::taggram`] (musicnn's `MSD_LABELS`).
pub const TAG_NAMES: [&str; TAG_COUNT] = [
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
];

/// One patch's outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MusicnnOutput {
    /// The penultimate layer (after its batch norm): the general-purpose music embedding.
    pub embedding: [f32; EMBEDDING_DIM],
    /// Per-tag probabilities (sigmoid), ordered as [`TAG_NAMES`].
    pub taggram: [f32; TAG_COUNT],
}

impl Default for MusicnnOutput {
    fn default() -> Self {
        Self {
            embedding: [0.0; EMBEDDING_DIM],
            taggram: [0.0; TAG_COUNT],
        }
    }
}
