//! LayerCAM (Jiang et al. 2021): every location of every channel weighted by its own positive
//! gradient, ReLU(Σ_k ReLU(∂y_c/∂A_k) ⊙ A_k), so that shallow layers, whose channel-mean
//! gradients say little, give fine maps. As pytorch-grad-cam's `LayerCAM`, kept raw. One
//! forward pass and a backward pass down to the layer.

use ndarray::Axis;

use super::layers::{cam_descriptor, gradient_cam};
use super::perturbation::Outcome;
use super::schema::Descriptor;
use super::{Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;

pub struct LayerCam;

impl ImageMethod for LayerCam {
    fn descriptor(&self) -> Descriptor {
        cam_descriptor(
            "layer-cam",
            "LayerCAM",
            "ReLU(Σₖ ReLU(∂y/∂Aₖ) ⊙ Aₖ), location by location, on {layer}",
        )
    }

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, _: Progress<'_>) -> Result<Outcome> {
        gradient_cam(e, s, settings, |activations, gradients| {
            let weighted = gradients.mapv(|g| g.max(0.0)) * activations;
            let map = weighted.sum_axis(Axis(0)).mapv(|v| v.max(0.0));
            map.insert_axis(Axis(0)).insert_axis(Axis(0)).into_dyn()
        })
    }
}
