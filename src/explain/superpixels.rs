//! Superpixels for LIME and KernelSHAP: SLIC (Achanta et al. 2012), and images with some
//! segments filled in.
//!
//! SLIC is k-means on (colour, position), each centre searching only a 2S × 2S window around
//! itself, where S = √(pixels / segments) is the grid step. Colour is CIELAB for an RGB image
//! (the distance the paper uses); for any other input, each channel rescaled to 0‥100. The
//! distance is d_lab² + (d_xy / S)² · m², where m is the compactness: larger m, squarer
//! segments. After ten iterations, a pass as in the authors' code makes every segment
//! connected: each 4-connected piece becomes its own segment, and a piece smaller than a
//! quarter of the expected size joins the segment beside it.
//!
//! No crate fits: the `superpixel` crate was last released in 2018 against `image` 0.19. This
//! is deterministic; the seed of LIME and KernelSHAP covers only their samples.

use std::collections::VecDeque;

use ndarray::{Array2, Array3, ArrayD, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use super::baseline::{blur, to_pixels, BLUR_SIGMA};
use super::perturbation::{Outcome, Perturbations, PlayerValues, Players};
use super::schema::Setting;
use super::Subject;
use crate::error::{Error, Result};

/// The superpixels' settings, shared by LIME and KernelSHAP on images.
pub(super) fn segment_settings() -> Vec<Setting> {
    vec![
        Setting::integer("segments", "Superpixels", 1, MAX_SEGMENTS as u64)
            .help("about how many (SLIC)")
            .source("Glimpse: about 50 segments of a 224×224 image"),
        Setting::positive("compactness", "Compactness", 0.0, 100.0)
            .help("higher: squarer superpixels")
            .source("scikit-image's slic"),
        Setting::variants(
            "fill",
            "Hidden superpixels show",
            &[
                (SegmentFill::Mean, "Its mean colour"),
                (SegmentFill::Blur, "The blurred image"),
                (SegmentFill::Black, "Black"),
            ],
        )
        .source("lime: the mean colour; shap's image examples: black"),
    ]
}

/// SLIC's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuperpixelConfig {
    /// About how many segments (SLIC's K; connectivity can add or remove a few).
    pub segments: usize,
    /// SLIC's m: the weight of distance against colour.
    pub compactness: f32,
}

impl Default for SuperpixelConfig {
    fn default() -> Self {
        SuperpixelConfig { segments: 50, compactness: 10.0 }
    }
}

/// The most segments accepted: KernelSHAP solves an M×M system, LIME one of M + 1.
pub const MAX_SEGMENTS: usize = 1000;

/// A segmentation: one label per pixel, 0‥count, every segment one 4-connected piece.
#[derive(Debug, Clone, PartialEq)]
pub struct Segments {
    pub labels: Array2<u32>,
    pub count: usize,
}

/// One score per segment, with the segmentation: what LIME and KernelSHAP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentScores {
    pub labels: Array2<u32>,
    pub scores: Vec<f32>,
    /// The weighted R² of LIME's linear fit.
    pub r_squared: Option<f32>,
}

const ITERATIONS: usize = 10;

/// Segments an image input (1×C×H×W in the model's space).
pub fn slic(subject: &Subject, config: &SuperpixelConfig) -> Result<Segments> {
    let [_, height, width] = subject.image_shape("SLIC")?;
    let SuperpixelConfig { segments, compactness } = *config;
    if !((1..=MAX_SEGMENTS).contains(&segments) && compactness > 0.0 && compactness.is_finite()) {
        return Err(Error::Explain(format!(
            "Superpixels need 1 to {MAX_SEGMENTS} segments and a positive compactness; they are {segments} and {compactness}."
        )));
    }
    let features = colour_features(subject)?;
    Ok(slic_features(features.view(), segments.min(height * width), compactness))
}

/// CIELAB (D65) for a colour or grey image whose pixels the description can recover; otherwise each
/// channel mapped from its range to 0‥100. C×H×W.
fn colour_features(subject: &Subject) -> Result<Array3<f32>> {
    let x = subject.input.index_axis(Axis(0), 0);
    match to_pixels(subject).zip(subject.pixels.as_ref()) {
        Some((pixels, spec)) => {
            let pixels = pixels.index_axis(Axis(0), 0).to_owned();
            let (h, w) = (pixels.shape()[1], pixels.shape()[2]);
            let mut lab = Array3::zeros((3, h, w));
            for y in 0..h {
                for x in 0..w {
                    // Red, green and blue from the model's channels (a grey one feeds all three).
                    let rgb = std::array::from_fn(|k| {
                        pixels.get([spec.source(k).unwrap_or(0), y, x]).copied().unwrap_or(0.0)
                    });
                    let [l, a, b] = srgb_to_lab(rgb);
                    lab[[0, y, x]] = l;
                    lab[[1, y, x]] = a;
                    lab[[2, y, x]] = b;
                }
            }
            Ok(lab)
        }
        None => {
            let mut out = x
                .to_owned()
                .into_dimensionality::<ndarray::Ix3>()
                .map_err(|e| Error::Explain(e.to_string()))?;
            for mut channel in out.axis_iter_mut(Axis(0)) {
                let (lo, hi) = channel
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                let span = if hi > lo { hi - lo } else { 1.0 };
                channel.mapv_inplace(|v| 100.0 * (v - lo) / span);
            }
            Ok(out)
        }
    }
}

