//! Seeded latent vectors and smooth walks between them.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Dimension of the generator's noise input.
pub const LATENT_DIM: usize = 64;

/// A point in the generator's Gaussian noise space.
#[derive(Debug, Clone, PartialEq)]
pub struct Latent {
    /// `LATENT_DIM` standard-normal components.
    pub values: Vec<f32>,
}

impl Latent {
    /// The latent of a seed: the same seed gives the same latent on every machine (ChaCha8).
    pub fn from_seed(seed: u64) -> Latent {
        Self::from_rng(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
    }

    /// The next latent from `rng` (training draws its batches this way, from the run's seed).
    pub fn from_rng(rng: &mut impl rand::Rng) -> Latent {
        let values = (0..LATENT_DIM)
            .map(|_| StandardNormal.sample(rng))
            .collect();
        Latent { values }
    }

    /// Spherical interpolation: unlike a straight line it keeps the norm typical of Gaussian
    /// samples, so images midway between two seeds do not fade to a washed-out average.
    pub fn slerp(&self, other: &Latent, t: f32) -> Latent {
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let dot: f32 = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| a * b)
            .sum();
        let norm_a = self.values.iter().map(|a| a * a).sum::<f32>().sqrt();
        let norm_b = other.values.iter().map(|b| b * b).sum::<f32>().sqrt();
        let cos = (dot / (norm_a * norm_b).max(1e-12)).clamp(-1.0, 1.0);
        let omega = cos.acos();
        let (wa, wb) = if omega.sin().abs() < 1e-4 {
            (1.0 - t, t)
        } else {
            (
                ((1.0 - t) * omega).sin() / omega.sin(),
                (t * omega).sin() / omega.sin(),
            )
        };
        Latent {
            values: self
                .values
                .iter()
                .zip(&other.values)
                .map(|(a, b)| wa * a + wb * b)
                .collect(),
        }
    }
}

/// A walk through seeds and moods: at time `t` (in steps) it slerps between consecutive seeds and
/// linearly interpolates the VA targets, so noise and mood both move smoothly.
pub fn walk(seeds: &[u64], moods: &[crate::va::Va], t: f32) -> (Latent, crate::va::Va) {
    if seeds.is_empty() || moods.is_empty() {
        return (Latent::from_seed(0), crate::va::Va::default());
    }
    let t = if t.is_finite() { t.max(0.0) } else { 0.0 };
    let at = |n: usize, i: usize| i % n;
    let index = t.floor() as usize;
    let frac = t - t.floor();
    // Smoothstep eases in and out of each waypoint so the motion has no visible kinks.
    let eased = frac * frac * (3.0 - 2.0 * frac);
    let latent = Latent::from_seed(seeds[at(seeds.len(), index)])
        .slerp(&Latent::from_seed(seeds[at(seeds.len(), index + 1)]), eased);
    let (a, b) = (
        moods[at(moods.len(), index)],
        moods[at(moods.len(), index + 1)],
    );
    let va = crate::va::Va {
        valence: a.valence + (b.valence - a.valence) * eased,
        arousal: a.arousal + (b.arousal - a.arousal) * eased,
    };
    (latent, va)
}
