//! Grad-CAM (Selvaraju et al. 2017): on a convolutional layer A, the channel weights are the
//! spatially averaged gradients α_k = mean_ij ∂y_c/∂A_kij, and the map is ReLU(Σ_k α_k A_k), at
//! the layer's resolution (upsampled bilinearly only for display). As Captum's `LayerGradCam`
//! with `relu_attributions=True`. One forward pass and a backward pass down to the layer.
//!
//! On a model that pools A globally into a linear layer, Grad-CAM is ReLU(CAM) / (H·W).

use ndarray::{ArrayD, Axis};

use super::layers::{chosen_layer, weighted_sum};
use super::{Explainer, LayerConfig, Subject};
use crate::error::Result;

pub(super) fn attribute(
    explainer: &Explainer,
    subject: &Subject,
    config: &LayerConfig,
) -> Result<(String, ArrayD<f32>)> {
    let (layer, activations, gradients) = chosen_layer(explainer, subject, config)?;
    let weights: Vec<f32> = gradients.axis_iter(Axis(0)).map(|g| g.mean().unwrap_or(0.0)).collect();
    Ok((layer, weighted_sum(&activations, &weights, true)))
}
