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
//! tokens other than [CLS] and [SEP].

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use super::model::{Pooling, Reading, TextModel};
use super::rollout::{gradient_rollout, rollout};
use crate::error::{Error, Result};
use crate::explain::integrated_gradients::{rule_setting, steps_setting, tolerance_setting, Rule};
use crate::explain::kernel_shap::{budget_setting, Design};
use crate::explain::lime::{fit_settings, Samples};
use crate::explain::perturbation::{LeaveOneOut, PlayerValues, Players};
use crate::explain::schema::{self, Cost, Descriptor, Needs, Setting, Units};
use crate::explain::{Baseline, Completeness, Display, Explainer, Method, PathConfig, Progress, Subject};
use crate::grad::{GradModel, Mode, Target};

/// Every text method, with its settings. In JSON: `{"method": "lime", "samples": 500}`; read
/// it with [`TextMethod::parse`] or [`TextMethod::new`], which check the settings against the
/// method's schema ([`TextMethod::descriptor`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum TextMethod {
    Gradient,
    GradXInput,
    IntegratedGradients(TextPathConfig),
    Occlusion,
    Lime(TokenLimeConfig),
    KernelShap(TokenShapConfig),
    Attention(AttentionConfig),
    Rollout,
    GradientRollout,
}

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

/// LIME over tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenLimeConfig {
    pub samples: usize,
    /// On the cosine distance (the lime package's text default, 25 on distances × 100).
    pub kernel_width: f32,
    pub ridge: f32,
    pub seed: u64,
}

impl Default for TokenLimeConfig {
    fn default() -> Self {
        TokenLimeConfig { samples: 500, kernel_width: 0.25, ridge: 1.0, seed: 0 }
    }
}

/// KernelSHAP over tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenShapConfig {
    /// `None`: shap's 2M + 2048, which enumerates every coalition of up to 11 tokens.
    pub budget: Option<usize>,
    pub seed: u64,
}

/// The most attention layers and heads a setting can name.
const MAX_ATTENTION: u64 = 256;

/// Which attention map: a layer (`None`: the last) and a head (`None`: the mean of the heads).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttentionConfig {
    pub layer: Option<usize>,
    pub head: Option<usize>,
}

impl TextMethod {
    /// Every method at its default settings, in the order the page lists them.
    pub fn all() -> Vec<TextMethod> {
        vec![
            TextMethod::Gradient,
            TextMethod::GradXInput,
            TextMethod::IntegratedGradients(TextPathConfig::default()),
            TextMethod::Occlusion,
            TextMethod::Lime(TokenLimeConfig::default()),
            TextMethod::KernelShap(TokenShapConfig::default()),
            TextMethod::Attention(AttentionConfig::default()),
            TextMethod::Rollout,
            TextMethod::GradientRollout,
        ]
    }

    /// Every text method's descriptor, in order.
    pub fn descriptors() -> Vec<Descriptor> {
        TextMethod::all().iter().map(TextMethod::descriptor).collect()
    }

