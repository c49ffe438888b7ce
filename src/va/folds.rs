//! Cross-validation folds that split clips, never windows, stratified by quadrant.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Assigns each clip to one of `k` folds. Clips of each stratum are shuffled with `seed` and dealt
/// round-robin (continuing across strata), so every fold gets a near-equal share of each quadrant.
pub fn stratified_clip_folds(strata: &[u8], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of_clip = vec![0; strata.len()];
    let mut distinct: Vec<u8> = strata.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut next_fold = 0;
    for stratum in distinct {
        let mut members: Vec<usize> = (0..strata.len())
            .filter(|&clip| strata[clip] == stratum)
            .collect();
        members.shuffle(&mut rng);
        for clip in members {
            fold_of_clip[clip] = next_fold;
            next_fold = (next_fold + 1) % k;
        }
    }
    fold_of_clip
}

/// Assigns each clip to one of `k` folds so that every group (an artist) falls into one fold:
/// groups are shuffled with `seed`, then each goes to the fold with the fewest clips so far.
pub fn grouped_folds(groups: &[String], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut distinct: Vec<&str> = groups.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.shuffle(&mut rng);
    // Big groups first, so the folds end up near-equal in clips.
    let size = |g: &str| groups.iter().filter(|x| x.as_str() == g).count();
    distinct.sort_by_key(|g| std::cmp::Reverse(size(g)));
    let mut fold_of_group = std::collections::HashMap::new();
    let mut fill = vec![0usize; k];
    for group in distinct {
        let fold = (0..k).min_by_key(|&f| fill[f]).unwrap_or(0);
        fill[fold] += size(group);
        fold_of_group.insert(group, fold);
    }
    groups
        .iter()
        .map(|g| fold_of_group.get(g.as_str()).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_and_seeded() {
        let strata: Vec<u8> = (0..900).map(|i| (i % 4) as u8 + 1).collect();
        let folds = stratified_clip_folds(&strata, 10, 3);
        for fold in 0..10 {
            for quadrant in 1..=4u8 {
                let count = (0..900)
                    .filter(|&c| folds[c] == fold && strata[c] == quadrant)
                    .count();
                assert!(
                    (22..=23).contains(&count),
                    "fold {fold} Q{quadrant}: {count}"
                );
            }
        }
        assert_eq!(folds, stratified_clip_folds(&strata, 10, 3));
        assert_ne!(folds, stratified_clip_folds(&strata, 10, 4));
    }

    #[test]
    fn grouped_folds_keep_each_artist_in_one_fold() {
        let artists: Vec<String> = (0..300)
            .map(|i| format!("artist {}", (i * 7) % 90))
            .collect();
        let folds = grouped_folds(&artists, 10, 5);
        for (a, fa) in artists.iter().zip(&folds) {
            for (b, fb) in artists.iter().zip(&folds) {
                if a == b {
                    assert_eq!(fa, fb, "{a} split across folds");
                }
            }
        }
        for fold in 0..10 {
            let count = folds.iter().filter(|&&f| f == fold).count();
            assert!((27..=33).contains(&count), "fold {fold}: {count}");
        }
    }
}
