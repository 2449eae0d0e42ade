//! Image → model input, in one place: resize the short side, centre-crop, normalise, NCHW.
//!
//! The page decodes images in the browser and hands over RGBA bytes; the CLI decodes with the
//! `image` crate. Both meet here, so the page and the CLI feed the model the same tensor.

use image::imageops::{self, FilterType};
use image::{RgbImage, RgbaImage};
use ndarray::Array4;

use crate::config::Preprocess;
use crate::error::{Error, Result};

/// The largest image accepted, in pixels (about 8000×6000). Larger photos are rejected with a
/// message rather than risking the tab's memory.
pub const MAX_PIXELS: u64 = 50_000_000;

/// An RGBA image as the browser's `ImageData` holds it: row-major, 4 bytes a pixel.
#[derive(Debug, Clone, Copy)]
pub struct RgbaPixels<'a> {
    pub width: u32,
    pub height: u32,
    pub data: &'a [u8],
}

/// Checks the size of an image before anything is allocated for it.
pub fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image("The image is empty (0 pixels).".into()));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(Error::Image(format!(
            "The image is {width}×{height} ({:.0} megapixels); Glimpse accepts up to {} megapixels.",
            pixels as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

/// Checks an encoded image file's size from its header alone, before anyone decodes it.
///
/// Formats whose header cannot be read here are left to the decoder, which reports its own
/// errors; the size is checked again on the decoded pixels.
pub fn check_encoded(bytes: &[u8]) -> Result<()> {
    match imagesize::blob_size(bytes) {
        Ok(size) => check_size(
            u32::try_from(size.width).unwrap_or(u32::MAX),
            u32::try_from(size.height).unwrap_or(u32::MAX),
        ),
        Err(_) => Ok(()),
    }
}

/// The image as the model sees it: resized and centre-cropped, before normalisation.
pub fn model_view(pixels: RgbaPixels<'_>, spec: &Preprocess) -> Result<RgbImage> {
    check_size(pixels.width, pixels.height)?;
    let expected = 4 * pixels.width as usize * pixels.height as usize;
    if pixels.data.len() != expected {
        return Err(Error::Image(format!(
            "{} bytes of RGBA do not make a {}×{} image ({expected} bytes).",
            pixels.data.len(),
            pixels.width,
            pixels.height
        )));
    }
    let rgba = RgbaImage::from_raw(pixels.width, pixels.height, pixels.data.to_vec())
        .ok_or_else(|| Error::Image("The pixel buffer does not match its size.".into()))?;
    let rgb = image::DynamicImage::ImageRgba8(rgba).into_rgb8();

    let (w, h) = (pixels.width as f64, pixels.height as f64);
    let scale = f64::from(spec.resize_short_side) / w.min(h);
    // Never below the crop, whatever rounding does.
    let new_w = ((w * scale).round() as u32).max(spec.width);
    let new_h = ((h * scale).round() as u32).max(spec.height);
    let resized = imageops::resize(&rgb, new_w, new_h, FilterType::Triangle);

    let left = (new_w - spec.width) / 2;
    let top = (new_h - spec.height) / 2;
    Ok(imageops::crop_imm(&resized, left, top, spec.width, spec.height).to_image())
}

/// Normalises a model view into a 1×3×H×W tensor: `(pixel − mean) / std` per channel.
pub fn to_tensor(view: &RgbImage, spec: &Preprocess) -> Array4<f32> {
    let (w, h) = view.dimensions();
    Array4::from_shape_fn((1, 3, h as usize, w as usize), |(_, c, y, x)| {
        let p = f32::from(view.get_pixel(x as u32, y as u32)[c]);
        (p - spec.mean[c]) / spec.std[c]
    })
}

/// RGBA bytes of a model view, ready for the page's `ImageData`.
pub fn to_rgba_bytes(view: &RgbImage) -> Vec<u8> {
    view.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Preprocess {
        Preprocess { height: 4, width: 4, resize_short_side: 4, mean: [127.0; 3], std: [128.0; 3] }
    }

    #[test]
    fn wide_image_is_centre_cropped() {
        // 8×4 image: left half black, right half white, so the centre crop is half and half.
        let mut data = Vec::new();
        for _y in 0..4 {
            for x in 0..8 {
                let v = if x < 4 { 0 } else { 255 };
                data.extend_from_slice(&[v, v, v, 255]);
            }
        }
        let view = model_view(RgbaPixels { width: 8, height: 4, data: &data }, &spec()).unwrap();
        assert_eq!(view.dimensions(), (4, 4));
        assert_eq!(view.get_pixel(0, 0)[0], 0);
        assert_eq!(view.get_pixel(3, 0)[0], 255);
    }

    #[test]
    fn normalisation_follows_the_spec() {
        let view = RgbImage::from_pixel(4, 4, image::Rgb([255, 127, 0]));
        let t = to_tensor(&view, &spec());
        assert_eq!(t.shape(), &[1, 3, 4, 4]);
        assert_eq!(t[[0, 0, 2, 2]], 1.0);
        assert_eq!(t[[0, 1, 2, 2]], 0.0);
        assert_eq!(t[[0, 2, 2, 2]], -127.0 / 128.0);
    }

    #[test]
    fn huge_and_empty_images_are_refused_with_a_message() {
        let err = check_size(20_000, 20_000).unwrap_err().to_string();
        assert!(err.contains("20000×20000"), "{err}");
        assert!(check_size(0, 10).is_err());
        let bad = model_view(RgbaPixels { width: 2, height: 2, data: &[0; 3] }, &spec());
        assert!(bad.is_err());
    }

    #[test]
    fn huge_png_is_refused_from_its_header() {
        // A PNG signature and IHDR chunk claiming 30000×30000; no pixel data is needed.
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&30_000u32.to_be_bytes());
        png.extend_from_slice(&30_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let err = check_encoded(&png).unwrap_err().to_string();
        assert!(err.contains("30000×30000"), "{err}");
        assert!(check_encoded(b"plain text").is_ok(), "unknown formats are left to the decoder");
    }
}
