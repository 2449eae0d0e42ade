//! The wasm boundary: thin wrappers over the core, run inside the page's Web Worker.
//!
//! Each exported method converts its arguments, calls the core and maps errors to `JsError`,
//! so the worker can show the message and carry on. Nothing here panics.

use std::collections::HashMap;
use std::sync::Arc;

use image::RgbImage;
use ndarray::ArrayD;
use wasm_bindgen::prelude::*;

use crate::explain::schema::{Descriptor, Units};
use crate::explain::{Attribution, Explainer, Method, Plan, Subject};
use crate::render::{self, Colormap, Heatmap, Style};
use crate::session::LastMade;
use crate::{preprocess, ImageClassifier, RgbaPixels};

mod text;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Traps, as running out of memory would: the end-to-end test makes a worker die with it, to
/// check that the page replaces the worker and carries on.
#[wasm_bindgen(js_name = trapForTests)]
pub fn trap_for_tests() {
    core::arch::wasm32::unreachable()
}

/// Refuses an image file that is too large to decode, from its header alone.
#[wasm_bindgen(js_name = checkImageFile)]
pub fn check_image_file(bytes: &[u8]) -> Result<(), JsError> {
    Ok(preprocess::check_encoded(bytes)?)
}

/// The registry of image methods, in the order the page lists them: each method's descriptor
/// (see [`Descriptor`]: title, caption, needs, cost, display, units, settings with their
/// schema) with `signed`, `group` (the maps it may share a colour scale with) and `defaults`
/// (`{method, ...settings}`).
#[wasm_bindgen]
pub fn methods() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> =
        Method::all().iter().map(|m| registry_entry(m.descriptor(), m)).collect::<Result<_, _>>()?;
    to_js(&list)
}

/// A registry entry for the page: the descriptor, what follows from it, and the defaults.
fn registry_entry(
    descriptor: &Descriptor,
    defaults: &impl serde::Serialize,
) -> Result<serde_json::Value, JsError> {
    let mut entry = serde_json::to_value(descriptor)?;
    entry["signed"] = descriptor.display.signed().into();
    entry["group"] = match descriptor.units {
        Units::Own => descriptor.id.into(),
        units => serde_json::to_value(units)?,
    };
    entry["defaults"] = crate::explain::schema::to_json(defaults);
    Ok(entry)
}

/// The colour maps: `{diverging: [...], sequential: [...]}`.
#[wasm_bindgen]
pub fn colormaps() -> Result<JsValue, JsError> {
    #[derive(serde::Serialize)]
    struct Colormaps {
        diverging: [Colormap; 3],
        sequential: [Colormap; 4],
    }
    let all = Colormaps { diverging: Colormap::DIVERGING, sequential: Colormap::SEQUENTIAL };
    to_js(&all)
}

/// How maps are drawn unless the person chooses otherwise: `{opacity, percentile}`.
#[wasm_bindgen(js_name = drawingDefaults)]
pub fn drawing_defaults() -> Result<JsValue, JsError> {
    to_js(&serde_json::json!({"opacity": render::DEFAULT_OPACITY, "percentile": render::DEFAULT_PERCENTILE}))
}

/// A horizontal colour bar as RGBA bytes, for a legend.
#[wasm_bindgen]
pub fn colorbar(colormap: JsValue, width: usize, height: usize) -> Result<Vec<u8>, JsError> {
    let colormap: Colormap = serde_wasm_bindgen::from_value(colormap)?;
    Ok(render::colorbar(colormap, width, height))
}

/// An image classifier with its explainer, and the image and maps of the current session.
#[wasm_bindgen]
pub struct Playground {
    classifier: ImageClassifier,
    explainer: Explainer,
    image: Option<(RgbImage, ArrayD<f32>)>,
    custom_baseline: Option<ArrayD<f32>>,
    /// Finished maps by tile id, as heatmaps at the image's size.
    maps: HashMap<u32, Heatmap>,
    /// The last forward-only method laid out, by its JSON settings and target, so that its
    /// passes can be scored slice by slice.
    plan: LastMade<(String, usize), Plan>,
}

