//! Token attributions: which tokens of one sentence drove the class's score, by every method
//! the page offers for text, listed in [`TextMethod`].
//!
//! - The gradient methods attribute to the embedding layer's output (see
//!   [`TextModel::embedding_explainer`]), then reduce over its width: the gradient's L2 norm,
//!   and the sums of Gradient × Input and of Integrated Gradients (from the embeddings of the
//!   [PAD] baseline, [CLS] and [SEP] kept: Captum's `LayerIntegratedGradients`).
//! - The forward-only methods remove tokens (id → [PAD], so the derived mask drops them; the
//!   others keep their positions): occlusion leaves one out, LIME and KernelSHAP remove
//!   coalitions, with the same sampling, fit and Shapley design as on superpixels. They are laid
//!   out as a [`TokenPlan`] so that the page's workers can share the passes.
//! - The attention methods read the model's attention probabilities: one layer's (one head,
//!   or their mean), the rollout, and the gradient-weighted rollout. A token's score is how
//!   much the pooled representation draws on it: the mean of the matrix's rows over the real
//!   tokens for a mean-pooled model, row 0 for one that reads [CLS].
//!
//! The players of the forward-only methods, and the tokens [`agreement`] ranks, are the real
//! tokens other than [CLS] and [SEP]. Each method is a file implementing [`TokenMethod`],
//! listed in `registry.rs`.

mod agreement;
mod attention;
mod grad_x_input;
mod gradient;
mod gradient_rollout;
mod integrated_gradients;
mod kernel_shap;
mod lime;
mod occlusion;
mod registry;
mod rollout;

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, ArrayViewD, Axis};

pub use agreement::{agreement, agreements, kendall_tau, Agreement};
pub use attention::AttentionConfig;
pub use integrated_gradients::TextPathConfig;
pub use kernel_shap::TokenShapConfig;
pub use lime::TokenLimeConfig;
pub use registry::{TextMethod, TokenMethod};

use super::model::{Pooling, Reading, TextModel};
use crate::error::{Error, Result};
use crate::explain::perturbation::{check_slice, PlayerValues, Players};
use crate::explain::{
    Attribution, Completeness, Explainer, Integration, Method, Node, Progress, Round, Subject, Sums,
};
use crate::grad::{GradModel, Mode, Target};

/// A method's answer on one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAttribution {
    pub method: TextMethod,
    pub target: usize,
    /// One per real token, [CLS] to [SEP]; `None` for a token the method does not score (the
    /// special tokens, for the methods that remove tokens).
    pub scores: Vec<Option<f32>>,
    /// The token × token matrix behind an attention method (rows attend to columns), over the
    /// real tokens.
    pub matrix: Option<Array2<f32>>,
    /// Integrated Gradients' completeness; KernelSHAP's efficiency.
    pub completeness: Option<Completeness>,
    /// LIME's weighted R².
    pub r_squared: Option<f32>,
}

/// What a gradient or attention method makes of a sentence, before it becomes a
/// [`TokenAttribution`].
#[derive(Debug, Clone, PartialEq)]
pub struct TokenScores {
    pub scores: Vec<Option<f32>>,
    pub matrix: Option<Array2<f32>>,
    pub completeness: Option<Completeness>,
}

/// One sentence, read, with the models its gradient methods need (made on first use).
#[derive(Debug)]
pub struct Sentence {
    pub reading: Reading,
    embedding: Option<Explainer>,
    baseline: Option<ndarray::ArrayD<f32>>,
    attention: Option<GradModel>,
}

impl Sentence {
    /// Real tokens, [CLS] and [SEP] included.
    pub fn tokens(&self) -> usize {
        self.reading.encoding.len_unpadded()
    }
}

impl TextModel {
    /// Tokenises and reads one sentence, ready to be explained.
    pub fn sentence(&self, text: &str) -> Result<Sentence> {
        Ok(Sentence { reading: self.read(text)?, embedding: None, baseline: None, attention: None })
    }

    /// The positions the forward-only methods remove and [`agreement`] ranks: real tokens other
    /// than [CLS] and [SEP].
    pub fn players(&self, sentence: &Sentence) -> Vec<usize> {
        let special = &self.config.special_tokens;
        let ids = &sentence.reading.encoding.ids[..sentence.tokens()];
        (0..ids.len()).filter(|&i| ids[i] != special.cls && ids[i] != special.sep).collect()
    }

