//! Class Activation Mapping (Zhou et al. 2016), for models that end in global average pooling
//! and a linear layer: M_c = Σ_k W[c, k] · A_k, with A the pooled layer and W the linear
//! layer's weights. No bias, no rectification: the map is signed, and its mean plus the bias
//! is the logit. One forward pass, exposing the layer: no gradient, so it runs on any model with
//! such a head, quantised ones included.

use super::layers::{linear_head, weighted_sum, LinearHead};
use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Units};
use super::{Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::{Error, Result};

pub struct Cam;

impl ImageMethod for Cam {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "cam",
            "CAM",
            "Σₖ wₖAₖ, the classifier's weights on {layer}",
            Needs::Activations,
            Cost::Single,
            Display::Signed,
            Units::Own,
        )
    }

    fn applies(&self, explainer: &Explainer) -> Result<()> {
        head(explainer).map(|_| ())
    }

    fn attribute(
        &self,
        explainer: &Explainer,
        subject: &Subject,
        _: &Settings,
        _: Progress<'_>,
    ) -> Result<Outcome> {
        let head = head(explainer)?;
        if subject.target >= head.weight.nrows() {
            return Err(Error::Explain(format!(
                "Class {} is outside the model's {} classes.",
                subject.target,
                head.weight.nrows()
            )));
        }
        let activations = explainer.layer_activations(subject, &head.layer)?;
        let weights = head.weight.row(subject.target).to_vec();
        if weights.len() != activations.dim().0 {
            return Err(Error::Explain(format!(
                "The linear layer has {} inputs but layer {} has {} channels.",
                weights.len(),
                head.layer,
                activations.dim().0
            )));
        }
        Ok(Outcome { layer: Some(head.layer), ..weighted_sum(&activations, &weights, false).into() })
    }
}

/// The global average pooling and linear layer the model ends in, or why CAM cannot run.
fn head(explainer: &Explainer) -> Result<LinearHead> {
    linear_head(explainer.route()?)?.ok_or_else(|| {
        Error::Explain(
            "CAM needs a model that ends in global average pooling and a linear layer; \
             Grad-CAM works on any convolutional model."
                .into(),
        )
    })
}
