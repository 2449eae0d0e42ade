//! Grad-CAM (Selvaraju et al. 2017): on a convolutional layer A, the channel weights are the
//! spatially averaged gradients α_k = mean_ij ∂y_c/∂A_kij, and the map is ReLU(Σ_k α_k A_k), at
//! the layer's resolution (upsampled bilinearly only for display). As Captum's `LayerGradCam`
//! with `relu_attributions=True`. One forward pass and a backward pass down to the layer.
//!
//! On a model that pools A globally into a linear layer, Grad-CAM is ReLU(CAM) / (H·W).

use ndarray::Axis;

use super::layers::{cam_descriptor, gradient_cam, weighted_sum};
use super::perturbation::Outcome;
use super::schema::Descriptor;
use super::{Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;

pub struct GradCam;

impl ImageMethod for GradCam {
    fn descriptor(&self) -> Descriptor {
        cam_descriptor("grad-cam", "Grad-CAM", "ReLU(Σₖ αₖAₖ), αₖ = mean ∂y/∂Aₖ, on {layer}")
    }

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, _: Progress<'_>) -> Result<Outcome> {
        gradient_cam(e, s, settings, |activations, gradients| {
            let weights: Vec<f32> = gradients.axis_iter(Axis(0)).map(|g| g.mean().unwrap_or(0.0)).collect();
            weighted_sum(activations, &weights, true)
        })
    }
}
