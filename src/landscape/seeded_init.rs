//! Initial weights drawn from the run's own seeded generator.
//!
//! candle draws new variables (`Init::Randn`, `Init::Uniform`, Kaiming) from its CPU generator,
//! which cannot be seeded (`Device::set_seed` fails on the CPU). Two runs with the same `--seed`
//! then start from different weights and diverge at once. This backend creates each new variable
//! in a [`VarMap`] from the same distribution candle would use, but from a ChaCha generator. The
//! networks create their variables in a fixed order, so a run's initial weights follow from its
//! seed.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::NormalOrUniform;
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::Mutex;

/// A [`VarMap`] whose new variables come from a seeded generator.
struct SeededVarMap {
    /// Where the variables live (shared with the caller's map, which the optimiser reads).
    map: VarMap,
    /// Draws every new variable's values, in creation order.
    rng: Mutex<ChaCha8Rng>,
}

/// A builder over `map` that draws new variables from a generator seeded with `seed`.
pub fn seeded_var_builder(
    map: &VarMap,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    VarBuilder::from_backend(
        Box::new(SeededVarMap {
            map: map.clone(),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }),
        dtype,
        device.clone(),
    )
}

/// Values for a variable of `shape` from the distribution `init` describes, as candle's
/// `Init::var` defines it.
fn draw(init: Init, shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let count = shape.elem_count();
    let normal = |mean: f64, stdev: f64, rng: &mut ChaCha8Rng| {
        (0..count)
            .map(|_| (mean + stdev * rng.sample::<f64, _>(StandardNormal)) as f32)
            .collect()
    };
    let uniform = |lo: f64, up: f64, rng: &mut ChaCha8Rng| {
        (0..count)
            .map(|_| (lo + (up - lo) * rng.gen::<f64>()) as f32)
            .collect()
    };
    match init {
        Init::Const(value) => vec![value as f32; count],
        Init::Randn { mean, stdev } => normal(mean, stdev, rng),
        Init::Uniform { lo, up } => uniform(lo, up, rng),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let stdev = non_linearity.gain() / (fan.for_shape(shape).max(1) as f64).sqrt();
            match dist {
                NormalOrUniform::Normal => normal(0.0, stdev, rng),
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * stdev;
                    uniform(-bound, bound, rng)
                }
            }
        }
    }
}

impl SimpleBackend for SeededVarMap {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let mut variables = self
            .map
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable map lock poisoned".into()))?;
        if let Some(existing) = variables.get(name) {
            if existing.shape() != &shape {
                candle_core::bail!(
                    "shape mismatch on {name}: {shape:?} <> {:?}",
                    existing.shape()
                );
            }
            return Ok(existing.as_tensor().clone());
        }
        let values = {
            let mut rng = self
                .rng
                .lock()
                .map_err(|_| candle_core::Error::Msg("generator lock poisoned".into()))?;
            draw(init, &shape, &mut rng)
        };
        let variable =
            Var::from_tensor(&Tensor::from_vec(values, shape, device)?.to_dtype(dtype)?)?;
        let tensor = variable.as_tensor().clone();
        variables.insert(name.to_string(), variable);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _device: &Device) -> Result<Tensor> {
        candle_core::bail!("{name}: a seeded variable map needs the shape and initialiser")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .map(|variables| variables.contains_key(name))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable of `map`, sorted by name, flattened.
    fn values(map: &VarMap) -> Vec<(String, Vec<f32>)> {
        let mut out: Vec<(String, Vec<f32>)> = map
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(name, var)| {
                (
                    name.clone(),
                    var.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn build(seed: u64) -> VarMap {
        let map = VarMap::new();
        let vb = seeded_var_builder(&map, seed, DType::F32, &Device::Cpu);
        candle_nn::linear(64, 256, vb.pp("dense")).unwrap();
        vb.get_with_hints(
            (288, 16),
            "conv",
            Init::Randn {
                mean: 0.0,
                stdev: 0.1,
            },
        )
        .unwrap();
        map
    }

    #[test]
    fn the_same_seed_gives_the_same_weights_and_another_seed_others() {
        assert_eq!(values(&build(1)), values(&build(1)));
        assert_ne!(values(&build(1)), values(&build(2)));
    }

    #[test]
    fn draws_follow_the_distributions_candle_asks_for() {
        let map = build(7);
        let stats = |v: &[f32]| {
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let sd = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            (mean, sd, v.iter().fold(0f32, |m, x| m.max(x.abs())))
        };
        for (name, v) in values(&map) {
            let (mean, sd, largest) = stats(&v);
            match name.as_str() {
                // Kaiming normal, fan-in 64, ReLU gain √2: SD √2/8.
                "dense.weight" => {
                    assert!(
                        mean.abs() < 0.01 && (sd - 2f64.sqrt() / 8.0).abs() < 0.01,
                        "{sd}"
                    )
                }
                // Uniform within ±1/√64.
                "dense.bias" => assert!(largest <= 0.125 && sd > 0.05, "{sd} {largest}"),
                "conv" => assert!(mean.abs() < 0.01 && (sd - 0.1).abs() < 0.01, "{sd}"),
                other => panic!("unexpected variable {other}"),
            }
        }
    }
}
