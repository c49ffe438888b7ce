//! Labelled VA grids of generated landscapes: valence left (-1) to right (+1), arousal bottom (-1)
//! to top (+1), one block per seed. Text uses a built-in 3×5 bitmap font (no font dependency).

use super::latent::Latent;
use super::LandscapeError;
use crate::va::Va;
use image::{imageops::FilterType, Rgb, RgbImage};

/// 3×5 glyphs, 3 bits per row, top row in the highest bits.
fn glyph(c: char) -> u16 {
    let rows: [u8; 5] = match c.to_ascii_uppercase() {
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [6, 1, 2, 4, 7],
        '3' => [6, 1, 2, 1, 6],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 6, 1, 6],
        '6' => [3, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 6],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '.' => [0, 0, 0, 0, 2],
        '=' => [0, 7, 0, 7, 0],
        ':' => [0, 2, 0, 2, 0],
        '>' => [4, 2, 1, 2, 4],
        '<' => [1, 2, 4, 2, 1],
        '^' => [2, 5, 0, 0, 0],
        _ => [0; 5],
    };
    rows.iter()
        .fold(0u16, |bits, &row| (bits << 3) | row as u16)
}

/// Draws `text` with its top-left corner at (x, y), each font pixel `scale`² screen pixels.
pub fn draw_text(image: &mut RgbImage, text: &str, x: i64, y: i64, scale: u32, colour: Rgb<u8>) {
    for (index, c) in text.chars().enumerate() {
        let bits = glyph(c);
        let left = x + index as i64 * 4 * scale as i64;
        for row in 0..5 {
            for column in 0..3 {
                if bits >> (14 - (row * 3 + column)) & 1 == 0 {
                    continue;
                }
                for dy in 0..scale as i64 {
                    for dx in 0..scale as i64 {
                        let px = left + column as i64 * scale as i64 + dx;
                        let py = y + row as i64 * scale as i64 + dy;
                        if px >= 0
                            && py >= 0
                            && (px as u32) < image.width()
                            && (py as u32) < image.height()
                        {
                            image.put_pixel(px as u32, py as u32, colour);
                        }
                    }
                }
            }
        }
    }
}

/// Pixel width of `text` at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    (text.chars().count() as u32 * 4).saturating_sub(1) * scale
}

/// `steps` evenly spaced values from -1 to 1.
pub fn axis_values(steps: usize) -> Vec<f32> {
    let steps = steps.max(2);
    (0..steps)
        .map(|i| -1.0 + 2.0 * i as f32 / (steps - 1) as f32)
        .collect()
}

/// Renders a labelled `steps`×`steps` VA grid per seed with `generate` (a batch generator),
/// each tile `tile` pixels wide.
pub fn render_grid(
    generate: impl Fn(&[Latent], &[Va]) -> Result<Vec<RgbImage>, LandscapeError>,
    seeds: &[u64],
    steps: usize,
    tile: u32,
) -> Result<RgbImage, LandscapeError> {
    let values = axis_values(steps);
    let steps = values.len();
    let scale = (tile / 32).clamp(1, 3);
    let gap = 2u32;
    let margin_left = 14 * scale + text_width("+1.0", scale) + 4;
    let margin_top = 10 * scale;
    let margin_bottom = 20 * scale;
    let block = steps as u32 * (tile + gap);
    let blocks_per_row = (seeds.len() as f32).sqrt().ceil().max(1.0) as u32;
    let block_rows = (seeds.len() as u32).div_ceil(blocks_per_row).max(1);
    let block_w = margin_left + block + 8;
    let block_h = margin_top + block + margin_bottom;
    let mut canvas = RgbImage::from_pixel(
        blocks_per_row * block_w,
        block_rows * block_h,
        Rgb([24, 24, 28]),
    );
    let white = Rgb([230, 230, 230]);
    let grey = Rgb([150, 150, 160]);
    for (index, &seed) in seeds.iter().enumerate() {
        let latent = Latent::from_seed(seed);
        let mut latents = Vec::new();
        let mut moods = Vec::new();
        for &arousal in values.iter().rev() {
            for &valence in &values {
                latents.push(latent.clone());
                moods.push(Va { valence, arousal });
            }
        }
        let images = generate(&latents, &moods)?;
        let ox = (index as u32 % blocks_per_row) * block_w;
        let oy = (index as u32 / blocks_per_row) * block_h;
        let grid_x = ox + margin_left;
        let grid_y = oy + margin_top;
        draw_text(
            &mut canvas,
            &format!("SEED {seed}"),
            grid_x as i64,
            (oy + 2 * scale) as i64,
            scale,
            white,
        );
        for (cell, image) in images.iter().enumerate() {
            let (row, column) = ((cell / steps) as u32, (cell % steps) as u32);
            let resized = if image.width() == tile {
                image.clone()
            } else {
                image::imageops::resize(image, tile, tile, FilterType::Nearest)
            };
            image::imageops::replace(
                &mut canvas,
                &resized,
                (grid_x + column * (tile + gap)) as i64,
                (grid_y + row * (tile + gap)) as i64,
            );
        }
        for (i, value) in values.iter().enumerate() {
            let label = format!("{value:+.1}");
            let cx = grid_x + i as u32 * (tile + gap) + tile / 2;
            draw_text(
                &mut canvas,
                &label,
                cx as i64 - text_width(&label, scale) as i64 / 2,
                (grid_y + block + 2 * scale) as i64,
                scale,
                grey,
            );
            let label = format!("{:+.1}", values[steps - 1 - i]);
            let cy = grid_y + i as u32 * (tile + gap) + tile / 2;
            draw_text(
                &mut canvas,
                &label,
                (grid_x - text_width(&label, scale) - 4) as i64,
                cy as i64 - 2 * scale as i64,
                scale,
                grey,
            );
        }
        let title = "VALENCE ->";
        draw_text(
            &mut canvas,
            title,
            (grid_x + block / 2 - text_width(title, scale) / 2) as i64,
            (grid_y + block + 10 * scale) as i64,
            scale,
            white,
        );
        // The arousal title reads bottom to top as a column of letters.
        for (i, c) in "AROUSAL ^".chars().enumerate() {
            let y = grid_y + block / 2 - 27 * scale + i as u32 * 6 * scale;
            draw_text(
                &mut canvas,
                &c.to_string(),
                ox as i64 + 2 * scale as i64,
                y as i64,
                scale,
                white,
            );
        }
    }
    Ok(canvas)
}
