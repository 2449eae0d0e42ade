//! The wasm boundary for text: the sentence view's session ([`Session`] over a
//! [`TextWorkspace`]). Like [`super::Playground`], thin: convert, call the core, map errors.

use wasm_bindgen::prelude::*;

use super::{registry_entry, to_js};
use crate::session::{Session, TextWorkspace};
use crate::text::{TextMethod, TextModel};

/// The registry of text methods, as [`super::methods`] gives the image ones.
#[wasm_bindgen(js_name = textMethods)]
pub fn text_methods() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> =
        TextMethod::all().iter().map(|m| registry_entry(m.descriptor(), m)).collect::<Result<_, _>>()?;
    to_js(&list)
}

/// A text classifier, the sentence read last, and the maps made of it by tile. Its `render`
/// takes `{"tiles": [{"tile", "colormap"}]}` and returns `[{tile, colours: [[r, g, b]] per
/// token, dark: [bool] per token (light text needed), scale, colormap, matrix: {size, rgba,
/// scale}}]`; its `explain` returns `{method, scores, completeness, rSquared, signed, matrix}`.
#[wasm_bindgen]
pub struct TextPlayground {
    session: Session<TextWorkspace>,
}

session_verbs!(TextPlayground);

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

    /// The methods that cannot run on this model, each with why: `{id: reason}`.
    pub fn unavailable(&self) -> Result<JsValue, JsError> {
        let reasons: serde_json::Map<String, serde_json::Value> =
            self.model().unavailable().into_iter().map(|(id, why)| (id.to_owned(), why.into())).collect();
        to_js(&reasons)
    }

    /// `{layers, heads, maxLength, ownLength}`: `ownLength` when each sentence is read at its
    /// own length rather than padded to `maxLength`.
    pub fn shape(&self) -> Result<JsValue, JsError> {
        let model = self.model();
        let shape = serde_json::json!({
            "layers": model.config.outputs.attentions.len(),
            "heads": model.heads()?,
            "maxLength": model.config.max_length,
            "ownLength": model.length() == crate::text::Length::Own,
        });
        to_js(&shape)
    }

    /// The logits for token ids (padded with [PAD], if the model pads), as they are: one
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

    /// Kendall's τ between every kept attention map and every other kept map, over the words
    /// ranked by |score|: `[{attention, other, tau}]` (`tau` null when undefined).
    pub fn agreement(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.agreement()?)
    }

    fn model(&self) -> &TextModel {
        &self.session.work().model
    }
}
