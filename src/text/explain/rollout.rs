//! Attention rollout (Abnar & Zuidema 2020), pooled as the classifier pools.

use super::{Sentence, TokenMethod, TokenScores};
use crate::error::Result;
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Progress, Settings};
use crate::text::rollout::rollout;
use crate::text::TextModel;

pub struct Rollout;

impl TokenMethod for Rollout {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "rollout",
            "Attention rollout",
            "attention multiplied through every layer, with the residual connection (Abnar & Zuidema 2020)",
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
        _: usize,
        _: Progress<'_>,
    ) -> Result<TokenScores> {
        let layers: Vec<_> = sentence.reading.attentions.iter().map(|a| a.view()).collect();
        let matrix = rollout(&layers, sentence.tokens())?.mapv(|v| v as f32);
        Ok(model.pooled(matrix))
    }
}
