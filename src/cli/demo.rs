//! `moodscape demo`: runs a built-in four-mood piece (or `--input FILE`) through the live
//! pipeline and writes the VA timeline, landscape keyframes and a morph animation.

use std::path::PathBuf;

use crate::cli::vocabulary::{quadrant_code, quadrant_name, QUADRANTS};
use crate::demo::{self, DemoOptions};
use crate::va::Va;

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
    // Each section's second half: by then the 10 s window mostly holds that section.
    let mut sections: Vec<(&str, u8, Vec<&crate::demo::timeline::TimelineRow>)> = Vec::new();
    for row in &report.timeline {
        match sections.last_mut() {
            Some(last) if last.0 == row.section => last.2.push(row),
            _ => sections.push((row.section, row.intended_quadrant, vec![row])),
        }
    }
    // A file was written for no quadrant: show what it reads as instead.
    let column = if from_file { "reads as" } else { "written for" };
    println!("section               {column:<24}valence  arousal  (mean over its second half)");
    for (name, intended, rows) in sections {
        let tail = &rows[rows.len() / 2..];
        let n = tail.len() as f32;
        let va = Va {
            valence: tail.iter().map(|r| r.va.valence).sum::<f32>() / n,
            arousal: tail.iter().map(|r| r.va.arousal).sum::<f32>() / n,
        };
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
    println!(
        "{} keyframes, {} animation frames ({})",
        report.keyframes, report.frames, report.animation_note
    );
    for file in report.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}
