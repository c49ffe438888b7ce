//! The standalone editor in a real X window (Xvfb), screenshotted like a person would see it.
//!
//! Runs `moodscape standalone --backend dummy`, waits for the landscape, then picks a mood on the
//! VA pad with a real mouse click (xdotool) and checks that the landscape area is not blank, that
//! it changes with the mood clearly more than it drifts on its own over the same time, and that
//! the full-size landscape shows no 4×4 or 8×8 block structure (the 64 px generator output's
//! pixels and its 2× artefacts, as they would show if it were stretched instead of upscaled).
//! Screenshots are kept under `target/screenshots/`.
//!
//! Block proxy: per screen column, the mean absolute difference to the next column (over all
//! rows of the landscape), and the same per row. Blocks of period P screen pixels put that
//! gradient energy on every P-th column, so its Fourier coefficient at 1/P, relative to its mean,
//! is large (near 1 for hard blocks) where smooth or natural detail gives a few percent. The
//! period is scanned over the range the picture's size and its Motion zoom allow, since the drift
//! moves the blocks' phase and scale.
//!
//! A few strong straight edges (a horizon, the bands of a sunset) also put a share of 0.1-0.2 at
//! *every* period, so the share alone flags smooth pictures. Blocks are flagged only where the share
//! also stands out of the picture's own gradient spectrum: at least [`BLOCK_PROMINENCE`] times its
//! 90th percentile over periods of 2-16 texels that are not block periods or their harmonics (a
//! constant-false-alarm-rate detector, as radar uses against clutter).
//!
//! Needs `Xvfb`, `xdotool` and ImageMagick's `import` (installed by `.ci/run`).

mod common;

use common::{start_standalone_window, start_xvfb};
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Mirrors `editor::SIDE_PANEL_WIDTH`: the control column on the right of the window.
const SIDE_PANEL_WIDTH: i32 = 300;
/// egui's default panel margin around the pad.
const PANEL_MARGIN: i32 = 8;

fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "`{tool}` is missing: install xvfb, xdotool and imagemagick (see .ci/run)"
    );
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let output = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("run xdotool");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A deliberate click: move, settle, press, a one-pixel wiggle while pressed (so the editor sees
/// the pointer where it is even if its window only now got the pointer), release.
fn click(display: &str, (x, y): (i32, i32)) {
    let steps = [(x, y), (x, y), (x + 1, y), (x, y)];
    for (index, (px, py)) in steps.into_iter().enumerate() {
        xdotool(display, &["mousemove", &px.to_string(), &py.to_string()]);
        std::thread::sleep(Duration::from_millis(150));
        if index == 1 {
            xdotool(display, &["mousedown", "1"]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    xdotool(display, &["mouseup", "1"]);
}

fn screenshot(display: &str, path: &Path) -> RgbImage {
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(path)
        .env("DISPLAY", display)
        .status()
        .expect("run import");
    assert!(status.success(), "import failed");
    image::open(path).expect("read screenshot").to_rgb8()
}

/// Window position and size from `xdotool getwindowgeometry --shell`.
fn window_geometry(display: &str, window: &str) -> (i32, i32, i32, i32) {
    let text = xdotool(display, &["getwindowgeometry", "--shell", window]);
    let field = |name: &str| -> i32 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in xdotool output: {text}"))
    };
    (field("X"), field("Y"), field("WIDTH"), field("HEIGHT"))
}

/// The landscape area of a screenshot: the window minus the side panel, with a small inset.
fn landscape_area(shot: &RgbImage, geometry: (i32, i32, i32, i32)) -> Vec<[f32; 3]> {
    let (x, y, width, height) = geometry;
    let mut pixels = Vec::new();
    for py in (y + 10)..(y + height - 10) {
        for px in (x + 10)..(x + width - SIDE_PANEL_WIDTH - 10) {
            let pixel = shot.get_pixel(px as u32, py as u32).0;
            pixels.push(pixel.map(f32::from));
        }
    }
    pixels
}

/// Screen pixels per 256 px texel: the square picture covers the landscape area (the longer side)
/// and the Motion drift zooms in by at most 12 %.
fn texel_scale_range(geometry: (i32, i32, i32, i32)) -> (f32, f32) {
    let (_, _, width, height) = geometry;
    let covered = (width - SIDE_PANEL_WIDTH).max(height) as f32;
    let base = covered / 256.0;
    (base * 0.98, base * 1.14)
}

/// The landscape area as a grey-level grid (rows of columns), inset like [`landscape_area`].
fn landscape_grey(shot: &RgbImage, geometry: (i32, i32, i32, i32)) -> Vec<Vec<f32>> {
    let (x, y, width, height) = geometry;
    ((y + 10)..(y + height - 10))
        .map(|py| {
            ((x + 10)..(x + width - SIDE_PANEL_WIDTH - 10))
                .map(|px| {
                    let p = shot.get_pixel(px as u32, py as u32).0;
                    (f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2])) / 3.0
                })
                .collect()
        })
        .collect()
}

/// Mean |difference to the next sample| per position along each line, averaged over lines.
fn gradient_profile(lines: &[Vec<f32>]) -> Vec<f32> {
    let length = lines.iter().map(Vec::len).min().unwrap_or(0);
    let mut profile = vec![0f32; length.saturating_sub(1)];
    for line in lines {
        for (i, slot) in profile.iter_mut().enumerate() {
            *slot += (line[i + 1] - line[i]).abs();
        }
    }
    profile
}

/// Largest relative Fourier magnitude of `profile` at a period within `periods` (screen px).
fn periodic_share(profile: &[f32], periods: (f32, f32)) -> (f32, f32) {
    let mean: f64 = profile.iter().map(|&v| f64::from(v)).sum::<f64>();
    let mut best = (0f32, periods.0);
    let mut period = periods.0;
    while period <= periods.1 {
        let (mut re, mut im) = (0f64, 0f64);
        for (i, &v) in profile.iter().enumerate() {
            let angle = std::f64::consts::TAU * i as f64 / f64::from(period);
            re += f64::from(v) * angle.cos();
            im += f64::from(v) * angle.sin();
        }
        let share = ((re * re + im * im).sqrt() / mean.max(1e-9)) as f32;
        if share > best.0 {
            best = (share, period);
        }
        period += 0.02;
    }
    best
}

/// Smallest block-period share that counts as block structure.
const BLOCK_SHARE: f32 = 0.1;

/// How many times the 90th percentile of the picture's own gradient spectrum the block-period
/// share must reach to count (see the module notes).
const BLOCK_PROMINENCE: f32 = 1.25;

/// Block sides, in 256 px texels, the proxy looks for.
const BLOCK_TEXELS: [f32; 2] = [4.0, 8.0];

/// The strongest block periodicity in one gradient profile.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BlockFinding {
    /// Fourier share at the block period (see [`periodic_share`]).
    share: f32,
    /// Where it peaks, in screen pixels.
    period: f32,
    /// `share` over the 90th-percentile share at the profile's background periods.
    prominence: f32,
}

impl BlockFinding {
    fn is_block_structure(&self) -> bool {
        self.share >= BLOCK_SHARE && self.prominence >= BLOCK_PROMINENCE
    }
}

/// 90th-percentile share of `profile` over periods of 2-16 texels (screen px per texel: `scale`), leaving
/// out the block periods, their halves, thirds and doubles, where blocks would put energy.
fn spectral_background(profile: &[f32], scale: (f32, f32)) -> f32 {
    let near_block_harmonic = |period: f32| {
        BLOCK_TEXELS.iter().any(|&block| {
            [1.0 / 3.0, 0.5, 1.0, 2.0].iter().any(|&harmonic| {
                let texels = block * harmonic;
                period >= scale.0 * texels && period <= scale.1 * texels
            })
        })
    };
    let mut shares = Vec::new();
    let mut period = 2.0 * scale.0;
    while period <= 16.0 * scale.1 {
        if !near_block_harmonic(period) {
            shares.push(periodic_share(profile, (period, period)).0);
        }
        period += 0.05;
    }
    shares.sort_by(f32::total_cmp);
    shares.get(shares.len() * 9 / 10).copied().unwrap_or(0.0)
}

