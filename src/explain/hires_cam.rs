//! HiResCAM (Draelos & Carin 2020): on a convolutional layer A, the map is
//! ReLU(Σ_k ∂y_c/∂A_k ⊙ A_k), each location weighted by its own gradient rather than by the
//! channel's mean gradient as Grad-CAM does, so the map is the layer's contribution to the
//! score, location by location. As pytorch-grad-cam's `HiResCAM`, kept raw (the library then
//! rescales to [0, 1]). One forward pass and a backward pass down to the layer.

use super::layers::{cam_descriptor, gradient_cam};
use super::perturbation::Outcome;
use super::schema::Descriptor;
use super::{Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;

pub struct HiResCam;

impl ImageMethod for HiResCam {
    fn descriptor(&self) -> Descriptor {
        cam_descriptor("hires-cam", "HiResCAM", "ReLU(Σₖ ∂y/∂Aₖ ⊙ Aₖ), location by location, on {layer}")
    }

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, _: Progress<'_>) -> Result<Outcome> {
        gradient_cam(e, s, settings, |activations, gradients| {
            let map = (gradients * activations).sum_axis(ndarray::Axis(0)).mapv(|v| v.max(0.0));
            map.insert_axis(ndarray::Axis(0)).insert_axis(ndarray::Axis(0)).into_dyn()
        })
    }
}
