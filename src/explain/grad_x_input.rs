//! Gradient × Input (Shrikumar et al. 2017): x ⊙ ∂y_c/∂x, in the model's input space (after
//! normalisation), as Captum's `InputXGradient`. One forward and one backward pass.
//!
//! On a linear model y = w·x + b it is each feature's contribution wᵢxᵢ.

use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Units};
use super::{input_gradient, Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub struct GradXInput;

impl ImageMethod for GradXInput {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "grad-x-input",
            "Gradient × Input",
            "x ⊙ ∂y/∂x, summed over colour channels",
            Needs::Gradients,
            Cost::Single,
            Display::SumOverChannels,
            Units::Contribution,
        )
    }

    fn attribute(
        &self,
        explainer: &Explainer,
        subject: &Subject,
        _: &Settings,
        _: Progress<'_>,
    ) -> Result<Outcome> {
        Ok((input_gradient(explainer, subject, Mode::Plain)? * &subject.input).into())
    }
}
