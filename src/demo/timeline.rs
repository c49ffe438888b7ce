//! The demo's VA timeline: rows sampled from the live state, a CSV and a plot.

use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::synth::SectionSpan;
use crate::analysis::Mode;
use crate::cli::vocabulary::{quadrant_code, quadrant_name, QUADRANTS};
use crate::landscape::grid::{draw_text, text_width};
use crate::live::LiveState;
use crate::va::Va;

/// One sample of what the plugin would be showing at time `t`.
#[derive(Debug, Clone)]
pub struct TimelineRow {
    /// Seconds into the audio.
    pub t: f64,
    /// Smoothed mood, as published to the editor and the CCs.
    pub va: Va,
    /// The model's latest unsmoothed output.
    pub raw: Va,
    /// Tempo estimate, BPM.
    pub tempo_bpm: f32,
    /// Tonic of the key, e.g. "A" (empty while the first window fills), as `analyze` writes it.
    pub key: &'static str,
    /// "major" or "minor" (empty while the first window fills).
    pub mode: &'static str,
    /// K-weighted loudness, dB.
    pub loudness_db: f32,
    /// Name of the built-in section playing, empty for files.
    pub section: &'static str,
    /// Quadrant the section was written for (0 for files).
    pub intended_quadrant: u8,
}

impl TimelineRow {
    pub fn capture(t: f64, live: &LiveState, sections: &[SectionSpan]) -> Self {
        let section = sections
            .iter()
            .find(|span| (f64::from(span.start)..f64::from(span.end)).contains(&t))
            .or(sections.last().filter(|span| t >= f64::from(span.end)));
        let started = live.summaries.load(Ordering::Relaxed) > 0;
        Self {
            t,
            va: live.va(),
            raw: Va {
                valence: live.raw_valence.load(Ordering::Relaxed),
                arousal: live.raw_arousal.load(Ordering::Relaxed),
            },
            tempo_bpm: live.tempo_bpm.load(Ordering::Relaxed),
            key: if started {
                crate::analysis::key_name(live.key.load(Ordering::Relaxed))
            } else {
                ""
            },
            mode: match (started, live.mode()) {
                (false, _) => "",
                (true, Mode::Major) => "major",
                (true, Mode::Minor) => "minor",
            },
            loudness_db: live.loudness_db.load(Ordering::Relaxed),
            section: section.map_or("", |span| span.section.name),
            intended_quadrant: section.map_or(0, |span| span.section.quadrant),
        }
    }
}

pub fn write_csv(path: &Path, rows: &[TimelineRow]) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    // The same vocabulary as `moodscape analyze`: quadrant code and name, key and mode apart.
    writeln!(
        out,
        "t,valence,arousal,quadrant,quadrant_name,raw_valence,raw_arousal,tempo_bpm,key,mode,\
         loudness_db,section,intended_quadrant,intended_quadrant_name"
    )?;
    for row in rows {
        // Files have no intended quadrant: the cells stay empty.
        let (intended, intended_name) = usize::from(row.intended_quadrant)
            .checked_sub(1)
            .and_then(|i| QUADRANTS.get(i))
            .copied()
            .unwrap_or(("", ""));
        writeln!(
            out,
            "{:.2},{:.4},{:.4},{},{},{:.4},{:.4},{:.1},{},{},{:.1},{},{},{}",
            row.t,
            row.va.valence,
            row.va.arousal,
            quadrant_code(row.va),
            quadrant_name(row.va),
            row.raw.valence,
            row.raw.arousal,
            row.tempo_bpm,
            row.key,
            row.mode,
            row.loudness_db,
            row.section,
            intended,
            intended_name
        )?;
    }
    out.flush()?;
    Ok(())
}

const VALENCE_COLOUR: Rgb<u8> = Rgb([255, 170, 60]);
const AROUSAL_COLOUR: Rgb<u8> = Rgb([90, 170, 255]);

