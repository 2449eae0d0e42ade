//! Gradient × Input at each token's embedding, summed over its width.

use super::{Sentence, TokenMethod, TokenScores};
use crate::error::Result;
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Method, Progress, Settings};
use crate::text::TextModel;

pub struct GradXInput;

impl TokenMethod for GradXInput {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "grad-x-input",
            "Gradient × Input",
            "e · ∂y/∂e, summed over the embedding",
            Needs::Gradients,
            Cost::Single,
            Display::Signed,
            Units::Contribution,
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
        let sum = |row: ndarray::ArrayViewD<f32>| row.sum();
        model.on_embeddings(sentence, &Method::from_name("grad-x-input")?, target, progress, sum)
    }
}
