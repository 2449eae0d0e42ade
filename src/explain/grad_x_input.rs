//! Gradient × Input (Shrikumar et al. 2017): x ⊙ ∂y_c/∂x, in the model's input space (after
//! normalisation), as Captum's `InputXGradient`. One forward and one backward pass.
//!
//! On a linear model y = w·x + b it is each feature's contribution wᵢxᵢ.

use ndarray::ArrayD;

use super::{input_gradient, Explainer, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub(super) fn attribute(explainer: &Explainer, subject: &Subject) -> Result<ArrayD<f32>> {
    Ok(input_gradient(explainer, subject, Mode::Plain)? * &subject.input)
}
