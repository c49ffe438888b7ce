//! `moodscape demo`: runs a built-in four-mood piece (or `--input FILE`) through the live
//! pipeline and writes the VA timeline, landscape keyframes and a morph animation.

use std::path::PathBuf;

use crate::cli::vocabulary::{quadrant_code, quadrant_name, QUADRANTS};
use crate::demo::{self, DemoOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "moodscape-demo")]
    pub out: PathBuf,
    /// Analyse this audio file instead of the built-in piece (decoded as it plays, so any
    /// length fits in memory; the animation is capped at 600 frames).
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
    let from_file = args.input.is_some();
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
    // A file was written for no quadrant: show what it reads as instead.
    let column = if from_file { "reads as" } else { "written for" };
    println!("section               {column:<24}valence  arousal  (mean over its second half)");
    for (name, intended, va) in crate::demo::timeline::section_means(&report.timeline) {
        let (name, quadrant) = match usize::from(intended).checked_sub(1) {
            Some(index) if !from_file => {
                let (code, label) = QUADRANTS[index];
                (name, format!("{code} {label}"))
            }
            _ => (
                "(file)",
                format!("{} {}", quadrant_code(va), quadrant_name(va)),
            ),
        };
        println!(
            "{name:<22}{quadrant:<24}{:+.2}    {:+.2}",
            va.valence, va.arousal
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
        "{} keyframes, {} animation frames ({})",
        report.keyframes, report.frames, report.animation_note
    );
    for file in report.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}
