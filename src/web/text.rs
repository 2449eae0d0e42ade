//! The wasm boundary for text: the sentence view's session ([`Session`] over a
//! [`TextWorkspace`]). Like [`super::Playground`], thin: convert, call the core, map errors.

use wasm_bindgen::prelude::*;

use super::{registry_entry, reporter, to_js};
use crate::session::{Session, TextWorkspace};
use crate::text::{TextMethod, TextModel};

/// The registry of text methods, as [`super::methods`] gives the image ones.
#[wasm_bindgen(js_name = textMethods)]
pub fn text_methods() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> =
        TextMethod::all().iter().map(|m| registry_entry(m.descriptor(), m)).collect::<Result<_, _>>()?;
    to_js(&list)
}

/// A text classifier, the sentence read last, and the maps made of it by tile.
#[wasm_bindgen]
pub struct TextPlayground {
    session: Session<TextWorkspace>,
}

#[wasm_bindgen]
impl TextPlayground {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], config_json: &[u8], tokenizer_json: &[u8]) -> Result<TextPlayground, JsError> {
        let model = TextModel::from_bytes(onnx, config_json, tokenizer_json)?;
        Ok(TextPlayground { session: Session::new(TextWorkspace::new(model)) })
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.model().config.name.clone()
    }

    pub fn labels(&self) -> Vec<String> {
        self.model().config.labels.clone()
    }

    pub fn examples(&self) -> Vec<String> {
        self.model().config.examples.clone()
    }

    /// `{layers, heads, maxLength}`.
    pub fn shape(&self) -> Result<JsValue, JsError> {
        let model = self.model();
        let shape = serde_json::json!({
            "layers": model.config.outputs.attentions.len(),
            "heads": model.heads()?,
            "maxLength": model.config.max_length,
        });
        to_js(&shape)
    }

    /// The logits for token ids (the model's length, padded with [PAD]), as they are: one
    /// forward pass of the reading model.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f32>, JsError> {
        Ok(self.model().reading_model().run(TextModel::ids_tensor(ids))?.iter().copied().collect())
    }

    /// Reads a sentence, forgets the maps of the last one, and returns
    /// `{tokens: [{token, start, end, word}], truncated, top: [{index, label, prob}]}`, with
    /// offsets in UTF-16 code units (JavaScript's) and `word` false for [CLS] and [SEP].
    #[wasm_bindgen(js_name = setText)]
    pub fn set_text(&mut self, text: &str) -> Result<JsValue, JsError> {
        to_js(&self.session.new_subject().set_text(text)?)
    }

    /// Runs one method (JSON settings) on the sentence for `target`, keeps the answer as tile
    /// `tile`, and returns `{method, scores, completeness, rSquared, signed, matrix}` (`matrix`:
    /// whether there is one).
    pub fn explain(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        to_js(&self.session.explain(tile, method, target, &mut reporter(progress))?)
    }

    /// Lays out a forward-only method on the sentence; returns how many passes it makes.
    pub fn plan(&mut self, method: &str, target: usize) -> Result<usize, JsError> {
        Ok(self.session.passes(method, target)?)
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
        Ok(self.session.scores(method, target, start..end, &mut reporter(progress))?)
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
        to_js(&self.session.finish(tile, method, target, scores)?)
    }

    pub fn forget(&mut self, tile: u32) {
        self.session.forget(tile);
    }

    /// Colours finished tiles (see [`Session::render`]). The request is JSON
    /// `{"tiles": [{"tile", "colormap"}]}`; returns `[{tile, colours: [[r, g, b]] per token,
    /// dark: [bool] per token (light text needed), scale, colormap, matrix: {size, rgba, scale}}]`.
    pub fn render(&self, request: &str) -> Result<JsValue, JsError> {
        to_js(&self.session.render(&serde_json::from_str(request)?)?)
    }

    /// Kendall's τ between every kept attention map and every other kept map, over the words
    /// ranked by |score|: `[{attention, other, tau}]` (`tau` null when undefined).
    pub fn agreement(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.agreement()?)
    }

    fn model(&self) -> &TextModel {
        &self.session.work().model
    }
}
