//! Class Activation Mapping (Zhou et al. 2016), for models that end in global average pooling
//! and a linear layer: M_c = Σ_k W[c, k] · A_k, with A the pooled layer and W the linear
//! layer's weights. No bias, no rectification: the map is signed, and its mean plus the bias
//! is the logit. One forward pass (the backward pass stops at the layer, one step away).

use ndarray::ArrayD;

use super::layers::{activations_and_gradients, linear_head, weighted_sum};
use super::{Explainer, Subject};
use crate::error::{Error, Result};

pub(super) fn attribute(explainer: &Explainer, subject: &Subject) -> Result<(String, ArrayD<f32>)> {
    let head = linear_head(explainer.gradient_model()?)?.ok_or_else(|| {
        Error::Explain(
            "CAM needs a model that ends in global average pooling and a linear layer; \
             Grad-CAM works on any convolutional model."
                .into(),
        )
    })?;
    if subject.target >= head.weight.nrows() {
        return Err(Error::Explain(format!(
            "class {} is outside the model's {} classes",
            subject.target,
            head.weight.nrows()
        )));
    }
    let (activations, _) = activations_and_gradients(explainer, subject, &head.layer)?;
    let weights = head.weight.row(subject.target).to_vec();
    if weights.len() != activations.dim().0 {
        return Err(Error::Explain(format!(
            "the linear layer has {} inputs but layer {} has {} channels",
            weights.len(),
            head.layer,
            activations.dim().0
        )));
    }
    Ok((head.layer, weighted_sum(&activations, &weights, false)))
}
