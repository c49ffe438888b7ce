//! Training photographs: folders of photos (the 4 319 landscapes by default, or anyone's own)
//! plus OASIS scenery with its human VA ratings, decoded once to square thumbnails and cached.

use super::embedding::cached_embeddings;
use super::features::square_thumbnail;
use super::labeller::ImageVaLabeller;
use super::LandscapeError;
use crate::va::Va;
use image::RgbImage;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One OASIS row.
#[derive(Debug, Clone)]
pub struct OasisRecord {
    /// Image name without extension (`images/<theme>.jpg`).
    pub theme: String,
    /// Person, Scenery, Object or Animal.
    pub category: String,
    /// Mean ratings mapped from 1-7 to [-1, 1] with (x - 4) / 3.
    pub va: Va,
}

/// Reads `OASIS.csv`.
pub fn read_oasis_csv(path: &Path) -> Result<Vec<OasisRecord>, LandscapeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LandscapeError::Io(format!("{}: {e}", path.display())))?;
    let mut records = Vec::new();
    for (line_number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 10 {
            continue;
        }
        let parse = |s: &str| -> Result<f32, LandscapeError> {
            s.trim()
                .parse::<f32>()
                .map_err(|e| LandscapeError::Io(format!("OASIS line {}: {e}", line_number + 1)))
        };
        records.push(OasisRecord {
            theme: fields[1].trim().to_string(),
            category: fields[2].trim().to_string(),
            va: Va {
                valence: (parse(fields[4])? - 4.0) / 3.0,
                arousal: (parse(fields[7])? - 4.0) / 3.0,
            },
        });
    }
    Ok(records)
}

