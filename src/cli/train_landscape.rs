//! `moodscape train-landscape` (also `cargo xtask train-landscape`): trains the VA-conditioned
//! landscape GAN on a folder of photos within a time budget, resumably.

use crate::landscape::dataset::{build_training_set, LabelFrom};
use crate::landscape::generator::DEFAULT_CHANNELS;
use crate::landscape::labeller::{ImageVaLabeller, LabellerHead};
use crate::landscape::layers::Upsampling;
use crate::landscape::training::{train, TrainConfig};
use crate::pretrained::efficientnet::EfficientNetLite0;
use anyhow::Context;
use std::path::PathBuf;

/// Keeps freed memory in the process heap for the rest of this command (glibc only). Every
/// training step frees and reallocates the same large tensors (up to 75 MB of im2col columns at
/// 64×64), and glibc serves each block above its mmap threshold (at most 32 MB) with a fresh
/// mapping whose pages fault in zero-filled and are unmapped again on free: a quarter of the
/// step's time went to the kernel. Measured on one thread, another job on the other core: 0.78 →
/// 0.87-0.97 steps/s, peak RSS about 1 GB. Only this command does it; the plugin and the other
/// commands keep glibc's defaults.
fn reuse_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters, under glibc's own arena lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

/// Command-line options.
#[derive(clap::Args)]
pub struct Args {
    /// Folders of training photos (jpg/png); repeat for several. Each photo is labelled with VA
    /// by the image labeller.
    #[arg(long, default_value = "../shared/data/landscapes/images")]
    data: Vec<PathBuf>,
    /// OASIS folder whose Scenery images join the data with their human VA ratings.
    #[arg(long, default_value = "../shared/data/images-oasis")]
    oasis: PathBuf,
    /// Train on --data only, without OASIS scenery.
    #[arg(long)]
    no_oasis: bool,
    /// Label each photo from its full-size file instead of the thumbnail the generator learns to
    /// paint (the default since v4's step 3 736: full-size labels keep detail a 64×64 picture
    /// cannot show, which caps the judged consistency of even a perfect generator near 0.8).
    #[arg(long)]
    label_full_size: bool,
    /// Image VA labeller head file (default: the one built into the binary; the network weights
    /// always come from models/efficientnet-lite0.safetensors or $MOODSCAPE_EFFICIENTNET).
    #[arg(long)]
    labeller: Option<PathBuf>,
    /// Run directory: checkpoint, state and sample grids; an existing run resumes.
    #[arg(long, default_value = "target/landscape-run")]
    run_dir: PathBuf,
    /// Where the EMA generator weights are exported at every checkpoint.
    #[arg(long, default_value = "models/landscape-gen.safetensors")]
    out: PathBuf,
    /// Wall-clock budget of this invocation, in minutes.
    #[arg(long, default_value_t = 40.0)]
    minutes: f64,
    /// Minutes between checkpoints (each also writes a sample grid).
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    /// Image side: 64 or 128.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Images per batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Generator learning rate.
    #[arg(long, default_value_t = 3e-4)]
    lr_g: f64,
    /// Discriminator learning rate.
    #[arg(long, default_value_t = 3e-4)]
    lr_d: f64,
    /// Weight of the affective (auxiliary VA regression) loss.
    #[arg(long, default_value_t = 1.0)]
    affective_weight: f64,
    /// Weight of the mode-seeking diversity loss.
    #[arg(long, default_value_t = 0.2)]
    diversity_weight: f64,
    /// Decay of the exported moving average of generator weights.
    #[arg(long, default_value_t = 0.995)]
    ema_decay: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Thumbnail cache.
    #[arg(long, default_value = "target/landscape-cache")]
    cache: PathBuf,
    /// Start a new run from these generator weights (e.g. the released
    /// models/landscape-gen.safetensors) instead of random ones; ignored when resuming.
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// How the generator doubles its feature maps: `nearest` (v1 and v2) or `bilinear` (no
    /// paired rows and columns). Weights carry no trace of it beyond the exported file's config,
    /// so a resumed run may switch, which fine-tunes the network to the other method.
    #[arg(long, value_enum, default_value_t = UpsamplingArg::Nearest)]
    upsampling: UpsamplingArg,
}

/// `--upsampling` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum UpsamplingArg {
    Nearest,
    Bilinear,
}

impl From<UpsamplingArg> for Upsampling {
    fn from(arg: UpsamplingArg) -> Self {
        match arg {
            UpsamplingArg::Nearest => Upsampling::Nearest,
            UpsamplingArg::Bilinear => Upsampling::Bilinear,
        }
    }
}

/// Generator channel widths for an image side.
pub fn channels_for_size(size: u32) -> anyhow::Result<Vec<usize>> {
    match size {
        64 => Ok(DEFAULT_CHANNELS.to_vec()),
        128 => Ok(vec![128, 96, 64, 32, 16, 8]),
        other => anyhow::bail!("--size must be 64 or 128, not {other}"),
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    reuse_freed_buffers();
    let labeller = match &args.labeller {
        Some(path) => ImageVaLabeller::new(
            LabellerHead::from_bytes(
                &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )?,
            EfficientNetLite0::load_default()?,
        ),
        None => ImageVaLabeller::embedded()?,
    };
    let channels = channels_for_size(args.size)?;
    let oasis = (!args.no_oasis).then_some(args.oasis.as_path());
    let label_from = if args.label_full_size {
        LabelFrom::FullSize
    } else {
        LabelFrom::Thumbnail
    };
    let set = build_training_set(
        &args.data,
        oasis,
        &labeller,
        label_from,
        args.size,
        &args.cache,
    )?;
    let human = set
        .sources
        .iter()
        .filter(|s| **s == crate::landscape::dataset::LabelSource::Human)
        .count();
    eprintln!(
        "training on {} images ({} with human VA ratings), {}px; conditioning scale {:?}",
        set.len(),
        human,
        set.size,
        set.scale
    );
    let config = TrainConfig {
        run_dir: args.run_dir,
        export: args.out,
        minutes: args.minutes,
        checkpoint_minutes: args.checkpoint_minutes,
        batch: args.batch,
        lr_generator: args.lr_g,
        lr_discriminator: args.lr_d,
        affective_weight: args.affective_weight,
        diversity_weight: args.diversity_weight,
        ema_decay: args.ema_decay,
        channels,
        upsampling: args.upsampling.into(),
        seed: args.seed,
        init_from: args.init_from,
    };
    std::fs::create_dir_all(&config.run_dir)?;
    std::fs::write(
        config.run_dir.join("config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    // Which labels this invocation trained on: a resumed run may change them.
    std::fs::write(
        config.run_dir.join("conditioning-scale.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "labels_from": label_from,
            "centre": set.scale.centre,
            "half_range": set.scale.half_range,
        }))?,
    )?;
    let state = train(&set, &config)?;
    eprintln!(
        "done: {} steps, {} images seen, {:.1} min trained in total; weights in {}",
        state.steps,
        state.images_seen,
        state.seconds / 60.0,
        config.export.display()
    );
    Ok(())
}
