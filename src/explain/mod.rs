//! Attribution methods built on gradients: one file per method, all listed in [`Method`].
//!
//! A method takes the model, one input tensor in the model's own space (1×C×H×W after
//! preprocessing, or any shape for non-image models), a target class and its settings, and
//! returns an [`Attribution`]: the raw map (signed, in the input's shape, or at a layer's
//! resolution for the CAMs) and what is needed to draw it honestly. The machinery shared by
//! several methods lives here: batching gradient passes, and the per-layer models.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ndarray::{ArrayD, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::config::Preprocess;
use crate::error::{Error, Result};
use crate::grad::{GradModel, Mode, Route, Target};
use crate::model::Model;

pub mod baseline;
mod cam;
mod grad_cam;
mod grad_cam_pp;
mod grad_x_input;
mod gradient;
mod guided_backprop;
mod hires_cam;
pub mod integrated_gradients;
pub mod kernel_shap;
mod layer_cam;
pub mod layers;
mod least_squares;
pub mod lime;
pub mod occlusion;
mod path_sampled_ig;
pub mod perturbation;
mod registry;
pub mod rise;
pub mod schema;
mod score_cam;
pub mod smoothgrad;
pub mod summed;
pub mod superpixels;
mod xgrad_cam;

pub use baseline::Baseline;
pub use integrated_gradients::{PathConfig, Rule, COMPLETENESS_TOLERANCE};
pub use kernel_shap::KernelShapConfig;
pub use layers::Layer;
pub use lime::LimeConfig;
pub use occlusion::{Fill, OcclusionConfig};
pub use path_sampled_ig::PathSampledConfig;
pub use perturbation::{Outcome, Plan};
pub use registry::{ImageMethod, Method, Registered, Registry, Settings};
pub use rise::RiseConfig;
pub use smoothgrad::NoiseConfig;
pub use summed::{Integration, Node, Round, Sums};
pub use superpixels::{SegmentFill, SegmentScores, SuperpixelConfig};

/// Which layer a CAM method looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerConfig {
    /// An ONNX tensor name, from [`Explainer::layers`]; `None` is the default layer: the last
    /// one before global pooling.
    pub layer: Option<String>,
}

/// How an attribution becomes one value per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Display {
    /// Derivatives: |·|, the largest over channels (Simonyan et al. 2014). Unsigned.
    MaxAbsOverChannels,
    /// Contributions: summed over channels, keeping the sign, as Captum's visualiser does.
    SumOverChannels,
    /// The same value in every channel (occlusion): signed.
    MeanOverChannels,
    /// The same value in every channel, drawn above the map's minimum (RISE: every pixel
    /// carries the probability with about half the image hidden, a floor that would wash the
    /// colour scale out). Unsigned.
    AboveMinimum,
    /// A one-channel signed map at a layer's resolution.
    Signed,
    /// A one-channel non-negative map at a layer's resolution.
    Magnitude,
}

impl Display {
    pub fn signed(self) -> bool {
        matches!(self, Display::SumOverChannels | Display::MeanOverChannels | Display::Signed)
    }
}

/// What is explained: one input, in the model's space, and the class.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The model input, batch size 1.
    pub input: ArrayD<f32>,
    /// The output element (class index) explained.
    pub target: usize,
    /// How pixels map to the input, for baselines defined in pixel space; `None` for models
    /// whose input is not an image.
    pub pixels: Option<Preprocess>,
    /// The user's own baseline, already in the model's space (for [`Baseline::Custom`]).
    pub custom_baseline: Option<ArrayD<f32>>,
}

impl Subject {
    /// Channels, height and width of an image input (N×C×H×W), or an error naming `method`.
    pub(crate) fn image_shape(&self, method: &str) -> Result<[usize; 3]> {
        match *self.input.shape() {
            [_, channels, height, width] => Ok([channels, height, width]),
            ref other => Err(Error::Explain(format!(
                "{method} needs an image input (N×C×H×W); this one has shape {}.",
                crate::error::shape(other)
            ))),
        }
    }
}

/// Σφ against what the method's axiom says it should be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Completeness {
    /// Σφ over every input element.
    pub sum: f32,
    /// f(x) − f(x′) for IG; f(x) − E f(x″) over the sampled baselines for path-sampled IG;
    /// f(x) − f(∅) for KernelSHAP.
    pub expected: f32,
    /// For IG: the gradient passes spent, refinement included.
    pub steps: Option<usize>,
}

/// A completeness check as the page and the CLI report it: with its error, absolute and
/// relative, and whether the relative error is within [`COMPLETENESS_TOLERANCE`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompletenessReport {
    pub sum: f32,
    pub expected: f32,
    pub error: f32,
    pub relative: f32,
    pub steps: Option<usize>,
    /// The relative error flagged above.
    pub tolerance: f32,
    pub within_tolerance: bool,
}

