//! Score-CAM (Wang et al. 2020): a CAM whose channel weights come from forward passes, not
//! gradients. Each channel A_k of a convolutional layer is upsampled to the input's size, scaled
//! to [0, 1] and laid over the input as a mask; the target's score on each masked input, through
//! a softmax over the channels, weighs its channel: the map is ReLU(Σ_k softmax(s)_k A_k), at the
//! layer's resolution.
//!
//! As pytorch-grad-cam's `ScoreCAM`: bilinear upsampling with aligned corners
//! (`UpsamplingBilinear2d`), (A − min) / (max − min + 1e-8) per channel, the target's logit as
//! the score, and the softmax over channels; the map kept raw (the library then rescales it to
//! [0, 1]). One forward pass exposing the layer, then one per channel (1280 on
//! EfficientNet-Lite0's last layer), laid out as a plan the page's workers share.

use ndarray::{Array3, ArrayD, Axis};

use super::layers::{cam_descriptor, weighted_sum};
use super::perturbation::{Outcome, Perturbations};
use super::schema::{Cost, Descriptor, Needs};
use super::{Explainer, ImageMethod, Settings, Subject};
use crate::classify::softmax;
use crate::error::{Error, Result};
use crate::resample::{bilinear, Corners};

/// pytorch-grad-cam's ε in the masks' normalisation.
const EPSILON: f32 = 1e-8;

pub struct ScoreCam;

impl ImageMethod for ScoreCam {
    fn descriptor(&self) -> Descriptor {
        Descriptor {
            needs: Needs::ForwardPasses,
            cost: Cost::Many,
            ..cam_descriptor(
                "score-cam",
                "Score-CAM",
                "ReLU(Σₖ wₖAₖ), wₖ the score with Aₖ as a mask, on {layer}",
            )
        }
    }

    fn plan(
        &self,
        explainer: &Explainer,
        subject: &Subject,
        settings: &Settings,
    ) -> Result<Box<dyn Perturbations>> {
        let [_, height, width] = subject.image_shape("Score-CAM")?;
        let layer = explainer.resolve_layer(&settings.config()?)?;
        let activations = explainer.layer_activations(subject, &layer)?;
        let masks = activations
            .outer_iter()
            .map(|channel| {
                let up = bilinear(channel, height, width, Corners::Aligned);
                let (lo, hi) =
                    up.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
                (lo, 1.0 / (hi - lo + EPSILON))
            })
            .collect();
        Ok(Box::new(Plan { input: subject.input.clone(), layer, activations, masks }))
    }
}

/// Score-CAM's inputs: the input under each channel's mask.
struct Plan {
    input: ArrayD<f32>,
    layer: String,
    activations: Array3<f32>,
    /// Each channel's upsampled minimum and 1 / (max − min + ε).
    masks: Vec<(f32, f32)>,
}

impl Perturbations for Plan {
    fn len(&self) -> usize {
        self.masks.len()
    }

    fn input(&self, k: usize) -> ArrayD<f32> {
        let (height, width) = (self.input.shape()[2], self.input.shape()[3]);
        let (lo, scale) = self.masks[k];
        let mask = bilinear(self.activations.index_axis(Axis(0), k), height, width, Corners::Aligned)
            .mapv(|v| (v - lo) * scale);
        let mut input = self.input.clone();
        for mut channel in input.axis_iter_mut(Axis(1)) {
            channel.index_axis_mut(Axis(0), 0).zip_mut_with(&mask, |x, &m| *x *= m);
        }
        input
    }

    fn finish(&self, scores: &[f32]) -> Result<Outcome> {
        let weights = softmax(ndarray::ArrayView1::from(scores));
        if weights.len() != self.activations.dim().0 {
            return Err(Error::Bug(format!(
                "{} scores for {} channels",
                weights.len(),
                self.activations.dim().0
            )));
        }
        let map = weighted_sum(&self.activations, &weights, true);
        Ok(Outcome { layer: Some(self.layer.clone()), ..map.into() })
    }
}
