//! Baselines for the path methods: the "absence of signal" an input is compared against.
//!
//! Baselines are defined in pixel space, before normalisation (black is pixel value 0, noise is
//! uniform over 0‥255), then mapped into the model's space by the model's own preprocessing.
//! For a model whose input is not an image, black is 0 and noise is uniform over the input's
//! own range.

use ndarray::{ArrayD, Axis};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::Subject;
use crate::config::Preprocess;
use crate::error::{Error, Result};

/// Which baseline x′ a path method starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Every pixel 0.
    #[default]
    Black,
    /// The input under a Gaussian blur of [`BLUR_SIGMA`] pixels (at the model's input
    /// resolution), so that it keeps its colours but loses its detail (Sturmfels et al. 2020).
    Blur,
    /// Uniform noise over the pixel range, from the method's seed.
    Noise,
    /// The subject's own baseline ([`Subject::custom_baseline`]).
    Custom,
}

/// The blur of every blurred image (baselines, occlusion's and the superpixels' fill): 20 pixels
/// at 224×224, enough that no edge of the image survives.
pub const BLUR_SIGMA: f32 = 20.0;

impl Baseline {
    /// The baseline in the model's input space, in the input's shape; `seed` seeds the noise.
    pub fn tensor(&self, subject: &Subject, seed: u64) -> Result<ArrayD<f32>> {
        let x = &subject.input;
        match self {
            Baseline::Black => Ok(match pixel_affine(subject) {
                Some(affine) => ArrayD::from_shape_fn(x.raw_dim(), |i| affine.normalise(i[1], 0.0)),
                None => ArrayD::zeros(x.raw_dim()),
            }),
            Baseline::Blur => blur(x, BLUR_SIGMA),
            Baseline::Noise => {
                let mut rng = rand_chacha(seed);
                Ok(match pixel_affine(subject) {
                    Some(affine) => ArrayD::from_shape_fn(x.raw_dim(), |i| {
                        affine.normalise(i[1], rng.random_range(0.0..=255.0f32))
                    }),
                    None => {
                        let (lo, hi) = range(x);
                        ArrayD::from_shape_fn(x.raw_dim(), |_| lo + (hi - lo) * rng.random::<f32>())
                    }
                })
            }
            Baseline::Custom => {
                let baseline = subject
                    .custom_baseline
                    .as_ref()
                    .ok_or_else(|| Error::Explain("No custom baseline was given.".into()))?;
                if baseline.shape() != x.shape() {
                    return Err(Error::Explain(format!(
                        "The custom baseline has shape {}; the input has {}.",
                        crate::error::shape(baseline.shape()),
                        crate::error::shape(x.shape())
                    )));
                }
                Ok(baseline.clone())
            }
        }
    }
}

/// The seeded generator behind every random draw: ChaCha8 gives the same stream on every
/// platform, natively and in wasm.
pub(crate) fn rand_chacha(seed: u64) -> rand::rngs::ChaCha8Rng {
    rand::rngs::ChaCha8Rng::seed_from_u64(seed)
}

/// A ChaCha8 stream keyed by the seed and an index (a sample, a layer), so that one index's
/// draws do not depend on which others are drawn, or in which order, or on which worker.
pub(crate) fn keyed_rng(seed: u64, index: u64) -> rand::rngs::ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    rand::rngs::ChaCha8Rng::from_seed(key)
}

/// Per-channel (pixel − mean) / std, when the input is an NCHW image with the description's
/// channel count.
struct PixelAffine<'a>(&'a Preprocess);

impl PixelAffine<'_> {
    fn normalise(&self, channel: usize, pixel: f32) -> f32 {
        let (mean, std) = self.0.affine(channel);
        (pixel - mean) / std
    }

    fn pixel(&self, channel: usize, value: f32) -> f32 {
        let (mean, std) = self.0.affine(channel);
        value * std + mean
    }
}

