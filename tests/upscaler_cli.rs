//! `moodscape render --size N` writes the painter's picture: the learned upscale for N > 64.

use moodscape::landscape::{LandscapePainter, Latent};
use moodscape::va::Va;
use std::process::Command;

#[test]
fn render_writes_the_painters_upscaled_picture() {
    let dir = std::env::temp_dir().join(format!("moodscape-upscaler-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("render-256.png");
    let status = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args([
            "render",
            "--valence",
            "0.5",
            "--arousal",
            "-0.5",
            "--seed",
            "11",
        ])
        .args(["--size", "256", "--out"])
        .arg(&out)
        .status()
        .expect("run moodscape render");
    assert!(status.success());
    let written = image::open(&out).expect("a PNG").to_rgb8();
    let painter = LandscapePainter::embedded().unwrap();
    let expected = painter
        .paint(
            &Latent::from_seed(11),
            Va {
                valence: 0.5,
                arousal: -0.5,
            },
            256,
        )
        .unwrap();
    assert_eq!(written.dimensions(), (256, 256));
    assert!(written == expected, "render did not go through the painter");

    let refused = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args([
            "render",
            "--valence",
            "0",
            "--arousal",
            "0",
            "--size",
            "3",
            "--out",
        ])
        .arg(dir.join("tiny.png"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--size"));
    let _ = std::fs::remove_dir_all(&dir);
}
