//! Resumable, time-budgeted GAN training on the CPU.
//!
//! Losses: hinge adversarial loss; the discriminator's auxiliary head regresses the VA of real
//! photographs and the generator is penalised when its images regress to another VA (Park & Lee's
//! affective loss); a mode-seeking term (Mao et al. 2019) rewards different images for different
//! noise at the same VA. A DiffAugment-style translation with reflected borders (never colour:
//! colour carries the mood; no cutout) is applied to every image the discriminator sees. The
//! exported weights are an exponential moving average of the generator's. Initial weights, batches,
//! augmentation and latents all come from generators seeded by the run's seed, so a run can be
//! replayed.

use super::dataset::TrainingSet;
use super::discriminator::DiscriminatorNet;
use super::generator::{tensor_pixels_to_images, GeneratorNet};
use super::grid::render_grid;
use super::latent::{Latent, LATENT_DIM};
use super::layers::Upsampling;
use super::seeded_init::seeded_var_builder;
use super::LandscapeError;
use crate::va::Va;
use candle_core::{backprop::GradStore, DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Everything that shapes one training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Checkpoints, state and sample grids live here; an existing run is resumed.
    pub run_dir: PathBuf,
    /// Where the EMA generator is exported at every checkpoint.
    pub export: PathBuf,
    /// Wall-clock budget of this invocation.
    pub minutes: f64,
    /// Minutes between checkpoints.
    pub checkpoint_minutes: f64,
    /// Images per batch (real and fake each).
    pub batch: usize,
    /// Generator learning rate.
    pub lr_generator: f64,
    /// Discriminator learning rate.
    pub lr_discriminator: f64,
    /// Weight of the auxiliary (affective) VA regression loss.
    pub affective_weight: f64,
    /// Weight of the mode-seeking diversity loss.
    pub diversity_weight: f64,
    /// Decay of the exported moving average of generator weights.
    pub ema_decay: f64,
    /// Generator channel widths (fixes the image size).
    pub channels: Vec<usize>,
    /// How the generator upsamples (runs before this option existed were nearest).
    #[serde(default)]
    pub upsampling: Upsampling,
    /// Seed of data order, noise and initialisation.
    pub seed: u64,
    /// Generator weights (an exported EMA file) to start a new run from instead of random ones,
    /// to fine-tune a released generator; the discriminator still starts fresh. Ignored when
    /// the run directory already holds a checkpoint.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
}

/// Progress recorded beside the checkpoint so a resumed run continues its counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    /// Optimiser steps done.
    pub steps: u64,
    /// Training seconds over all invocations.
    pub seconds: f64,
    /// Real images shown to the discriminator.
    pub images_seen: u64,
    /// (step, d_loss, g_adversarial, affective_real, affective_fake, diversity) every 50 steps.
    pub history: Vec<[f64; 6]>,
    /// Training set size the run used.
    pub training_images: usize,
}

/// Adam with bias correction whose moments are ordinary tensors, so they go into checkpoints.
struct Adam {
    /// (name, parameter, first moment, second moment).
    params: Vec<(String, Var, Tensor, Tensor)>,
    /// Step size.
    lr: f64,
    /// First-moment decay (0.5 is the usual GAN choice: less momentum, fewer oscillations).
    beta1: f64,
    /// Second-moment decay.
    beta2: f64,
    /// Steps taken, for bias correction.
    t: i32,
}