/// The input as pixel values (0‥255), when it is an RGB image whose normalisation is known.
pub(crate) fn to_pixels(subject: &Subject) -> Option<ArrayD<f32>> {
    let affine = pixel_affine(subject)?;
    let x = &subject.input;
    Some(ArrayD::from_shape_fn(x.raw_dim(), |i| affine.pixel(i[1], x[i.clone()])))
}

fn pixel_affine(subject: &Subject) -> Option<PixelAffine<'_>> {
    let spec = subject.pixels.as_ref()?;
    let shape = subject.input.shape();
    (shape.len() == 4 && shape[1] == spec.channels).then_some(PixelAffine(spec))
}

/// The smallest and largest element.
pub(crate) fn range(x: &ArrayD<f32>) -> (f32, f32) {
    x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// A separable Gaussian blur over the last two axes, edges replicated. Blurring the normalised
/// tensor equals normalising the blurred pixels: normalisation is affine per channel and the
/// kernel sums to one.
pub(crate) fn blur(x: &ArrayD<f32>, sigma: f32) -> Result<ArrayD<f32>> {
    if x.ndim() != 4 {
        return Err(Error::Explain(format!(
            "A blurred baseline needs an image input (N×C×H×W); this one has shape {}.",
            crate::error::shape(x.shape())
        )));
    }
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(Error::Explain(format!("The blur's σ must be positive; it is {sigma}.")));
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> =
        (-radius..=radius).map(|d| (-((d * d) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let along = |input: &ArrayD<f32>, axis: usize| -> ArrayD<f32> {
        let mut out = ArrayD::zeros(input.raw_dim());
        let len = input.shape()[axis] as isize;
        for (src, mut dst) in input.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = kernel
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * src[(i as isize + k as isize - radius).clamp(0, len - 1) as usize])
                    .sum();
            }
        }
        out
    };
    Ok(along(&along(x, 3), 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(input: ArrayD<f32>) -> Subject {
        let pixels = Preprocess::rgb(4, 4, 4, [127.0; 3], [128.0; 3]);
        Subject { input, target: 0, pixels: Some(pixels), custom_baseline: None }
    }

    #[test]
    fn black_is_pixel_zero_after_normalisation() {
        let s = subject(ArrayD::ones(vec![1, 3, 4, 4]));
        let b = Baseline::Black.tensor(&s, 0).unwrap();
        assert!(b.iter().all(|&v| v == -127.0 / 128.0));
    }

    #[test]
    fn blur_keeps_constants_and_the_mean_and_flattens_detail() {
        let flat = ArrayD::from_elem(vec![1, 3, 8, 8], 0.25f32);
        let blurred = blur(&flat, 3.0).unwrap();
        assert!(blurred.iter().all(|&v| (v - 0.25).abs() < 1e-6));
        let checker = ArrayD::from_shape_fn(vec![1, 1, 48, 48], |i| ((i[2] + i[3]) % 2) as f32);
        let blurred = blur(&checker, 4.0).unwrap();
        let inside = blurred.slice(ndarray::s![0, 0, 12..36, 12..36]);
        assert!(inside.iter().all(|&v| (v - 0.5).abs() < 1e-3), "a checkerboard blurs to grey");
    }

    #[test]
    fn noise_is_seeded_and_within_the_pixel_range() {
        let s = subject(ArrayD::zeros(vec![1, 3, 4, 4]));
        let a = Baseline::Noise.tensor(&s, 7).unwrap();
        assert_eq!(a, Baseline::Noise.tensor(&s, 7).unwrap());
        assert_ne!(a, Baseline::Noise.tensor(&s, 8).unwrap());
        assert!(a.iter().all(|&v| (-127.0 / 128.0..=1.0).contains(&v)));
    }

    #[test]
    fn a_missing_or_misshapen_custom_baseline_is_an_error() {
        let mut s = subject(ArrayD::zeros(vec![1, 3, 4, 4]));
        assert!(Baseline::Custom.tensor(&s, 0).is_err());
        s.custom_baseline = Some(ArrayD::zeros(vec![1, 3, 2, 2]));
        assert!(Baseline::Custom.tensor(&s, 0).unwrap_err().to_string().contains("1×3×2×2"));
    }
}
