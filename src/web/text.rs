//! The wasm boundary for text: a text classifier, the current sentence and its finished token
//! maps by tile. Like [`super::Playground`], thin: convert, call the core, map errors.

use std::collections::HashMap;

use wasm_bindgen::prelude::*;

use super::{registry_entry, reporter, to_js};
use crate::render::{self, Colormap};
use crate::session::LastMade;
use crate::text::explain::agreements;
use crate::text::{Sentence, TextMethod, TextModel, TokenAttribution, TokenPlan};

/// The registry of text methods, as [`super::methods`] gives the image ones.
#[wasm_bindgen(js_name = textMethods)]
pub fn text_methods() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> =
        TextMethod::all().iter().map(|m| registry_entry(m.descriptor(), m)).collect::<Result<_, _>>()?;
    to_js(&list)
}

/// A text classifier, the sentence read last, and the maps made of it.
#[wasm_bindgen]
pub struct TextPlayground {
    model: TextModel,
    sentence: Option<Sentence>,
    results: HashMap<u32, TokenAttribution>,
    /// The last forward-only method laid out, by its JSON settings and target.
    plan: LastMade<(String, usize), TokenPlan>,
}

#[wasm_bindgen]
impl TextPlayground {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], config_json: &[u8], tokenizer_json: &[u8]) -> Result<TextPlayground, JsError> {
        let model = TextModel::from_bytes(onnx, config_json, tokenizer_json)?;
        Ok(TextPlayground { model, sentence: None, results: HashMap::new(), plan: LastMade::default() })
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.model.config.name.clone()
    }

    pub fn labels(&self) -> Vec<String> {
        self.model.config.labels.clone()
    }

    pub fn examples(&self) -> Vec<String> {
        self.model.config.examples.clone()
    }

    /// `{layers, heads, maxLength}`.
    pub fn shape(&self) -> Result<JsValue, JsError> {
        let shape = serde_json::json!({
            "layers": self.model.config.outputs.attentions.len(),
            "heads": self.model.heads()?,
            "maxLength": self.model.config.max_length,
        });
        to_js(&shape)
    }

    /// The logits for token ids (the model's length, padded with [PAD]), as they are: one
    /// forward pass of the reading model.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f32>, JsError> {
        Ok(self.model.reading_model().run(TextModel::ids_tensor(ids))?.iter().copied().collect())
    }

    /// Reads a sentence, forgets the maps of the last one, and returns
    /// `{tokens: [{token, start, end, word}], truncated, top: [{index, label, prob}]}`, with
    /// offsets in UTF-16 code units (JavaScript's) and `word` false for [CLS] and [SEP].
    #[wasm_bindgen(js_name = setText)]
    pub fn set_text(&mut self, text: &str) -> Result<JsValue, JsError> {
        let sentence = self.model.sentence(text)?;
        let words = self.model.players(&sentence);
        let encoding = &sentence.reading.encoding;
        let utf16 = |byte: usize| text.get(..byte).map_or(0, |s| s.encode_utf16().count());
        let tokens: Vec<serde_json::Value> = (0..sentence.tokens())
            .map(|i| {
                let (start, end) = encoding.offsets[i];
                serde_json::json!({
                    "token": encoding.tokens[i],
                    "start": utf16(start),
                    "end": utf16(end),
                    "word": words.contains(&i),
                })
            })
            .collect();
        let labels = &self.model.config.labels;
        let logits = ndarray::ArrayView1::from(&sentence.reading.logits);
        let top =
            crate::classify::ranked(logits, labels.len(), |i| labels.get(i).cloned().unwrap_or_default());
        let out = serde_json::json!({"tokens": tokens, "truncated": encoding.truncated, "top": top});
        self.sentence = Some(sentence);
        self.results.clear();
        self.plan.clear();
        to_js(&out)
    }

    /// Runs one method (JSON settings, as [`TextMethod`]) on the sentence for `target`, keeps
    /// the answer as tile `tile`, and returns `{method, scores, completeness, rSquared, signed,
    /// matrix}` (`matrix`: whether there is one).
    pub fn explain(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        let method = TextMethod::parse(method)?;
        let sentence = self.sentence.as_mut().ok_or_else(no_sentence)?;
        let attribution = self.model.explain(sentence, &method, target, &mut reporter(progress))?;
        self.keep(tile, attribution)
    }

    /// Lays out a forward-only method on the sentence; returns how many passes it makes.
    pub fn plan(&mut self, method: &str, target: usize) -> Result<usize, JsError> {
        Ok(self.lay_out(method, target)?.len())
    }

    /// The scores of passes `start..end` of the method's plan.
    pub fn scores(
        &mut self,
        method: &str,
        target: usize,
        start: usize,
        end: usize,
        progress: &js_sys::Function,
    ) -> Result<Vec<f32>, JsError> {
        let plan = self.lay_out(method, target)?;
        Ok(self.model.scores(&plan, start..end, &mut reporter(progress))?)
    }

    /// Combines every pass's score, keeps the answer as tile `tile`, and returns what
    /// [`TextPlayground::explain`] returns.
    pub fn finish(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        scores: &[f32],
    ) -> Result<JsValue, JsError> {
        let attribution = self.lay_out(method, target)?.finish(scores)?;
        self.keep(tile, attribution)
    }

    pub fn forget(&mut self, tile: u32) {
        self.results.remove(&tile);
    }

    /// Colours finished tiles. The request is JSON `{"tiles": [{"tile", "colormap"}]}` (a
    /// diverging colour map: magnitudes use its positive half); returns
    /// `[{tile, colours: [[r, g, b]] per token, dark: [bool] per token (light text needed),
    /// scale, colormap, matrix: {size, rgba, scale}}]`.
    /// A tile's scale is the largest |score| of a word (so that [CLS] and [SEP], which attention
    /// favours, do not wash the words out); a matrix's, its largest entry between two different
    /// words.
    pub fn render(&self, request: &str) -> Result<JsValue, JsError> {
        let request: RenderRequest = serde_json::from_str(request)?;
        let sentence = self.sentence.as_ref().ok_or_else(no_sentence)?;
        let words = self.model.players(sentence);
        let mut out = Vec::new();
        for style in &request.tiles {
            let Some(attribution) = self.results.get(&style.tile) else { continue };
            // Highlights use a diverging map (magnitudes its positive half); matrices a sequential one.
            let colormap = style.colormap.for_tokens();
            let scale = render::word_scale(&attribution.scores, &words);
            let matrix = attribution.matrix.as_ref().map(|m| {
                let top = render::matrix_scale(m, &words);
                RenderedMatrix {
                    size: m.nrows(),
                    rgba: serde_bytes::ByteBuf::from(render::matrix(
                        m.view(),
                        top,
                        Colormap::default_for(false),
                    )),
                    scale: top,
                }
            });
            let colours = render::token_colours(&attribution.scores, scale, colormap);
            out.push(Rendered {
                tile: style.tile,
                dark: colours.iter().map(|&c| render::is_dark(c)).collect(),
                colours,
                scale,
                colormap,
                matrix,
            });
        }
        to_js(&out)
    }

    /// Kendall's τ between every kept attention map and every other kept map, over the words
    /// ranked by |score|: `[{attention, other, tau}]` (`tau` null when undefined).
    pub fn agreement(&self) -> Result<JsValue, JsError> {
        let sentence = self.sentence.as_ref().ok_or_else(no_sentence)?;
        let words = self.model.players(sentence);
        let mut tiles: Vec<(u32, &TokenAttribution)> = self.results.iter().map(|(&t, a)| (t, a)).collect();
        tiles.sort_by_key(|(tile, _)| *tile);
        let pairs = agreements(&tiles, &words);
        to_js(&pairs)
    }

    /// Lays out the plan for these settings and target, unless it is the last one.
    /// The plan for these settings and target: the last one laid out, or a new one.
    fn lay_out(&mut self, method: &str, target: usize) -> Result<std::sync::Arc<TokenPlan>, JsError> {
        let sentence = self.sentence.as_ref().ok_or_else(no_sentence)?;
        let model = &self.model;
        self.plan.get_or_make((method.to_owned(), target), || {
            Ok(model.plan(sentence, &TextMethod::parse(method)?, target)?)
        })
    }

    fn keep(&mut self, tile: u32, attribution: TokenAttribution) -> Result<JsValue, JsError> {
        let summary = serde_json::json!({
            "method": attribution.method,
            "scores": attribution.scores,
            "completeness": attribution.completeness.map(|c| c.report()),
            "rSquared": attribution.r_squared,
            "signed": attribution.method.signed(),
            "matrix": attribution.matrix.is_some(),
        });
        self.results.insert(tile, attribution);
        to_js(&summary)
    }
}

fn no_sentence() -> JsError {
    JsError::new("No sentence is loaded.")
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderRequest {
    tiles: Vec<TileStyle>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TileStyle {
    tile: u32,
    colormap: Colormap,
}

#[derive(serde::Serialize)]
struct Rendered {
    tile: u32,
    colours: Vec<[u8; 3]>,
    /// Per token: whether its highlight needs light text.
    dark: Vec<bool>,
    scale: f32,
    colormap: Colormap,
    matrix: Option<RenderedMatrix>,
}

#[derive(serde::Serialize)]
struct RenderedMatrix {
    size: usize,
    rgba: serde_bytes::ByteBuf,
    scale: f32,
}
