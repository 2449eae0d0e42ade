//! Guided Backprop (Springenberg et al. 2015): the gradient, except that every rectifier passes
//! back only positive gradients, and only where it passed its input forwards. One forward and
//! one backward pass.
//!
//! Rectifiers are `Relu` and `Clip` from 0 (ReLU6, as in EfficientNet-Lite and MobileNet).
//! Captum's `GuidedBackprop` hooks only `nn.ReLU` modules, so on a ReLU6 network it returns the
//! plain gradient; the reference data treats ReLU6 as a rectifier too
//! (`tests/data/explain/make_references.py`). The display is |·|, the largest over channels.

use ndarray::ArrayD;

use super::{input_gradient, Explainer, Subject};
use crate::error::Result;
use crate::grad::Mode;

pub(super) fn attribute(explainer: &Explainer, subject: &Subject) -> Result<ArrayD<f32>> {
    input_gradient(explainer, subject, Mode::Guided)
}
