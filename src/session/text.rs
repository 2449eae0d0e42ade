//! The sentence view's workspace: a text classifier and the current sentence; its maps are
//! kept whole (scores per token, perhaps a token × token matrix) and drawn as highlighted
//! tokens and heatmaps.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{Session, Workspace};
use crate::error::{Error, Result};
use crate::evaluate::{Features, Passes};
use crate::explain::{CompletenessReport, Node, Progress, Round, Sums};
use crate::render::{self, Colormap};
use crate::text::explain::TokenIntegration;
use crate::text::explain::{agreements, Agreement, TokenMethod};
use crate::text::{Sentence, TextMethod, TextModel, TokenAttribution, TokenPlan};
use crate::Prediction;

/// A text classifier and the sentence of the session.
pub struct TextWorkspace {
    pub model: TextModel,
    sentence: Option<Sentence>,
    /// The sentence's text, to read it again on a randomised model.
    text: String,
}

/// A sentence as the page shows it.
#[derive(Debug, Serialize)]
pub struct Reading {
    pub tokens: Vec<Token>,
    /// Whether the sentence was cut to the model's length.
    pub truncated: bool,
    pub top: Vec<Prediction>,
}

/// One token, with its place in the sentence in UTF-16 code units (JavaScript's).
#[derive(Debug, Serialize)]
pub struct Token {
    pub token: String,
    pub start: usize,
    pub end: usize,
    /// False for [CLS] and [SEP].
    pub word: bool,
}

impl TextWorkspace {
    pub fn new(model: TextModel) -> TextWorkspace {
        TextWorkspace { model, sentence: None, text: String::new() }
    }

    fn sentence(&self) -> Result<&Sentence> {
        self.sentence.as_ref().ok_or_else(no_sentence)
    }

    /// Reads a sentence and makes it the session's. Use through [`Session::new_subject`].
    pub fn set_text(&mut self, text: &str) -> Result<Reading> {
        let sentence = self.model.sentence(text)?;
        let words = self.model.players(&sentence);
        let encoding = &sentence.reading.encoding;
        let utf16 = |byte: usize| text.get(..byte).map_or(0, |s| s.encode_utf16().count());
        let tokens = encoding
            .tokens
            .iter()
            .zip(&encoding.offsets)
            .take(sentence.tokens())
            .enumerate()
            .map(|(i, (token, &(start, end)))| Token {
                token: token.clone(),
                start: utf16(start),
                end: utf16(end),
                word: words.contains(&i),
            })
            .collect();
        let labels = &self.model.config.labels;
        let logits = ndarray::ArrayView1::from(&sentence.reading.logits);
        let top =
            crate::classify::ranked(logits, labels.len(), |i| labels.get(i).cloned().unwrap_or_default());
        let reading = Reading { tokens, truncated: encoding.truncated, top };
        self.sentence = Some(sentence);
        text.clone_into(&mut self.text);
        Ok(reading)
    }
}

fn no_sentence() -> Error {
    Error::Text("No sentence is loaded.".into())
}

/// What the page is told of a finished map.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextSummary {
    pub method: TextMethod,
    /// One per real token; `None` where the method gives none.
    pub scores: Vec<Option<f32>>,
    pub completeness: Option<CompletenessReport>,
    pub r_squared: Option<f32>,
    pub signed: bool,
    /// Whether a token × token matrix comes with it.
    pub matrix: bool,
}

impl Workspace for TextWorkspace {
    type Spec = dyn TokenMethod;
    type Plan = TokenPlan;
    type Answer = TokenAttribution;
    type Kept = TokenAttribution;
    type Summary = TextSummary;