/// sRGB pixel values (0‥255) to CIELAB under D65.
fn srgb_to_lab(rgb: [f32; 3]) -> [f32; 3] {
    let linear = rgb.map(|c| {
        let c = (c / 255.0).clamp(0.0, 1.0);
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    });
    let [r, g, b] = linear;
    let xyz = [
        (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47,
        0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b,
        (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83,
    ];
    let f = |t: f32| if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let [fx, fy, fz] = xyz.map(f);
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// SLIC on C×H×W features, then connectivity.
fn slic_features(features: ArrayView3<'_, f32>, segments: usize, compactness: f32) -> Segments {
    let (channels, height, width) = features.dim();
    let step = ((height * width) as f32 / segments as f32).sqrt().max(1.0);
    let at = |y: usize, x: usize| -> Vec<f32> { (0..channels).map(|c| features[[c, y, x]]).collect() };

    // Centres on a grid, each moved to the lowest colour gradient in its 3×3 neighbourhood.
    let rows = ((height as f32 / step).round() as usize).max(1);
    let cols = ((width as f32 / step).round() as usize).max(1);
    let gradient = |y: usize, x: usize| -> f32 {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(height - 1));
        let (left, right) = (x.saturating_sub(1), (x + 1).min(width - 1));
        (0..channels)
            .map(|c| {
                let dy = features[[c, down, x]] - features[[c, up, x]];
                let dx = features[[c, y, right]] - features[[c, y, left]];
                dy * dy + dx * dx
            })
            .sum()
    };
    let mut centres: Vec<(Vec<f32>, f32, f32)> = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let y0 = (((r as f32 + 0.5) * height as f32 / rows as f32) as usize).min(height - 1);
            let x0 = (((c as f32 + 0.5) * width as f32 / cols as f32) as usize).min(width - 1);
            let mut best = (gradient(y0, x0), y0, x0);
            for y in y0.saturating_sub(1)..=(y0 + 1).min(height - 1) {
                for x in x0.saturating_sub(1)..=(x0 + 1).min(width - 1) {
                    let g = gradient(y, x);
                    if g < best.0 {
                        best = (g, y, x);
                    }
                }
            }
            centres.push((at(best.1, best.2), best.1 as f32, best.2 as f32));
        }
    }

    let weight = (compactness / step).powi(2);
    let reach = (2.0 * step).ceil() as isize;
    let mut labels = Array2::<u32>::from_elem((height, width), u32::MAX);
    let mut distance = Array2::<f32>::from_elem((height, width), f32::INFINITY);
    for _ in 0..ITERATIONS {
        distance.fill(f32::INFINITY);
        for (k, (colour, cy, cx)) in centres.iter().enumerate() {
            let (cy, cx) = (cy.round() as isize, cx.round() as isize);
            let ys = (cy - reach).max(0) as usize..(cy + reach + 1).min(height as isize) as usize;
            for y in ys {
                let xs = (cx - reach).max(0) as usize..(cx + reach + 1).min(width as isize) as usize;
                for x in xs {
                    let dc: f32 = (0..channels).map(|c| (features[[c, y, x]] - colour[c]).powi(2)).sum();
                    let ds = (y as f32 - cy as f32).powi(2) + (x as f32 - cx as f32).powi(2);
                    let d = dc + ds * weight;
                    if d < distance[[y, x]] {
                        distance[[y, x]] = d;
                        labels[[y, x]] = k as u32;
                    }
                }
            }
        }
        let mut sums = vec![(vec![0.0f64; channels], 0.0f64, 0.0f64, 0usize); centres.len()];
        for ((y, x), &label) in labels.indexed_iter() {
            if let Some(sum) = sums.get_mut(label as usize) {
                for (c, s) in sum.0.iter_mut().enumerate() {
                    *s += f64::from(features[[c, y, x]]);
                }
                sum.1 += y as f64;
                sum.2 += x as f64;
                sum.3 += 1;
            }
        }
        for (centre, (colour, y, x, n)) in centres.iter_mut().zip(sums) {
            if n > 0 {
                let n = n as f64;
                *centre = (colour.iter().map(|c| (c / n) as f32).collect(), (y / n) as f32, (x / n) as f32);
            }
        }
    }
    let expected_size = (height * width) as f32 / centres.len() as f32;
    connect(&labels, (expected_size / 4.0) as usize)
}

