//! The wasm boundary: thin wrappers over the core, run inside the page's Web Worker.
//!
//! Each exported method converts its arguments, calls the core and maps errors to `JsError`,
//! so the worker can show the message and carry on. Nothing here panics.

use image::RgbImage;
use ndarray::ArrayD;
use wasm_bindgen::prelude::*;

use crate::explain::schema::{Descriptor, Units};
use crate::explain::{Method, Node, Sums};
use crate::render::{self, Colormap};
use crate::session::{ImageWorkspace, Session};
use crate::{preprocess, RgbaPixels};

/// The verbs both views' sessions answer alike (see [`Session`]): run a method and keep its
/// map as a tile, lay out, score and finish a forward-only plan in slices, forget and draw
/// tiles. wasm-bindgen cannot export a generic type, so each view's type gets them from here.
macro_rules! session_verbs {
    ($view:ident) => {
        #[wasm_bindgen]
        impl $view {
            /// Runs one method (JSON settings, `{"method": NAME, ...}`) for class `target`, and
            /// keeps its map as tile `tile`; `progress(done, total)` is called as passes finish.
            /// Returns the view's summary of the map.
            pub fn explain(
                &mut self,
                tile: u32,
                method: &str,
                target: usize,
                progress: &js_sys::Function,
            ) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.explain(
                    tile,
                    method,
                    target,
                    &mut $crate::web::reporter(progress),
                )?)
            }

            /// Lays out a forward-only method and returns how many forward passes it makes
            /// (see [`Session::passes`]).
            pub fn plan(&mut self, method: &str, target: usize) -> Result<usize, JsError> {
                Ok(self.session.passes(method, target)?)
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
                Ok(self.session.scores(method, target, start..end, &mut $crate::web::reporter(progress))?)
            }

            /// Combines every pass's score, keeps the map as tile `tile`, and returns what
            /// `explain` returns.
            pub fn finish(
                &mut self,
                tile: u32,
                method: &str,
                target: usize,
                scores: &[f32],
            ) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.finish(tile, method, target, scores)?)
            }

            /// Lays out a summed gradient method (Integrated Gradients, SmoothGrad, ...) afresh
            /// and returns its first round: `{nodes: [{at, weight}], chunk, done, total}` (see
            /// [`Session::sums_round`]).
            #[wasm_bindgen(js_name = sumsRound)]
            pub fn sums_round(&mut self, method: &str, target: usize) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.sums_round(method, target)?)
            }

            /// The sums of passes `start..end` of a round whose `nodes` are given flat (at,
            /// weight, at, weight, ...): `{sum: Float64Array, squares: Float64Array | null,
            /// values: Float32Array}`.
            #[allow(clippy::too_many_arguments)]
            pub fn sums(
                &mut self,
                method: &str,
                target: usize,
                nodes: &[f64],
                start: usize,
                end: usize,
                progress: &js_sys::Function,
            ) -> Result<JsValue, JsError> {
                let nodes = $crate::web::nodes(nodes)?;
                let progress = &mut $crate::web::reporter(progress);
                $crate::web::sums_to_js(&self.session.sums(method, target, &nodes, start..end, progress)?)
            }

            /// Takes a round's sums, each chunk's as `sums` gave it, in order: `{round}` (the
            /// next round) or `{done}` (what `explain` returns, the map kept as tile `tile`).
            pub fn absorb(
                &mut self,
                tile: u32,
                method: &str,
                target: usize,
                parts: js_sys::Array,
            ) -> Result<JsValue, JsError> {
                let parts =
                    parts.iter().map(|part| $crate::web::sums_from_js(&part)).collect::<Result<_, _>>()?;
                $crate::web::to_js(&self.session.absorb(tile, method, target, parts)?)
            }

            /// Tile `tile`'s map as the metrics rank it, one value per feature (see
            /// [`Session::values`]); the page sends it to every worker that scores the metric.
            pub fn values(&self, tile: u32) -> Result<Vec<f32>, JsError> {
                Ok(self.session.values(tile)?)
            }

            /// Lays out a metric (`{"metric": NAME, ...}`) on the subject and a map's values,
            /// and returns how many forward passes it makes.
            #[wasm_bindgen(js_name = measurePlan)]
            pub fn measure_plan(
                &mut self,
                metric: &str,
                target: usize,
                values: &[f32],
            ) -> Result<usize, JsError> {
                Ok(self.session.measure_passes(metric, target, values)?)
            }

            /// The scores of passes `start..end` of the metric's sweep.
            #[wasm_bindgen(js_name = measureScores)]
            pub fn measure_scores(
                &mut self,
                metric: &str,
                target: usize,
                values: &[f32],
                start: usize,
                end: usize,
            ) -> Result<Vec<f32>, JsError> {
                Ok(self.session.measure_scores(metric, target, values, start..end, &mut |_, _| {})?)
            }

            /// What every pass's score makes: a sweep's curve `{fractions, scores, auc}`, or
            /// soft stability's `{rate, low, high, confidence, samples, exact, prediction,
            /// shown, features, radius}`.
            #[wasm_bindgen(js_name = measureFinish)]
            pub fn measure_finish(
                &mut self,
                metric: &str,
                target: usize,
                values: &[f32],
                scores: &[f32],
            ) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.measure_finish(metric, target, values, scores)?)
            }

            /// The sanity check's steps on this model for a randomisation metric's settings
            /// (`{"metric": "randomisation", ...}`): `[{layers, label}]`.
            #[wasm_bindgen(js_name = randomisationSteps)]
            pub fn randomisation_steps(&self, metric: &str) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.randomisation_steps(metric)?)
            }

            /// Step `step` of the sanity check: the model randomised once, and every map of
            /// `maps` (`[{tile, method}]`, JSON) made again on it and compared with its
            /// `values` (each map's, one after the other): `{step, label, layers, maps: [{tile,
            /// similarity: {spearmanAbs, spearmanSigned, ssim}, picture}]}`.
            #[wasm_bindgen(js_name = randomisationStep)]
            pub fn randomisation_step(
                &self,
                metric: &str,
                step: usize,
                target: usize,
                maps: &str,
                values: &[f32],
                progress: &js_sys::Function,
            ) -> Result<JsValue, JsError> {
                let maps: Vec<$crate::session::Remake> = serde_json::from_str(maps)?;
                $crate::web::to_js(&self.session.randomisation_step(
                    metric,
                    step,
                    target,
                    &maps,
                    values,
                    &mut $crate::web::reporter(progress),
                )?)
            }

            /// Forgets a tile's map.
            pub fn forget(&mut self, tile: u32) {
                self.session.forget(tile);
            }

            /// Draws finished tiles, as the view's session renders them from the JSON request.
            pub fn render(&self, request: &str) -> Result<JsValue, JsError> {
                $crate::web::to_js(&self.session.render(&serde_json::from_str(request)?)?)
            }
        }
    };
}

