//! The candle port of Real-ESRGAN `realesr-animevideov3` against the independent numpy reference
//! forward of `xtask/convert/upscaler.py` (float64, direct 9-tap convolutions in CHW layout) on
//! the committed fixture, and its refusal of damaged weights.

use candle_core::{Device, Tensor};
use moodscape::pretrained::upscaler::{Upscaler, SCALE};
use std::path::PathBuf;

fn fixture() -> (Tensor, Tensor) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upscaler/reference.safetensors");
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu).expect("fixture loads");
    (tensors["input"].clone(), tensors["output"].clone())
}

fn weights() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/upscaler-x4.safetensors"))
        .expect("models/upscaler-x4.safetensors is committed")
}

#[test]
fn candle_port_matches_the_numpy_reference() {
    let (input, expected) = fixture();
    let (_, h, w, _) = input.dims4().unwrap();
    let upscaler = Upscaler::embedded().expect("the embedded upscaler loads");
    let output = upscaler.forward(&input).expect("forward runs");
    assert_eq!(output.dims4().unwrap(), (1, h * SCALE, w * SCALE, 3));
    let got: Vec<f32> = output.flatten_all().unwrap().to_vec1().unwrap();
    let want: Vec<f32> = expected.flatten_all().unwrap().to_vec1().unwrap();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("max |candle - numpy| = {worst:.2e}");
    assert!(
        worst < 1e-3,
        "candle port differs from the reference by {worst}"
    );
}

#[test]
fn the_network_adds_detail_beyond_nearest_upsampling() {
    let (input, expected) = fixture();
    let (_, h, w, _) = input.dims4().unwrap();
    let pixels: Vec<f32> = input.flatten_all().unwrap().to_vec1().unwrap();
    let want: Vec<f32> = expected.flatten_all().unwrap().to_vec1().unwrap();
    let (oh, ow) = (h * SCALE, w * SCALE);
    let mut detail = 0.0f32;
    for y in 0..oh {
        for x in 0..ow {
            for c in 0..3 {
                let nearest = pixels[((y / SCALE) * w + x / SCALE) * 3 + c];
                detail += (want[(y * ow + x) * 3 + c] - nearest).abs();
            }
        }
    }
    detail /= (oh * ow * 3) as f32;
    assert!(
        detail > 0.01,
        "reference output is almost nearest upsampling (mean |residual| {detail}): the fixture \
         would not test the convolutions"
    );
}

#[test]
fn upscale_gives_a_four_times_larger_picture() {
    let upscaler = Upscaler::embedded().unwrap();
    // Non-square, so a width/height mix-up in the image path would show; gentle gradients, which
    // this anime model keeps (steep ones it flattens into bands, as the numpy reference does).
    let picture = image::RgbImage::from_fn(20, 12, |x, y| {
        image::Rgb([(60 + x * 4) as u8, (40 + y * 6) as u8, 90])
    });
    let big = upscaler.upscale(&picture).unwrap();
    assert_eq!(big.dimensions(), (80, 48));
    // Each 4×4 block of the upscale, averaged, is close to the pixel it came from.
    let mut error = 0.0;
    for (x, y, source) in picture.enumerate_pixels() {
        for c in 0..3 {
            let block: f64 = (0..16)
                .map(|i| f64::from(big.get_pixel(x * 4 + i % 4, y * 4 + i / 4)[c]))
                .sum::<f64>()
                / 16.0;
            error += (block - f64::from(source[c])).abs();
        }
    }
    error /= (20 * 12 * 3) as f64;
    println!("mean |block average - source| = {error:.2} levels");
    assert!(
        error < 10.0,
        "upscale strays from its input by {error:.1} levels on average"
    );
    assert!(upscaler.upscale(&image::RgbImage::new(0, 0)).is_err());
}

#[test]
fn damaged_weights_are_refused_with_a_message() {
    let real = weights();
    let truncated = Upscaler::from_bytes(&real[..real.len() / 2]);
    assert!(truncated.is_err(), "a truncated file must be refused");
    assert!(Upscaler::from_bytes(b"not a safetensors file").is_err());
    assert!(Upscaler::from_bytes(&[]).is_err());

    // Same header, weights overwritten with NaN (0xFFFF in float16) from the middle onwards.
    let mut poisoned = real.clone();
    let header = u64::from_le_bytes(real[..8].try_into().unwrap()) as usize + 8;
    for byte in &mut poisoned[header + (real.len() - header) / 2..] {
        *byte = 0xFF;
    }
    let error = Upscaler::from_bytes(&poisoned)
        .err()
        .expect("NaN weights must be refused");
    assert!(error.to_string().contains("NaN"), "{error}");

    // A file from another network: the generator's weights.
    let foreign = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/landscape-gen.safetensors"),
    )
    .unwrap();
    let error = Upscaler::from_bytes(&foreign)
        .err()
        .expect("foreign weights must be refused");
    assert!(!error.to_string().contains('\n'), "one line: {error}");
}