impl Completeness {
    pub fn report(&self) -> CompletenessReport {
        CompletenessReport {
            sum: self.sum,
            expected: self.expected,
            error: self.error(),
            relative: self.relative_error(),
            steps: self.steps,
            tolerance: COMPLETENESS_TOLERANCE,
            within_tolerance: self.relative_error() <= COMPLETENESS_TOLERANCE,
        }
    }

    /// Σφ − expected.
    pub fn error(&self) -> f32 {
        self.sum - self.expected
    }

    /// |Σφ − expected| / |expected|.
    pub fn relative_error(&self) -> f32 {
        self.error().abs() / self.expected.abs().max(f32::MIN_POSITIVE)
    }
}

/// A method's answer.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// The method and the settings it ran with.
    pub method: Method,
    pub target: usize,
    /// The raw map: in the input's shape, or 1×1×h×w at `layer`'s resolution for the CAMs.
    pub map: ArrayD<f32>,
    /// The layer the map lives on (the CAMs), by ONNX tensor name.
    pub layer: Option<String>,
    /// The completeness check, for the path methods, and efficiency for KernelSHAP.
    pub completeness: Option<Completeness>,
    /// Per-segment scores, for the methods on superpixels.
    pub segments: Option<SegmentScores>,
}

impl Attribution {
    pub(crate) fn new(method: Method, target: usize, outcome: Outcome) -> Attribution {
        let Outcome { map, layer, completeness, segments } = outcome;
        Attribution { method, target, map, layer, completeness, segments }
    }
}

type NoiseCacheEntry = (ArrayD<f32>, usize, NoiseConfig, Arc<smoothgrad::NoiseStatistics>);

/// Reports progress as (passes done, passes in all).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Gradient passes on one input batch at a time, by default. Measured on EfficientNet-Lite0
/// (BENCHMARKS.md): tract's per-item cost grows with the batch (52 ms at 1, 83 ms at 4,
/// 92 ms at 8, natively), so larger batches only pay off on models with per-pass overhead.
pub const DEFAULT_BATCH_SIZE: usize = 1;

/// A model ready for every method: the forward model, the model prepared for input gradients
/// (if the gradient engine can differentiate it), and one prepared per layer that a CAM method
/// has asked for (made on first use and kept).
#[derive(Debug)]
pub struct Explainer {
    onnx: Vec<u8>,
    forward: Model,
    /// The nodes between input and output, which the CAMs find their layers on, when the
    /// gradient model (which holds them too) could not be made.
    route: Option<Result<Route>>,
    /// The error names the operators without a VJP, when there are any.
    gradients: Result<GradModel>,
    layer_models: Mutex<HashMap<String, Arc<GradModel>>>,
    /// The forward model exposing one layer, for the CAMs that need its activations only.
    exposing: Mutex<Option<(String, Arc<Model>)>>,
    /// The last SmoothGrad statistics, with the input, target and settings they are for.
    noise_cache: Mutex<Option<NoiseCacheEntry>>,
    /// Inputs per gradient pass; a model with a fixed batch size of 1 always gets 1.
    pub batch_size: usize,
}

