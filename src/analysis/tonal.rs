//! Key, mode and harmonic change from chroma.

use super::spectral::N_CHROMA;
use super::Mode;

/// Krumhansl–Kessler major key profile (tonic first).
const MAJOR_PROFILE: [f32; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// Krumhansl–Kessler minor key profile (tonic first).
const MINOR_PROFILE: [f32; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];
/// Relative magnitude of the h-th harmonic (h = 1..) in the chroma a played note leaves: the
/// profiles are smeared by the harmonic series before correlating, so that the fifth and third
/// every note's upper partials add do not pull the estimate towards the dominant key
/// (Gómez 2006). Geometric decay as in HPCP key finding.
const HARMONIC_DECAY: f32 = 0.6;
/// Harmonics of each note that the smeared profiles account for.
const HARMONICS: usize = 6;
/// Frames averaged into one chroma block for harmonic change (8 x 23 ms = 186 ms).
pub const BLOCK_FRAMES: usize = 8;

/// Result of Krumhansl–Schmuckler key finding.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyEstimate {
    /// Tonic pitch class, 0 = C.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
    /// Correlation of the winning key profile (-1..1); 0 in silence.
    pub clarity: f32,
    /// Best major correlation minus best minor correlation: > 0 leans major.
    pub mode_strength: f32,
}

/// Pearson correlation of two 12-vectors, 0 when either is constant.
fn correlation(a: &[f32], b: &[f32; 12]) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = b.iter().sum::<f32>() / 12.0;
    let (mut num, mut va, mut vb) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        let (da, db) = (a[i] - ma, b[i] - mb);
        num += da * db;
        va += da * da;
        vb += db * db;
    }
    if va < 1e-12 || vb < 1e-12 {
        0.0
    } else {
        num / (va * vb).sqrt()
    }
}

/// The Krumhansl–Kessler profiles, each smeared by the harmonic series: the chroma that music
/// weighted by the profile would produce when every note brings its upper partials
/// (`[major, minor]`, tonic first). Built once.
fn harmonic_profiles() -> &'static [[f32; 12]; 2] {
    static PROFILES: std::sync::OnceLock<[[f32; 12]; 2]> = std::sync::OnceLock::new();
    PROFILES.get_or_init(|| {
        // Pitch-class offset of harmonic h above its fundamental: 12 log2(h) semitones.
        let mut spread = [0.0f32; 12];
        for h in 1..=HARMONICS {
            let offset = (12.0 * (h as f32).log2()).round() as usize % 12;
            spread[offset] += HARMONIC_DECAY.powi(h as i32 - 1);
        }
        [MAJOR_PROFILE, MINOR_PROFILE].map(|profile| {
            std::array::from_fn(|pc| {
                (0..12)
                    .map(|note| profile[note] * spread[(pc + 12 - note) % 12])
                    .sum()
            })
        })
    })
}

/// Krumhansl–Schmuckler on harmonic-smeared profiles: correlate the mean chroma with the 24
/// rotated profiles of [`harmonic_profiles`].
pub fn estimate_key(chroma: &[f32]) -> KeyEstimate {
    let [major_profile, minor_profile] = harmonic_profiles();
    let mut best_major = (0usize, f32::NEG_INFINITY);
    let mut best_minor = (0usize, f32::NEG_INFINITY);
    let mut rotated = [0.0f32; 12];
    for tonic in 0..12 {
        for (i, r) in rotated.iter_mut().enumerate() {
            *r = chroma[(i + tonic) % 12];
        }
        let major = correlation(&rotated, major_profile);
        let minor = correlation(&rotated, minor_profile);
        if major > best_major.1 {
            best_major = (tonic, major);
        }
        if minor > best_minor.1 {
            best_minor = (tonic, minor);
        }
    }
    if best_major.1 == 0.0 && best_minor.1 == 0.0 {
        return KeyEstimate::default();
    }
    let (tonic, mode, clarity) = if best_major.1 >= best_minor.1 {
        (best_major.0, Mode::Major, best_major.1)
    } else {
        (best_minor.0, Mode::Minor, best_minor.1)
    };
    KeyEstimate {
        tonic: tonic as u8,
        mode,
        clarity,
        mode_strength: best_major.1 - best_minor.1,
    }
}

