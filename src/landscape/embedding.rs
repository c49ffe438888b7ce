//! EfficientNet-Lite0 embeddings of image files (the labeller's input: the pooled embedding and the
//! stage summary, [`EfficientNetLite0::multi_level_features`]), cached one file per image under
//! `target/` so a long labelling run can be stopped and resumed, and a second run costs only the
//! reads. A cached file of another length (an older layout) is recomputed.

use std::path::{Path, PathBuf};

use image::RgbImage;

use super::LandscapeError;
use crate::pretrained::efficientnet::{EfficientNetLite0, MULTI_LEVEL_DIM};

/// Default cache folder.
pub const DEFAULT_CACHE: &str = "target/embedding-cache";

/// Cache key of a file: its path, length and modification time, so an edited file is re-embedded.
fn cache_key(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut key = 0xcbf2_9ce4_8422_2325u64;
    for byte in absolute
        .to_string_lossy()
        .bytes()
        .chain(metadata.len().to_le_bytes())
        .chain(modified.to_le_bytes())
    {
        key = (key ^ byte as u64).wrapping_mul(0x100_0000_01b3);
    }
    Some(format!("{key:016x}"))
}

/// Reads a cached embedding, if present and whole.
fn read_cached(file: &Path) -> Option<Vec<f32>> {
    let bytes = std::fs::read(file).ok()?;
    if bytes.len() != MULTI_LEVEL_DIM * 4 {
        return None;
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    values.iter().all(|v| v.is_finite()).then_some(values)
}

/// Embeddings of `paths` (in order; `None` for files that cannot be decoded), computed on one
/// thread with a progress bar and cached per file in `cache_dir`.
pub fn cached_embeddings(
    net: &EfficientNetLite0,
    paths: &[PathBuf],
    cache_dir: &Path,
) -> Result<Vec<Option<Vec<f32>>>, LandscapeError> {
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| LandscapeError::Io(format!("{}: {e}", cache_dir.display())))?;
    let mut out = Vec::with_capacity(paths.len());
    let mut missing = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let cached =
            cache_key(path).and_then(|key| read_cached(&cache_dir.join(format!("{key}.f32"))));
        if cached.is_none() {
            missing.push(i);
        }
        out.push(cached);
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let progress = indicatif::ProgressBar::new(missing.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "embedding {bar:30} {pos}/{len} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut failed = 0usize;
    for i in missing {
        let path = &paths[i];
        match image::open(path) {
            Ok(decoded) => {
                let embedding = embed_image(net, &decoded.to_rgb8())?;
                if let Some(key) = cache_key(path) {
                    let bytes: Vec<u8> = embedding.iter().flat_map(|v| v.to_le_bytes()).collect();
                    let file = cache_dir.join(format!("{key}.f32"));
                    let temporary = file.with_extension("tmp");
                    // A failed cache write costs only a recomputation next time.
                    if std::fs::write(&temporary, bytes).is_ok() {
                        let _ = std::fs::rename(&temporary, &file);
                    }
                }
                out[i] = Some(embedding);
            }
            Err(_) => failed += 1,
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    if failed > 0 {
        eprintln!("skipped {failed} unreadable images");
    }
    Ok(out)
}

/// The labeller's embedding of one decoded picture ([`MULTI_LEVEL_DIM`] values).
pub fn embed_image(net: &EfficientNetLite0, image: &RgbImage) -> Result<Vec<f32>, LandscapeError> {
    net.multi_level_features(image)
        .map_err(|e| LandscapeError::Model(e.to_string()))
}