#[wasm_bindgen]
impl Playground {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], config_json: &[u8]) -> Result<Playground, JsError> {
        let config = crate::ModelConfig::from_json(config_json)?;
        let explainer = Explainer::from_bytes(onnx)?;
        // One forward model, shared: its optimised plans are made once.
        let classifier = ImageClassifier { model: explainer.forward().clone(), config };
        Ok(Playground {
            classifier,
            explainer,
            image: None,
            custom_baseline: None,
            maps: HashMap::new(),
            plan: LastMade::default(),
        })
    }

    /// The model's display name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.classifier.config.name.clone()
    }

    /// The class labels, in output order.
    pub fn labels(&self) -> Vec<String> {
        (0..self.classifier.config.labels.len()).map(|i| self.classifier.config.label(i)).collect()
    }

    /// Why the gradient methods cannot run on this model, or `undefined` when they can.
    #[wasm_bindgen(js_name = gradientsUnavailable)]
    pub fn gradients_unavailable(&self) -> Option<String> {
        self.explainer.gradient_model().err().map(|e| e.to_string())
    }

    /// The layers Grad-CAM can look at: `{layers: [{name, op, shape}], default}`.
    pub fn layers(&self) -> Result<JsValue, JsError> {
        #[derive(serde::Serialize)]
        struct Layers {
            layers: Vec<crate::explain::Layer>,
            default: String,
        }
        let explainer = &self.explainer;
        let layers = Layers { layers: explainer.layers()?, default: explainer.default_layer()? };
        to_js(&layers)
    }

    /// The logits for one input tensor of the model's input size (1×3×H×W), as it is.
    pub fn logits(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        Ok(self.classifier.logits(self.input_tensor(input)?)?.to_vec())
    }

    /// Makes RGBA pixels the current image, forgets earlier maps, and returns
    /// `{view: {width, height, rgba}, top: [{index, label, prob}]}`.
    #[wasm_bindgen(js_name = setImage)]
    pub fn set_image(&mut self, rgba: &[u8], width: u32, height: u32, k: usize) -> Result<JsValue, JsError> {
        let spec = &self.classifier.config.preprocess;
        let view = preprocess::model_view(RgbaPixels { width, height, data: rgba }, spec)?;
        let input = preprocess::to_tensor(&view, spec).into_dyn();
        let top = self.classifier.classify_tensor(input.clone(), k)?;
        let out = ClassifyOutput { view: view_of(&view), top };
        self.image = Some((view, input));
        self.maps.clear();
        self.plan.clear();
        to_js(&out)
    }

    /// Makes RGBA pixels the custom baseline (preprocessed like the image); returns its view.
    #[wasm_bindgen(js_name = setBaseline)]
    pub fn set_baseline(&mut self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
        let spec = &self.classifier.config.preprocess;
        let view = preprocess::model_view(RgbaPixels { width, height, data: rgba }, spec)?;
        self.custom_baseline = Some(preprocess::to_tensor(&view, spec).into_dyn());
        self.plan.clear();
        to_js(&view_of(&view))
    }

    /// Runs one method (JSON settings, as [`Method`]) on the current image for `target`, and
    /// keeps the map as tile `tile`. `progress(done, total)` is called as passes finish.
    /// Returns `{method, layer, completeness, segments, signed, shape}`.
    pub fn explain(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        let method = Method::parse(method)?;
        let subject = self.subject(target)?;
        let attribution = self.explainer.explain(&subject, &method, &mut reporter(progress))?;
        self.keep(tile, &attribution)
    }

    /// Lays out a forward-only method on the current image (see [`Plan`]) and returns how many
    /// forward passes it makes. The page's workers each lay it out the same way, score slices
    /// of it with [`Playground::scores`], and one of them finishes it.
    pub fn plan(&mut self, method: &str, target: usize) -> Result<usize, JsError> {
        Ok(self.lay_out(method, target)?.len())
    }

    /// The scores of passes `start..end` of the method's plan (laid out first if needed).
    pub fn scores(
        &mut self,
        method: &str,
        target: usize,
        start: usize,
        end: usize,
        progress: &js_sys::Function,
    ) -> Result<Vec<f32>, JsError> {
        let plan = self.lay_out(method, target)?;
        Ok(self.explainer.scores(&plan, start..end, &mut reporter(progress))?)
    }

    /// Combines every pass's score into the map, keeps it as tile `tile`, and returns what
    /// [`Playground::explain`] returns.
    pub fn finish(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        scores: &[f32],
    ) -> Result<JsValue, JsError> {
        let attribution = self.lay_out(method, target)?.finish(scores)?;
        self.keep(tile, &attribution)
    }

    /// Forgets a tile's map.
    pub fn forget(&mut self, tile: u32) {
        self.maps.remove(&tile);
    }

    /// Draws finished tiles, each as a colour layer with straight alpha ([`render::layer`]) that
    /// the page draws over the grey image ([`View::grey`]) at the tile's opacity. The request is JSON:
    /// `{"shared": bool, "percentile": 99, "tiles": [{"tile", "colormap", "opacity", "top",
    /// "boundaries"}]}` (the last two for maps on superpixels); with
    /// `shared`, one scale (the percentile of |value| over every listed map) serves them all.
    /// Returns `[{tile, rgba, scale}]`.
    pub fn render(&self, request: &str) -> Result<JsValue, JsError> {
        let request: RenderRequest = serde_json::from_str(request)?;
        let (view, _) = self.image.as_ref().ok_or_else(|| JsError::new("No image is loaded."))?;
        let tiles: Vec<(&TileStyle, &Heatmap)> =
            request.tiles.iter().filter_map(|t| self.maps.get(&t.tile).map(|heat| (t, heat))).collect();
        let shared = request.shared.then(|| {
            let heats: Vec<&Heatmap> = tiles.iter().map(|(_, h)| *h).collect();
            render::scale(&heats, request.percentile)
        });
        let mut out = Vec::with_capacity(tiles.len());
        for (style, heat) in tiles {
            let scale = shared.unwrap_or_else(|| render::scale(&[heat], request.percentile));
            let colormap = style.colormap.for_map(heat.signed);
            let look =
                Style { colormap, opacity: style.opacity, top: style.top, boundaries: style.boundaries };
            let rgba = render::layer(heat, scale, look, view)?;
            out.push(Rendered { tile: style.tile, rgba: serde_bytes::ByteBuf::from(rgba), scale, colormap });
        }
        to_js(&out)
    }

    /// The current image, to be explained for `target`.
    fn subject(&self, target: usize) -> Result<Subject, JsError> {
        let (_, input) = self.image.as_ref().ok_or_else(|| JsError::new("No image is loaded."))?;
        Ok(Subject {
            input: input.clone(),
            target,
            pixels: Some(self.classifier.config.preprocess.clone()),
            custom_baseline: self.custom_baseline.clone(),
        })
    }

    /// The plan for these settings and target: the last one laid out, or a new one.
    fn lay_out(&mut self, method: &str, target: usize) -> Result<Arc<Plan>, JsError> {
        let subject = self.subject(target)?;
        let explainer = &self.explainer;
        self.plan.get_or_make((method.to_owned(), target), || {
            Ok(Plan::new(explainer, &subject, &Method::parse(method)?)?)
        })
    }

    /// Keeps a finished map as tile `tile` and summarises it for the page.
    fn keep(&mut self, tile: u32, attribution: &Attribution) -> Result<JsValue, JsError> {
        let (view, _) = self.image.as_ref().ok_or_else(|| JsError::new("No image is loaded."))?;
        let heat = render::heatmap(attribution, view.height() as usize, view.width() as usize)?;
        let summary = ExplainOutput {
            method: serde_json::to_value(&attribution.method)?,
            layer: attribution.layer.clone(),
            completeness: attribution.completeness.map(|c| c.report()),
            segments: attribution
                .segments
                .as_ref()
                .map(|s| Segments { count: s.scores.len(), r_squared: s.r_squared }),
            signed: heat.signed,
            shape: attribution.map.shape().to_vec(),
        };
        self.maps.insert(tile, heat);
        to_js(&summary)
    }

    fn input_tensor(&self, input: &[f32]) -> Result<ArrayD<f32>, JsError> {
        let p = &self.classifier.config.preprocess;
        let shape = vec![1, 3, p.height as usize, p.width as usize];
        Ok(ArrayD::from_shape_vec(shape, input.to_vec())?)
    }
}