    /// What the method is, its settings' schema among it.
    pub fn descriptor(&self) -> Descriptor {
        let describe = |title, caption, needs, cost, display, units| {
            Descriptor::new(self.name(), title, caption, needs, cost, display, units)
        };
        let contribution = |title, caption, cost| {
            describe(title, caption, Needs::Gradients, cost, Display::Signed, Units::Contribution)
        };
        let removal = |title, caption, cost, units| {
            describe(title, caption, Needs::ForwardPasses, cost, Display::Signed, units)
        };
        let attention = |title, caption| {
            describe(title, caption, Needs::Attention, Cost::Single, Display::Magnitude, Units::Own)
        };
        match self {
            TextMethod::Gradient => describe(
                "Gradient",
                "‖∂y/∂e‖, the norm of the gradient at each token’s embedding",
                Needs::Gradients,
                Cost::Single,
                Display::Magnitude,
                Units::Gradient,
            ),
            TextMethod::GradXInput => {
                contribution("Gradient × Input", "e · ∂y/∂e, summed over the embedding", Cost::Single)
            }
            TextMethod::IntegratedGradients(_) => contribution(
                "Integrated Gradients",
                "(e − e′) · ∫ ∇y along the path from e′, the embeddings of the sentence with every word [PAD]",
                Cost::Many,
            )
            .completeness("Σφ − (f(x) − f(x′))")
            .settings::<TextPathConfig>(vec![steps_setting(), rule_setting(), tolerance_setting()]),
            TextMethod::Occlusion => removal(
                "Occlusion",
                "drop in the score when the token is left out",
                Cost::PerFeature,
                Units::Own,
            ),
            TextMethod::Lime(_) => removal(
                "LIME",
                "a weighted linear fit of the score on which tokens are kept, over {samples} samples",
                Cost::Many,
                Units::SegmentShare,
            )
            .settings::<TokenLimeConfig>(fit_settings()),
            TextMethod::KernelShap(_) => removal(
                "KernelSHAP",
                "Shapley values of the tokens; coalitions: {budget} (every one, up to 11 tokens)",
                Cost::Many,
                Units::SegmentShare,
            )
            .completeness("Σφ − (f(x) − f(∅))")
            .settings::<TokenShapConfig>(vec![budget_setting(), Setting::seed().help("of the sampled coalitions")]),
            TextMethod::Attention(_) => attention(
                "Attention",
                "{head} of {layer}: how much the sentence’s summary attends to each token",
            )
            .settings::<AttentionConfig>(vec![
                Setting::index("layer", "Layer", MAX_ATTENTION).or_none("the last layer"),
                Setting::index("head", "Head", MAX_ATTENTION).or_none("the mean of the heads"),
            ]),
            TextMethod::Rollout => attention(
                "Attention rollout",
                "attention multiplied through every layer, with the residual connection (Abnar & Zuidema 2020)",
            ),
            TextMethod::GradientRollout => attention(
                "Gradient-weighted rollout",
                "rollout of attention weighted by its positive gradient, layer by layer (Chefer et al. 2021)",
            ),
        }
    }

    /// The method `name` with `settings` (a JSON object; missing keys take their defaults),
    /// checked against its schema.
    pub fn new(name: &str, settings: serde_json::Value) -> Result<TextMethod> {
        let method = TextMethod::from_name(name)?;
        let serde_json::Value::Object(given) = settings else {
            return Err(Error::Setting(format!("The settings of {name} must be a JSON object.")));
        };
        let mut values = schema::validate(&method.descriptor(), &given)?;
        values.insert("method".into(), name.into());
        serde_json::from_value(serde_json::Value::Object(values))
            .map_err(|e| Error::Bug(format!("{name}'s settings do not fit its config: {e}")))
    }

