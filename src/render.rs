//! Drawing attributions: one value per pixel, a scale (per map or shared, with percentile
//! clipping), a colour map, and an overlay on the image the model saw. RGBA bytes out.
//!
//! Signed maps use a diverging colour map centred at zero, magnitudes a sequential one. The
//! overlay's opacity at a pixel grows with |value| / scale, so where a map says nothing the
//! (greyed) image shows through.

use image::RgbImage;
use ndarray::{Array2, ArrayView2, Axis, Ix2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::explain::{Attribution, Display, SegmentScores};
use crate::resample::{bilinear, Corners};

/// One value per pixel of the model's input, ready to colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub values: Array2<f32>,
    /// Whether the values carry a sign (diverging colour map) or are magnitudes.
    pub signed: bool,
    /// The segmentation and per-segment scores, for maps on superpixels.
    pub segments: Option<SegmentScores>,
}

/// The attribution as one value per pixel at `height`×`width`: channels reduced as the
/// method's [`Display`] says, layer maps upsampled bilinearly.
pub fn heatmap(attribution: &Attribution, height: usize, width: usize) -> Result<Heatmap> {
    let display = attribution.method.display();
    let values = displayed(&attribution.map, display, height, width)?;
    let segments = attribution.segments.clone().filter(|s| s.labels.dim() == values.dim());
    Ok(Heatmap { values, signed: display.signed(), segments })
}

/// A raw map (1×C×h×w) as a tile shows it: its channels reduced by `display`, at
/// `height`×`width` (a layer's map upsampled bilinearly). The metrics rank a map by these values.
pub fn displayed(
    map: &ndarray::ArrayD<f32>,
    display: Display,
    height: usize,
    width: usize,
) -> Result<Array2<f32>> {
    if map.ndim() != 4 || map.shape()[0] != 1 {
        let shape = crate::error::shape(map.shape());
        return Err(Error::Explain(format!("A map of shape {shape} cannot be drawn as an image.")));
    }
    let item = map.index_axis(Axis(0), 0);
    let plane: Array2<f32> = match display {
        Display::MaxAbsOverChannels => item.fold_axis(Axis(0), 0.0f32, |m, &v| m.max(v.abs())),
        Display::SumOverChannels => item.sum_axis(Axis(0)),
        Display::MeanOverChannels => item.mean_axis(Axis(0)).unwrap_or_else(|| item.sum_axis(Axis(0))),
        Display::AboveMinimum => {
            let plane = item.index_axis(Axis(0), 0);
            let floor = plane.iter().copied().fold(f32::INFINITY, f32::min);
            plane.mapv(|v| v - floor)
        }
        Display::Signed | Display::Magnitude => item.index_axis(Axis(0), 0).to_owned(),
    }
    .into_dimensionality::<Ix2>()
    .map_err(|e| Error::Explain(e.to_string()))?;
    Ok(if plane.dim() == (height, width) {
        plane
    } else {
        bilinear(plane.view(), height, width, Corners::HalfPixel)
    })
}

/// A map's opacity at full scale, unless the person chooses another.
pub const DEFAULT_OPACITY: f32 = 0.85;

/// The percentile of |value| drawn at full colour, unless the person chooses another: the
/// strongest 1% saturate rather than one outlier setting the scale.
pub const DEFAULT_PERCENTILE: f32 = 99.0;

/// The `percentile`-th percentile (0‥100) of |value| over all the maps: the value that maps
/// to full colour. One map gives a per-map scale; several give one shared scale.
pub fn scale(maps: &[&Heatmap], percentile: f32) -> f32 {
    let mut magnitudes: Vec<f32> = maps.iter().flat_map(|m| m.values.iter().map(|v| v.abs())).collect();
    if magnitudes.is_empty() {
        return 1.0;
    }
    let rank = ((percentile.clamp(0.0, 100.0) / 100.0) * magnitudes.len() as f32).ceil() as usize;
    let index = rank.clamp(1, magnitudes.len()) - 1;
    let (_, value, _) = magnitudes.select_nth_unstable_by(index, f32::total_cmp);
    if *value > 0.0 && value.is_finite() {
        *value
    } else {
        1.0
    }
}

/// Colour maps: diverging ones for signed maps (negative, white at zero, positive) and
/// sequential ones for magnitudes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Colormap {
    /// Blue for negative, red for positive.
    BlueRed,
    /// Purple for negative, green for positive.
    PurpleGreen,
    /// Brown for negative, teal for positive.
    BrownTeal,
    Inferno,
    Viridis,
    Magma,
    Cividis,
}

