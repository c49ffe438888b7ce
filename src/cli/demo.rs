//! `moodscape demo`: runs a built-in four-mood piece (or `--input FILE`) through the live
//! pipeline and writes the VA timeline, landscape keyframes and a morph animation.

use std::path::PathBuf;

use crate::demo::{self, DemoOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "moodscape-demo")]
    pub out: PathBuf,
    /// Analyse this audio file instead of the built-in piece.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Landscape style (seed family).
    #[arg(long, default_value_t = 7)]
    pub style: u32,
    /// Animation frames per second.
    #[arg(long, default_value_t = 8.0)]
    pub fps: f32,
    /// Side of keyframes and animation frames, pixels.
    #[arg(long, default_value_t = 192)]
    pub size: u32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = DemoOptions {
        out_dir: args.out,
        input: args.input,
        style: args.style,
        fps: args.fps,
        size: args.size,
        ..DemoOptions::default()
    };
    let report = demo::run(&options)?;
    // Each section's second half: by then the window mostly holds that section.
    println!("section               written for  valence  arousal  (mean over its second half)");
    for (name, quadrant, mean) in crate::demo::timeline::section_means(&report.timeline) {
        let name = if name.is_empty() { "(file)" } else { name };
        println!(
            "{name:<22}Q{quadrant}           {:+.2}    {:+.2}",
            mean.valence, mean.arousal
        );
    }
    if !report.sections.is_empty() {
        let halfway = crate::demo::timeline::halfway_seconds(&report.timeline, &report.sections);
        let shown: Vec<String> = halfway
            .iter()
            .map(|s| s.map_or("never".into(), |s| format!("{s:.1} s")))
            .collect();
        println!(
            "half-way to the next section's level after each change: {}",
            shown.join(", ")
        );
    }
    println!(
        "{} keyframes, {} animation frames",
        report.keyframes, report.frames
    );
    for file in report.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}