    /// Parses `{"method": NAME, ...settings}`, checked against the method's schema.
    pub fn parse(json: &str) -> Result<TextMethod> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::Setting(format!("The settings are not JSON: {e}.")))?;
        let serde_json::Value::Object(mut given) = value else {
            return Err(Error::Setting("A method's settings must be a JSON object.".into()));
        };
        match given.remove("method") {
            Some(serde_json::Value::String(name)) => TextMethod::new(&name, serde_json::Value::Object(given)),
            _ => Err(Error::Setting("A method's settings must name the method.".into())),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            TextMethod::Gradient => "gradient",
            TextMethod::GradXInput => "grad-x-input",
            TextMethod::IntegratedGradients(_) => "integrated-gradients",
            TextMethod::Occlusion => "occlusion",
            TextMethod::Lime(_) => "lime",
            TextMethod::KernelShap(_) => "kernel-shap",
            TextMethod::Attention(_) => "attention",
            TextMethod::Rollout => "rollout",
            TextMethod::GradientRollout => "gradient-rollout",
        }
    }

    /// The method at its default settings, by name.
    pub fn from_name(name: &str) -> Result<TextMethod> {
        TextMethod::all().into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let names: Vec<&str> = TextMethod::all().iter().map(TextMethod::name).collect();
            Error::Setting(format!(
                "There is no text method {name}; the text methods are {}.",
                names.join(", ")
            ))
        })
    }

    /// Whether scores can be negative (a token that argues against the class).
    pub fn signed(&self) -> bool {
        self.descriptor().display.signed()
    }

    /// Whether it needs forward passes only; those are laid out as a [`TokenPlan`].
    pub fn forward_only(&self) -> bool {
        self.descriptor().needs == Needs::ForwardPasses
    }

    /// The gradient methods, as the method that runs on the embedding model.
    fn on_embeddings(&self) -> Result<Option<Method>> {
        Ok(match self {
            TextMethod::Gradient => Some(Method::from_name("gradient")?),
            TextMethod::GradXInput => Some(Method::from_name("grad-x-input")?),
            TextMethod::IntegratedGradients(c) => Some(Method::with(
                "integrated-gradients",
                &PathConfig {
                    steps: c.steps,
                    rule: c.rule,
                    baseline: Baseline::Custom,
                    seed: 0,
                    tolerance: c.tolerance,
                },
            )?),
            _ => None,
        })
    }

    /// Whether its scores come from attention (compared with the others by [`agreement`]).
    pub fn from_attention(&self) -> bool {
        self.descriptor().needs == Needs::Attention
    }
}

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
        if target >= self.config.labels.len() {
            return Err(Error::Explain(format!(
                "class {target} is outside the model's {} classes",
                self.config.labels.len()
            )));
        }
        let answer = |scores: Vec<Option<f32>>| TokenAttribution {
            method: method.clone(),
            target,
            scores,
            matrix: None,
            completeness: None,
            r_squared: None,
        };
        let tokens = sentence.tokens();
        match method {
            TextMethod::Gradient | TextMethod::GradXInput | TextMethod::IntegratedGradients(_) => {
                let (scores, completeness) = self.on_embeddings(sentence, method, target, progress)?;
                Ok(TokenAttribution { completeness, ..answer(scores) })
            }
            TextMethod::Occlusion | TextMethod::Lime(_) | TextMethod::KernelShap(_) => {
                let plan = self.plan(sentence, method, target)?;
                let scores = self.scores(&plan, 0..plan.len(), progress)?;
                plan.finish(&scores)
            }
            TextMethod::Attention(config) => Ok(self.pooled(attention_matrix(sentence, config)?, answer)),
            TextMethod::Rollout => {
                let layers: Vec<_> = sentence.reading.attentions.iter().map(|a| a.view()).collect();
                let matrix = rollout(&layers, tokens)?.mapv(|v| v as f32);
                Ok(self.pooled(matrix, answer))
            }
            TextMethod::GradientRollout => {
                let gradients = self.attention_gradients(sentence, target)?;
                let layers: Vec<_> = sentence.reading.attentions.iter().map(|a| a.view()).collect();
                let gradients: Vec<_> = gradients.iter().map(|g| g.view()).collect();
                let matrix = gradient_rollout(&layers, &gradients, tokens)?.mapv(|v| v as f32);
                progress(1, 1);
                Ok(self.pooled(matrix, answer))
            }
        }
    }

    /// A gradient method on the embedding model, reduced to one score per real token: the
    /// gradient's L2 norm over the embedding's width, or the sum of the contributions.
    fn on_embeddings(
        &self,
        sentence: &mut Sentence,
        method: &TextMethod,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<(Vec<Option<f32>>, Option<Completeness>)> {
        let on_embeddings = method
            .on_embeddings()?
            .ok_or_else(|| Error::Explain(format!("{} does not run on the embeddings", method.name())))?;
        let subject = self.embedding_subject(sentence, target)?;
        let explainer = self.embedding(sentence)?;
        let attribution = explainer.explain(&subject, &on_embeddings, progress)?;
        let map = attribution.map.index_axis(Axis(0), 0);
        let scores = (0..sentence.tokens())
            .map(|t| {
                let row = map.index_axis(Axis(0), t);
                Some(match method {
                    TextMethod::Gradient => row.iter().map(|g| g * g).sum::<f32>().sqrt(),
                    _ => row.sum(),
                })
            })
            .collect();
        Ok((scores, attribution.completeness))
    }

    /// A token × token matrix as token scores: what the pooled representation draws on each.
    fn pooled(
        &self,
        matrix: Array2<f32>,
        answer: impl Fn(Vec<Option<f32>>) -> TokenAttribution,
    ) -> TokenAttribution {
        let scores: Vec<f32> = match self.config.pooling {
            Pooling::Mean => matrix.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default(),
            Pooling::Cls => matrix.row(0).to_vec(),
        };
        TokenAttribution { matrix: Some(matrix), ..answer(scores.into_iter().map(Some).collect()) }
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
    fn attention_gradients(
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
        let removals: Arc<dyn Players> = match method {
            TextMethod::Occlusion => Arc::new(LeaveOneOut { players: players.len() }),
            TextMethod::Lime(c) => {
                Arc::new(Samples::new(players.len(), c.samples, c.kernel_width, c.ridge, c.seed)?)
            }
            TextMethod::KernelShap(c) => Arc::new(Design::new(players.len(), c.budget, c.seed)?),
            other => {
                return Err(Error::Bug(format!("{} is not a forward-only method", other.name())));
            }
        };
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
        if range.end > plan.len() || range.start > range.end {
            let (start, end, len) = (range.start, range.end, plan.len());
            return Err(Error::Bug(format!("passes {start} to {end} are outside the plan's {len}")));
        }
        let total = range.len();
        let model = self.reading_model();
        let mut scores = Vec::with_capacity(total);
        for (done, i) in range.enumerate() {
            let logits = model.run(TextModel::ids_tensor(&plan.ids(i)))?;
            let score = logits.iter().nth(plan.target).copied().ok_or_else(|| {
                Error::Explain(format!(
                    "class {} is outside the model's {} outputs",
                    plan.target,
                    logits.len()
                ))
            })?;
            scores.push(score);
            progress(done + 1, total);
        }
        Ok(scores)
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

/// How far one attention map agrees with one other map, as the page's table shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement<K> {
    pub attention: K,
    pub other: K,
    /// Kendall's τ-b ([`agreement`]); `None` where it is undefined.
    pub tau: Option<f64>,
}

/// Kendall's τ between every map from attention and every map that is not, in the order given:
/// whether attention ranks the words as the other methods do (Jain & Wallace 2019).
pub fn agreements<K: Copy>(maps: &[(K, &TokenAttribution)], players: &[usize]) -> Vec<Agreement<K>> {
    let (attention, others): (Vec<_>, Vec<_>) = maps.iter().partition(|(_, a)| a.method.from_attention());
    attention
        .iter()
        .flat_map(|(a, x)| {
            others.iter().map(move |(b, y)| Agreement {
                attention: *a,
                other: *b,
                tau: agreement(x, y, players),
            })
        })
        .collect()
}

/// Kendall's τ-b between two methods' rankings of the players by |score| (how much, whatever
/// the sign: attention has none), as Jain & Wallace (2019) compare attention with gradients.
/// `None` when fewer than two players are scored by both, or one ranking is all ties.
pub fn agreement(a: &TokenAttribution, b: &TokenAttribution, players: &[usize]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = players
        .iter()
        .filter_map(|&p| match (a.scores.get(p)?, b.scores.get(p)?) {
            (Some(u), Some(v)) => Some((f64::from(u.abs()), f64::from(v.abs()))),
            _ => None,
        })
        .unzip();
    kendall_tau(&x, &y)
}

/// Kendall's τ-b (ties corrected, as SciPy's default): `None` for fewer than two pairs or a
/// constant side.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i] - x[j];
            let dy = y[i] - y[j];
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tied_x += 1,
                (false, true) => tied_y += 1,
                (false, false) if (dx > 0.0) == (dy > 0.0) => concordant += 1,
                (false, false) => discordant += 1,
            }
        }
    }
    let pairs_x = (concordant + discordant + tied_x) as f64;
    let pairs_y = (concordant + discordant + tied_y) as f64;
    (pairs_x > 0.0 && pairs_y > 0.0).then(|| (concordant - discordant) as f64 / (pairs_x * pairs_y).sqrt())
}
