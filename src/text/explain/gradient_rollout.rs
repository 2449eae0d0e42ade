//! Gradient-weighted attention rollout (Chefer et al. 2021), pooled as the classifier pools.

use super::{Sentence, TokenMethod, TokenScores};
use crate::error::Result;
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Progress, Settings};
use crate::text::rollout::gradient_rollout;
use crate::text::TextModel;

pub struct GradientRollout;

impl TokenMethod for GradientRollout {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "gradient-rollout",
            "Gradient-weighted rollout",
            "rollout of attention weighted by its positive gradient, layer by layer (Chefer et al. 2021)",
            Needs::Attention,
            Cost::Single,
            Display::Magnitude,
            Units::Own,
        )
    }

    fn attribute(
        &self,
        model: &TextModel,
        sentence: &mut Sentence,
        _: &Settings,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<TokenScores> {
        let gradients = model.attention_gradients(sentence, target)?;
        let layers: Vec<_> = sentence.reading.attentions.iter().map(|a| a.view()).collect();
        let gradients: Vec<_> = gradients.iter().map(|g| g.view()).collect();
        let matrix = gradient_rollout(&layers, &gradients, sentence.tokens())?.mapv(|v| v as f32);
        progress(1, 1);
        Ok(model.pooled(matrix))
    }
}
