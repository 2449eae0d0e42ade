//! Insertion (Petsiuk et al. 2018): from an input that carries little of the image, features
//! are put back most relevant first and the target's probability rises; the faster it rises,
//! the larger the area and the more faithful the map.
//!
//! An image starts blurred exactly as RISE's `evaluation.py` blurs it: the model's input tensor
//! convolved channel by channel with `gkern(11, 5)` (a delta in an 11×11 array smoothed by
//! SciPy's `gaussian_filter` with σ = 5) with zero padding, as its `conv2d(x, kern, padding=5)`.
//! A sentence starts with every token [PAD] but [CLS] and [SEP].

use ndarray::{Array2, ArrayD, Axis};

use super::features::Features;
use super::registry::{Kind, Metric, MetricDescriptor};
use super::sweep::SweepConfig;
use crate::error::{Error, Result};

pub struct Insertion;

/// RISE's blur kernel: 11×11, σ = 5.
pub const RISE_KERNEL: usize = 11;
pub const RISE_SIGMA: f64 = 5.0;

impl Metric for Insertion {
    fn descriptor(&self) -> MetricDescriptor {
        MetricDescriptor {
            id: "insertion",
            title: "Insertion",
            caption: "probability as the map's features are put back into a blurred input; a higher area is more faithful",
            higher_is_better: true,
            kind: Kind::Sweep,
            settings: SweepConfig::settings(),
        }
    }

    fn ends(&self, features: &Features) -> Result<(ArrayD<f32>, ArrayD<f32>)> {
        let start = match features {
            Features::Pixels { input, .. } | Features::Segments { input, .. } => rise_blur(input)?,
            Features::Tokens { .. } => features.removed(),
        };
        Ok((start, features.input().clone()))
    }
}

/// RISE's `gkern(klen, nsig)`: a delta at the centre of a `klen`×`klen` array, smoothed by
/// SciPy's `gaussian_filter(·, nsig)` (truncated at 4σ, reflecting at the edges, so the
/// weights that fall outside fold back in), in f64 as NumPy computes it, then made f32.
pub fn gkern(klen: usize, nsig: f64) -> Array2<f32> {
    let radius = (4.0 * nsig + 0.5) as i64;
    let weights: Vec<f64> =
        (-radius..=radius).map(|x| (-0.5 / (nsig * nsig) * (x * x) as f64).exp()).collect();
    let total: f64 = weights.iter().sum();
    let n = klen as i64;
    // SciPy's "reflect" (d c b a | a b c d | d c b a), repeated as far as the weights reach.
    let reflect = |i: i64| {
        let period = 2 * n;
        let i = i.rem_euclid(period);
        if i < n {
            i
        } else {
            period - 1 - i
        }
    };
    let centre = n / 2;
    // The delta filtered along one axis: output i gathers weight j from input i + j.
    let line: Vec<f64> = (0..n)
        .map(|i| {
            (-radius..=radius)
                .zip(&weights)
                .filter(|(j, _)| reflect(i + j) == centre)
                .map(|(_, w)| w / total)
                .sum()
        })
        .collect();
    Array2::from_shape_fn((klen, klen), |(y, x)| (line[y] * line[x]) as f32)
}

/// The input tensor (1×C×H×W) blurred as RISE's insertion starts: each channel convolved with
/// [`gkern`]`(11, 5)`, zero-padded so the size stays.
pub fn rise_blur(input: &ArrayD<f32>) -> Result<ArrayD<f32>> {
    let &[1, channels, height, width] = input.shape() else {
        return Err(Error::Explain(format!(
            "Insertion blurs an image input (1×C×H×W); this one has shape {}.",
            crate::error::shape(input.shape())
        )));
    };
    let kernel = gkern(RISE_KERNEL, RISE_SIGMA);
    let half = (RISE_KERNEL / 2) as isize;
    let mut out = ArrayD::<f32>::zeros(input.shape());
    for c in 0..channels {
        let plane = input.index_axis(Axis(0), 0);
        let plane = plane.index_axis(Axis(0), c);
        let mut target = out.index_axis_mut(Axis(0), 0);
        let mut target = target.index_axis_mut(Axis(0), c);
        for y in 0..height {
            for x in 0..width {
                let mut sum = 0.0f32;
                for ((ky, kx), &k) in kernel.indexed_iter() {
                    let (sy, sx) = (y as isize + ky as isize - half, x as isize + kx as isize - half);
                    if sy >= 0 && sx >= 0 && (sy as usize) < height && (sx as usize) < width {
                        sum += k * plane[[sy as usize, sx as usize]];
                    }
                }
                target[[y, x]] = sum;
            }
        }
    }
    Ok(out)
}
