//! Feature extraction for training: each clip runs through the same `Analyzer` the plugin runs,
//! with the default configuration, and every emitted summary becomes one row. Rows are cached
//! per clip, keyed by the feature schema, so an interrupted run resumes where it stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::analysis::{self, AnalyzerConfig};

/// What the cache holds for one clip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClipFeatures {
    /// One feature vector per emitted summary.
    pub rows: Vec<Vec<f32>>,
    /// End time of each summary's window in seconds, to show what a row describes.
    pub times: Vec<f64>,
}

/// Decodes a file and streams it through the plugin's analyser with the default configuration
/// (`analysis::analyze_file`, the path the CLI uses too), keeping every summary.
pub fn extract_clip(path: &Path) -> anyhow::Result<ClipFeatures> {
    extract_clip_with(path, AnalyzerConfig::default())
}

/// As [`extract_clip`], with another analysis configuration (the trainer's window).
pub fn extract_clip_with(path: &Path, config: AnalyzerConfig) -> anyhow::Result<ClipFeatures> {
    let mut features = ClipFeatures::default();
    analysis::analyze_file(path, config, |summary| {
        features.rows.push(summary.values.clone());
        features.times.push(summary.t);
    })?;
    Ok(features)
}

/// A cache directory name that changes whenever the features could change meaning.
pub fn cache_key(config: AnalyzerConfig) -> String {
    // FNV-1a over the names and the configuration: catches a changed feature list even if the
    // schema version was not bumped during development.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &byte in bytes {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for name in analysis::feature_names() {
        feed(name.as_bytes());
        feed(&[0]);
    }
    feed(&config.window_seconds.to_le_bytes());
    feed(&config.hop_seconds.to_le_bytes());
    format!("schema{}-{hash:016x}", analysis::SCHEMA_VERSION)
}

fn cache_file(cache_dir: &Path, song: &str) -> PathBuf {
    let safe: String = song
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache_dir.join(format!("{safe}.bin"))
}

fn read_cached<T: serde::de::DeserializeOwned>(
    path: &Path,
    valid: impl Fn(&T) -> bool,
) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    let features: T = bincode::deserialize(&bytes).ok()?;
    valid(&features).then_some(features)
}

fn write_cached<T: Serialize>(path: &Path, features: &T) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bincode::serialize(features)?)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// One clip to extract.
pub struct Job<'a> {
    /// Cache name.
    pub song: &'a str,
    /// Audio file.
    pub path: &'a Path,
}

/// Extracts something per clip for every job (cached ones in `cache_dir` are read back when
/// `valid` accepts them), on `workers` threads, with a progress bar labelled `what`. A clip that
/// fails to decode is reported and yields `None`. Resumable: each clip is written as it is done.
pub fn extract_all<T>(
    jobs: &[Job<'_>],
    cache_dir: &Path,
    what: &str,
    workers: usize,
    extract: &(dyn Fn(&Path) -> anyhow::Result<T> + Sync),
    valid: impl Fn(&T) -> bool + Sync,
) -> anyhow::Result<Vec<Option<T>>>
where
    T: Serialize + serde::de::DeserializeOwned + Clone + Send,
{
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating {}", cache_dir.display()))?;
    let progress = ProgressBar::new(jobs.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} clips  {{elapsed_precise}} (eta {{eta}})  {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new(vec![None; jobs.len()]);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index) else { break };
                let file = cache_file(cache_dir, job.song);
                let features = match read_cached(&file, &valid) {
                    Some(features) => Ok(features),
                    None => {
                        // A panic in one clip must not take the whole run down.
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                extract(job.path)
                            }));
                        match outcome {
                            Ok(Ok(features)) => write_cached(&file, &features).map(|()| features),
                            Ok(Err(error)) => Err(error),
                            Err(_) => Err(anyhow::anyhow!("the analyser panicked")),
                        }
                    }
                };
                match features {
                    Ok(features) => {
                        if let Ok(mut results) = results.lock() {
                            results[index] = Some(features);
                        }
                    }
                    Err(error) => {
                        progress.println(format!("skipping {}: {error:#}", job.path.display()));
                        if let Ok(mut failures) = failures.lock() {
                            failures.push(job.song.to_string());
                        }
                    }
                }
                progress.inc(1);
                if progress.is_hidden() && (index + 1).is_multiple_of(50) {
                    // No terminal (a log file): still show that the job advances.
                    eprintln!("{what}: {} of {} clips", index + 1, jobs.len());
                }
            });
        }
    });
    progress.finish();
    let results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a {what} worker panicked"))?;
    Ok(results)
}