    fn explain(
        &mut self,
        method: &TextMethod,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<TokenAttribution> {
        let sentence = self.sentence.as_mut().ok_or_else(no_sentence)?;
        self.model.explain(sentence, method, target, progress)
    }

    fn plan(&self, method: &TextMethod, target: usize) -> Result<TokenPlan> {
        self.model.plan(self.sentence()?, method, target)
    }

    fn passes(plan: &TokenPlan) -> usize {
        plan.len()
    }

    fn scores(&self, plan: &TokenPlan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>> {
        self.model.scores(plan, range, progress)
    }

    fn finish(plan: &TokenPlan, scores: &[f32]) -> Result<TokenAttribution> {
        plan.finish(scores)
    }

    type Integration = TokenIntegration;

    fn integration(&mut self, method: &TextMethod, target: usize) -> Result<TokenIntegration> {
        let sentence = self.sentence.as_mut().ok_or_else(no_sentence)?;
        self.model.integration(sentence, method, target)
    }

    fn round(integration: &TokenIntegration) -> &Round {
        integration.round()
    }

    fn sums(
        &mut self,
        integration: &TokenIntegration,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums> {
        let sentence = self.sentence.as_mut().ok_or_else(no_sentence)?;
        self.model.sums(sentence, integration, nodes, range, progress)
    }

    fn absorb(
        &mut self,
        integration: &mut TokenIntegration,
        parts: Vec<Sums>,
    ) -> Result<Option<TokenAttribution>> {
        let sentence = self.sentence.as_mut().ok_or_else(no_sentence)?;
        self.model.absorb(sentence, integration, parts)
    }

    fn keep(&self, attribution: TokenAttribution) -> Result<(TokenAttribution, TextSummary)> {
        let summary = TextSummary {
            method: attribution.method.clone(),
            scores: attribution.scores.clone(),
            completeness: attribution.completeness.map(|c| c.report()),
            r_squared: attribution.r_squared,
            signed: attribution.method.signed(),
            matrix: attribution.matrix.is_some(),
        };
        Ok((attribution, summary))
    }

    fn features(&self) -> Result<Features> {
        Ok(self.model.features(self.sentence()?))
    }

    fn values(&self, kept: &TokenAttribution) -> Result<Vec<f32>> {
        Ok(self.model.ranked(self.sentence()?, &kept.scores))
    }

    fn measure_scores(
        &self,
        passes: &dyn Passes,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        self.model.measure_scores(passes, range, progress)
    }

    type Picture = TokenPicture;

    fn onnx(&self) -> &[u8] {
        self.model.onnx()
    }

    fn with_onnx(&self, onnx: &[u8]) -> Result<TextWorkspace> {
        let model = self.model.with_onnx(onnx)?;
        let sentence = match self.sentence {
            Some(_) => Some(model.sentence(&self.text)?),
            None => None,
        };
        Ok(TextWorkspace { model, sentence, text: self.text.clone() })
    }

    fn image_shape(&self) -> Option<(usize, usize)> {
        None
    }

    fn picture(&self, kept: &TokenAttribution) -> Result<TokenPicture> {
        let words = self.model.players(self.sentence()?);
        let scale = render::word_scale(&kept.scores, &words);
        let colours = render::token_colours(&kept.scores, scale, Colormap::default_for(true).for_tokens());
        let dark = colours.iter().map(|&c| render::is_dark(c)).collect();
        Ok(TokenPicture { colours, dark, scale })
    }
}

/// A map drawn for the filmstrip: each token's highlight at the map's own scale.
#[derive(Debug, Serialize)]
pub struct TokenPicture {
    pub colours: Vec<[u8; 3]>,
    /// Per token: whether its highlight needs light text.
    pub dark: Vec<bool>,
    pub scale: f32,
}

/// How to colour finished tiles: each with a diverging colour map (magnitudes use its
/// positive half); matrices use a sequential one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextRender {
    pub tiles: Vec<TextStyle>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextStyle {
    pub tile: u32,
    pub colormap: Colormap,
}

/// A coloured tile.
#[derive(Debug, Serialize)]
pub struct Highlights {
    pub tile: u32,
    /// Per token.
    pub colours: Vec<[u8; 3]>,
    /// Per token: whether its highlight needs light text.
    pub dark: Vec<bool>,
    pub scale: f32,
    pub colormap: Colormap,
    pub matrix: Option<Matrix>,
}

/// A token × token matrix, drawn.
#[derive(Debug, Serialize)]
pub struct Matrix {
    pub size: usize,
    pub rgba: serde_bytes::ByteBuf,
    pub scale: f32,
}

impl Session<TextWorkspace> {
    /// Colours the finished tiles among those listed. A tile's scale is the largest |score| of a
    /// word (so that [CLS] and [SEP], which attention favours, do not wash the words out); a
    /// matrix's, its largest entry between two different words.
    pub fn render(&self, request: &TextRender) -> Result<Vec<Highlights>> {
        let work = self.work();
        let words = work.model.players(work.sentence()?);
        let mut out = Vec::new();
        for style in &request.tiles {
            let Some(attribution) = self.kept(style.tile) else { continue };
            let colormap = style.colormap.for_tokens();
            let scale = render::word_scale(&attribution.scores, &words);
            let matrix = attribution.matrix.as_ref().map(|m| {
                let top = render::matrix_scale(m, &words);
                let rgba = render::matrix(m.view(), top, Colormap::default_for(false));
                Matrix { size: m.nrows(), rgba: serde_bytes::ByteBuf::from(rgba), scale: top }
            });
            let colours = render::token_colours(&attribution.scores, scale, colormap);
            let dark = colours.iter().map(|&c| render::is_dark(c)).collect();
            out.push(Highlights { tile: style.tile, dark, colours, scale, colormap, matrix });
        }
        Ok(out)
    }

    /// Kendall's τ between every kept attention map and every other kept map, over the words
    /// ranked by |score|, in tile order.
    pub fn agreement(&self) -> Result<Vec<Agreement<u32>>> {
        let work = self.work();
        let words = work.model.players(work.sentence()?);
        Ok(agreements(&self.tiles(), &words))
    }
}
