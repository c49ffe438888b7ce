//! Hand-crafted mood features of a photograph: colour, brightness, saturation, colourfulness,
//! contrast, hue distribution, layout by thirds and texture.
//!
//! Every image is first reduced to a [`FEATURE_SIZE`]² centre-cropped square, so the labeller
//! sees OASIS photographs, training landscapes and generated 64×64 images at the same scale:
//! a feature such as edge density would otherwise mean something different per resolution.

use image::{imageops::FilterType, DynamicImage, RgbImage};

/// Side of the square every image is reduced to before its features are measured.
pub const FEATURE_SIZE: u32 = 64;

/// Number of hue histogram bins (30° each).
const HUE_BINS: usize = 12;

/// Names of the features in the order [`image_features`] returns them (for the model card).
pub const FEATURE_NAMES: [&str; 52] = [
    "luma_mean",
    "luma_std",
    "luma_p05",
    "luma_p50",
    "luma_p95",
    "sat_mean",
    "sat_std",
    "val_mean",
    "val_std",
    "hue_cos",
    "hue_sin",
    "hue_concentration",
    "hue_0",
    "hue_30",
    "hue_60",
    "hue_90",
    "hue_120",
    "hue_150",
    "hue_180",
    "hue_210",
    "hue_240",
    "hue_270",
    "hue_300",
    "hue_330",
    "colourfulness",
    "warmth",
    "greenness",
    "dark_fraction",
    "bright_fraction",
    "saturated_fraction",
    "top_luma",
    "mid_luma",
    "bottom_luma",
    "top_sat",
    "mid_sat",
    "bottom_sat",
    "top_warmth",
    "mid_warmth",
    "bottom_warmth",
    "gradient_mean",
    "edge_density",
    "top_gradient",
    "bottom_gradient",
    "fine_detail",
    "red_mean",
    "green_mean",
    "blue_mean",
    "red_std",
    "green_std",
    "blue_std",
    "top_blue",
    "bottom_green",
];

/// Number of features per image.
pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// Centre-crops `image` to a square and resizes it to `size`² (the shape every model here sees).
pub fn square_thumbnail(image: &DynamicImage, size: u32) -> RgbImage {
    let (width, height) = (image.width(), image.height());
    let side = width.min(height).max(1);
    let cropped = image.crop_imm((width - side) / 2, (height - side) / 2, side, side);
    cropped
        .resize_exact(size, size, FilterType::Triangle)
        .to_rgb8()
}

/// RGB in [0, 1] to (hue in [0, 1), saturation, value).
fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let saturation = if max > 0.0 { delta / max } else { 0.0 };
    let hue = if delta <= f32::EPSILON {
        0.0
    } else if max == r {
        ((g - b) / delta).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / delta + 2.0) / 6.0
    } else {
        ((r - g) / delta + 4.0) / 6.0
    };
    (hue, saturation, max)
}

/// Mean and population standard deviation.
fn mean_std(values: &[f32]) -> (f32, f32) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, variance.max(0.0).sqrt())
}

/// Features of an image of any size (reduced to [`FEATURE_SIZE`]² first when it differs).
pub fn image_features(image: &RgbImage) -> [f32; FEATURE_COUNT] {
    if image.width() != FEATURE_SIZE || image.height() != FEATURE_SIZE {
        let dynamic = DynamicImage::ImageRgb8(image.clone());
        return thumbnail_features(&square_thumbnail(&dynamic, FEATURE_SIZE));
    }
    thumbnail_features(image)
}