impl Colormap {
    pub const DIVERGING: [Colormap; 3] = [Colormap::BlueRed, Colormap::PurpleGreen, Colormap::BrownTeal];
    pub const SEQUENTIAL: [Colormap; 4] =
        [Colormap::Inferno, Colormap::Viridis, Colormap::Magma, Colormap::Cividis];

    pub fn diverging(self) -> bool {
        Colormap::DIVERGING.contains(&self)
    }

    /// The colour map a map is drawn with: this one if it suits the map (diverging for a
    /// signed map, sequential for magnitudes), else the default for the map.
    pub fn for_map(self, signed: bool) -> Colormap {
        if self.diverging() == signed {
            self
        } else {
            Colormap::default_for(signed)
        }
    }

    /// The colour map token highlights are drawn with: always a diverging one, white at zero
    /// (magnitudes use its positive half), so that more colour means more on a white page.
    pub fn for_tokens(self) -> Colormap {
        if self.diverging() {
            self
        } else {
            Colormap::default_for(true)
        }
    }

    /// The default for a map: blue–red for signed maps, inferno for magnitudes.
    pub fn default_for(signed: bool) -> Colormap {
        if signed {
            Colormap::BlueRed
        } else {
            Colormap::Inferno
        }
    }

    /// The colour at t ∈ [0, 1] (for diverging maps, 0.5 is zero).
    pub fn rgb(self, t: f32) -> [u8; 3] {
        let t = f64::from(t.clamp(0.0, 1.0));
        let colour = match self {
            // colorous runs red → blue; positive should be red.
            Colormap::BlueRed => colorous::RED_BLUE.eval_continuous(1.0 - t),
            Colormap::PurpleGreen => colorous::PURPLE_GREEN.eval_continuous(t),
            Colormap::BrownTeal => colorous::BROWN_GREEN.eval_continuous(t),
            Colormap::Inferno => colorous::INFERNO.eval_continuous(t),
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Colormap::Magma => colorous::MAGMA.eval_continuous(t),
            Colormap::Cividis => colorous::CIVIDIS.eval_continuous(t),
        };
        [colour.r, colour.g, colour.b]
    }
}

/// How one map is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Style {
    pub colormap: Colormap,
    /// The overlay's opacity where the map is at full scale, 0‥1.
    pub opacity: f32,
    /// For maps on superpixels: colour only the k highest-scoring and the k lowest-scoring
    /// (negative) segments.
    #[serde(default)]
    pub top: Option<usize>,
    /// For maps on superpixels: draw the segments' boundaries.
    #[serde(default)]
    pub boundaries: bool,
}

impl Style {
    pub fn new(colormap: Colormap, opacity: f32) -> Style {
        Style { colormap, opacity, top: None, boundaries: false }
    }
}

/// The colour of segment boundaries (yellow, as the lime package draws them).
pub const BOUNDARY: [u8; 3] = [255, 221, 0];

/// Which segments are shown with `top = k`: the k with the largest positive scores and the k
/// with the most negative ones.
pub fn top_segments(scores: &[f32], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut shown = vec![false; scores.len()];
    for &i in order.iter().filter(|&&i| scores[i] > 0.0).take(k) {
        shown[i] = true;
    }
    for &i in order.iter().rev().filter(|&&i| scores[i] < 0.0).take(k) {
        shown[i] = true;
    }
    shown
}

/// Whether a pixel lies on a segment's edge: its right or lower neighbour is in another segment.
fn on_boundary(labels: &Array2<u32>, y: usize, x: usize) -> bool {
    let label = labels[[y, x]];
    labels.get([y, x + 1]).is_some_and(|&l| l != label) || labels.get([y + 1, x]).is_some_and(|&l| l != label)
}

/// The heatmap over the image, as RGBA bytes: the image in grey, and over it the colour of
/// value / scale with opacity `style.opacity · |value| / scale`: [`layer`] composited over
/// [`grey`].
pub fn overlay(heat: &Heatmap, scale: f32, style: Style, image: &RgbImage) -> Result<Vec<u8>> {
    check_size(heat, image)?;
    let mut rgba = Vec::with_capacity(4 * image.len() / 3);
    for_each_pixel(heat, scale, style, |i, colour, alpha| {
        let [r, g, b] =
            image.as_raw().get(3 * i..3 * i + 3).map_or([0.0; 3], |p| [p[0], p[1], p[2]].map(f32::from));
        let grey = luma(r, g, b);
        let mix = |c: u8| (grey * (1.0 - alpha) + f32::from(c) * alpha).round().clamp(0.0, 255.0) as u8;
        rgba.extend_from_slice(&[mix(colour[0]), mix(colour[1]), mix(colour[2]), 255]);
    });
    Ok(rgba)
}