/// A progress callback from JS; a failing callback must not stop the computation.
fn reporter(progress: &js_sys::Function) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        let _ = progress.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into());
    }
}

/// Serialises as plain JS objects (not `Map`s), with byte buffers as `Uint8Array`.
fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false);
    Ok(value.serialize(&serializer)?)
}

fn view_of(view: &RgbImage) -> View {
    let (width, height) = view.dimensions();
    View {
        width,
        height,
        rgba: serde_bytes::ByteBuf::from(preprocess::to_rgba_bytes(view)),
        grey: serde_bytes::ByteBuf::from(render::grey(view)),
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
    /// The image in grey, as the maps are drawn over it.
    grey: serde_bytes::ByteBuf,
}

#[derive(serde::Serialize)]
struct ExplainOutput {
    method: serde_json::Value,
    layer: Option<String>,
    completeness: Option<crate::explain::CompletenessReport>,
    segments: Option<Segments>,
    signed: bool,
    shape: Vec<usize>,
}

#[derive(serde::Serialize)]
struct Segments {
    count: usize,
    r_squared: Option<f32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderRequest {
    shared: bool,
    percentile: f32,
    tiles: Vec<TileStyle>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TileStyle {
    tile: u32,
    colormap: Colormap,
    opacity: f32,
    /// Maps on superpixels: only the k strongest segments of each sign.
    #[serde(default)]
    top: Option<usize>,
    /// Maps on superpixels: draw the segments' boundaries.
    #[serde(default)]
    boundaries: bool,
}

#[derive(serde::Serialize)]
struct Rendered {
    tile: u32,
    rgba: serde_bytes::ByteBuf,
    scale: f32,
    colormap: Colormap,
}
