//! XGradCAM (Fu et al. 2020): Grad-CAM with channel weights that make the map satisfy the
//! paper's sensitivity and conservation axioms, w_k = Σ_ij (A_kij / (Σ_ij A_kij + ε)) ·
//! ∂y_c/∂A_kij, and the map ReLU(Σ_k w_k A_k). As pytorch-grad-cam's `XGradCAM`, with its
//! ε = 1e-7, kept raw. One forward pass and a backward pass down to the layer.

use ndarray::Axis;

use super::layers::{cam_descriptor, gradient_cam, weighted_sum};
use super::perturbation::Outcome;
use super::schema::Descriptor;
use super::{Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;

/// pytorch-grad-cam's ε in the denominator.
const EPSILON: f32 = 1e-7;

pub struct XGradCam;

impl ImageMethod for XGradCam {
    fn descriptor(&self) -> Descriptor {
        cam_descriptor("xgrad-cam", "XGradCAM", "ReLU(Σₖ wₖAₖ), wₖ = Σ Aₖ ∂y/∂Aₖ / Σ Aₖ, on {layer}")
    }

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, _: Progress<'_>) -> Result<Outcome> {
        gradient_cam(e, s, settings, |activations, gradients| {
            let weights: Vec<f32> = activations
                .axis_iter(Axis(0))
                .zip(gradients.axis_iter(Axis(0)))
                .map(|(a, g)| (&g * &a).sum() / (a.sum() + EPSILON))
                .collect();
            weighted_sum(activations, &weights, true)
        })
    }
}
