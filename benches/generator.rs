//! Single-thread 64×64 inference time of the landscape generator, against baselines measured in
//! the same run:
//! - the same network through candle's built-in NCHW `conv2d`;
//! - the same network through the unfused im2col training graph;
//! - per upsampling stage, candle's `conv_transpose2d` (the usual GAN upsampler, a direct loop on
//!   the CPU) against nearest upsampling + im2col matmul convolution of the same shapes.
//!
//! - the learned 4× upscaler (Real-ESRGAN animevideov3) per 64→256 picture on one thread, against
//!   the generator's time and a bicubic resize of the same picture (goal: ≤ 0.5 s), and its 16
//!   body convolutions through candle's matmul against the one-thread gemm they use.
//!
//! Run with `cargo bench --bench generator`.

use candle_core::{Device, Tensor};
use moodscape::landscape::generator::{ConvPath, DEFAULT_CHANNELS};
use moodscape::landscape::layers::{upsample2x, Conv3x3, Upsampling};
use moodscape::landscape::{Generator, Latent};
use moodscape::pretrained::upscaler::Upscaler;
use moodscape::va::Va;
use std::time::Instant;

/// Median milliseconds of `runs` calls after `warmup` untimed ones.
fn time_ms(warmup: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    // candle's element-wise ops have their own worker pool sized by this variable; the generator's
    // own ops never reach its size threshold at 64×64, but the baselines do.
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    let generator = match Generator::embedded() {
        Ok(generator) => generator,
        Err(error) => {
            eprintln!("generator bench skipped: {error}");
            return;
        }
    };
    let latent = Latent::from_seed(9);
    let va = Va {
        valence: 0.3,
        arousal: -0.4,
    };
    let fused = time_ms(20, 200, || {
        generator.generate(&latent, va).unwrap();
    });
    let z = Tensor::from_vec(
        latent.values.clone(),
        (1, latent.values.len()),
        &Device::Cpu,
    )
    .unwrap();
    let va_tensor = Tensor::new(&[[va.valence, va.arousal]], &Device::Cpu).unwrap();
    let net = generator.net();
    let unfused = time_ms(10, 100, || {
        generator.on_generator_thread(|| {
            net.forward_with(&z, &va_tensor, ConvPath::Im2colMatmul)
                .unwrap()
                .to_vec3::<f32>()
                .ok()
        });
    });
    let builtin = time_ms(10, 100, || {
        generator.on_generator_thread(|| {
            net.forward_with(&z, &va_tensor, ConvPath::CandleConv2d)
                .unwrap()
                .to_vec3::<f32>()
                .ok()
        });
    });
    println!(
        "generator {}x{} on one thread:",
        generator.image_size(),
        generator.image_size()
    );
    println!("  fused im2col+matmul (shipped)   {fused:7.3} ms/image");
    println!(
        "  unfused im2col training graph   {unfused:7.3} ms/image  ({:.2}x the shipped time)",
        unfused / fused
    );
    println!(
        "  candle conv2d (NCHW built-in)   {builtin:7.3} ms/image  ({:.2}x the shipped time)",
        builtin / fused
    );
    let mut by_upsampling = Vec::new();
    for upsampling in [Upsampling::Nearest, Upsampling::Bilinear] {
        let variant = net.with_upsampling(upsampling);
        let ms = time_ms(10, 100, || {
            generator.on_generator_thread(|| {
                variant
                    .forward_inference(&z, &va_tensor)
                    .unwrap()
                    .to_vec3::<f32>()
                    .ok()
            });
        });
        by_upsampling.push(ms);
    }
    println!(
        "  fused, nearest / bilinear upsampling {:.3} / {:.3} ms/image ({:.2}x; shipped: {:?})",
        by_upsampling[0],
        by_upsampling[1],
        by_upsampling[1] / by_upsampling[0],
        net.upsampling()
    );

    // The learned upscaler, on its own one-thread pool, against the generator measured above.
    match Upscaler::embedded() {
        Ok(upscaler) => {
            let native = generator.generate(&latent, va).unwrap();
            let upscale = time_ms(2, 15, || {
                upscaler.upscale(&native).unwrap();
            });
            let bicubic = time_ms(3, 30, || {
                image::imageops::resize(&native, 256, 256, image::imageops::FilterType::CatmullRom);
            });
            println!("upscaler 64->256 (Real-ESRGAN animevideov3, 17 convs) on one thread:");
            println!(
                "  learned 4x upscale              {upscale:7.1} ms/image  ({:.1}x the generator, {:.0}x a bicubic resize at {bicubic:.2} ms; goal <= 500 ms: {})",
                upscale / fused,
                upscale / bicubic,
                if upscale <= 500.0 { "met" } else { "MISSED" }
            );
            println!(
                "  generator + upscaler (a keyframe) {:7.1} ms",
                fused + upscale
            );
            // Its 16 body convolutions, called from a plain thread like the landscape thread
            // does: candle's matmul (gemm told to split the work for every core, which on the
            // one-thread pool runs serially) against gemm on this thread alone (the shipped
            // `forward_no_bias`).
            let varmap = candle_nn::VarMap::new();
            let vb =
                candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &Device::Cpu);
            let body: Vec<Conv3x3> = (0..16)
                .map(|index| Conv3x3::new(64, 64, vb.pp(index.to_string())).unwrap())
                .collect();
            let features = Tensor::randn(0f32, 0.1, (1, 64, 64, 64), &Device::Cpu).unwrap();
            let run_body = |shipped: bool| {
                upscaler.on_upscaler_thread(|| {
                    let mut h = features.clone();
                    for conv in &body {
                        h = if shipped {
                            conv.forward_no_bias(&h).unwrap()
                        } else {
                            conv.forward(&h).unwrap()
                        };
                    }
                    h
                })
            };
            let (candle_matmul, this_thread) = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        (
                            time_ms(1, 9, || {
                                run_body(false);
                            }),
                            time_ms(1, 9, || {
                                run_body(true);
                            }),
                        )
                    })
                    .join()
                    .unwrap()
            });
            println!(
                "  its 16 body convs, 64x64x64: candle matmul (training path) {candle_matmul:6.1} ms, gemm on this thread {this_thread:6.1} ms ({:.2}x faster)",
                candle_matmul / this_thread
            );
        }
        Err(error) => eprintln!("upscaler bench skipped: {error}"),
    }

    // Transposed convolution against upsample + matmul conv, stage by stage.
    let mut transposed_total = 0.0;
    let mut matmul_total = 0.0;
    let mut side = 4;
    for pair in DEFAULT_CHANNELS.windows(2) {
        let (cin, cout) = (pair[0], pair[1]);
        let x_nhwc = Tensor::randn(0f32, 1.0, (1, side, side, cin), &Device::Cpu).unwrap();
        let x_nchw = x_nhwc.permute((0, 3, 1, 2)).unwrap().contiguous().unwrap();
        let kernel = Tensor::randn(0f32, 0.05, (cin, cout, 4, 4), &Device::Cpu).unwrap();
        let varmap = candle_nn::VarMap::new();
        let conv = Conv3x3::new(
            cin,
            cout,
            candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &Device::Cpu),
        )
        .unwrap();
        let transposed = time_ms(5, 50, || {
            generator.on_generator_thread(|| x_nchw.conv_transpose2d(&kernel, 1, 0, 2, 1).unwrap());
        });
        let matmul = time_ms(5, 50, || {
            generator.on_generator_thread(|| conv.forward(&upsample2x(&x_nhwc).unwrap()).unwrap());
        });
        println!(
            "  stage {side:>2}->{:<3} {cin:>3}->{cout:<3}: conv_transpose2d {transposed:7.3} ms, upsample+matmul conv {matmul:7.3} ms ({:.2}x faster)",
            side * 2,
            transposed / matmul
        );
        transposed_total += transposed;
        matmul_total += matmul;
        side *= 2;
    }
    println!(
        "  all stages: conv_transpose2d {transposed_total:.3} ms vs upsample+matmul {matmul_total:.3} ms ({:.2}x faster)",
        transposed_total / matmul_total
    );
}