mod chart;
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

/// The metrics' registry, in the order the page lists them: each one's descriptor (id, title,
/// caption, whether a higher area is better, settings with their schema) and `defaults`.
#[wasm_bindgen]
pub fn metrics() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> = crate::evaluate::Measure::all()
        .iter()
        .map(|m| {
            let mut entry = serde_json::to_value(m.descriptor())?;
            entry["defaults"] = crate::explain::schema::to_json(m);
            Ok(entry)
        })
        .collect::<Result<_, serde_json::Error>>()?;
    to_js(&list)
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

/// What an ONNX file holds, read before it is loaded (see [`crate::model::inspect`]): `{opset,
/// producer, inputs, outputs, operators, parameters, external_data, quantised, output_operator,
/// classes, kind, refusal, notes}`.
#[wasm_bindgen(js_name = inspectModel)]
pub fn inspect_model(onnx: &[u8]) -> Result<JsValue, JsError> {
    to_js(&crate::model::inspect::inspect(onnx)?)
}

/// A labels file's labels (see [`crate::labels`]).
#[wasm_bindgen(js_name = readLabels)]
pub fn read_labels(bytes: &[u8]) -> Result<Vec<String>, JsError> {
    Ok(crate::labels::read(bytes)?)
}

/// A model description (`kind` "image" or "text") checked as the CLI reads it; returns it as
/// JSON, defaults filled in.
#[wasm_bindgen(js_name = checkDescription)]
pub fn check_description(json: &[u8], kind: &str) -> Result<String, JsError> {
    Ok(match kind {
        "text" => serde_json::to_string_pretty(&crate::text::TextModelConfig::from_json(json)?)?,
        _ => serde_json::to_string_pretty(&crate::ModelConfig::from_json(json)?)?,
    })
}