/// Image files (jpg, jpeg, png) directly inside `dir`, sorted by name for reproducibility.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, LandscapeError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| LandscapeError::Io(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// Decodes `paths` in parallel to `size`² thumbnails; unreadable files are skipped (and counted).
pub fn load_thumbnails(paths: &[PathBuf], size: u32) -> (Vec<(PathBuf, RgbImage)>, usize) {
    let progress = indicatif::ProgressBar::new(paths.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("decoding {bar:30} {pos}/{len} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let decoded: Vec<Option<(PathBuf, RgbImage)>> = paths
        .par_iter()
        .map(|path| {
            let result = image::open(path)
                .ok()
                .map(|img| (path.clone(), square_thumbnail(&img, size)));
            progress.inc(1);
            result
        })
        .collect();
    progress.finish_and_clear();
    let failed = decoded.iter().filter(|d| d.is_none()).count();
    (decoded.into_iter().flatten().collect(), failed)
}

/// Thumbnails of a folder, cached in `cache_dir` keyed by folder, file list and size.
pub fn cached_thumbnails(
    dir: &Path,
    size: u32,
    cache_dir: &Path,
) -> Result<Vec<(String, RgbImage)>, LandscapeError> {
    let paths = list_images(dir)?;
    let mut key = 0xcbf2_9ce4_8422_2325u64;
    for part in std::iter::once(dir.to_string_lossy().to_string())
        .chain(paths.iter().map(|p| p.to_string_lossy().to_string()))
        .chain(std::iter::once(size.to_string()))
    {
        for byte in part.bytes() {
            key = (key ^ byte as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    let cache_file = cache_dir.join(format!("thumbs-{key:016x}.bin"));
    if let Ok(bytes) = std::fs::read(&cache_file) {
        if let Ok(entries) = bincode::deserialize::<Vec<(String, Vec<u8>)>>(&bytes) {
            let images: Option<Vec<(String, RgbImage)>> = entries
                .into_iter()
                .map(|(name, raw)| RgbImage::from_raw(size, size, raw).map(|img| (name, img)))
                .collect();
            if let Some(images) = images {
                return Ok(images);
            }
        }
    }
    let (images, failed) = load_thumbnails(&paths, size);
    if failed > 0 {
        eprintln!("skipped {failed} unreadable images in {}", dir.display());
    }
    let entries: Vec<(String, Vec<u8>)> = images
        .into_iter()
        .map(|(path, img)| {
            (
                path.file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default(),
                img.into_raw(),
            )
        })
        .collect();
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| LandscapeError::Io(format!("{}: {e}", cache_dir.display())))?;
    let bytes = bincode::serialize(&entries).map_err(|e| LandscapeError::Io(e.to_string()))?;
    std::fs::write(&cache_file, bytes)
        .map_err(|e| LandscapeError::Io(format!("{}: {e}", cache_file.display())))?;
    Ok(entries
        .into_iter()
        .map(|(name, raw)| {
            (
                name,
                RgbImage::from_raw(size, size, raw).expect("size checked"),
            )
        })
        .collect())
}

/// Where a training image's VA label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSource {
    /// OASIS human ratings.
    Human,
    /// Predicted by the image VA labeller.
    Labeller,
}

/// Everything the GAN trains on, in memory.
pub struct TrainingSet {
    /// Thumbnail side in pixels.
    pub size: usize,
    /// Image names (file stems), for nearest-neighbour reports.
    pub names: Vec<String>,
    /// `N · size · size · 3` bytes, NHWC.
    pub pixels: Vec<u8>,
    /// VA on the labeller's/raters' scale.
    pub labels: Vec<Va>,
    /// Where each label came from.
    pub sources: Vec<LabelSource>,
    /// The generator's conditioning input: the labels linearly stretched by `scale`.
    pub conditioning: Vec<Va>,
    /// The linear map between conditioning and the labels' (people's) rating scale.
    pub scale: ConditioningScale,
}

impl TrainingSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i` as bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let per = self.size * self.size * 3;
        &self.pixels[i * per..(i + 1) * per]
    }
}

/// The linear stretch between the generator's conditioning on [-1, 1] and VA on the image
/// labeller's scale (OASIS raters' ratings mapped to [-1, 1]): label = centre + half_range × c.
///
/// Why a stretch: the labeller rates ordinary landscape photos within a small part of the square
/// (valence roughly 0 to 0.6, arousal −0.3 to 0.1), so conditioning on raw labels would leave most
/// of the square unseen and every mood outside it an extrapolation. The stretch is linear (not a
/// percentile rank), so distances and the zero point keep a meaning on the people's scale, and it
/// is fixed once from the training labels: the 2nd and 98th percentiles of each axis map to −1
/// and +1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConditioningScale {
    /// Label (valence, arousal) that conditioning 0 stands for.
    pub centre: [f32; 2],
    /// Label distance that one unit of conditioning stands for.
    pub half_range: [f32; 2],
}

impl ConditioningScale {
    /// From the 2nd and 98th percentiles of each axis of `labels`.
    pub fn from_labels(labels: &[Va]) -> Self {
        let axis = |get: fn(&Va) -> f32| {
            let mut values: Vec<f32> = labels.iter().map(get).collect();
            values.sort_by(f32::total_cmp);
            let at = |q: f32| {
                values
                    .get(((values.len().max(1) - 1) as f32 * q).round() as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            let (low, high) = (at(0.02), at(0.98));
            ((low + high) / 2.0, ((high - low) / 2.0).max(0.05))
        };
        let (vc, vh) = axis(|va| va.valence);
        let (ac, ah) = axis(|va| va.arousal);
        Self {
            centre: [vc, ac],
            half_range: [vh, ah],
        }
    }

    /// Conditioning (clamped to [-1, 1]) for a label.
    pub fn to_conditioning(&self, label: Va) -> Va {
        Va {
            valence: ((label.valence - self.centre[0]) / self.half_range[0]).clamp(-1.0, 1.0),
            arousal: ((label.arousal - self.centre[1]) / self.half_range[1]).clamp(-1.0, 1.0),
        }
    }

    /// The label a conditioning value stands for.
    pub fn to_label(&self, conditioning: Va) -> Va {
        Va {
            valence: self.centre[0] + self.half_range[0] * conditioning.valence,
            arousal: self.centre[1] + self.half_range[1] * conditioning.arousal,
        }
    }
}

/// Which picture the labeller reads to label a training photo (recorded in a run's
/// `conditioning-scale.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LabelFrom {
    /// The `size`² thumbnail the generator learns to paint, read the way `eval-landscape` reads
    /// generated pictures. The label then describes only what survives at that size, so a
    /// generator that paints its training data perfectly is judged consistent: `eval-landscape`'s
    /// data ceiling is ρ 0.88 / 0.85 with these labels and 0.81 / 0.79 with full-size ones
    /// (`models/landscape-gen.md`).
    #[serde(rename = "thumbnail")]
    Thumbnail,
    /// The full-size file (embeddings cached in `cache_dir/embeddings`): detail the thumbnail
    /// has lost still counts.
    #[serde(rename = "full-size file")]
    FullSize,
}

/// Builds the training set: every photo in `folders` labelled by `labeller` from the picture
/// `label_from` names, plus the OASIS images of category Scenery with their human ratings when
/// `oasis_dir` is given.
pub fn build_training_set(
    folders: &[PathBuf],
    oasis_dir: Option<&Path>,
    labeller: &ImageVaLabeller,
    label_from: LabelFrom,
    size: u32,
    cache_dir: &Path,
) -> Result<TrainingSet, LandscapeError> {
    let mut names = Vec::new();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut sources = Vec::new();
    for folder in folders {
        let thumbnails = cached_thumbnails(folder, size, cache_dir)?;
        let folder_labels: Vec<Option<Va>> = match label_from {
            LabelFrom::Thumbnail => label_thumbnails(labeller, &thumbnails)?,
            LabelFrom::FullSize => {
                let paths = list_images(folder)?;
                let embeddings =
                    cached_embeddings(labeller.net(), &paths, &cache_dir.join("embeddings"))?;
                let by_name: std::collections::HashMap<String, Va> = paths
                    .iter()
                    .zip(&embeddings)
                    .filter_map(|(path, embedding)| {
                        let name = path.file_stem()?.to_string_lossy().to_string();
                        Some((name, labeller.head().label_embedding(embedding.as_ref()?)))
                    })
                    .collect();
                thumbnails
                    .iter()
                    .map(|(name, _)| by_name.get(name).copied())
                    .collect()
            }
        };
        for ((name, img), label) in thumbnails.into_iter().zip(folder_labels) {
            if let Some(va) = label {
                names.push(name);
                images.push(img);
                labels.push(va);
                sources.push(LabelSource::Labeller);
            }
        }
    }
    if let Some(dir) = oasis_dir {
        let records = read_oasis_csv(&dir.join("OASIS.csv"))?;
        let thumbnails = cached_thumbnails(&dir.join("images"), size, cache_dir)?;
        for (name, img) in thumbnails {
            if let Some(record) = records
                .iter()
                .find(|r| r.theme == name && r.category == "Scenery")
            {
                names.push(format!("oasis:{name}"));
                images.push(img);
                labels.push(record.va);
                sources.push(LabelSource::Human);
            }
        }
    }
    if images.is_empty() {
        return Err(LandscapeError::Io("no training images found".into()));
    }
    let scale = ConditioningScale::from_labels(&labels);
    let conditioning = labels.iter().map(|&va| scale.to_conditioning(va)).collect();
    let pixels = images.into_iter().flat_map(|img| img.into_raw()).collect();
    Ok(TrainingSet {
        size: size as usize,
        names,
        pixels,
        labels,
        sources,
        conditioning,
        scale,
    })
}

/// The labeller's VA of each thumbnail, with progress (about 25 ms a picture on one thread).
fn label_thumbnails(
    labeller: &ImageVaLabeller,
    thumbnails: &[(String, RgbImage)],
) -> Result<Vec<Option<Va>>, LandscapeError> {
    let progress = indicatif::ProgressBar::new(thumbnails.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("labelling thumbnails {bar:30} {pos}/{len} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let labels = thumbnails
        .iter()
        .map(|(_, img)| {
            progress.inc(1);
            labeller.label(img).map(Some)
        })
        .collect();
    progress.finish_and_clear();
    labels
}

#[cfg(test)]
mod tests {
    use super::LabelFrom;

    #[test]
    fn label_sources_are_recorded_by_name() {
        let names = serde_json::to_string(&[LabelFrom::Thumbnail, LabelFrom::FullSize]).unwrap();
        assert_eq!(names, r#"["thumbnail","full-size file"]"#);
    }
}