/// The strongest 4×4- or 8×8-texel block periodicity of the picture, horizontal or vertical.
/// Flagged findings come first; otherwise the largest share.
fn block_structure(grey: &[Vec<f32>], scale: (f32, f32)) -> BlockFinding {
    let columns: Vec<Vec<f32>> = (0..grey[0].len())
        .map(|x| grey.iter().map(|row| row[x]).collect())
        .collect();
    let mut worst = BlockFinding {
        share: 0.0,
        period: 0.0,
        prominence: 0.0,
    };
    for profile in [gradient_profile(grey), gradient_profile(&columns)] {
        let background = spectral_background(&profile, scale);
        for block in BLOCK_TEXELS {
            let (share, period) = periodic_share(&profile, (scale.0 * block, scale.1 * block));
            let found = BlockFinding {
                share,
                period,
                prominence: share / background.max(1e-6),
            };
            let rank = |f: &BlockFinding| (f.is_block_structure(), f.share);
            if rank(&found) > rank(&worst) {
                worst = found;
            }
        }
    }
    worst
}

/// `grey` as it would look with `block`-pixel blocks (each block's top-left value): the
/// structure the proxy must catch, made from the same picture.
fn blocky(grey: &[Vec<f32>], block: usize) -> Vec<Vec<f32>> {
    grey.iter()
        .enumerate()
        .map(|(y, row)| {
            (0..row.len())
                .map(|x| grey[y / block * block][x / block * block])
                .collect()
        })
        .collect()
}

fn channel_std(pixels: &[[f32; 3]]) -> f32 {
    let count = pixels.len() as f32;
    (0..3)
        .map(|c| {
            let mean = pixels.iter().map(|p| p[c]).sum::<f32>() / count;
            (pixels.iter().map(|p| (p[c] - mean).powi(2)).sum::<f32>() / count).sqrt()
        })
        .sum::<f32>()
        / 3.0
}

fn mean_abs_difference(a: &[[f32; 3]], b: &[[f32; 3]]) -> f32 {
    let total: f32 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f32>())
        .sum();
    total / (a.len() * 3) as f32
}

#[test]
fn standalone_editor_shows_a_landscape_that_follows_the_mood() {
    for tool in ["Xvfb", "xdotool", "import"] {
        require_tool(tool);
    }
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    // `MOODSCAPE_SCREENSHOT_BINARY` points the test at another build (e.g. an older one, to take
    // "before" screenshots); the default is this crate's binary.
    let binary = std::env::var("MOODSCAPE_SCREENSHOT_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_moodscape").to_string());
    std::fs::create_dir_all(&out_dir).unwrap();
    let (_xvfb, display) = start_xvfb(90..120);
    let (_standalone, window) = start_standalone_window(&binary, &["--backend", "dummy"], &display);
    let geometry = window_geometry(&display, &window);
    assert!(
        geometry.2 > SIDE_PANEL_WIDTH + 100 && geometry.3 > 200,
        "window too small: {geometry:?}"
    );

    // Wait for the first keyframe, so the editor is up and painting.
    let deadline = Instant::now() + Duration::from_secs(60);
    let first_path = out_dir.join("editor-first.png");
    loop {
        let area = landscape_area(&screenshot(&display, &first_path), geometry);
        if channel_std(&area) > 12.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the landscape area stayed blank (std {:.1}); see {}",
            channel_std(&area),
            first_path.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Pick a calm, pleasant mood by hand (this also freezes the analysis), let the morph settle,
    // and measure how much the picture moves on its own (the slow noise drift) over 3 s.
    let (x, y, width, _) = geometry;
    let pad_side = SIDE_PANEL_WIDTH - 2 * PANEL_MARGIN;
    let pad_point = |valence: f32, arousal: f32| {
        (
            x + width - SIDE_PANEL_WIDTH
                + PANEL_MARGIN
                + ((valence + 1.0) / 2.0 * pad_side as f32) as i32,
            y + PANEL_MARGIN + ((1.0 - arousal) / 2.0 * pad_side as f32) as i32,
        )
    };
    click(&display, pad_point(0.75, -0.75));
    std::thread::sleep(Duration::from_secs(4));
    let before_path = out_dir.join("editor-calm.png");
    let calm_shot = screenshot(&display, &before_path);
    let before = landscape_area(&calm_shot, geometry);
    std::thread::sleep(Duration::from_secs(3));
    let steady = landscape_area(
        &screenshot(&display, &out_dir.join("editor-calm-later.png")),
        geometry,
    );
    let drift = mean_abs_difference(&before, &steady);

    // Now a tense, unpleasant mood.
    click(&display, pad_point(-0.75, 0.75));
    std::thread::sleep(Duration::from_secs(3));
    let after_path = out_dir.join("editor-tense.png");
    let after = landscape_area(&screenshot(&display, &after_path), geometry);
    let change = mean_abs_difference(&steady, &after);

    println!(
        "landscape std {:.1}, drift over 3 s {drift:.2}, change after picking a tense mood {change:.2}",
        channel_std(&before)
    );
    assert!(channel_std(&after) > 12.0, "landscape went blank");

    // No block structure at full size, while the same picture made blocky would show it.
    let scale = texel_scale_range(geometry);
    let grey = landscape_grey(&calm_shot, geometry);
    let found = block_structure(&grey, scale);
    let control_block = ((scale.0 + scale.1) / 2.0 * 4.0).round() as usize;
    let control = block_structure(&blocky(&grey, control_block), scale);
    println!(
        "block structure: {:.3} at a period of {:.1} px, {:.2}× the picture's spectral 90th percentile (texel scale {:.2}-{:.2}); the same picture in {control_block}-px blocks: {:.3}, {:.2}×",
        found.share, found.period, found.prominence, scale.0, scale.1, control.share, control.prominence
    );
    assert!(
        control.share > 0.3 && control.is_block_structure(),
        "the block proxy cannot see blocks ({control:?}): it would not catch a stretched picture"
    );
    assert!(
        !found.is_block_structure(),
        "the landscape shows a block structure ({:.3} at {:.1} px, {:.2}× its spectral 90th percentile); see {}",
        found.share,
        found.period,
        found.prominence,
        before_path.display()
    );
    assert!(
        change > 6.0 && change > 2.0 * drift,
        "the landscape did not follow the mood: change {change:.2} vs drift {drift:.2} \
         (see {} and {})",
        before_path.display(),
        after_path.display()
    );
}

