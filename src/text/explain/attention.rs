//! One layer's attention probabilities: one head's, or the mean of the heads, as a token ×
//! token matrix and, pooled as the classifier pools, one score per token.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{Sentence, TokenMethod, TokenScores};
use crate::error::{Error, Result};
use crate::explain::schema::{Cost, Descriptor, Needs, Setting, Units};
use crate::explain::{Display, Progress, Settings};
use crate::text::TextModel;

pub struct Attention;

/// The most attention layers and heads a setting can name.
const MAX_ATTENTION: u64 = 256;

/// Which attention map: a layer (`None`: the last) and a head (`None`: the mean of the heads).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttentionConfig {
    pub layer: Option<usize>,
    pub head: Option<usize>,
}

impl TokenMethod for Attention {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "attention",
            "Attention",
            "{head} of {layer}: how much the sentence’s summary attends to each token",
            Needs::Attention,
            Cost::Single,
            Display::Magnitude,
            Units::Own,
        )
        .settings::<AttentionConfig>(vec![
            Setting::index("layer", "Layer", MAX_ATTENTION).or_none("the last layer"),
            Setting::index("head", "Head", MAX_ATTENTION).or_none("the mean of the heads"),
        ])
    }

    fn attribute(
        &self,
        model: &TextModel,
        sentence: &mut Sentence,
        settings: &Settings,
        _: usize,
        _: Progress<'_>,
    ) -> Result<TokenScores> {
        Ok(model.pooled(attention_matrix(sentence, &settings.config()?)?))
    }
}

/// One layer's attention over the real tokens: one head's, or the mean of the heads.
fn attention_matrix(sentence: &Sentence, config: &AttentionConfig) -> Result<Array2<f32>> {
    let layers = &sentence.reading.attentions;
    let tokens = sentence.tokens();
    let layer = config.layer.unwrap_or(layers.len().saturating_sub(1));
    let attention = layers.get(layer).ok_or_else(|| {
        Error::Explain(format!("the model has {} attention layers, not {}", layers.len(), layer + 1))
    })?;
    let heads = attention.shape()[0];
    let block = |h: usize| attention.slice(ndarray::s![h, ..tokens, ..tokens]).to_owned();
    match config.head {
        Some(h) if h >= heads => {
            Err(Error::Explain(format!("layer {} has {heads} heads, not {}", layer + 1, h + 1)))
        }
        Some(h) => Ok(block(h)),
        None => Ok((0..heads).map(block).fold(Array2::zeros((tokens, tokens)), |a, b| a + b) / heads as f32),
    }
}
