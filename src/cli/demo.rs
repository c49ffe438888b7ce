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
    let mut by_section: Vec<(&str, u8, f32, f32, usize)> = Vec::new();
    for row in &report.timeline {
        match by_section.last_mut() {
            Some(last) if last.0 == row.section => {
                last.2 += row.va.valence;
                last.3 += row.va.arousal;
                last.4 += 1;
            }
            _ => by_section.push((
                row.section,
                row.intended_quadrant,
                row.va.valence,
                row.va.arousal,
                1,
            )),
        }
    }
    println!("section               written for  mean valence  mean arousal");
    for (name, quadrant, valence, arousal, count) in by_section {
        let name = if name.is_empty() { "(file)" } else { name };
        let n = count as f32;
        println!(
            "{name:<22}Q{quadrant}           {:+.2}         {:+.2}",
            valence / n,
            arousal / n
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
