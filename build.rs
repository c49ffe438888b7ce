//! Embeds the committed models when they exist, so the plugin and the CLI carry them inside the
//! binary. A missing model is not an error at build time: the plugin then reports "no model".
use std::path::Path;

fn main() {
    for (file, cfg) in [
        ("models/va-forest.bin", "has_va_model"),
        ("models/landscape-gen.safetensors", "has_landscape_model"),
        ("models/image-va.bin", "has_image_va_model"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-changed={file}");
        if Path::new(file).exists() {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
