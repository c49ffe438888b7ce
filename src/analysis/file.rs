//! Whole-file analysis: decode with [`crate::audio_file`] and stream through the same
//! [`Analyzer`] the plugin runs, so the CLI and the trainers see identical features.

use std::path::Path;

use super::{Analyzer, AnalyzerConfig, FeatureSummary};
use crate::audio_file::{AudioFileError, AudioReader};

/// What was analysed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileAnalysis {
    /// The file's sample rate.
    pub sample_rate: u32,
    /// The file's channel count.
    pub channels: usize,
    /// Length of the decoded audio in seconds.
    pub duration_seconds: f64,
    /// Summaries emitted (0 when the file is shorter than one hop).
    pub summaries: usize,
}

/// Decodes `path` block by block and calls `on_summary` for every rolling summary, in time order.
pub fn analyze_file(
    path: impl AsRef<Path>,
    config: AnalyzerConfig,
    mut on_summary: impl FnMut(&FeatureSummary),
) -> Result<FileAnalysis, AudioFileError> {
    let mut reader = AudioReader::open(path.as_ref())?;
    let (sample_rate, channels) = (reader.sample_rate(), reader.channels());
    let mut analyzer = Analyzer::try_new(sample_rate as f64, channels, config).map_err(|e| {
        AudioFileError::Unsupported {
            path: path.as_ref().to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    let mut summaries = 0;
    while let Some(block) = reader.next_block()? {
        analyzer.push_interleaved(block, |summary| {
            summaries += 1;
            on_summary(summary);
        });
    }
    Ok(FileAnalysis {
        sample_rate,
        channels,
        duration_seconds: reader.frames_read() as f64 / sample_rate.max(1) as f64,
        summaries,
    })
}
