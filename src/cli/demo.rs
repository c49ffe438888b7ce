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
    // Each section's second half: by then the 10 s window mostly holds that section.
    let mut sections: Vec<(&str, u8, Vec<&crate::demo::timeline::TimelineRow>)> = Vec::new();
    for row in &report.timeline {
        match sections.last_mut() {
            Some(last) if last.0 == row.section => last.2.push(row),
            _ => sections.push((row.section, row.intended_quadrant, vec![row])),
        }
    }
    println!("section               written for  valence  arousal  (mean over its second half)");
    for (name, quadrant, rows) in sections {
        let name = if name.is_empty() { "(file)" } else { name };
        let tail = &rows[rows.len() / 2..];
        let n = tail.len() as f32;
        let valence = tail.iter().map(|r| r.va.valence).sum::<f32>() / n;
        let arousal = tail.iter().map(|r| r.va.arousal).sum::<f32>() / n;
        println!("{name:<22}Q{quadrant}           {valence:+.2}    {arousal:+.2}");
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
