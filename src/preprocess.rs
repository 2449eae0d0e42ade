//! Image → model input, in one place: resize the short side, centre-crop, normalise, NCHW.
//!
//! Its input is whatever a person drops on the page: nothing indexes without checking (clippy's
//! `indexing_slicing` is denied).
#![deny(clippy::indexing_slicing)]
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

/// The longest side may be at most this many times the shortest: the model sees a centred
/// square, which of a longer image would be a sliver.
pub const MAX_ASPECT: u32 = 100;

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
    let (long, short) = (width.max(height), width.min(height));
    if long / short > MAX_ASPECT {
        return Err(Error::Image(format!(
            "The image is {width}×{height}, {} times longer than it is wide; the model would see only a \
             sliver of its middle. Glimpse accepts up to {MAX_ASPECT} times: crop it first.",
            long / short
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
    let mut rgb = image::DynamicImage::ImageRgba8(rgba).into_rgb8();

    let scale = f64::from(spec.resize_short_side) / f64::from(pixels.width.min(pixels.height));
    // An image far longer than it is wide (32000×1) would be resized to billions of pixels
    // before the crop: cut it in source pixels first, to what the crop needs plus the filter's
    // reach. Ordinary photos keep resize-then-crop exactly.
    let (left, width) = source_span(pixels.width, spec.width, scale);
    let (top, height) = source_span(pixels.height, spec.height, scale);
    if (width, height) != rgb.dimensions() {
        rgb = imageops::crop_imm(&rgb, left, top, width, height).to_image();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    // Never below the crop, whatever rounding does.
    let new_w = ((w * scale).round() as u32).max(spec.width);
    let new_h = ((h * scale).round() as u32).max(spec.height);
    let resized = imageops::resize(&rgb, new_w, new_h, FilterType::Triangle);

    let left = (new_w - spec.width) / 2;
    let top = (new_h - spec.height) / 2;
    Ok(imageops::crop_imm(&resized, left, top, spec.width, spec.height).to_image())
}

/// The part of a source axis of `len` pixels that resizing by `scale` and centre-cropping to
/// `crop` needs: all of it, unless resizing would make it more than [`MAX_STRETCH`] times the
/// crop; then the centre, with a margin for the resize filter.
fn source_span(len: u32, crop: u32, scale: f64) -> (u32, u32) {
    if f64::from(len) * scale <= f64::from(crop * MAX_STRETCH) {
        return (0, len);
    }
    // The triangle filter reaches one source pixel, or 1/scale of them when shrinking.
    let margin = (1.0 / scale).max(1.0).ceil() as u32 + 1;
    let needed = ((f64::from(crop) / scale).ceil() as u32 + 2 * margin).min(len);
    ((len - needed) / 2, needed)
}

/// How much longer than the crop a resized side may be before the source is cut first.
const MAX_STRETCH: u32 = 4;

/// Normalises a model view into a 1×C×H×W tensor: each of the model's channels from its
/// RGB component (or the grey luma), `(pixel − mean) / std`.
pub fn to_tensor(view: &RgbImage, spec: &Preprocess) -> Array4<f32> {
    let (w, h) = view.dimensions();
    let mut tensor = Array4::zeros((1, spec.channels, h as usize, w as usize));
    for (c, mut channel) in tensor.axis_iter_mut(ndarray::Axis(1)).enumerate() {
        let (mean, std) = spec.affine(c);
        let source = spec.source(c);
        for ((_, y, x), value) in channel.indexed_iter_mut() {
            let p = view.get_pixel_checked(x as u32, y as u32).map_or(0.0, |p| component(p.0, source));
            *value = (p - mean) / std;
        }
    }
    tensor
}

/// An RGB pixel's component, or its ITU-R 601 luma rounded as PIL's `convert("L")` does.
fn component(rgb: [u8; 3], source: Option<usize>) -> f32 {
    match source {
        Some(c) => f32::from(rgb.get(c).copied().unwrap_or(0)),
        None => {
            let [r, g, b] = rgb.map(u32::from);
            ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as f32
        }
    }
}

/// The image a 1×C×H×W input shows, its normalisation undone (how a `.npy` input is drawn);
/// `None` for a tensor that is not the description's.
pub fn from_tensor(input: &ndarray::ArrayD<f32>, spec: &Preprocess) -> Option<RgbImage> {
    let &[1, channels, h, w] = input.shape() else { return None };
    if channels != spec.channels {
        return None;
    }
    Some(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let pixel = |c: usize| {
            let (mean, std) = spec.affine(c);
            let v = input.get([0, c, y as usize, x as usize]).copied().unwrap_or(0.0);
            (v * std + mean).round().clamp(0.0, 255.0) as u8
        };
        // The channel an RGB component came from (the order is its own inverse; grey feeds all).
        image::Rgb(std::array::from_fn(|rgb| pixel(spec.source(rgb).unwrap_or(0))))
    }))
}

/// A tensor given in the model's layout (a `.npy` input) as Glimpse's methods take it: a
/// channels-last N×H×W×C one transposed to N×C×H×W.
pub fn channels_first(input: ndarray::ArrayD<f32>, spec: &Preprocess) -> ndarray::ArrayD<f32> {
    match (spec.layout, input.ndim()) {
        (crate::config::Layout::ChannelsLast, 4) => {
            input.permuted_axes(vec![0, 3, 1, 2]).as_standard_layout().into_owned()
        }
        _ => input,
    }
}

/// A tensor in pixel units (0‥255; N×C×H×W, or C×H×W for one image, in the model's channels)
/// normalised as the model's input is, `(pixel − mean) / std` per channel: a baseline given in
/// pixels. A tensor of another shape, or with no description, is returned as it is, batch axis
/// added.
pub fn normalise_pixels(mut pixels: ndarray::ArrayD<f32>, spec: Option<&Preprocess>) -> ndarray::ArrayD<f32> {
    if pixels.ndim() == 3 {
        pixels.insert_axis_inplace(ndarray::Axis(0));
    }
    if let Some(spec) = spec.filter(|s| pixels.ndim() == 4 && pixels.shape().get(1) == Some(&s.channels)) {
        for (c, mut channel) in pixels.axis_iter_mut(ndarray::Axis(1)).enumerate() {
            let (mean, std) = spec.affine(c);
            channel.mapv_inplace(|v| (v - mean) / std);
        }
    }
    pixels
}

/// RGBA bytes of a model view, ready for the page's `ImageData`.
pub fn to_rgba_bytes(view: &RgbImage) -> Vec<u8> {
    view.pixels().flat_map(|image::Rgb([r, g, b])| [*r, *g, *b, 255]).collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn spec() -> Preprocess {
        Preprocess::rgb(4, 4, 4, [127.0; 3], [128.0; 3])
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
    fn a_long_image_is_cut_in_source_pixels_before_resizing_and_a_sliver_is_refused() {
        // 32000×1 and 1×32000 pass the pixel limit; resized whole they would need gigabytes.
        let spec = Preprocess::rgb(224, 224, 256, [0.0; 3], [1.0; 3]);
        for (width, height) in [(32_000u32, 1u32), (1, 32_000)] {
            let data: Vec<u8> = (0..width * height).flat_map(|i| [(i % 251) as u8, 0, 0, 255]).collect();
            let error = model_view(RgbaPixels { width, height, data: &data }, &spec).unwrap_err().to_string();
            assert!(error.contains("32000 times longer than it is wide"), "{error}");
        }
        // 10000×100 is accepted, and only its middle is resized (2.56 M pixels, not 6.5 M).
        let (width, height) = (10_000u32, 100u32);
        let mut data = vec![0u8; (width * height * 4) as usize];
        for y in 0..height as usize {
            for x in 4_990..5_010 {
                let i = 4 * (y * width as usize + x);
                data[i..i + 4].copy_from_slice(&[255, 255, 255, 255]);
            }
        }
        let view = model_view(RgbaPixels { width, height, data: &data }, &spec).unwrap();
        assert_eq!(view.dimensions(), (224, 224));
        assert!(view.get_pixel(112, 100)[0] > 200, "the middle of the strip is what the model sees");
        assert!(view.get_pixel(0, 100)[0] < 50);
        assert_eq!(source_span(10_000, 224, 2.56), (4_954, 92));
        // An ordinary photo is not cut: 640×480 resizes whole.
        assert_eq!(source_span(640, 224, 256.0 / 480.0), (0, 640));
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