/// Features of an image that already is a [`FEATURE_SIZE`]² thumbnail.
fn thumbnail_features(image: &RgbImage) -> [f32; FEATURE_COUNT] {
    let width = image.width() as usize;
    let height = image.height() as usize;
    let count = width * height;
    let mut red = Vec::with_capacity(count);
    let mut green = Vec::with_capacity(count);
    let mut blue = Vec::with_capacity(count);
    let mut luma = Vec::with_capacity(count);
    let mut sat = Vec::with_capacity(count);
    let mut val = Vec::with_capacity(count);
    let mut hue = Vec::with_capacity(count);
    for pixel in image.pixels() {
        let [r, g, b] = pixel.0.map(|c| c as f32 / 255.0);
        let (h, s, v) = rgb_to_hsv(r, g, b);
        red.push(r);
        green.push(g);
        blue.push(b);
        luma.push(0.299 * r + 0.587 * g + 0.114 * b);
        sat.push(s);
        val.push(v);
        hue.push(h);
    }
    let mut features = Vec::with_capacity(FEATURE_COUNT);

    let (luma_mean, luma_std) = mean_std(&luma);
    let mut sorted = luma.clone();
    sorted.sort_by(f32::total_cmp);
    let percentile = |p: f32| sorted[((sorted.len() - 1) as f32 * p) as usize];
    features.extend([
        luma_mean,
        luma_std,
        percentile(0.05),
        percentile(0.5),
        percentile(0.95),
    ]);
    let (sat_mean, sat_std) = mean_std(&sat);
    let (val_mean, val_std) = mean_std(&val);
    features.extend([sat_mean, sat_std, val_mean, val_std]);

    // Hue is circular and meaningless for greys: weight each pixel by how coloured it is.
    let mut histogram = [0.0f32; HUE_BINS];
    let (mut cos_sum, mut sin_sum, mut weight_sum) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..count {
        let weight = sat[i] * val[i];
        let angle = hue[i] * std::f32::consts::TAU;
        cos_sum += weight * angle.cos();
        sin_sum += weight * angle.sin();
        weight_sum += weight;
        histogram[((hue[i] * HUE_BINS as f32) as usize).min(HUE_BINS - 1)] += weight;
    }
    let weight_sum = weight_sum.max(1e-6);
    let (hue_cos, hue_sin) = (cos_sum / weight_sum, sin_sum / weight_sum);
    features.extend([
        hue_cos,
        hue_sin,
        (hue_cos * hue_cos + hue_sin * hue_sin).sqrt(),
    ]);
    features.extend(histogram.iter().map(|h| h / weight_sum));

    // Hasler & Süsstrunk (2003) colourfulness on opponent channels.
    let rg: Vec<f32> = (0..count).map(|i| red[i] - green[i]).collect();
    let yb: Vec<f32> = (0..count)
        .map(|i| 0.5 * (red[i] + green[i]) - blue[i])
        .collect();
    let (rg_mean, rg_std) = mean_std(&rg);
    let (yb_mean, yb_std) = mean_std(&yb);
    let colourfulness = (rg_std * rg_std + yb_std * yb_std).sqrt()
        + 0.3 * (rg_mean * rg_mean + yb_mean * yb_mean).sqrt();
    let warmth: Vec<f32> = (0..count).map(|i| red[i] - blue[i]).collect();
    let greenness = (0..count)
        .map(|i| green[i] - 0.5 * (red[i] + blue[i]))
        .sum::<f32>()
        / count as f32;
    features.extend([colourfulness, mean_std(&warmth).0, greenness]);

    let fraction = |predicate: &dyn Fn(usize) -> bool| {
        (0..count).filter(|&i| predicate(i)).count() as f32 / count as f32
    };
    features.extend([
        fraction(&|i| luma[i] < 0.15),
        fraction(&|i| luma[i] > 0.85),
        fraction(&|i| sat[i] > 0.5 && val[i] > 0.2),
    ]);

    // Layout: sky, horizon band and ground are where landscapes carry their mood.
    let third_mean = |values: &[f32], third: usize| {
        let rows = (third * height / 3)..((third + 1) * height / 3);
        let slice = &values[rows.start * width..rows.end * width];
        mean_std(slice).0
    };
    for values in [&luma, &sat, &warmth] {
        features.extend((0..3).map(|third| third_mean(values, third)));
    }

    // Texture: gradients of luma (storms, rocks and waves are busy; calm lakes are smooth).
    let mut gradient = vec![0.0f32; count];
    let mut detail = vec![0.0f32; count];
    for y in 0..height {
        for x in 0..width {
            let at = |xx: usize, yy: usize| luma[yy * width + xx];
            let dx = at((x + 1).min(width - 1), y) - at(x.saturating_sub(1), y);
            let dy = at(x, (y + 1).min(height - 1)) - at(x, y.saturating_sub(1));
            gradient[y * width + x] = 0.5 * (dx * dx + dy * dy).sqrt();
            let mut blur = 0.0;
            for oy in [y.saturating_sub(1), y, (y + 1).min(height - 1)] {
                for ox in [x.saturating_sub(1), x, (x + 1).min(width - 1)] {
                    blur += at(ox, oy);
                }
            }
            detail[y * width + x] = (at(x, y) - blur / 9.0).abs();
        }
    }
    features.extend([
        mean_std(&gradient).0,
        gradient.iter().filter(|&&g| g > 0.08).count() as f32 / count as f32,
        third_mean(&gradient, 0),
        third_mean(&gradient, 2),
        mean_std(&detail).0,
    ]);

    let (red_mean, red_std) = mean_std(&red);
    let (green_mean, green_std) = mean_std(&green);
    let (blue_mean, blue_std) = mean_std(&blue);
    features.extend([
        red_mean, green_mean, blue_mean, red_std, green_std, blue_std,
    ]);
    features.extend([third_mean(&blue, 0), third_mean(&green, 2)]);

    let mut out = [0.0f32; FEATURE_COUNT];
    for (slot, value) in out.iter_mut().zip(features) {
        *slot = if value.is_finite() { value } else { 0.0 };
    }
    out
}