impl Explainer {
    /// Loads an ONNX model. It fails only if the model cannot run; a model whose gradients the
    /// engine cannot take still loads, and the gradient methods then say which operators
    /// stand in the way.
    pub fn from_bytes(onnx: &[u8]) -> Result<Explainer> {
        let forward = Model::from_bytes(onnx)?;
        let gradients = GradModel::from_bytes(onnx, &[]);
        Ok(Explainer {
            onnx: onnx.to_vec(),
            forward,
            route: gradients.is_err().then(|| Route::from_bytes(onnx)),
            gradients,
            layer_models: Mutex::default(),
            exposing: Mutex::default(),
            noise_cache: Mutex::default(),
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// The model, forwards only; its plans are shared by clones.
    pub fn forward(&self) -> &Model {
        &self.forward
    }

    /// The model prepared for input gradients, or why it cannot be.
    pub fn gradient_model(&self) -> Result<&GradModel> {
        self.gradients.as_ref().map_err(Clone::clone)
    }

    /// The model's route from input to output.
    pub(crate) fn route(&self) -> Result<&Route> {
        match (&self.gradients, &self.route) {
            (Ok(gradients), _) => Ok(gradients.route()),
            (Err(_), Some(route)) => route.as_ref().map_err(Clone::clone),
            (Err(e), None) => Err(e.clone()),
        }
    }

    /// The methods that cannot run on this model, each with why (see [`ImageMethod::applies`]).
    pub fn unavailable(&self) -> Vec<(&'static str, String)> {
        Method::all()
            .iter()
            .filter_map(|m| m.spec().applies(self).err().map(|e| (m.descriptor().id, e.to_string())))
            .collect()
    }

    /// The layers a CAM method can look at, in graph order.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        layers::candidates(self.route()?, &self.forward)
    }

    /// The default CAM layer: the one feeding the global pooling, or else the last candidate.
    pub fn default_layer(&self) -> Result<String> {
        if let Some(head) = layers::linear_head(self.route()?)? {
            return Ok(head.layer);
        }
        self.layers()?
            .pop()
            .map(|l| l.name)
            .ok_or_else(|| Error::Explain("the model has no convolutional layer to look at".into()))
    }

    /// Runs one method.
    pub fn explain(&self, subject: &Subject, method: &Method, progress: Progress<'_>) -> Result<Attribution> {
        if subject.input.shape().first() != Some(&1) {
            return Err(Error::Explain(format!(
                "Explanations take one input at a time; this one has shape {}.",
                crate::error::shape(subject.input.shape())
            )));
        }
        method.spec().applies(self)?;
        if method.forward_only() {
            let plan = Plan::new(self, subject, method)?;
            let scores = self.scores(&plan, 0..plan.len(), progress)?;
            progress(plan.len(), plan.len());
            return plan.finish(&scores);
        }
        if method.descriptor().summed {
            let attribution = Integration::new(self, subject, method)?.run(self, progress)?;
            let passes = method.spec().passes(method.settings());
            progress(passes, passes);
            return Ok(attribution);
        }
        let outcome = method.spec().attribute(self, subject, method.settings(), progress)?;
        let passes = method.spec().passes(method.settings());
        progress(passes, passes);
        Ok(Attribution::new(method.clone(), subject.target, outcome))
    }

    /// SmoothGrad's statistics for this input, target and settings, if they were kept: SmoothGrad,
    /// SmoothGrad² and VarGrad with the same settings on the same subject share one set of passes.
    pub(crate) fn noise_statistics(
        &self,
        input: &ArrayD<f32>,
        target: usize,
        config: &NoiseConfig,
    ) -> Result<Option<Arc<smoothgrad::NoiseStatistics>>> {
        let cache = self.noise_cache.lock().map_err(|_| Error::Bug("the noise cache was lost".into()))?;
        Ok(cache
            .as_ref()
            .filter(|(i, t, c, _)| *t == target && c == config && i == input)
            .map(|(_, _, _, stats)| Arc::clone(stats)))
    }

    /// Keeps SmoothGrad's statistics for this input, target and settings (the last only).
    pub(crate) fn keep_noise_statistics(
        &self,
        input: &ArrayD<f32>,
        target: usize,
        config: &NoiseConfig,
        stats: Arc<smoothgrad::NoiseStatistics>,
    ) -> Result<()> {
        let mut cache = self.noise_cache.lock().map_err(|_| Error::Bug("the noise cache was lost".into()))?;
        *cache = Some((input.clone(), target, config.clone(), stats));
        Ok(())
    }

    /// The model prepared to keep one layer's value and gradient.
    pub(crate) fn layer_model(&self, layer: &str) -> Result<Arc<GradModel>> {
        let mut models =
            self.layer_models.lock().map_err(|_| Error::Explain("a layer model was lost".into()))?;
        if let Some(model) = models.get(layer) {
            return Ok(Arc::clone(model));
        }
        let model = Arc::new(GradModel::from_bytes(&self.onnx, &[layer.to_owned()])?);
        models.insert(layer.to_owned(), Arc::clone(&model));
        Ok(model)
    }

    /// One layer's activations A for the subject (C×h×w), from a forward pass that exposes the
    /// layer: no gradients.
    pub(crate) fn layer_activations(&self, subject: &Subject, layer: &str) -> Result<ndarray::Array3<f32>> {
        let model = {
            let mut exposing =
                self.exposing.lock().map_err(|_| Error::Bug("the layer-exposing model was lost".into()))?;
            match exposing.as_ref() {
                Some((name, model)) if name == layer => Arc::clone(model),
                _ => {
                    let model = Arc::new(Model::from_bytes_exposing(&self.onnx, &[layer.to_owned()])?);
                    *exposing = Some((layer.to_owned(), Arc::clone(&model)));
                    model
                }
            }
        };
        let value = model.run_all(subject.input.clone())?.pop();
        let Some(crate::tensor::Value::F32(activations)) = value else {
            return Err(Error::Explain(format!("Layer {layer} is not a float tensor.")));
        };
        match *activations.shape() {
            [1, _, _, _] => activations
                .index_axis_move(Axis(0), 0)
                .into_dimensionality()
                .map_err(|e| Error::Bug(e.to_string())),
            ref other => Err(Error::Explain(format!(
                "Layer {layer} has shape {}; a CAM needs an N×C×H×W layer.",
                crate::error::shape(other)
            ))),
        }
    }

    /// The layer a CAM method's settings name, checked against the candidates.
    fn resolve_layer(&self, config: &LayerConfig) -> Result<String> {
        match &config.layer {
            None => self.default_layer(),
            Some(name) if self.route()?.on_path(name) => Ok(name.clone()),
            Some(name) => Err(Error::Explain(format!(
                "tensor {name} is not a layer between the model's input and its output"
            ))),
        }
    }

    fn batch_size(&self) -> usize {
        match self.forward.input().shape.first() {
            Some(crate::model::Dim::Fixed(_)) => 1,
            _ => self.batch_size.max(1),
        }
    }

    /// Stacks `points` (each of batch size 1) into batches as they are consumed, so a thousand
    /// perturbed images never sit in memory at once, and hands each batch, with the index of
    /// its first point, to `run`; reports progress after each.
    fn in_batches(
        &self,
        points: impl Iterator<Item = ArrayD<f32>>,
        progress: Progress<'_>,
        total: usize,
        mut run: impl FnMut(usize, ArrayD<f32>) -> Result<()>,
    ) -> Result<()> {
        let batch_size = self.batch_size();
        let mut points = points.peekable();
        let mut done = 0;
        while points.peek().is_some() {
            let chunk: Vec<ArrayD<f32>> = points.by_ref().take(batch_size).collect();
            let views: Vec<_> = chunk.iter().map(|a| a.view()).collect();
            let batch = ndarray::concatenate(Axis(0), &views).map_err(|e| Error::Explain(e.to_string()))?;
            run(done, batch)?;
            done += chunk.len();
            progress(done, total);
        }
        Ok(())
    }

    /// Gradient passes over `points`, in batches: each point's input gradient and target value
    /// go to `visit`, in order.
    pub(crate) fn for_each_gradient(
        &self,
        points: impl Iterator<Item = ArrayD<f32>>,
        target: usize,
        mode: Mode,
        progress: Progress<'_>,
        total: usize,
        mut visit: impl FnMut(usize, ArrayD<f32>, f32) -> Result<()>,
    ) -> Result<()> {
        let model = self.gradient_model()?;
        self.in_batches(points, progress, total, |first, batch| {
            let grads = model.gradients(batch, &Target::Index(target), mode)?;
            for (i, value) in grads.target.iter().enumerate() {
                let grad = grads.input.slice_axis(Axis(0), (i..=i).into()).to_owned();
                visit(first + i, grad, *value)?;
            }
            Ok(())
        })
    }

    /// Forward passes over `points`, in batches: each point's output row (flattened) goes to
    /// `visit`, in order.
    pub(crate) fn for_each_output_row(
        &self,
        points: impl Iterator<Item = ArrayD<f32>>,
        progress: Progress<'_>,
        total: usize,
        mut visit: impl FnMut(usize, ArrayView1<'_, f32>) -> Result<()>,
    ) -> Result<()> {
        self.in_batches(points, progress, total, |first, batch| {
            let items = batch.shape()[0];
            let output = self.forward.run(batch)?;
            let rows = output.len() / items.max(1);
            let output = output.to_shape((items, rows)).map_err(|e| Error::Explain(e.to_string()))?;
            for (i, row) in output.outer_iter().enumerate() {
                visit(first + i, row)?;
            }
            Ok(())
        })
    }

    /// Forward passes over `inputs`, in batches, each output row scored by `score`; progress
    /// counts the inputs. Forward-only plans and the metrics' passes score this way.
    pub(crate) fn score_passes(
        &self,
        inputs: impl ExactSizeIterator<Item = ArrayD<f32>>,
        progress: Progress<'_>,
        score: impl Fn(ArrayView1<'_, f32>) -> Result<f32>,
    ) -> Result<Vec<f32>> {
        let total = inputs.len();
        let mut scores = Vec::with_capacity(total);
        self.for_each_output_row(inputs, progress, total, |_, row| {
            scores.push(score(row)?);
            Ok(())
        })?;
        Ok(scores)
    }

    /// The target's value at each input.
    pub(crate) fn target_values(&self, inputs: &[ArrayD<f32>], target: usize) -> Result<Vec<f32>> {
        let mut values = Vec::with_capacity(inputs.len());
        self.for_each_output_row(inputs.iter().cloned(), &mut |_, _| {}, inputs.len(), |_, row| {
            let value = row.get(target).ok_or_else(|| {
                Error::Explain(format!("class {target} is outside the model's {} outputs", row.len()))
            })?;
            values.push(*value);
            Ok(())
        })?;
        Ok(values)
    }
}

/// One input gradient: ∂y_target/∂x, in the input's shape.
fn input_gradient(explainer: &Explainer, subject: &Subject, mode: Mode) -> Result<ArrayD<f32>> {
    let model = explainer.gradient_model()?;
    let grads = model.gradients(subject.input.clone(), &Target::Index(subject.target), mode)?;
    Ok(grads.input)
}
