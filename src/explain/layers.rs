//! The layers CAM methods look at: which tensors qualify, which one is the default, and the
//! linear head that CAM reads its weights from. Shared by the CAMs.
//!
//! The graph here is a user's file: nothing indexes without checking (clippy's
//! `indexing_slicing` is denied).
#![deny(clippy::indexing_slicing)]

use ndarray::{Array2, Array3, ArrayD, Axis, Ix3};
use serde::Serialize;

use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::{Display, Explainer, LayerConfig, Settings, Subject};
use crate::error::{Error, Result};
use crate::grad::{Route, Target};
use crate::model::graph::{Graph, Node};
use crate::model::{Dim, Model};
use crate::tensor::Value;

/// A tensor a CAM method can look at: a convolution's or an activation's N×C×H×W output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// The ONNX tensor name.
    pub name: String,
    /// The operator that makes it.
    pub op: String,
    /// Its shape for one input.
    pub shape: Vec<usize>,
}

/// Operators whose outputs are offered as layers: convolutions and what follows them.
const LAYER_OPS: &[&str] = &[
    "Conv",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Mul",
    "Add",
    "BatchNormalization",
    "MaxPool",
];

/// Every N×C×H×W tensor (H·W > 1) on the gradient path that a convolution or an activation
/// makes, in graph order, and the tensor feeding the global pooling if that is not one of them.
pub fn candidates(route: &Route, model: &Model) -> Result<Vec<Layer>> {
    let shapes = model.tensor_shapes(&one_input_shape(model)?)?;
    let head = linear_head(route)?;
    let graph = route.graph();
    let mut layers = Vec::new();
    for node in &graph.nodes {
        let Some(name) = node.outputs.first() else { continue };
        let qualifies =
            LAYER_OPS.contains(&node.op_type.as_str()) || head.as_ref().is_some_and(|h| &h.layer == name);
        let Some(shape) = shapes.get(name) else { continue };
        let spatial = matches!(shape[..], [_, _, h, w] if h * w > 1);
        if qualifies && spatial && route.on_path(name) {
            layers.push(Layer { name: name.clone(), op: node.op_type.clone(), shape: shape.clone() });
        }
    }
    Ok(layers)
}

/// The model input's shape for one item, with symbolic dimensions other than the batch refused.
fn one_input_shape(model: &Model) -> Result<Vec<usize>> {
    let input = model.input();
    input
        .shape
        .iter()
        .enumerate()
        .map(|(axis, dim)| match dim {
            Dim::Fixed(n) => Ok(*n),
            Dim::Symbolic(_) if axis == 0 => Ok(1),
            Dim::Symbolic(s) => {
                Err(Error::Explain(format!("input {} has a symbolic size {s} beyond the batch", input.name)))
            }
        })
        .collect()
}

/// A model that ends in global average pooling and a linear layer: CAM's structure.
#[derive(Debug, Clone)]
pub struct LinearHead {
    /// The tensor the global pooling averages.
    pub layer: String,
    /// The linear layer's weights, classes × channels.
    pub weight: Array2<f32>,
}

