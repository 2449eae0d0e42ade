//! Golden images of what `render` draws: a signed and an unsigned map over an image, a map on
//! superpixels with its top segments and boundaries, token highlights and an attention matrix.
//! Each is compared with the PNG in `data/golden/` to within one level per channel (colour maps
//! are tables, but float rounding may differ across platforms). After a deliberate change to the
//! drawing, `REGENERATE=1 cargo test --test render` writes the PNGs anew; look at them before
//! committing. Natively only: the comparison reads files.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use glimpse::explain::SegmentScores;
use glimpse::render::{self, Colormap, Heatmap, Style};
use image::{RgbImage, RgbaImage};
use ndarray::Array2;

const SIZE: u32 = 48;

fn golden(name: &str, width: u32, height: u32, rgba: Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden").join(name);
    let got = RgbaImage::from_raw(width, height, rgba).expect("the drawing has the size asked for");
    if std::env::var_os("REGENERATE").is_some() {
        got.save(&path).unwrap();
        return;
    }
    let want =
        image::open(&path).unwrap_or_else(|e| panic!("{}: {e}; REGENERATE=1 writes it", path.display()));
    let want = want.into_rgba8();
    assert_eq!(want.dimensions(), got.dimensions(), "{name}");
    let worst = got.as_raw().iter().zip(want.as_raw()).map(|(&a, &b)| a.abs_diff(b)).max().unwrap_or(0);
    assert!(worst <= 1, "{name}: a channel differs by {worst} from the golden image");
}

/// A colourful image: a gradient with a disc.
fn image() -> RgbImage {
    RgbImage::from_fn(SIZE, SIZE, |x, y| {
        let disc = (x as f32 - 30.0).powi(2) + (y as f32 - 18.0).powi(2) < 100.0;
        if disc {
            image::Rgb([240, 200, 40])
        } else {
            image::Rgb([(5 * x) as u8, (4 * y) as u8, 160])
        }
    })
}

/// A smooth signed map: positive upper left, negative lower right.
fn values() -> Array2<f32> {
    Array2::from_shape_fn((SIZE as usize, SIZE as usize), |(y, x)| {
        ((x as f32) / 8.0).sin() * 2.0 - (y as f32) / 16.0
    })
}

#[test]
fn a_signed_and_an_unsigned_map_over_an_image() {
    let image = image();
    let signed = Heatmap { values: values(), signed: true, segments: None };
    let scale = render::scale(&[&signed], 99.0);
    let rgba = render::overlay(&signed, scale, Style::new(Colormap::BlueRed, 0.85), &image).unwrap();
    golden("overlay_signed.png", SIZE, SIZE, rgba);

    let unsigned = Heatmap { values: values().mapv(f32::abs), signed: false, segments: None };
    let scale = render::scale(&[&unsigned], 99.0);
    let rgba = render::overlay(&unsigned, scale, Style::new(Colormap::Inferno, 0.85), &image).unwrap();
    golden("overlay_unsigned.png", SIZE, SIZE, rgba);
    // The layer the page draws over the grey image, alpha included.
    let rgba = render::layer(&unsigned, scale, Style::new(Colormap::Inferno, 1.0), &image).unwrap();
    golden("layer_unsigned.png", SIZE, SIZE, rgba);
}

#[test]
fn a_map_on_superpixels_with_its_top_segments_and_boundaries() {
    // Four quadrants, scores 3, −2, 0.5, −0.1.
    let labels = Array2::from_shape_fn((SIZE as usize, SIZE as usize), |(y, x)| {
        u32::from(x >= SIZE as usize / 2) + 2 * u32::from(y >= SIZE as usize / 2)
    });
    let scores = vec![3.0, -2.0, 0.5, -0.1];
    let values = labels.mapv(|l| scores[l as usize]);
    let segments = SegmentScores { labels, scores, r_squared: None };
    let heat = Heatmap { values, signed: true, segments: Some(segments) };
    let style = Style { top: Some(1), boundaries: true, ..Style::new(Colormap::BlueRed, 0.85) };
    let rgba = render::overlay(&heat, 3.0, style, &image()).unwrap();
    golden("segments_top1_boundaries.png", SIZE, SIZE, rgba);
}

#[test]
fn token_highlights_and_an_attention_matrix() {
    let scores = [None, Some(0.9), Some(-0.4), Some(0.0), Some(-1.0), None];
    let colours = render::token_colours(&scores, 1.0, Colormap::BlueRed);
    // One 8×8 swatch per token.
    let rgba = (0..8)
        .flat_map(|_| colours.iter().flat_map(|&[r, g, b]| (0..8).flat_map(move |_| [r, g, b, 255])))
        .collect();
    golden("tokens.png", 8 * colours.len() as u32, 8, rgba);

    let matrix =
        Array2::from_shape_fn((6, 6), |(i, j)| if i == j { 0.5 } else { 0.1 * (i + j) as f32 / 10.0 });
    let rgba = render::matrix(matrix.view(), 0.5, Colormap::Inferno);
    golden("matrix.png", 6, 6, rgba);
}