/// Relabels so that every segment is one 4-connected piece: pieces are numbered in raster
/// order, and a piece of fewer than `min_size` pixels joins the segment of the pixel before its
/// first one (above or to the left), which touches it.
fn connect(labels: &Array2<u32>, min_size: usize) -> Segments {
    let (height, width) = labels.dim();
    let mut out = Array2::<u32>::from_elem((height, width), u32::MAX);
    let mut count = 0u32;
    let mut piece = Vec::new();
    let mut queue = VecDeque::new();
    for y in 0..height {
        for x in 0..width {
            if out[[y, x]] != u32::MAX {
                continue;
            }
            let before = if x > 0 {
                Some(out[[y, x - 1]])
            } else if y > 0 {
                Some(out[[y - 1, x]])
            } else {
                None
            };
            let original = labels[[y, x]];
            piece.clear();
            queue.push_back((y, x));
            out[[y, x]] = count;
            while let Some((py, px)) = queue.pop_front() {
                piece.push((py, px));
                let neighbours =
                    [(py.wrapping_sub(1), px), (py + 1, px), (py, px.wrapping_sub(1)), (py, px + 1)];
                for (ny, nx) in neighbours {
                    if ny < height && nx < width && out[[ny, nx]] == u32::MAX && labels[[ny, nx]] == original
                    {
                        out[[ny, nx]] = count;
                        queue.push_back((ny, nx));
                    }
                }
            }
            match before {
                Some(neighbour) if piece.len() < min_size => {
                    for &(py, px) in &piece {
                        out[[py, px]] = neighbour;
                    }
                }
                _ => count += 1,
            }
        }
    }
    Segments { labels: out, count: count as usize }
}

/// What a hidden segment shows instead of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentFill {
    /// The segment's own mean colour, as the lime package does by default.
    #[default]
    Mean,
    /// The image under a Gaussian blur of 20 pixels.
    Blur,
    /// Pixel value 0 (0 in the model's space for a model whose input is not an image).
    Black,
}

/// The input and what each segment shows when hidden; makes the image for a coalition of
/// segments.
#[derive(Debug, Clone)]
pub struct Coalitions {
    pub segments: Segments,
    input: ArrayD<f32>,
    filler: ArrayD<f32>,
}

impl Coalitions {
    pub fn new(subject: &Subject, config: &SuperpixelConfig, fill: SegmentFill) -> Result<Coalitions> {
        let segments = slic(subject, config)?;
        let x = &subject.input;
        let filler = match fill {
            SegmentFill::Black => super::Baseline::Black.tensor(subject, 0)?,
            SegmentFill::Blur => blur(x, BLUR_SIGMA)?,
            SegmentFill::Mean => {
                let mut sums = Array2::<f64>::zeros((x.shape()[1], segments.count));
                let mut sizes = vec![0usize; segments.count];
                for ((y, px), &label) in segments.labels.indexed_iter() {
                    sizes[label as usize] += 1;
                    for c in 0..x.shape()[1] {
                        sums[[c, label as usize]] += f64::from(x[[0, c, y, px]]);
                    }
                }
                ArrayD::from_shape_fn(x.raw_dim(), |i| {
                    let label = segments.labels[[i[2], i[3]]] as usize;
                    (sums[[i[1], label]] / sizes[label] as f64) as f32
                })
            }
        };
        Ok(Coalitions { segments, input: x.clone(), filler })
    }

    /// How many segments (players).
    pub fn players(&self) -> usize {
        self.segments.count
    }

    /// The input with the segments where `present` is false filled in.
    pub fn image(&self, present: &[bool]) -> ArrayD<f32> {
        let mut image = self.input.clone();
        let channels = image.shape()[1];
        for ((y, x), &label) in self.segments.labels.indexed_iter() {
            if !present[label as usize] {
                for c in 0..channels {
                    image[[0, c, y, x]] = self.filler[[0, c, y, x]];
                }
            }
        }
        image
    }

    /// Per-segment scores painted on every pixel of their segment, in the input's shape.
    pub fn paint(&self, scores: &[f32]) -> ArrayD<f32> {
        ArrayD::from_shape_fn(self.input.raw_dim(), |i| scores[self.segments.labels[[i[2], i[3]]] as usize])
    }
}

