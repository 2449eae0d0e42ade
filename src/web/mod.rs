//! The wasm boundary: thin wrappers over the core, run inside the page's Web Worker.
//!
//! Each exported method converts its arguments, calls the core and maps errors to `JsError`,
//! so the worker can show the message and carry on. Nothing here panics.

use wasm_bindgen::prelude::*;

use crate::grad::{GradModel, Mode, Target};
use crate::{preprocess, ImageClassifier, RgbaPixels};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Refuses an image file that is too large to decode, from its header alone.
#[wasm_bindgen(js_name = checkImageFile)]
pub fn check_image_file(bytes: &[u8]) -> Result<(), JsError> {
    Ok(preprocess::check_encoded(bytes)?)
}

/// An image classifier loaded from an ONNX file and its JSON description.
#[wasm_bindgen]
pub struct Classifier(ImageClassifier);

#[wasm_bindgen]
impl Classifier {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], config_json: &[u8]) -> Result<Classifier, JsError> {
        Ok(Classifier(ImageClassifier::from_bytes(onnx, config_json)?))
    }

    /// The model's display name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.config.name.clone()
    }

    /// The logits for one input tensor of the model's input size (1×3×H×W), as it is.
    pub fn logits(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        let p = &self.0.config.preprocess;
        let shape = vec![1, 3, p.height as usize, p.width as usize];
        let tensor = ndarray::ArrayD::from_shape_vec(shape, input.to_vec())?;
        Ok(self.0.logits(tensor)?.to_vec())
    }

    /// Preprocesses RGBA pixels and returns `{ view: {width, height, rgba}, top: [{index, label, prob}] }`.
    pub fn classify(&self, rgba: &[u8], width: u32, height: u32, k: usize) -> Result<JsValue, JsError> {
        let result = self.0.classify_pixels(RgbaPixels { width, height, data: rgba }, k)?;
        let (view_width, view_height) = result.view.dimensions();
        let out = ClassifyOutput {
            view: View {
                width: view_width,
                height: view_height,
                rgba: serde_bytes::ByteBuf::from(preprocess::to_rgba_bytes(&result.view)),
            },
            top: result.top,
        };
        Ok(serde_wasm_bindgen::to_value(&out)?)
    }
}

/// A model prepared for gradients with respect to its input.
#[wasm_bindgen]
pub struct GradientModel(GradModel);

#[wasm_bindgen]
impl GradientModel {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8]) -> Result<GradientModel, JsError> {
        Ok(GradientModel(GradModel::from_bytes(onnx, &[])?))
    }

    /// ∂output[target]/∂input for an input tensor of the given shape, flattened like the input.
    pub fn gradient(&self, input: &[f32], shape: Vec<usize>, target: usize) -> Result<Vec<f32>, JsError> {
        let tensor = ndarray::ArrayD::from_shape_vec(shape, input.to_vec())?;
        let grads = self.0.gradients(tensor, &Target::Index(target), Mode::Plain)?;
        Ok(grads.input.into_iter().collect())
    }
}

#[derive(serde::Serialize)]
struct ClassifyOutput {
    view: View,
    top: Vec<crate::Prediction>,
}

#[derive(serde::Serialize)]
struct View {
    width: u32,
    height: u32,
    rgba: serde_bytes::ByteBuf,
}
