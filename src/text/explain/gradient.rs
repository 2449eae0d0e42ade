//! The gradient's L2 norm at each token's embedding: how sensitive the score is to the token,
//! whatever the direction.

use super::{Sentence, TokenMethod, TokenScores};
use crate::error::Result;
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Method, Progress, Settings};
use crate::text::TextModel;

pub struct Gradient;

impl TokenMethod for Gradient {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "gradient",
            "Gradient",
            "‖∂y/∂e‖, the norm of the gradient at each token’s embedding",
            Needs::Gradients,
            Cost::Single,
            Display::Magnitude,
            Units::Gradient,
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
        let norm = |row: ndarray::ArrayViewD<f32>| row.iter().map(|g| g * g).sum::<f32>().sqrt();
        model.on_embeddings(sentence, &Method::from_name("gradient")?, target, progress, norm)
    }
}
