//! Integrated Gradients on the embeddings, from those of the sentence with every word [PAD]
//! ([CLS] and [SEP] kept), summed over the embedding's width: Captum's
//! `LayerIntegratedGradients` on the embedding layer.

use serde::{Deserialize, Serialize};

use super::{summed, Sentence, TokenMethod, TokenScores};
use crate::error::Result;
use crate::explain::integrated_gradients::{rule_setting, steps_setting, tolerance_setting, Rule};
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Baseline, Display, Method, PathConfig, Progress, Settings};
use crate::text::TextModel;

pub struct IntegratedGradients;

/// Integrated Gradients' settings on text; the baseline is always the [PAD] sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextPathConfig {
    pub steps: usize,
    pub rule: Rule,
    pub tolerance: Option<f32>,
}

impl Default for TextPathConfig {
    fn default() -> Self {
        let PathConfig { steps, rule, tolerance, .. } = PathConfig::default();
        TextPathConfig { steps, rule, tolerance }
    }
}

impl TokenMethod for IntegratedGradients {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "integrated-gradients",
            "Integrated Gradients",
            "(e − e′) · ∫ ∇y along the path from e′, the embeddings of the sentence with every word [PAD]",
            Needs::Gradients,
            Cost::Many,
            Display::Signed,
            Units::Contribution,
        )
        .completeness("Σφ − (f(x) − f(x′))")
        .summed()
        .settings::<TextPathConfig>(vec![steps_setting(), rule_setting(), tolerance_setting()])
    }

    fn attribute(
        &self,
        model: &TextModel,
        sentence: &mut Sentence,
        settings: &Settings,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<TokenScores> {
        model.on_embeddings(sentence, &self.on_embeddings(settings)?, target, progress, summed)
    }

    fn on_embeddings(&self, settings: &Settings) -> Result<Method> {
        let TextPathConfig { steps, rule, tolerance } = settings.config()?;
        let path = PathConfig { steps, rule, baseline: Baseline::Custom, seed: 0, tolerance };
        Method::with("integrated-gradients", &path)
    }
}