/// Screen pixels per texel for the 960×600 window the standalone editor opens with.
fn default_window_scale() -> (f32, f32) {
    texel_scale_range((0, 0, 960, 600))
}

/// A 580×640 grey picture like a calm sunset: smooth sky and sea gradients, split by a few sharp
/// horizontal edges at uneven heights, with soft texture that has no block period.
fn banded_picture() -> Vec<Vec<f32>> {
    let edges = [(172, 24.0), (236, -18.0), (301, 14.0), (395, -10.0)];
    (0..580)
        .map(|y| {
            let band: f32 = edges
                .iter()
                .filter(|(row, _)| y >= *row)
                .map(|(_, step)| step)
                .sum();
            (0..640)
                .map(|x| {
                    let (x, y) = (x as f32, y as f32);
                    let texture = 9.0 * (x / 37.0 + y / 71.0).sin() * (y / 53.0).cos()
                        + 6.0 * (x / 13.7 - y / 29.0).sin()
                        + 4.0 * (y / 6.1 + (x / 45.0).sin()).sin();
                    100.0 + 0.05 * y + band + texture
                })
                .collect()
        })
        .collect()
}

/// `grey` with horizontal stripes of `amplitude` grey levels every other `stripe` rows: the
/// generator's 2-pixel row alternation as the upscaled picture shows it.
fn striped(grey: &[Vec<f32>], stripe: usize, amplitude: f32) -> Vec<Vec<f32>> {
    grey.iter()
        .enumerate()
        .map(|(y, row)| {
            let lift = if (y / stripe) % 2 == 1 {
                amplitude
            } else {
                0.0
            };
            row.iter().map(|v| v + lift).collect()
        })
        .collect()
}

#[test]
fn the_block_proxy_ignores_a_few_strong_edges_but_not_faint_stripes() {
    let scale = default_window_scale();
    let bands = banded_picture();
    let smooth = block_structure(&bands, scale);
    println!("banded picture: {smooth:?}");
    assert!(
        smooth.share >= BLOCK_SHARE,
        "the planted edges should reach the share limit on their own: {smooth:?}"
    );
    assert!(!smooth.is_block_structure(), "{smooth:?}");

    let stripe = ((scale.0 + scale.1) / 2.0 * 4.0).round() as usize;
    let stripes = block_structure(&striped(&bands, stripe, 3.0), scale);
    println!("banded picture with 3-level stripes every {stripe} px: {stripes:?}");
    assert!(stripes.is_block_structure(), "{stripes:?}");

    let blocks = block_structure(&blocky(&bands, stripe), scale);
    println!("banded picture in {stripe}-px blocks: {blocks:?}");
    assert!(blocks.is_block_structure(), "{blocks:?}");
}