    /// Runs one method on the sentence for class `target`.
    pub fn explain(
        &self,
        sentence: &mut Sentence,
        method: &TextMethod,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<TokenAttribution> {
        self.check(method, target)?;
        if method.forward_only() {
            let plan = self.plan(sentence, method, target)?;
            let scores = self.scores(&plan, 0..plan.len(), progress)?;
            return plan.finish(&scores);
        }
        let TokenScores { scores, matrix, completeness } =
            method.spec().attribute(self, sentence, method.settings(), target, progress)?;
        Ok(TokenAttribution { method: method.clone(), target, scores, matrix, completeness, r_squared: None })
    }

    /// Lays out a summed method (Integrated Gradients) on the sentence's embeddings, in rounds
    /// the page's workers share (see [`crate::explain::summed`]).
    pub fn integration(
        &self,
        sentence: &mut Sentence,
        method: &TextMethod,
        target: usize,
    ) -> Result<TokenIntegration> {
        self.check(method, target)?;
        let on = method.spec().on_embeddings(method.settings())?;
        let subject = self.embedding_subject(sentence, target)?;
        let inner = Integration::new(self.embedding(sentence)?, &subject, &on)?;
        Ok(TokenIntegration { method: method.clone(), target, inner })
    }

    /// The sums of passes `range` of a round with these `nodes`.
    pub fn sums(
        &self,
        sentence: &mut Sentence,
        integration: &TokenIntegration,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums> {
        integration.inner.sums(self.embedding(sentence)?, nodes, range, progress)
    }

    /// Takes a round's sums: the answer, or `None` and the next round.
    pub fn absorb(
        &self,
        sentence: &mut Sentence,
        integration: &mut TokenIntegration,
        parts: Vec<Sums>,
    ) -> Result<Option<TokenAttribution>> {
        let Some(attribution) = integration.inner.absorb(self.embedding(sentence)?, parts)? else {
            return Ok(None);
        };
        let TokenScores { scores, matrix, completeness } = token_scores(sentence, &attribution, summed);
        let (method, target) = (integration.method.clone(), integration.target);
        Ok(Some(TokenAttribution { method, target, scores, matrix, completeness, r_squared: None }))
    }

    /// An error unless the method can run on this model for class `target`.
    fn check(&self, method: &TextMethod, target: usize) -> Result<()> {
        if target >= self.config.labels.len() {
            return Err(Error::Explain(format!(
                "class {target} is outside the model's {} classes",
                self.config.labels.len()
            )));
        }
        match self.unavailable().into_iter().find(|(id, _)| *id == method.name()) {
            Some((_, why)) => Err(Error::Explain(why)),
            None => Ok(()),
        }
    }

    /// A gradient method (`method`, an image method) on the embedding model, reduced to one
    /// score per real token by `reduce` over the embedding's width.
    pub(crate) fn on_embeddings(
        &self,
        sentence: &mut Sentence,
        method: &Method,
        target: usize,
        progress: Progress<'_>,
        reduce: impl Fn(ArrayViewD<f32>) -> f32,
    ) -> Result<TokenScores> {
        let subject = self.embedding_subject(sentence, target)?;
        let explainer = self.embedding(sentence)?;
        let attribution = explainer.explain(&subject, method, progress)?;
        Ok(token_scores(sentence, &attribution, reduce))
    }

    /// A token × token matrix as token scores: what the pooled representation draws on each.
    pub(crate) fn pooled(&self, matrix: Array2<f32>) -> TokenScores {
        let scores: Vec<f32> = match self.config.pooling {
            Pooling::Mean => matrix.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default(),
            Pooling::Cls => matrix.row(0).to_vec(),
        };
        TokenScores {
            scores: scores.into_iter().map(Some).collect(),
            matrix: Some(matrix),
            completeness: None,
        }
    }

    /// The sentence's embeddings as the subject of the gradient methods, with the [PAD]
    /// sentence's embeddings as the baseline.
    fn embedding_subject(&self, sentence: &mut Sentence, target: usize) -> Result<Subject> {
        if sentence.baseline.is_none() {
            let ids = self.baseline_ids(&sentence.reading.encoding);
            sentence.baseline = Some(self.embeddings(&ids)?);
        }
        Ok(Subject {
            input: sentence.reading.embeddings.clone(),
            target,
            pixels: None,
            custom_baseline: sentence.baseline.clone(),
        })
    }

    fn embedding<'s>(&self, sentence: &'s mut Sentence) -> Result<&'s Explainer> {
        if sentence.embedding.is_none() {
            sentence.embedding = Some(self.embedding_explainer(&sentence.reading.encoding)?);
        }
        sentence.embedding.as_ref().ok_or_else(|| Error::Explain("the embedding model was lost".into()))
    }

    /// ∂y_target/∂A for every layer's attention probabilities, each heads × T × T.
    pub(crate) fn attention_gradients(
        &self,
        sentence: &mut Sentence,
        target: usize,
    ) -> Result<Vec<ndarray::Array3<f32>>> {
        let names = &self.config.outputs.attentions;
        if sentence.attention.is_none() {
            let onnx = self.embedding_onnx(&sentence.reading.encoding)?;
            sentence.attention = Some(GradModel::from_bytes(&onnx, names)?);
        }
        let model = sentence
            .attention
            .as_ref()
            .ok_or_else(|| Error::Explain("the attention gradient model was lost".into()))?;
        let mut grads =
            model.gradients(sentence.reading.embeddings.clone(), &Target::Index(target), Mode::Plain)?;
        names
            .iter()
            .map(|name| {
                let (_, grad) = grads
                    .intermediates
                    .remove(name)
                    .ok_or_else(|| Error::ModelRun(format!("no gradient reached the attention {name}")))?;
                let grad =
                    grad.into_dimensionality::<ndarray::Ix4>().map_err(|e| Error::ModelRun(e.to_string()))?;
                Ok(grad.index_axis(Axis(0), 0).to_owned())
            })
            .collect()
    }