/// A plotted line: label, how to read it from a row, colour, legend x offset from the right edge.
type Series = (&'static str, fn(&TimelineRow) -> f32, Rgb<u8>, f32);

/// Valence and arousal over time on [-1, 1], with the sections marked.
pub fn plot(rows: &[TimelineRow], sections: &[SectionSpan]) -> RgbImage {
    let (width, height) = (960u32, 360u32);
    let (left, right, top, bottom) = (50.0f32, 10.0f32, 30.0f32, 40.0f32);
    let mut image = RgbImage::from_pixel(width, height, Rgb([20, 22, 28]));
    let duration = rows.last().map_or(1.0, |r| r.t).max(1.0) as f32;
    let plot_w = width as f32 - left - right;
    let plot_h = height as f32 - top - bottom;
    let x_of = |t: f32| left + t / duration * plot_w;
    let y_of = |v: f32| top + (1.0 - (v.clamp(-1.0, 1.0) + 1.0) / 2.0) * plot_h;
    let grey = Rgb([90, 90, 100]);
    let text = Rgb([200, 200, 210]);

    for value in [-1.0f32, -0.5, 0.0, 0.5, 1.0] {
        let y = y_of(value);
        draw_line(
            &mut image,
            (left, y),
            (width as f32 - right, y),
            if value == 0.0 {
                grey
            } else {
                Rgb([45, 45, 55])
            },
        );
        draw_text(
            &mut image,
            &format!("{value:+.1}"),
            6,
            y as i64 - 5,
            2,
            text,
        );
    }
    for span in sections {
        let x = x_of(span.start);
        draw_line(&mut image, (x, top), (x, top + plot_h), grey);
        draw_text(
            &mut image,
            &span.section.name.to_uppercase(),
            x as i64 + 4,
            8,
            2,
            text,
        );
    }
    for (t, label) in time_ticks(duration, plot_w, 2) {
        let label_width = i64::from(text_width(&label, 2));
        // Centred on its tick, but kept inside the image at both ends.
        let x = (x_of(t) as i64 - label_width / 2).clamp(0, i64::from(width) - label_width - 2);
        draw_text(
            &mut image,
            &label,
            x,
            (height as f32 - bottom + 8.0) as i64,
            2,
            text,
        );
    }
    // Each series: its label, how to read it from a row, its colour and the legend's x offset.
    let series: [Series; 2] = [
        ("VALENCE", |row| row.va.valence, VALENCE_COLOUR, 200.0),
        ("AROUSAL", |row| row.va.arousal, AROUSAL_COLOUR, 100.0),
    ];
    for (label, value, colour, legend_offset) in series {
        for pair in rows.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            draw_line(
                &mut image,
                (x_of(a.t as f32), y_of(value(a))),
                (x_of(b.t as f32), y_of(value(b))),
                colour,
            );
        }
        draw_text(
            &mut image,
            label,
            (width as f32 - legend_offset) as i64,
            (height - 18) as i64,
            2,
            colour,
        );
    }
    image
}

/// Tick spacings the x axis may use, seconds.
const TICK_STEPS: [f32; 15] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    18000.0,
];

/// Smallest gap between two time labels, pixels.
const MIN_LABEL_GAP: f32 = 40.0;

/// A time as the axis writes it: "40S" under two minutes, else "M:SS" (or "H:MM:SS").
pub fn time_label(seconds: f32, step: f32) -> String {
    let whole = seconds.round() as u64;
    if step < 60.0 && seconds < 120.0 {
        format!("{whole}S")
    } else if whole >= 3600 {
        format!("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
    } else {
        format!("{}:{:02}", whole / 60, whole % 60)
    }
}

/// The x-axis ticks for `duration` seconds across `plot_width` pixels at font `scale`: the
/// finest spacing whose labels do not touch, so long inputs get minutes instead of a smear.
pub fn time_ticks(duration: f32, plot_width: f32, scale: u32) -> Vec<(f32, String)> {
    let duration = duration.max(1.0);
    for step in TICK_STEPS {
        let ticks: Vec<(f32, String)> = (0..)
            .map(|k| k as f32 * step)
            .take_while(|&t| t <= duration + 1e-3)
            .map(|t| (t, time_label(t, step)))
            .collect();
        let widest = ticks
            .iter()
            .map(|(_, label)| text_width(label, scale) as f32)
            .fold(0.0, f32::max);
        let spacing = step / duration * plot_width;
        if spacing >= widest + MIN_LABEL_GAP {
            return ticks;
        }
    }
    vec![(0.0, time_label(0.0, 60.0))]
}

/// A 2-pixel-wide line, clipped to the image.
fn draw_line(image: &mut RgbImage, from: (f32, f32), to: (f32, f32), colour: Rgb<u8>) {
    let steps = ((to.0 - from.0).abs().max((to.1 - from.1).abs()).ceil() as usize).max(1);
    for step in 0..=steps {
        let t = step as f32 / steps as f32;
        let x = from.0 + (to.0 - from.0) * t;
        let y = from.1 + (to.1 - from.1) * t;
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (px, py) = (x as i64 + dx, y as i64 + dy);
            if px >= 0 && py >= 0 && (px as u32) < image.width() && (py as u32) < image.height() {
                image.put_pixel(px as u32, py as u32, colour);
            }
        }
    }
}

