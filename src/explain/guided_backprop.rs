//! Guided Backprop (Springenberg et al. 2015): the gradient, except that every rectifier passes
//! back only positive gradients, and only where it passed its input forwards. One forward and
//! one backward pass.
//!
//! Rectifiers are `Relu` and `Clip` from 0 (ReLU6, as in EfficientNet-Lite and MobileNet).
//! Captum's `GuidedBackprop` hooks only `nn.ReLU` modules, so on a ReLU6 network it returns the
//! plain gradient; the reference data treats ReLU6 as a rectifier too
//! (`tests/data/explain/make_references.py`). The display is |·|, the largest over channels.

use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Units};
use super::{input_gradient, Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub struct GuidedBackprop;

impl ImageMethod for GuidedBackprop {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "guided-backprop",
            "Guided Backprop",
            "∂y/∂x, passing only positive signals back through ReLUs",
            Needs::Gradients,
            Cost::Single,
            Display::MaxAbsOverChannels,
            Units::Gradient,
        )
    }

    fn attribute(
        &self,
        explainer: &Explainer,
        subject: &Subject,
        _: &Settings,
        _: Progress<'_>,
    ) -> Result<Outcome> {
        Ok(input_gradient(explainer, subject, Mode::Guided)?.into())
    }
}