/// The heatmap alone, as RGBA with straight alpha: the colour of value / scale, its alpha
/// `style.opacity · |value| / scale` (superpixel boundaries opaque). Drawn over [`grey`] the way
/// a canvas draws (source over), it gives [`overlay`]: the page composites, at any opacity,
/// without restating the rule.
pub fn layer(heat: &Heatmap, scale: f32, style: Style, image: &RgbImage) -> Result<Vec<u8>> {
    check_size(heat, image)?;
    let mut rgba = Vec::with_capacity(4 * image.len() / 3);
    for_each_pixel(heat, scale, style, |_, colour, alpha| {
        rgba.extend_from_slice(&[colour[0], colour[1], colour[2], (alpha * 255.0).round() as u8]);
    });
    Ok(rgba)
}

/// The image in grey (ITU-R 601 luma), as opaque RGBA: what every map is drawn over.
pub fn grey(image: &RgbImage) -> Vec<u8> {
    image
        .pixels()
        .flat_map(|p| {
            let [r, g, b] = p.0.map(f32::from);
            let grey = luma(r, g, b).round().clamp(0.0, 255.0) as u8;
            [grey, grey, grey, 255]
        })
        .collect()
}

/// Whether text on this colour should be light: its luma is below 120 of 255.
pub fn is_dark(rgb: [u8; 3]) -> bool {
    let [r, g, b] = rgb.map(f32::from);
    luma(r, g, b) < 120.0
}

fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

fn check_size(heat: &Heatmap, image: &RgbImage) -> Result<()> {
    let (h, w) = heat.values.dim();
    if (image.width() as usize, image.height() as usize) != (w, h) {
        return Err(Error::Bug(format!(
            "a {w}×{h} map cannot be drawn over a {}×{} image",
            image.width(),
            image.height()
        )));
    }
    Ok(())
}

/// Each pixel's colour and alpha, in row order: `visit(index, colour, alpha)`.
fn for_each_pixel(heat: &Heatmap, scale: f32, style: Style, mut visit: impl FnMut(usize, [u8; 3], f32)) {
    let scale = if scale > 0.0 && scale.is_finite() { scale } else { 1.0 };
    let opacity = style.opacity.clamp(0.0, 1.0);
    let shown = match (&heat.segments, style.top) {
        (Some(segments), Some(k)) => Some(top_segments(&segments.scores, k)),
        _ => None,
    };
    let labels = heat.segments.as_ref().map(|s| &s.labels);
    for (i, ((y, x), &value)) in heat.values.indexed_iter().enumerate() {
        if style.boundaries && labels.is_some_and(|l| on_boundary(l, y, x)) {
            visit(i, BOUNDARY, 1.0);
            continue;
        }
        let hidden = match (&shown, labels) {
            (Some(shown), Some(labels)) => !shown.get(labels[[y, x]] as usize).copied().unwrap_or(false),
            _ => false,
        };
        let value = if hidden { 0.0 } else { value };
        let (t, strength) = if heat.signed {
            let t = (value / scale).clamp(-1.0, 1.0);
            ((t + 1.0) / 2.0, t.abs())
        } else {
            let t = (value / scale).clamp(0.0, 1.0);
            (t, t)
        };
        visit(i, style.colormap.rgb(t), opacity * strength);
    }
}

/// Token highlights on a diverging colour map, white at zero, so that more colour always means
/// more: signed scores use both halves, magnitudes only the positive one. `scale` is full
/// colour; `None` (a token the method does not score) is white.
pub fn token_colours(scores: &[Option<f32>], scale: f32, colormap: Colormap) -> Vec<[u8; 3]> {
    let colormap = colormap.for_tokens();
    scores
        .iter()
        .map(|score| match score {
            Some(value) if scale > 0.0 => colormap.rgb(0.5 + 0.5 * value / scale),
            _ => [255; 3],
        })
        .collect()
}