/// Finds `GlobalAveragePool (or ReduceMean over H, W) → [Flatten | Reshape | Squeeze]* →
/// Gemm | MatMul [+ Add]` at the model's first output, reading the weights from constants.
pub fn linear_head(route: &Route) -> Result<Option<LinearHead>> {
    let graph = route.graph();
    let Some(output) = graph.outputs.first() else { return Ok(None) };
    let mut node = producer(graph, output);
    // A bias added after a MatMul.
    if let Some(add) = node.filter(|n| n.op_type == "Add") {
        node = add.inputs.iter().find(|i| !graph.constants.contains_key(*i)).and_then(|i| producer(graph, i));
    }
    let Some(linear) = node else { return Ok(None) };
    let constant = |name: &str| graph.constants.get(name).and_then(Value::as_f32);
    let weight = match (linear.op_type.as_str(), linear.inputs.get(1).and_then(|b| constant(b))) {
        ("Gemm", Some(b)) if linear.int("transA").unwrap_or(0) == 0 && b.ndim() == 2 => {
            let alpha = linear.float("alpha").unwrap_or(1.0);
            let b =
                b.view().into_dimensionality::<ndarray::Ix2>().map_err(|e| Error::Explain(e.to_string()))?;
            let w = if linear.int("transB").unwrap_or(0) == 1 { b.to_owned() } else { b.t().to_owned() };
            w * alpha
        }
        ("MatMul", Some(b)) if b.ndim() == 2 => {
            let b =
                b.view().into_dimensionality::<ndarray::Ix2>().map_err(|e| Error::Explain(e.to_string()))?;
            b.t().to_owned()
        }
        _ => return Ok(None),
    };
    let Some(mut data) = linear.inputs.first() else { return Ok(None) };
    while let Some(input) = producer(graph, data)
        .filter(|n| matches!(n.op_type.as_str(), "Flatten" | "Reshape" | "Squeeze" | "Identity" | "Dropout"))
        .and_then(|n| n.inputs.first())
    {
        data = input;
    }
    let Some(pool) = producer(graph, data) else { return Ok(None) };
    let global = match pool.op_type.as_str() {
        "GlobalAveragePool" => true,
        "ReduceMean" => {
            let axes = pool
                .ints("axes")
                .map(<[i64]>::to_vec)
                .or_else(|| pool.inputs.get(1).and_then(|a| graph.constants.get(a)).map(Value::to_i64_vec));
            matches!(axes.as_deref(), Some([2, 3] | [-2, -1] | [3, 2] | [-1, -2]))
        }
        _ => false,
    };
    match pool.inputs.first() {
        Some(layer) if global => Ok(Some(LinearHead { layer: layer.clone(), weight })),
        _ => Ok(None),
    }
}

fn producer<'a>(graph: &'a Graph, tensor: &str) -> Option<&'a Node> {
    graph.nodes.iter().find(|n| n.outputs.iter().any(|o| o == tensor))
}

/// The descriptor of a CAM on a chosen layer: a non-negative map at the layer's resolution,
/// on its own scale (CAM scales are conventions), with the layer as its one setting.
pub(super) fn cam_descriptor(id: &'static str, title: &'static str, caption: &'static str) -> Descriptor {
    Descriptor::new(id, title, caption, Needs::Gradients, Cost::Single, Display::Magnitude, Units::Own)
        .settings::<LayerConfig>(vec![Setting::layer()
        .help("a convolutional layer of the model")
        .source("the layer feeding the global pooling, as pytorch-grad-cam's examples")])
}

/// A CAM from one layer's activations A and gradients ∂y_c/∂A (each C×H×W): `combine` makes the
/// 1×1×H×W map from them.
pub(super) fn gradient_cam(
    explainer: &Explainer,
    subject: &Subject,
    settings: &Settings,
    combine: impl FnOnce(&Array3<f32>, &Array3<f32>) -> ArrayD<f32>,
) -> Result<Outcome> {
    let layer = explainer.resolve_layer(&settings.config()?)?;
    let (activations, gradients) = activations_and_gradients(explainer, subject, &layer)?;
    Ok(Outcome { layer: Some(layer), ..combine(&activations, &gradients).into() })
}

/// A layer's activations A and gradients ∂y_c/∂A for one input, each C×H×W.
pub(super) fn activations_and_gradients(
    explainer: &Explainer,
    subject: &Subject,
    layer: &str,
) -> Result<(Array3<f32>, Array3<f32>)> {
    let model = explainer.layer_model(layer)?;
    let grads = model.layer_gradients(subject.input.clone(), &Target::Index(subject.target), layer)?;
    let first = |a: ArrayD<f32>| -> Result<Array3<f32>> {
        if a.ndim() != 4 {
            return Err(Error::Explain(format!(
                "Layer {layer} has shape {}; a CAM needs an N×C×H×W layer.",
                crate::error::shape(a.shape())
            )));
        }
        a.index_axis_move(Axis(0), 0).into_dimensionality::<Ix3>().map_err(|e| Error::Explain(e.to_string()))
    };
    Ok((first(grads.value)?, first(grads.grad)?))
}

/// Σ_k weights[k] · A_k, optionally rectified, as a 1×1×H×W map.
pub(super) fn weighted_sum(activations: &Array3<f32>, weights: &[f32], rectify: bool) -> ArrayD<f32> {
    let (_, h, w) = activations.dim();
    let mut map = Array2::<f32>::zeros((h, w));
    for (channel, &weight) in activations.outer_iter().zip(weights) {
        map.scaled_add(weight, &channel);
    }
    if rectify {
        map.mapv_inplace(|v| v.max(0.0));
    }
    map.insert_axis(Axis(0)).insert_axis(Axis(0)).into_dyn()
}
