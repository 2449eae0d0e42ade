//! Vanilla gradient, or saliency (Simonyan et al. 2014): ∂y_c/∂x. One forward and one backward
//! pass.
//!
//! The raw map is signed, as Captum's `Saliency(abs=False)`; the display takes |·|, the largest
//! over colour channels, as the paper does.

use ndarray::ArrayD;

use super::{input_gradient, Explainer, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub(super) fn attribute(explainer: &Explainer, subject: &Subject) -> Result<ArrayD<f32>> {
    input_gradient(explainer, subject, Mode::Plain)
}