/// Full colour for token highlights: the largest |score| of a word, or of any token if the words
/// all score zero.
pub fn word_scale(scores: &[Option<f32>], words: &[usize]) -> f32 {
    let largest = |positions: &mut dyn Iterator<Item = usize>| {
        positions.filter_map(|p| scores.get(p).copied().flatten()).map(f32::abs).fold(0.0, f32::max)
    };
    match largest(&mut words.iter().copied()) {
        0.0 => largest(&mut (0..scores.len())),
        scale => scale,
    }
}

/// Full colour for a matrix: its largest entry between two different words, or its largest entry.
pub fn matrix_scale(matrix: &ndarray::Array2<f32>, words: &[usize]) -> f32 {
    let between_words = words
        .iter()
        .flat_map(|&i| words.iter().filter(move |&&j| j != i).map(move |&j| matrix[[i, j]].abs()))
        .fold(0.0, f32::max);
    if between_words > 0.0 {
        between_words
    } else {
        matrix.iter().fold(0.0, |a, v| a.max(v.abs()))
    }
}

/// A matrix (rows × columns) as opaque RGBA, one pixel per cell, `scale` at full colour.
pub fn matrix(values: ArrayView2<'_, f32>, scale: f32, colormap: Colormap) -> Vec<u8> {
    let scale = if scale > 0.0 { scale } else { 1.0 };
    values
        .iter()
        .flat_map(|&v| {
            let t = if colormap.diverging() { 0.5 + 0.5 * v / scale } else { v / scale };
            let [r, g, b] = colormap.rgb(t);
            [r, g, b, 255]
        })
        .collect()
}