    /// Lays out a forward-only method on the sentence.
    pub fn plan(&self, sentence: &Sentence, method: &TextMethod, target: usize) -> Result<TokenPlan> {
        let players = self.players(sentence);
        let removals = method.spec().removals(method.settings(), players.len())?;
        if players.is_empty() {
            return Err(Error::Explain(
                "The sentence has no token to remove besides [CLS] and [SEP].".into(),
            ));
        }
        Ok(TokenPlan {
            method: method.clone(),
            target,
            ids: sentence.reading.encoding.ids.clone(),
            tokens: sentence.tokens(),
            players,
            pad: self.config.special_tokens.pad,
            removals,
        })
    }

    /// The target's logit for passes `range` of the plan.
    pub fn scores(&self, plan: &TokenPlan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>> {
        check_slice(&range, plan.len(), "plan")?;
        let inputs = range.map(|i| TextModel::ids_tensor(&plan.ids(i)));
        self.score_passes(inputs, progress, |logits| {
            logits.get(plan.target).copied().ok_or_else(|| {
                Error::Explain(format!(
                    "class {} is outside the model's {} outputs",
                    plan.target,
                    logits.len()
                ))
            })
        })
    }

    /// Runs the reading model on each input (ids as f32, 1 × T), one at a time, and scores its
    /// output row with `score`; progress counts the inputs.
    pub(crate) fn score_passes(
        &self,
        inputs: impl ExactSizeIterator<Item = ndarray::ArrayD<f32>>,
        progress: Progress<'_>,
        score: impl Fn(ndarray::ArrayView1<'_, f32>) -> Result<f32>,
    ) -> Result<Vec<f32>> {
        let total = inputs.len();
        inputs
            .enumerate()
            .map(|(done, input)| {
                let logits = self.reading_model().run(input)?;
                let row = logits.iter().copied().collect::<ndarray::Array1<f32>>();
                progress(done + 1, total);
                score(row.view())
            })
            .collect()
    }
}

/// A map on the embeddings as one score per real token, by `reduce` over the embedding's width.
fn token_scores(
    sentence: &Sentence,
    attribution: &Attribution,
    reduce: impl Fn(ArrayViewD<f32>) -> f32,
) -> TokenScores {
    let map = attribution.map.index_axis(Axis(0), 0);
    let scores = (0..sentence.tokens()).map(|t| Some(reduce(map.index_axis(Axis(0), t)))).collect();
    TokenScores { scores, matrix: None, completeness: attribution.completeness }
}

/// How a summed method's map on the embeddings becomes a token's score: summed over the
/// embedding's width, as Captum's `LayerIntegratedGradients` is.
fn summed(row: ArrayViewD<f32>) -> f32 {
    row.sum()
}

/// A summed text method laid out on a sentence: the image method on its embeddings, in rounds.
#[derive(Debug)]
pub struct TokenIntegration {
    method: TextMethod,
    target: usize,
    inner: Integration,
}

impl TokenIntegration {
    pub fn round(&self) -> &Round {
        self.inner.round()
    }
}

/// A forward-only text method, ready to run: which tokens each pass removes, and how the
/// scores combine. Like [`crate::explain::Plan`], a pure function of the sentence and settings.
#[derive(Debug, Clone)]
pub struct TokenPlan {
    method: TextMethod,
    target: usize,
    ids: Vec<u32>,
    tokens: usize,
    players: Vec<usize>,
    pad: u32,
    /// Which players each pass keeps, and what the scores become.
    removals: Arc<dyn Players>,
}

impl TokenPlan {
    pub fn len(&self) -> usize {
        self.removals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of pass `i`: removed players become [PAD].
    pub fn ids(&self, i: usize) -> Vec<u32> {
        let mut ids = self.ids.clone();
        for (&position, &kept) in self.players.iter().zip(self.removals.present(i).iter()) {
            if !kept {
                if let Some(id) = ids.get_mut(position) {
                    *id = self.pad;
                }
            }
        }
        ids
    }

    /// Combines every pass's score, in order.
    pub fn finish(&self, scores: &[f32]) -> Result<TokenAttribution> {
        if scores.len() != self.len() {
            return Err(Error::Bug(format!("{} scores for {} passes", scores.len(), self.len())));
        }
        let PlayerValues { values, completeness, r_squared } = self.removals.values(scores)?;
        let mut token_scores = vec![None; self.tokens];
        for (&position, value) in self.players.iter().zip(values) {
            if let Some(score) = token_scores.get_mut(position) {
                *score = Some(value);
            }
        }
        Ok(TokenAttribution {
            method: self.method.clone(),
            target: self.target,
            scores: token_scores,
            matrix: None,
            completeness,
            r_squared,
        })
    }
}
