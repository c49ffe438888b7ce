//! VA-conditioned landscape generation (and the image VA labeller that trains it).
//!
//! The pipeline follows Park & Lee (ACCV 2020), "emotional landscapes": a GAN whose generator is
//! told a valence/arousal pair at every resolution and whose discriminator both judges realism
//! and regresses VA (the "affective" loss), so the mood of the image follows the music's mood.
//!
//! - [`features`]: hand-crafted colour/layout/texture features of a photograph.
//! - [`embedding`]: EfficientNet-Lite0 embeddings of image files, cached per file.
//! - [`ridge`]: ridge regression with per-data-set intercepts and an inner-CV penalty.
//! - [`labeller`]: the image VA labeller (ridge on the embedding, trained on OASIS and Emotion6);
//!   it labels the unlabelled landscape photographs and judges generated ones.
//! - [`dataset`]: loading photo folders (and OASIS scenery with its true labels) as 64×64 thumbnails.
//! - [`layers`]: convolution as im2col + matmul, upsampling, pooling, pixel norm (NHWC, candle).
//! - [`generator`]: the VA-conditioned generator network and the public inference [`Generator`].
//! - [`discriminator`]: projection discriminator with an auxiliary VA head.
//! - [`training`]: the resumable, time-budgeted training loop.
//! - [`seeded_init`]: initial weights from the run's seed (candle's CPU generator has none).
//! - [`latent`]: seeded latents and smooth latent/VA walks.
//! - [`evaluation`]: emotion consistency, diversity and realism metrics.
//! - [`grid`]: labelled VA grids of generated images.
//! - [`picture`]: the one path from mood and noise to the displayed picture (generator, then the
//!   learned 4× upscaler for larger sizes).
//!
//! Inference runs on exactly one thread: [`Generator`] owns a one-thread rayon pool and runs every
//! candle operation inside it, so candle's gemm calls cannot fan out over the host's cores.

pub mod dataset;
pub mod discriminator;
pub mod embedding;
pub mod evaluation;
pub mod features;
pub mod generator;
pub mod grid;
pub mod labeller;
pub mod latent;
pub mod layers;
pub mod picture;
pub mod ridge;
pub mod seeded_init;
pub mod training;

pub use generator::Generator;
pub use labeller::ImageVaLabeller;
pub use latent::Latent;
pub use picture::{LandscapePainter, DISPLAY_SIDE};

/// What can go wrong when loading or running the landscape models.
#[derive(Debug)]
pub enum LandscapeError {
    /// No model was built into the binary.
    NoModel(&'static str),
    /// A model file is corrupt, incompatible or a model call failed.
    Model(String),
    /// An error inside candle.
    Candle(candle_core::Error),
    /// Reading or decoding an image or file failed.
    Io(String),
}

impl std::fmt::Display for LandscapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoModel(message) => write!(f, "{message}"),
            Self::Model(message) => write!(f, "{message}"),
            Self::Candle(error) => write!(f, "candle: {error}"),
            Self::Io(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for LandscapeError {}

impl From<candle_core::Error> for LandscapeError {
    fn from(error: candle_core::Error) -> Self {
        Self::Candle(error)
    }
}