/// A horizontal colour bar as RGBA bytes, for a legend.
#[wasm_bindgen]
pub fn colorbar(colormap: JsValue, width: usize, height: usize) -> Result<Vec<u8>, JsError> {
    let colormap: Colormap = serde_wasm_bindgen::from_value(colormap)?;
    Ok(render::colorbar(colormap, width, height))
}

/// The image view's session ([`Session`] over an [`ImageWorkspace`]): the classifier, the
/// image, the custom baseline and the finished maps by tile, so restyling a tile is a cheap
/// `render`. Its `render` takes `{"shared": bool, "percentile": 99, "tiles": [{"tile",
/// "colormap", "top", "boundaries"}]}` (the last two for maps on superpixels) and returns
/// `[{tile, rgba, scale, colormap}]`; its `explain` returns `{method, layer, completeness,
/// segments, signed, shape}`.
#[wasm_bindgen]
pub struct Playground {
    session: Session<ImageWorkspace>,
}

#[wasm_bindgen]
impl Playground {
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], config_json: &[u8]) -> Result<Playground, JsError> {
        Ok(Playground { session: Session::new(ImageWorkspace::from_bytes(onnx, config_json)?) })
    }

    /// The model's display name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.session.work().classifier.config.name.clone()
    }

    /// The class labels, in output order.
    pub fn labels(&self) -> Vec<String> {
        let config = &self.session.work().classifier.config;
        (0..config.labels.len()).map(|i| config.label(i)).collect()
    }

    /// The methods that cannot run on this model, each with why: `{id: reason}` (a gradient
    /// method on a model the engine cannot differentiate names the operators it lacks).
    pub fn unavailable(&self) -> Result<JsValue, JsError> {
        let reasons: serde_json::Map<String, serde_json::Value> = self
            .session
            .work()
            .explainer
            .unavailable()
            .into_iter()
            .map(|(id, why)| (id.to_owned(), why.into()))
            .collect();
        to_js(&reasons)
    }

    /// The layers Grad-CAM can look at: `{layers: [{name, op, shape}], default}`.
    pub fn layers(&self) -> Result<JsValue, JsError> {
        #[derive(serde::Serialize)]
        struct Layers {
            layers: Vec<crate::explain::Layer>,
            default: String,
        }
        let explainer = &self.session.work().explainer;
        let layers = Layers { layers: explainer.layers()?, default: explainer.default_layer()? };
        to_js(&layers)
    }

    /// The logits for one input tensor of the model's input size (1×C×H×W), as it is.
    pub fn logits(&self, input: &[f32]) -> Result<Vec<f32>, JsError> {
        let classifier = &self.session.work().classifier;
        let p = &classifier.config.preprocess;
        let shape = vec![1, p.channels, p.height as usize, p.width as usize];
        Ok(classifier.logits(ArrayD::from_shape_vec(shape, input.to_vec())?)?.to_vec())
    }

    /// Makes RGBA pixels the current image, forgets earlier maps, and returns
    /// `{view: {width, height, rgba, grey}, top: [{index, label, prob}]}`.
    #[wasm_bindgen(js_name = setImage)]
    pub fn set_image(&mut self, rgba: &[u8], width: u32, height: u32, k: usize) -> Result<JsValue, JsError> {
        let pixels = RgbaPixels { width, height, data: rgba };
        let (view, top) = self.session.new_subject().set_image(pixels, k)?;
        to_js(&ClassifyOutput { view: view_of(view), top })
    }

    /// Tile `tile`'s map as its method made it, flat: the page sends it to every worker that
    /// remakes the map for sensitivity.
    #[wasm_bindgen(js_name = rawMap)]
    pub fn raw_map(&self, tile: u32) -> Result<Vec<f32>, JsError> {
        Ok(self.session.raw(tile)?)
    }

    /// How many noisy inputs a sensitivity metric (`{"metric": "sensitivity", ...}`) makes.
    #[wasm_bindgen(js_name = sensitivityPlan)]
    pub fn sensitivity_plan(&self, metric: &str) -> Result<usize, JsError> {
        Ok(self.session.sensitivity_draws(metric)?)
    }

    /// Noisy inputs `start..end`: the map of `method` (JSON settings) made again on each, and
    /// its relative change from `original` (the raw map); `progress` counts the maps.
    #[wasm_bindgen(js_name = sensitivityScores)]
    #[allow(clippy::too_many_arguments)]
    pub fn sensitivity_scores(
        &self,
        metric: &str,
        method: &str,
        target: usize,
        original: &[f32],
        start: usize,
        end: usize,
        progress: &js_sys::Function,
    ) -> Result<Vec<f32>, JsError> {
        let progress = &mut reporter(progress);
        Ok(self.session.sensitivity_changes(metric, method, target, original, start..end, progress)?)
    }

    /// Every noisy input's change and the largest: `{changes, max}`.
    #[wasm_bindgen(js_name = sensitivityFinish)]
    pub fn sensitivity_finish(&self, metric: &str, changes: &[f32]) -> Result<JsValue, JsError> {
        to_js(&self.session.sensitivity_finish(metric, changes)?)
    }

    /// Makes RGBA pixels the custom baseline (preprocessed like the image); returns its view.
    #[wasm_bindgen(js_name = setBaseline)]
    pub fn set_baseline(&mut self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
        let view = self.session.new_inputs().set_baseline(RgbaPixels { width, height, data: rgba })?;
        to_js(&view_of(&view))
    }
}