/// Each built-in section's mean shown VA over its second half (by then the window mostly holds
/// that section), in playing order: (name, intended quadrant, mean).
pub fn section_means(rows: &[TimelineRow]) -> Vec<(&'static str, u8, Va)> {
    let mut sections: Vec<(&'static str, u8, Vec<Va>)> = Vec::new();
    for row in rows {
        match sections.last_mut() {
            Some(last) if last.0 == row.section => last.2.push(row.va),
            _ => sections.push((row.section, row.intended_quadrant, vec![row.va])),
        }
    }
    sections
        .into_iter()
        .map(|(name, quadrant, values)| {
            let tail = &values[values.len() / 2..];
            let n = tail.len().max(1) as f32;
            let mean = Va {
                valence: tail.iter().map(|va| va.valence).sum::<f32>() / n,
                arousal: tail.iter().map(|va| va.arousal).sum::<f32>() / n,
            };
            (name, quadrant, mean)
        })
        .collect()
}

/// For each section change: seconds from the change until the shown VA first covers half the
/// way from the previous section's level to the new section's (second-half means), measured
/// along the line between the two levels. `None` when it never gets there within the section.
pub fn halfway_seconds(rows: &[TimelineRow], sections: &[SectionSpan]) -> Vec<Option<f64>> {
    let means = section_means(rows);
    sections
        .windows(2)
        .enumerate()
        .map(|(index, pair)| {
            let (Some(from), Some(to)) = (means.get(index), means.get(index + 1)) else {
                return None;
            };
            let (dv, da) = (to.2.valence - from.2.valence, to.2.arousal - from.2.arousal);
            let length_squared = dv * dv + da * da;
            if length_squared < 1e-6 {
                return Some(0.0);
            }
            let change = f64::from(pair[1].start);
            rows.iter()
                .filter(|row| row.t >= change && row.t < f64::from(pair[1].end))
                .find(|row| {
                    let progress = ((row.va.valence - from.2.valence) * dv
                        + (row.va.arousal - from.2.arousal) * da)
                        / length_squared;
                    progress >= 0.5
                })
                .map(|row| row.t - change)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_never_touch_whatever_the_length() {
        let plot_width = 900.0;
        for duration in [30.0f32, 60.0, 95.0, 300.0, 1890.0, 3600.0, 4.0 * 3600.0] {
            let ticks = time_ticks(duration, plot_width, 2);
            assert!(ticks.len() >= 2, "{duration}: {ticks:?}");
            assert!(ticks.len() <= 40, "{duration}: {} ticks", ticks.len());
            for pair in ticks.windows(2) {
                let gap = (pair[1].0 - pair[0].0) / duration * plot_width;
                let half_widths =
                    (text_width(&pair[0].1, 2) + text_width(&pair[1].1, 2)) as f32 / 2.0;
                assert!(gap >= half_widths + MIN_LABEL_GAP, "{duration}: {pair:?}");
            }
        }
        // The 60 s demo keeps 10 s ticks; a 31.5-minute file gets minutes.
        let demo: Vec<String> = time_ticks(60.0, plot_width, 2)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert!(
            demo.contains(&"10S".to_string()) && demo.contains(&"60S".to_string()),
            "{demo:?}"
        );
        let long = time_ticks(1890.0, plot_width, 2);
        assert!(long.iter().any(|(_, l)| l == "5:00"), "{long:?}");
    }
}