/// A method that removes superpixels (LIME, KernelSHAP): the image's segments and which of them
/// each pass keeps.
#[derive(Debug)]
pub(super) struct SegmentPlan {
    pub coalitions: Coalitions,
    pub players: Box<dyn Players>,
}

impl Perturbations for SegmentPlan {
    fn len(&self) -> usize {
        self.players.len()
    }

    fn input(&self, i: usize) -> ArrayD<f32> {
        self.coalitions.image(&self.players.present(i))
    }

    fn finish(&self, scores: &[f32]) -> Result<Outcome> {
        let PlayerValues { values, completeness, r_squared } = self.players.values(scores)?;
        Ok(Outcome {
            map: self.coalitions.paint(&values),
            layer: None,
            completeness,
            segments: Some(SegmentScores {
                labels: self.coalitions.segments.labels.clone(),
                scores: values,
                r_squared,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(input: ArrayD<f32>) -> Subject {
        Subject { input, target: 0, pixels: None, custom_baseline: None }
    }

    /// Every label's pixels form one 4-connected piece, and every label in 0‥count is used.
    fn assert_connected_cover(segments: &Segments) {
        let labels = &segments.labels;
        let (h, w) = labels.dim();
        let mut sizes = vec![0usize; segments.count];
        for &l in labels {
            assert!((l as usize) < segments.count, "label {l} outside 0‥{}", segments.count);
            sizes[l as usize] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 0), "an unused label");
        let pieces = connect(labels, 0);
        assert_eq!(pieces.count, segments.count, "some segment is in more than one piece");
        assert_eq!(h * w, sizes.iter().sum::<usize>());
    }

    #[test]
    fn segments_are_connected_and_cover_a_textured_image() {
        // Waves of a few pixels' period in each channel: k-means alone leaves stray fragments.
        let x = ArrayD::from_shape_fn(vec![1, 3, 60, 80], |i| {
            let (c, y, x) = (i[1] as f32, i[2] as f32, i[3] as f32);
            ((x * 0.4 + c).sin() * (y * 0.3).cos() + ((x + 2.0 * y) * 0.15).sin()) * 50.0
        });
        for segments in [1, 4, 20, 50, 200] {
            let s = slic(&subject(x.clone()), &SuperpixelConfig { segments, compactness: 10.0 }).unwrap();
            assert_connected_cover(&s);
            assert!(s.count >= segments / 3 && s.count <= segments * 3, "{segments} asked, {} made", s.count);
        }
    }

    #[test]
    fn no_segment_crosses_a_sharp_colour_edge() {
        // Left third red, the rest blue, as pixels through a normalisation.
        let pixels = crate::config::Preprocess::rgb(48, 48, 48, [127.0; 3], [128.0; 3]);
        let x = ArrayD::from_shape_fn(vec![1, 3, 48, 48], |i| {
            let red = i[3] < 16;
            let pixel = match (i[1], red) {
                (0, true) | (2, false) => 220.0,
                _ => 20.0,
            };
            (pixel - 127.0) / 128.0
        });
        let s = Subject { input: x, target: 0, pixels: Some(pixels), custom_baseline: None };
        let segments = slic(&s, &SuperpixelConfig { segments: 9, compactness: 10.0 }).unwrap();
        assert_connected_cover(&segments);
        let left: std::collections::HashSet<u32> =
            segments.labels.indexed_iter().filter(|((_, x), _)| *x < 16).map(|(_, &l)| l).collect();
        let right: std::collections::HashSet<u32> =
            segments.labels.indexed_iter().filter(|((_, x), _)| *x >= 16).map(|(_, &l)| l).collect();
        assert!(left.is_disjoint(&right), "a segment spans red and blue");
    }

    #[test]
    fn lab_of_white_and_black() {
        let white = srgb_to_lab([255.0; 3]);
        assert!((white[0] - 100.0).abs() < 0.01 && white[1].abs() < 0.01 && white[2].abs() < 0.01);
        assert!(srgb_to_lab([0.0; 3])[0].abs() < 1e-4);
    }

    #[test]
    fn coalitions_fill_only_the_absent_segments() {
        let x = ArrayD::from_shape_fn(vec![1, 1, 8, 8], |i| (i[2] * 8 + i[3]) as f32);
        let s = subject(x.clone());
        let c = Coalitions::new(&s, &SuperpixelConfig { segments: 4, compactness: 10.0 }, SegmentFill::Black)
            .unwrap();
        assert_eq!(c.image(&vec![true; c.players()]), x);
        let mut present = vec![true; c.players()];
        present[0] = false;
        let image = c.image(&present);
        for ((y, px), &l) in c.segments.labels.indexed_iter() {
            let expected = if l == 0 { 0.0 } else { x[[0, 0, y, px]] };
            assert_eq!(image[[0, 0, y, px]], expected);
        }
    }
}