session_verbs!(Playground);

/// A progress callback from JS; a failing callback must not stop the computation.
fn reporter(progress: &js_sys::Function) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        let _ = progress.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into());
    }
}

/// A round's nodes from their flat form (at, weight, at, weight, ...).
fn nodes(flat: &[f64]) -> Result<Vec<Node>, JsError> {
    if !flat.len().is_multiple_of(2) {
        return Err(JsError::new("A round's nodes come in pairs of position and weight."));
    }
    Ok(flat.chunks_exact(2).map(|pair| Node { at: pair[0], weight: pair[1] }).collect())
}

/// A chunk's sums as `{sum: Float64Array, squares: Float64Array | null, values: Float32Array}`.
fn sums_to_js(sums: &Sums) -> Result<JsValue, JsError> {
    let object = js_sys::Object::new();
    let squares: JsValue = match &sums.squares {
        Some(squares) => js_sys::Float64Array::from(&squares[..]).into(),
        None => JsValue::NULL,
    };
    for (key, value) in [
        ("sum", js_sys::Float64Array::from(&sums.sum[..]).into()),
        ("squares", squares),
        ("values", js_sys::Float32Array::from(&sums.values[..]).into()),
    ] {
        js_sys::Reflect::set(&object, &key.into(), &value)
            .map_err(|_| JsError::new("could not build a chunk's sums"))?;
    }
    Ok(object.into())
}

/// A chunk's sums back from the object [`sums_to_js`] made.
fn sums_from_js(part: &JsValue) -> Result<Sums, JsError> {
    let field = |key: &str| {
        js_sys::Reflect::get(part, &key.into())
            .map_err(|_| JsError::new(&format!("a chunk's sums have no {key}")))
    };
    let floats = |key: &str| -> Result<Vec<f64>, JsError> {
        field(key)?
            .dyn_into::<js_sys::Float64Array>()
            .map(|a| a.to_vec())
            .map_err(|_| JsError::new(&format!("a chunk's {key} is not a Float64Array")))
    };
    let squares = if field("squares")?.is_null() { None } else { Some(floats("squares")?) };
    let values = field("values")?
        .dyn_into::<js_sys::Float32Array>()
        .map(|a| a.to_vec())
        .map_err(|_| JsError::new("a chunk's values are not a Float32Array"))?;
    Ok(Sums { sum: floats("sum")?, squares, values })
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