/// Harte's tonal-centroid basis: for each pitch class, its coordinates on the circles of
/// fifths, minor thirds and major thirds (radii 1, 1, 0.5). Built once; summaries use it often.
fn tonal_basis() -> &'static [[f32; 6]; 12] {
    static BASIS: std::sync::OnceLock<[[f32; 6]; 12]> = std::sync::OnceLock::new();
    BASIS.get_or_init(|| {
        use std::f32::consts::PI;
        std::array::from_fn(|l| {
            let l = l as f32;
            [
                (l * 7.0 * PI / 6.0).sin(),
                (l * 7.0 * PI / 6.0).cos(),
                (l * 3.0 * PI / 2.0).sin(),
                (l * 3.0 * PI / 2.0).cos(),
                0.5 * (l * 2.0 * PI / 3.0).sin(),
                0.5 * (l * 2.0 * PI / 3.0).cos(),
            ]
        })
    })
}

/// Harte's 6-D tonal centroid of an L1-normalised chroma.
fn tonal_centroid(chroma: &[f32]) -> [f32; 6] {
    let total: f32 = chroma.iter().sum();
    let mut out = [0.0; 6];
    if total < 1e-6 {
        return out;
    }
    for (&c, basis) in chroma.iter().zip(tonal_basis()) {
        let w = c / total;
        for (o, b) in out.iter_mut().zip(basis) {
            *o += w * b;
        }
    }
    out
}

/// Best of 24 major/minor triad templates for a chroma block, or `None` when it is silent.
fn best_triad(chroma: &[f32]) -> Option<usize> {
    let energy: f32 = chroma.iter().map(|c| c * c).sum();
    if energy < 1e-6 {
        return None;
    }
    (0..24)
        .map(|t| {
            let root = t % 12;
            let third = if t < 12 { 4 } else { 3 };
            let score = chroma[root] + chroma[(root + third) % 12] + chroma[(root + 7) % 12];
            (t, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, _)| t)
}

/// Harmonic change over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HarmonicChange {
    /// Mean tonal-centroid distance between consecutive 186 ms blocks (Harte's HCDF).
    pub mean: f32,
    /// Its standard deviation.
    pub std: f32,
    /// Changes of the best-matching triad per second.
    pub chord_changes_hz: f32,
}

/// Computes [`HarmonicChange`] from per-frame chroma rows, oldest first.
pub fn harmonic_change<'a>(
    rows: impl Iterator<Item = &'a [f32]>,
    frame_rate: f32,
    distances: &mut Vec<f32>,
) -> HarmonicChange {
    distances.clear();
    let mut block = [0.0f32; N_CHROMA];
    let mut in_block = 0;
    let mut previous_centroid: Option<[f32; 6]> = None;
    let mut previous_chord: Option<usize> = None;
    let mut changes = 0usize;
    let mut blocks = 0usize;
    for row in rows {
        for (b, c) in block.iter_mut().zip(row) {
            *b += c;
        }
        in_block += 1;
        if in_block < BLOCK_FRAMES {
            continue;
        }
        blocks += 1;
        let centroid = tonal_centroid(&block);
        if let Some(before) = previous_centroid {
            let d = centroid
                .iter()
                .zip(&before)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            distances.push(d);
        }
        previous_centroid = Some(centroid);
        let chord = best_triad(&block.map(|c| c / BLOCK_FRAMES as f32));
        if let (Some(now), Some(before)) = (chord, previous_chord) {
            if now != before {
                changes += 1;
            }
        }
        previous_chord = chord;
        block = [0.0; N_CHROMA];
        in_block = 0;
    }
    if distances.is_empty() {
        return HarmonicChange::default();
    }
    let n = distances.len() as f32;
    let mean = distances.iter().sum::<f32>() / n;
    let var = distances
        .iter()
        .map(|d| (d - mean) * (d - mean))
        .sum::<f32>()
        / n;
    let seconds = (blocks * BLOCK_FRAMES) as f32 / frame_rate;
    HarmonicChange {
        mean,
        std: var.sqrt(),
        chord_changes_hz: changes as f32 / seconds,
    }
}
