//! The one path from a mood and a point of the noise space to the picture people see.
//!
//! The generator paints at its native 64 px; every larger picture goes through the learned 4×
//! upscaler (Real-ESRGAN, [`crate::pretrained::upscaler`]) to 256 px first, and only then, if
//! another size was asked for, through a bicubic resize.
//!
//! Before the upscale, [`soften_generator_grid`] removes the generator's 2-pixel checkerboard (the
//! trace of its nearest-neighbour upsampling stages). Real-ESRGAN, an anime/video model, takes
//! that pattern for line art and hardens it into a maze of hard-edged 4×4 and 8×8 blobs; without
//! it the upscale comes out as a clean, soft painting (see `tests/editor_screenshot.rs`). The editor's landscape thread, `render`,
//! `grid`, `demo` and `survey kit` all call [`LandscapePainter`], so they show the same pictures.

use image::imageops::FilterType;
use image::RgbImage;

use super::{Generator, LandscapeError, Latent};
use crate::pretrained::upscaler::{Upscaler, SCALE};
use crate::va::Va;

/// Side of the pictures the editor shows and the survey and demo write: the generator's 64 px
/// through the 4× upscaler.
pub const DISPLAY_SIDE: u32 = 256;

/// One painted landscape in both sizes.
#[derive(Debug, Clone)]
pub struct Painting {
    /// The generator's own output (for image features that were trained at this size).
    pub native: RgbImage,
    /// The picture at the requested size.
    pub display: RgbImage,
}

/// Generator plus upscaler, both on one thread each (never both at once: a call runs them in
/// turn, so a painting costs one core).
pub struct LandscapePainter {
    /// The VA-conditioned GAN.
    generator: Generator,
    /// The learned 4× upscaler for every size above the generator's.
    upscaler: Upscaler,
}

impl LandscapePainter {
    pub fn new(generator: Generator, upscaler: Upscaler) -> Self {
        Self {
            generator,
            upscaler,
        }
    }

    /// The generator and the upscaler built into the binary.
    pub fn embedded() -> Result<Self, LandscapeError> {
        let generator = Generator::embedded()?;
        let upscaler = Upscaler::embedded().map_err(|e| LandscapeError::Model(e.to_string()))?;
        Ok(Self::new(generator, upscaler))
    }

    /// The generator (for its native size and benches).
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The upscaler (for benches).
    pub fn upscaler(&self) -> &Upscaler {
        &self.upscaler
    }

    /// The landscape for `latent` in the mood `va`, `size` pixels a side (8 to 4096).
    pub fn paint(&self, latent: &Latent, va: Va, size: u32) -> Result<RgbImage, LandscapeError> {
        let mut paintings = self.paint_batch(
            std::slice::from_ref(latent),
            std::slice::from_ref(&va),
            size,
        )?;
        Ok(paintings.remove(0).display)
    }

    /// Several landscapes (grids, the survey); the generator runs them as one batch, the
    /// upscaler one at a time (its working memory grows with the batch).
    pub fn paint_batch(
        &self,
        latents: &[Latent],
        moods: &[Va],
        size: u32,
    ) -> Result<Vec<Painting>, LandscapeError> {
        if !(8..=4096).contains(&size) {
            return Err(LandscapeError::Model(format!(
                "a landscape must be 8 to 4096 pixels a side, not {size}"
            )));
        }
        let natives = self.generator.generate_batch(latents, moods)?;
        natives
            .into_iter()
            .map(|native| {
                let display = self.resize(&native, size)?;
                Ok(Painting { native, display })
            })
            .collect()
    }

    /// `native` at `size`: the learned upscale for anything larger than the generator's output.
    fn resize(&self, native: &RgbImage, size: u32) -> Result<RgbImage, LandscapeError> {
        let native_side = native.width();
        if size == native_side {
            return Ok(native.clone());
        }
        if size < native_side {
            return Ok(image::imageops::resize(
                native,
                size,
                size,
                FilterType::CatmullRom,
            ));
        }
        let upscaled = self
            .upscaler
            .upscale(&soften_generator_grid(native))
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        if size == native_side * SCALE as u32 {
            return Ok(upscaled);
        }
        Ok(image::imageops::resize(
            &upscaled,
            size,
            size,
            FilterType::CatmullRom,
        ))
    }
}

/// A [1, 2, 1]/4 binomial blur in both directions (edges repeated): it cancels a 2-pixel
/// checkerboard exactly (its response at the Nyquist frequency is 0) and keeps flat areas as
/// they are.
pub fn soften_generator_grid(image: &RgbImage) -> RgbImage {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return image.clone();
    }
    let at = |x: i64, y: i64, c: usize| -> u32 {
        let x = x.clamp(0, i64::from(width) - 1) as u32;
        let y = y.clamp(0, i64::from(height) - 1) as u32;
        u32::from(image.get_pixel(x, y)[c])
    };
    RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = (i64::from(x), i64::from(y));
        image::Rgb([0, 1, 2].map(|c| {
            let row = |y: i64| at(x - 1, y, c) + 2 * at(x, y, c) + at(x + 1, y, c);
            ((row(y - 1) + 2 * row(y) + row(y + 1) + 8) / 16) as u8
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softening_cancels_a_checkerboard_and_keeps_flat_areas() {
        let checker = RgbImage::from_fn(8, 8, |x, y| {
            image::Rgb([if (x + y) % 2 == 0 { 200 } else { 100 }; 3])
        });
        let soft = soften_generator_grid(&checker);
        for pixel in soft.pixels() {
            assert!((i32::from(pixel[0]) - 150).abs() <= 25, "{pixel:?}");
        }
        // Away from the edges the pattern is gone entirely.
        assert_eq!(soft.get_pixel(3, 3), soft.get_pixel(4, 3));
        let flat = RgbImage::from_pixel(5, 5, image::Rgb([9, 80, 251]));
        assert_eq!(soften_generator_grid(&flat), flat);
    }
}