/// A horizontal colour bar, `width`×`height` RGBA, for a legend.
pub fn colorbar(colormap: Colormap, width: usize, height: usize) -> Vec<u8> {
    let row: Vec<[u8; 3]> = (0..width).map(|x| colormap.rgb(x as f32 / (width.max(2) - 1) as f32)).collect();
    (0..height).flat_map(|_| row.iter().flat_map(|&[r, g, b]| [r, g, b, 255])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn token_highlights_are_white_at_zero_and_darker_with_more() {
        let colours =
            token_colours(&[Some(0.0), Some(1.0), Some(-1.0), Some(0.5), None], 1.0, Colormap::BlueRed);
        let lightness = |[r, g, b]: [u8; 3]| u32::from(r) + u32::from(g) + u32::from(b);
        assert!(colours[0].iter().all(|&c| c >= 230), "zero is near white: {:?}", colours[0]);
        assert_eq!(colours[4], [255; 3], "an unscored token is white");
        assert!(colours[1][0] > colours[1][2] && colours[2][2] > colours[2][0], "red for, blue against");
        assert!(
            lightness(colours[3]) < lightness(colours[0]) && lightness(colours[1]) < lightness(colours[3])
        );
        // A sequential map is not used for highlights: black would be zero.
        assert_eq!(
            token_colours(&[Some(0.0)], 1.0, Colormap::Inferno),
            token_colours(&[Some(0.0)], 1.0, Colormap::BlueRed)
        );
    }

    #[test]
    fn scale_is_the_percentile_of_magnitudes() {
        let values = Array2::from_shape_fn((10, 10), |(i, j)| -((i * 10 + j + 1) as f32));
        let heat = Heatmap { values, signed: true, segments: None };
        assert_eq!(scale(&[&heat], 99.0), 99.0);
        assert_eq!(scale(&[&heat], 100.0), 100.0);
        let zero = Heatmap { values: Array2::zeros((2, 2)), signed: false, segments: None };
        assert_eq!(scale(&[&zero], 99.0), 1.0, "an all-zero map still draws");
        let big = Heatmap { values: Array2::from_elem((10, 10), 1000.0), signed: false, segments: None };
        assert_eq!(scale(&[&heat, &big], 50.0), 100.0, "shared: the percentile of both maps together");
    }

    #[test]
    fn overlay_shows_the_image_where_the_map_is_zero_and_colour_where_it_is_full() {
        let image = RgbImage::from_pixel(2, 1, image::Rgb([200, 100, 0]));
        let heat = Heatmap { values: array![[0.0f32, -5.0]], signed: true, segments: None };
        let style = Style::new(Colormap::BlueRed, 1.0);
        let rgba = overlay(&heat, 5.0, style, &image).unwrap();
        let grey = (0.299f32 * 200.0 + 0.587 * 100.0).round() as u8;
        assert_eq!(&rgba[..4], &[grey, grey, grey, 255]);
        let blue = Colormap::BlueRed.rgb(0.0);
        assert_eq!(&rgba[4..], &[blue[0], blue[1], blue[2], 255]);
        assert!(blue[2] > blue[0], "negative is blue");
        assert!(Colormap::BlueRed.rgb(1.0)[0] > Colormap::BlueRed.rgb(1.0)[2], "positive is red");
    }

    #[test]
    fn colour_maps_suit_their_maps_and_scales_ignore_the_special_tokens() {
        assert_eq!(Colormap::Inferno.for_map(true), Colormap::BlueRed, "a signed map is drawn diverging");
        assert_eq!(Colormap::BlueRed.for_map(false), Colormap::Inferno);
        assert_eq!(Colormap::Viridis.for_map(false), Colormap::Viridis);
        assert_eq!(Colormap::Viridis.for_tokens(), Colormap::BlueRed, "highlights are white at zero");
        // [CLS] (0) and [SEP] (3) score most, but the words (1, 2) set the scale.
        let scores = [Some(9.0), Some(-0.5), Some(0.25), Some(7.0)];
        assert_eq!(word_scale(&scores, &[1, 2]), 0.5);
        assert_eq!(word_scale(&[Some(2.0), Some(0.0)], &[1]), 2.0, "all-zero words fall back to every token");
        let matrix = ndarray::array![[0.9, 0.2, 0.0], [0.1, 0.8, 0.3], [0.0, 0.4, 0.7]];
        assert_eq!(matrix_scale(&matrix, &[1, 2]), 0.4, "the largest entry between two different words");
    }

    /// The page draws [`layer`] over [`grey`] with a canvas (source over, at the tile's
    /// opacity); that must be [`overlay`], to rounding.
    #[test]
    fn the_layer_drawn_over_the_grey_image_is_the_overlay() {
        let image = RgbImage::from_fn(4, 3, |x, y| image::Rgb([(60 * x) as u8, (80 * y) as u8, 200]));
        let values = Array2::from_shape_fn((3, 4), |(y, x)| x as f32 - 1.5 + 0.3 * y as f32);
        let heat = Heatmap { values, signed: true, segments: None };
        for opacity in [1.0, 0.85, 0.3] {
            let style = Style::new(Colormap::BlueRed, opacity);
            let want = overlay(&heat, 2.0, style, &image).unwrap();
            let (layer, grey) = (layer(&heat, 2.0, style, &image).unwrap(), grey(&image));
            for ((l, g), w) in layer.chunks(4).zip(grey.chunks(4)).zip(want.chunks(4)) {
                let alpha = f32::from(l[3]) / 255.0;
                for c in 0..3 {
                    let drawn = f32::from(g[c]) * (1.0 - alpha) + f32::from(l[c]) * alpha;
                    assert!((drawn - f32::from(w[c])).abs() <= 1.5, "{drawn} against {}", w[c]);
                }
            }
        }
        assert!(is_dark(Colormap::BlueRed.rgb(0.0)) && !is_dark([255, 255, 255]));
    }

    #[test]
    fn top_k_colours_only_the_strongest_segments_and_boundaries_are_drawn() {
        assert_eq!(
            top_segments(&[0.5, -2.0, 3.0, -0.1, 0.0, 1.0], 1),
            [false, true, true, false, false, false]
        );
        assert_eq!(top_segments(&[0.5, -2.0, 3.0], 5), [true, true, true]);
        // Three one-pixel-wide segments in a row, scores 1, 2, 3.
        let labels = array![[0u32, 1, 2]];
        let segments = SegmentScores { labels, scores: vec![1.0, 2.0, 3.0], r_squared: None };
        let heat = Heatmap { values: array![[1.0f32, 2.0, 3.0]], signed: true, segments: Some(segments) };
        let image = RgbImage::from_pixel(3, 1, image::Rgb([0, 0, 0]));
        let top = Style { top: Some(1), ..Style::new(Colormap::BlueRed, 1.0) };
        let rgba = overlay(&heat, 3.0, top, &image).unwrap();
        assert_eq!(&rgba[..8], &[0, 0, 0, 255, 0, 0, 0, 255], "segments outside the top 1 show the image");
        assert_eq!(&rgba[8..11], &Colormap::BlueRed.rgb(1.0));
        let edges = Style { boundaries: true, ..Style::new(Colormap::BlueRed, 1.0) };
        let rgba = overlay(&heat, 3.0, edges, &image).unwrap();
        assert_eq!(&rgba[..3], &BOUNDARY, "a pixel whose right neighbour is another segment is an edge");
        assert_ne!(&rgba[8..11], &BOUNDARY, "the last segment has no edge to its right");
    }
}