impl Adam {
    fn new(map: &VarMap, lr: f64) -> candle_core::Result<Self> {
        let data = map.data().lock().expect("var map lock");
        let mut params: Vec<(String, Var, Tensor, Tensor)> = data
            .iter()
            .map(|(name, var)| {
                Ok((
                    name.clone(),
                    var.clone(),
                    var.zeros_like()?,
                    var.zeros_like()?,
                ))
            })
            .collect::<candle_core::Result<_>>()?;
        params.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self {
            params,
            lr,
            beta1: 0.5,
            beta2: 0.99,
            t: 0,
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.t += 1;
        let correction1 = 1.0 - self.beta1.powi(self.t);
        let correction2 = 1.0 - self.beta2.powi(self.t);
        for (_, var, m, v) in &mut self.params {
            let Some(grad) = grads.get(var.as_tensor()) else {
                continue;
            };
            // Detached: otherwise every moment keeps the previous one and its step's whole graph alive.
            *m = ((&*m * self.beta1)? + (grad * (1.0 - self.beta1))?)?.detach();
            *v = ((&*v * self.beta2)? + (grad.sqr()? * (1.0 - self.beta2))?)?.detach();
            let update = ((&*m / correction1)? / ((&*v / correction2)?.sqrt()? + 1e-8)?)?;
            var.set(&(var.as_tensor() - (update * self.lr)?)?)?;
        }
        Ok(())
    }

    fn save_into(&self, prefix: &str, out: &mut HashMap<String, Tensor>) {
        for (name, _, m, v) in &self.params {
            out.insert(format!("{prefix}.m.{name}"), m.clone());
            out.insert(format!("{prefix}.v.{name}"), v.clone());
        }
    }

    fn load_from(&mut self, prefix: &str, tensors: &HashMap<String, Tensor>, t: i32) {
        for (name, var, m, v) in &mut self.params {
            if let (Some(saved_m), Some(saved_v)) = (
                tensors.get(&format!("{prefix}.m.{name}")),
                tensors.get(&format!("{prefix}.v.{name}")),
            ) {
                if saved_m.dims() == var.dims() {
                    *m = saved_m.clone();
                    *v = saved_v.clone();
                }
            }
        }
        self.t = t;
    }
}

/// Mixed into the seed of the discriminator's initial weights, so they are not the generator's
/// random stream again.
const DISCRIMINATOR_SEED: u64 = 0x5eed_d15c;

/// `batch` latents from the run's generator (not candle's, which cannot be seeded on the CPU).
fn latent_batch(
    batch: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let values: Vec<f32> = (0..batch)
        .flat_map(|_| Latent::from_rng(rng).values)
        .collect();
    Tensor::from_vec(values, (batch, LATENT_DIM), device)
}

/// Copies every variable of `map` into `out` under its own name.
fn vars_into(map: &VarMap, out: &mut HashMap<String, Tensor>) {
    for (name, var) in map.data().lock().expect("var map lock").iter() {
        out.insert(name.clone(), var.as_tensor().clone());
    }
}

/// Restores `map` from `tensors`; fails on any missing or reshaped variable.
fn vars_from(map: &VarMap, tensors: &HashMap<String, Tensor>) -> Result<(), LandscapeError> {
    for (name, var) in map.data().lock().expect("var map lock").iter() {
        let saved = tensors
            .get(name)
            .ok_or_else(|| LandscapeError::Model(format!("checkpoint lacks {name}")))?;
        var.set(saved)
            .map_err(|e| LandscapeError::Model(format!("checkpoint {name}: {e}")))?;
    }
    Ok(())
}

/// Source row/column of every output position for a shift of `shift` pixels, reflecting at the
/// borders (…, 2, 1, 0, 1, 2, …), so a translated picture never shows a padding colour or a
/// smeared edge the generator could learn to imitate.
fn reflected_indices(size: usize, shift: isize) -> Vec<u32> {
    let last = size as isize - 1;
    (0..size as isize)
        .map(|i| {
            let mut source = i + shift;
            // One reflection suffices: |shift| <= size / 8.
            if source < 0 {
                source = -source;
            }
            if source > last {
                source = 2 * last - source;
            }
            source.clamp(0, last) as u32
        })
        .collect()
}

/// DiffAugment: one random translation per batch by up to 1/8 of the side, with reflected
/// borders. Differentiable, so the generator learns through it. No cutout and no zero or
/// edge padding: black holes and smeared rows in the training views were copied by the generator
/// (dark blocks and streaks in earlier releases). No colour augmentation: colour carries the mood.
fn augment(images: &Tensor, rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
    let (_, size, _, _) = images.dims4()?;
    let pad = (size / 8) as isize;
    let (sy, sx) = (rng.gen_range(-pad..=pad), rng.gen_range(-pad..=pad));
    if sy == 0 && sx == 0 {
        return Ok(images.clone());
    }
    let rows = Tensor::from_vec(reflected_indices(size, sy), size, images.device())?;
    let columns = Tensor::from_vec(reflected_indices(size, sx), size, images.device())?;
    images.index_select(&rows, 1)?.index_select(&columns, 2)
}

/// A batch of real images (randomly mirrored) with their conditioning.
fn real_batch(
    set: &TrainingSet,
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> candle_core::Result<(Tensor, Tensor)> {
    let size = set.size;
    let mut pixels = Vec::with_capacity(batch * size * size * 3);
    let mut va = Vec::with_capacity(batch * 2);
    for _ in 0..batch {
        let i = rng.gen_range(0..set.len());
        let image = set.image(i);
        let mirror = rng.gen_bool(0.5);
        for y in 0..size {
            for x in 0..size {
                let sx = if mirror { size - 1 - x } else { x };
                for c in 0..3 {
                    pixels.push(image[(y * size + sx) * 3 + c] as f32 / 127.5 - 1.0);
                }
            }
        }
        va.extend([set.conditioning[i].valence, set.conditioning[i].arousal]);
    }
    Ok((
        Tensor::from_vec(pixels, (batch, size, size, 3), &Device::Cpu)?,
        Tensor::from_vec(va, (batch, 2), &Device::Cpu)?,
    ))
}

/// Conditioning for fakes: VA of random real images (so fakes follow the real mood
/// distribution) with a little jitter so the generator also sees the gaps between them.
/// The second half of the batch repeats the first half's VA for the mode-seeking loss.
fn fake_conditioning(
    set: &TrainingSet,
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> candle_core::Result<Tensor> {
    let half = batch / 2;
    let mut va = Vec::with_capacity(batch * 2);
    for _ in 0..half {
        let c = set.conditioning[rng.gen_range(0..set.len())];
        let jitter =
            |x: f32, rng: &mut ChaCha8Rng| (x + rng.gen_range(-0.05..0.05)).clamp(-1.0, 1.0);
        va.extend([jitter(c.valence, rng), jitter(c.arousal, rng)]);
    }
    let first_half = va.clone();
    va.extend(first_half);
    Tensor::from_vec(va, (2 * half, 2), &Device::Cpu)
}

/// Mean squared error.
fn mse(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    (a - b)?.sqr()?.mean_all()
}

/// Trains (or resumes) and exports the EMA generator. Returns the run state at the end.
pub fn train(set: &TrainingSet, config: &TrainConfig) -> Result<RunState, LandscapeError> {
    let device = Device::Cpu;
    std::fs::create_dir_all(config.run_dir.join("samples"))
        .map_err(|e| LandscapeError::Io(e.to_string()))?;
    let image_size = 4usize << (config.channels.len() - 1);
    if image_size != set.size {
        return Err(LandscapeError::Model(format!(
            "generator makes {image_size}px images but the data is {}px",
            set.size
        )));
    }
    let g_map = VarMap::new();
    let d_map = VarMap::new();
    let ema_map = VarMap::new();
    // Initial weights from the run's seed (candle's own CPU generator cannot be seeded); a resumed
    // run overwrites them from its checkpoint.
    let generator = GeneratorNet::new(
        &config.channels,
        config.upsampling,
        seeded_var_builder(&g_map, config.seed, DType::F32, &device).pp("g"),
    )?;
    let ema = GeneratorNet::new(
        &config.channels,
        config.upsampling,
        VarBuilder::from_varmap(&ema_map, DType::F32, &device).pp("g"),
    )?;
    let discriminator = DiscriminatorNet::new(
        image_size,
        seeded_var_builder(
            &d_map,
            config.seed ^ DISCRIMINATOR_SEED,
            DType::F32,
            &device,
        )
        .pp("d"),
    )?;
    let mut g_opt = Adam::new(&g_map, config.lr_generator)?;
    let mut d_opt = Adam::new(&d_map, config.lr_discriminator)?;

    let checkpoint = config.run_dir.join("checkpoint.safetensors");
    let state_path = config.run_dir.join("state.json");
    let mut state = RunState {
        training_images: set.len(),
        ..RunState::default()
    };
    if checkpoint.exists() && state_path.exists() {
        let tensors = candle_core::safetensors::load(&checkpoint, &device)?;
        vars_from(&g_map, &tensors)?;
        vars_from(
            &d_map,
            &tensors
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )?;
        let ema_tensors: HashMap<String, Tensor> = tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("ema.").map(|k| (k.to_string(), v.clone())))
            .collect();
        vars_from(&ema_map, &ema_tensors)?;
        let text =
            std::fs::read_to_string(&state_path).map_err(|e| LandscapeError::Io(e.to_string()))?;
        state = serde_json::from_str(&text)
            .map_err(|e| LandscapeError::Io(format!("{}: {e}", state_path.display())))?;
        g_opt.load_from("adam_g", &tensors, state.steps as i32);
        d_opt.load_from("adam_d", &tensors, state.steps as i32);
        eprintln!(
            "resumed {} at step {} ({:.1} min trained)",
            config.run_dir.display(),
            state.steps,
            state.seconds / 60.0
        );
    } else {
        if let Some(path) = &config.init_from {
            let tensors = candle_core::safetensors::load(path, &device).map_err(|e| {
                LandscapeError::Model(format!("--init-from {}: {e}", path.display()))
            })?;
            vars_from(&g_map, &tensors)?;
            eprintln!("new run starting from the generator in {}", path.display());
        }
        // The moving average starts from the initial weights.
        let mut initial = HashMap::new();
        vars_into(&g_map, &mut initial);
        vars_from(&ema_map, &initial)?;
    }

    let mut rng =
        ChaCha8Rng::seed_from_u64(config.seed ^ state.steps.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let budget = config.minutes * 60.0;
    let progress = indicatif::ProgressBar::new(budget.max(1.0) as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} {bar:30} {pos}/{len}s {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut last_checkpoint = Instant::now();
    let seconds_before = state.seconds;
    let ema_vars: Vec<(Var, Var)> = {
        let g = g_map.data().lock().expect("lock");
        let e = ema_map.data().lock().expect("lock");
        let pairs: Vec<(Var, Var)> = g
            .iter()
            .filter_map(|(name, var)| e.get(name).map(|ev| (var.clone(), ev.clone())))
            .collect();
        pairs
    };
    let mut running = [0f64; 5];
    let mut running_count = 0f64;
    let batch = config.batch.max(2) & !1;

    let save = |state: &RunState, g_opt: &Adam, d_opt: &Adam| -> Result<(), LandscapeError> {
        let mut tensors = HashMap::new();
        vars_into(&g_map, &mut tensors);
        vars_into(&d_map, &mut tensors);
        let mut ema_tensors = HashMap::new();
        vars_into(&ema_map, &mut ema_tensors);
        for (name, tensor) in &ema_tensors {
            tensors.insert(format!("ema.{name}"), tensor.clone());
        }
        g_opt.save_into("adam_g", &mut tensors);
        d_opt.save_into("adam_d", &mut tensors);
        let temporary = checkpoint.with_extension("tmp");
        candle_core::safetensors::save(&tensors, &temporary)?;
        std::fs::rename(&temporary, &checkpoint).map_err(|e| LandscapeError::Io(e.to_string()))?;
        let json =
            serde_json::to_string_pretty(state).map_err(|e| LandscapeError::Io(e.to_string()))?;
        std::fs::write(&state_path, json).map_err(|e| LandscapeError::Io(e.to_string()))?;
        ema_tensors.extend(ema.config_tensors()?);
        if let Some(parent) = config.export.parent() {
            std::fs::create_dir_all(parent).map_err(|e| LandscapeError::Io(e.to_string()))?;
        }
        candle_core::safetensors::save(&ema_tensors, &config.export)?;
        let grid = render_grid(
            |latents, moods| generate_with(&ema, latents, moods),
            &[1, 2, 3, 4],
            5,
            image_size as u32,
        )?;
        let sample = config
            .run_dir
            .join("samples")
            .join(format!("step-{:06}.png", state.steps));
        grid.save(&sample)
            .map_err(|e| LandscapeError::Io(format!("{}: {e}", sample.display())))?;
        eprintln!(
            "checkpoint: step {} ({:.1} min trained), sample grid {}",
            state.steps,
            state.seconds / 60.0,
            sample.display()
        );
        Ok(())
    };

    while started.elapsed().as_secs_f64() < budget {
        // Discriminator step.
        let (real, real_va) = real_batch(set, batch, &mut rng)?;
        let fake_va = fake_conditioning(set, batch, &mut rng)?;
        let z = latent_batch(batch, &mut rng, &device)?;
        let fake = generator.forward(&z, &fake_va)?.detach();
        let judged_real = discriminator.forward(&augment(&real, &mut rng)?, &real_va)?;
        let judged_fake = discriminator.forward(&augment(&fake, &mut rng)?, &fake_va)?;
        let hinge_real = (1.0 - &judged_real.logits)?.relu()?.mean_all()?;
        let hinge_fake = (&judged_fake.logits + 1.0)?.relu()?.mean_all()?;
        let affective_real = mse(&judged_real.va, &real_va)?;
        let d_loss = ((hinge_real + hinge_fake)? + (&affective_real * config.affective_weight)?)?;
        d_opt.step(&d_loss.backward()?)?;

        // Generator step.
        let fake_va = fake_conditioning(set, batch, &mut rng)?;
        let z = latent_batch(batch, &mut rng, &device)?;
        let fake = generator.forward(&z, &fake_va)?;
        let judged = discriminator.forward(&augment(&fake, &mut rng)?, &fake_va)?;
        let adversarial = judged.logits.mean_all()?.neg()?;
        let affective_fake = mse(&judged.va, &fake_va)?;
        let half = batch / 2;
        let image_gap = (fake.narrow(0, 0, half)? - fake.narrow(0, half, half)?)?
            .abs()?
            .mean_all()?;
        let noise_gap = (z.narrow(0, 0, half)? - z.narrow(0, half, half)?)?
            .abs()?
            .mean_all()?;
        let diversity = ((image_gap / noise_gap)? + 1e-5)?.recip()?;
        let g_loss = ((&adversarial + (&affective_fake * config.affective_weight)?)?
            + (&diversity * config.diversity_weight)?)?;
        g_opt.step(&g_loss.backward()?)?;

        for (var, ema_var) in &ema_vars {
            ema_var.set(
                &((ema_var.as_tensor() * config.ema_decay)?
                    + (var.as_tensor() * (1.0 - config.ema_decay))?)?,
            )?;
        }

        state.steps += 1;
        state.images_seen += batch as u64;
        state.seconds = seconds_before + started.elapsed().as_secs_f64();
        let values = [
            d_loss.to_scalar::<f32>()? as f64,
            adversarial.to_scalar::<f32>()? as f64,
            affective_real.to_scalar::<f32>()? as f64,
            affective_fake.to_scalar::<f32>()? as f64,
            diversity.to_scalar::<f32>()? as f64,
        ];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(LandscapeError::Model(format!(
                "training diverged at step {} (losses {values:?})",
                state.steps
            )));
        }
        for (sum, value) in running.iter_mut().zip(values) {
            *sum += value;
        }
        running_count += 1.0;
        if state.steps.is_multiple_of(50) {
            let mean = running.map(|s| s / running_count);
            state.history.push([
                state.steps as f64,
                mean[0],
                mean[1],
                mean[2],
                mean[3],
                mean[4],
            ]);
            let rate = (state.steps as f64) / state.seconds.max(1e-9);
            let message = format!(
                "step {} d {:.3} g {:.3} aff_real {:.3} aff_fake {:.3} div {:.2} ({:.2} steps/s)",
                state.steps, mean[0], mean[1], mean[2], mean[3], mean[4], rate
            );
            if progress.is_hidden() {
                eprintln!("{message}");
            }
            progress.set_message(message);
            running = [0.0; 5];
            running_count = 0.0;
        }
        progress.set_position(started.elapsed().as_secs_f64() as u64);
        if last_checkpoint.elapsed().as_secs_f64() >= config.checkpoint_minutes * 60.0 {
            save(&state, &g_opt, &d_opt)?;
            last_checkpoint = Instant::now();
        }
    }
    progress.finish_and_clear();
    save(&state, &g_opt, &d_opt)?;
    Ok(state)
}

/// Runs a (training-side) generator network over latents and moods.
pub fn generate_with(
    net: &GeneratorNet,
    latents: &[Latent],
    moods: &[Va],
) -> Result<Vec<image::RgbImage>, LandscapeError> {
    let count = latents.len();
    let z: Vec<f32> = latents.iter().flat_map(|l| l.values.clone()).collect();
    let va: Vec<f32> = moods.iter().flat_map(|m| [m.valence, m.arousal]).collect();
    let z = Tensor::from_vec(z, (count, LATENT_DIM), &Device::Cpu)?;
    let va = Tensor::from_vec(va, (count, 2), &Device::Cpu)?;
    let pixels = net.forward(&z, &va)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(tensor_pixels_to_images(&pixels, count, net.image_size()))
}
