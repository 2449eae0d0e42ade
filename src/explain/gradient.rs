//! Vanilla gradient, or saliency (Simonyan et al. 2014): ∂y_c/∂x. One forward and one backward
//! pass.
//!
//! The raw map is signed, as Captum's `Saliency(abs=False)`; the display takes |·|, the largest
//! over colour channels, as the paper does.

use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Units};
use super::{input_gradient, Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub struct Gradient;

impl ImageMethod for Gradient {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "gradient",
            "Gradient",
            "|∂y/∂x|, the largest over colour channels",
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
        Ok(input_gradient(explainer, subject, Mode::Plain)?.into())
    }
}
