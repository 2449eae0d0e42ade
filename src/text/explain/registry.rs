//! The text methods, one line each. A method is a type in its own file that implements
//! [`TokenMethod`]: its [`Descriptor`] and how it runs. The page's forms, the CLI's flags and
//! the tests that run every method read this list, as they read the image methods'.

use std::sync::Arc;

use super::{Sentence, TokenScores};
use crate::error::{Error, Result};
use crate::explain::perturbation::Players;
use crate::explain::schema::Descriptor;
use crate::explain::{Method, Progress, Registered, Registry, Settings};
use crate::text::TextModel;

/// Every text method, in the order the page lists them.
static TEXT_METHODS: &[&dyn TokenMethod] = &[
    &super::gradient::Gradient,
    &super::grad_x_input::GradXInput,
    &super::integrated_gradients::IntegratedGradients,
    &super::occlusion::Occlusion,
    &super::lime::Lime,
    &super::kernel_shap::KernelShap,
    &super::attention::Attention,
    &super::rollout::Rollout,
    &super::gradient_rollout::GradientRollout,
];

/// One text method with its settings. In JSON: `{"method": "lime", "samples": 500}`.
pub type TextMethod = Registered<dyn TokenMethod>;

/// A text method: what it is, and how it scores a sentence's tokens. A method that needs
/// gradients or attention implements [`TokenMethod::attribute`]; one that needs forward passes
/// only implements [`TokenMethod::removals`], and the model scores the [`super::TokenPlan`].
pub trait TokenMethod: Sync {
    fn descriptor(&self) -> Descriptor;

    /// One score per real token, from the settings (checked, defaults filled in).
    fn attribute(
        &self,
        _model: &TextModel,
        _sentence: &mut Sentence,
        settings: &Settings,
        _target: usize,
        _progress: Progress<'_>,
    ) -> Result<TokenScores> {
        Err(Error::Bug(format!("{} runs as a plan of forward passes", settings.id)))
    }

    /// A summed method ([`Descriptor::summed`]): the image method it runs on the embeddings
    /// (through [`crate::explain::summed`], in rounds the page's workers share), whose map is
    /// then summed over the embedding's width.
    fn on_embeddings(&self, settings: &Settings) -> Result<Method> {
        Err(Error::Bug(format!("{} is not a summed method", settings.id)))
    }

    /// Which of `players` tokens each pass keeps, and what the scores become.
    fn removals(&self, settings: &Settings, _players: usize) -> Result<Arc<dyn Players>> {
        Err(Error::Bug(format!("{} is not a forward-only method", settings.id)))
    }
}

impl Registry for dyn TokenMethod {
    const NOUN: &'static str = "text method";
    type About = Descriptor;

    fn list() -> &'static [&'static dyn TokenMethod] {
        TEXT_METHODS
    }

    fn describe(&self) -> Descriptor {
        self.descriptor()
    }
}
