//! Loading and running ONNX models. This is the only module that names tract.
//!
//! A model is loaded from bytes, checked for operators tract cannot run (named in the error),
//! and run on batches of `f32` tensors. tract optimises far better for concrete shapes (4.4×
//! faster on EfficientNet-Lite0 than with a symbolic batch), so a model whose input has a
//! symbolic dimension gets one optimised plan per input shape it meets, made on first use and
//! kept while it is among the last few used (each plan holds its own packed weights, and a text
//! model that reads sentences at their own length meets up to one shape per length).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ndarray::ArrayD;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use crate::error::{Error, Result};
use crate::tensor::Value;

mod check;
pub mod graph;
pub mod inspect;
pub mod randomise;
pub mod surgery;

/// Drops the shapes a file records for its inner tensors, keeping their element types; says
/// whether there were any. Only done when a model fails to load with them.
fn forget_inner_shapes(proto: &mut tract_onnx::pb::ModelProto) -> bool {
    use tract_onnx::pb::type_proto;
    let Some(graph) = proto.graph.as_mut() else { return false };
    let mut dropped = false;
    for info in &mut graph.value_info {
        if let Some(type_proto::Value::TensorType(tensor)) =
            info.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            dropped |= tensor.shape.take().is_some();
        }
    }
    dropped
}

/// One dimension of a model input: a fixed size, or a symbol such as the batch size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(usize),
    Symbolic(String),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => write!(f, "{s}"),
        }
    }
}

/// A named tensor slot of the model, as the ONNX file declares it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<Dim>,
}

/// The shapes of a model's named tensors, by ONNX name.
pub type TensorShapes = HashMap<String, Vec<usize>>;

/// Plans kept per model. A sentence's passes all have its length, and an image's its size: the
/// shape changes between explanations, not within one.
const PLANS_KEPT: usize = 2;

/// Things made once per concrete input shape, the `capacity` most recently used kept (oldest
/// first), shared by a model's clones.
#[derive(Debug)]
struct ByInputShape<T> {
    kept: Vec<(Vec<usize>, Arc<T>)>,
    capacity: usize,
}

impl<T> ByInputShape<T> {
    fn new(capacity: usize) -> Arc<Mutex<ByInputShape<T>>> {
        Arc::new(Mutex::new(ByInputShape { kept: Vec::new(), capacity }))
    }
}

/// A runnable ONNX model with one `f32` input.
#[derive(Debug, Clone)]
pub struct Model {
    /// The parsed model, outputs (and exposed intermediates) selected, input shape open.
    inference: Arc<InferenceModel>,
    /// Optimised plans by concrete input shape.
    plans: Arc<Mutex<ByInputShape<TypedRunnableModel>>>,
    /// Every labelled tensor's shape, by concrete input shape.
    shapes: Arc<Mutex<ByInputShape<TensorShapes>>>,
    input: TensorInfo,
    outputs: Vec<TensorInfo>,
}

impl Model {
    /// Parses, checks and optimises an ONNX model (for batch size 1, if the batch is open).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_exposing(bytes, &[])
    }

    /// Like [`Model::from_bytes`], and also outputs the named intermediate tensors, after the
    /// model's own outputs, in the order given.
    pub fn from_bytes_exposing(bytes: &[u8], intermediates: &[String]) -> Result<Model> {
        let mut reader = bytes;
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_read(&mut reader).map_err(|e| Error::NotOnnx(root_cause(&e)))?;
        let external = proto.graph.as_ref().map(inspect::external_data).unwrap_or_default();
        if !external.is_empty() {
            return Err(Error::ModelPrepare(format!(
                "The model keeps its weights in another file ({}), which Glimpse does not read: save it \
                 as one file (torch.onnx.export(..., external_data=False), or onnx.save(model, path, \
                 save_as_external_data=False)).",
                external.join(", ")
            )));
        }
        check::attributes(&proto)?;
        match Model::build(&onnx, &proto, intermediates) {
            Ok(model) => Ok(model),
            // The shapes a file records for its inner tensors are hints from one run, and can
            // contradict an open batch (onnxruntime's quantiser writes them for the batch of 1
            // it calibrated with): without them, tract infers every shape from the input.
            Err(first) => {
                let mut bare = proto.clone();
                if !forget_inner_shapes(&mut bare) {
                    return Err(first);
                }
                Model::build(&onnx, &bare, intermediates).map_err(|_| first)
            }
        }
    }

    /// Types and plans a checked ONNX graph (for batch size 1, if the batch is open).
    fn build(
        onnx: &tract_onnx::model::Onnx,
        proto: &tract_onnx::pb::ModelProto,
        intermediates: &[String],
    ) -> Result<Model> {
        let (mut inference, typed) = inference_model(onnx, proto, intermediates)?;
        // The declared shapes, symbols included, for descriptions and input checks.
        let typed = match typed {
            Ok(typed) => typed,
            Err(error) => {
                // Some graphs compute a shape in a way tract can only follow for a known batch
                // (tf2onnx's Flatten casts it to int32 on its way to a Reshape): such a model
                // runs at a batch of 1, one input at a time.
                let at_batch_one = || {
                    let fixed = inference.clone().with_input_fact(0, batch_one(proto)?).ok()?;
                    Some((fixed.clone(), fixed.into_typed().ok()?))
                };
                match at_batch_one() {
                    Some((fixed, typed)) => {
                        inference = fixed;
                        typed
                    }
                    None => return Err(analysis_failed(&error, proto)),
                }
            }
        };
        gather_indices(&typed)?;
        let input = tensor_info(&typed, typed.inputs[0])?;
        let datum_type = typed.input_fact(0).map_err(|e| Error::ModelPrepare(e.to_string()))?.datum_type;
        if datum_type != f32::datum_type() {
            return Err(Error::ModelPrepare(format!(
                "Glimpse needs an f32 input; input {} is {datum_type:?}.",
                input.name
            )));
        }
        let outputs =
            typed.outputs.iter().map(|&outlet| tensor_info(&typed, outlet)).collect::<Result<Vec<_>>>()?;
        let model = Model {
            inference: Arc::new(inference),
            plans: ByInputShape::new(PLANS_KEPT),
            shapes: ByInputShape::new(4 * PLANS_KEPT),
            input,
            outputs,
        };
        // Optimise now for the common shape (a batch of 1), so a broken model fails at load, not
        // at first use; a model whose other dimensions are open (an image of any size) waits for
        // its first input.
        if model.input.shape.iter().skip(1).all(|d| matches!(d, Dim::Fixed(_))) {
            let first_shape: Vec<usize> = model
                .input
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n,
                    Dim::Symbolic(_) => 1,
                })
                .collect();
            model.plan(&first_shape)?;
        }
        Ok(model)
    }

    pub fn input(&self) -> &TensorInfo {
        &self.input
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Makes the plan for one concrete input shape now, so that a model that cannot run at
    /// that shape fails here rather than at its first input.
    pub fn prepare(&self, shape: &[usize]) -> Result<()> {
        self.check_input_shape(shape)?;
        self.plan(shape).map(drop)
    }

    /// The optimised plan for one concrete input shape, made on first use.
    fn plan(&self, shape: &[usize]) -> Result<Arc<TypedRunnableModel>> {
        self.for_shape(&self.plans, shape, |model| model.into_optimized()?.into_runnable())
    }

    /// The shapes of the model's named tensors for one concrete input shape, from tract's
    /// shape inference: no forward pass, and no tensor kept just to learn its shape. The typed
    /// model's shapes first; a tensor whose wire tract merged with another's when it typed the
    /// model (a `Reshape` to the shape it already has, after a `Clip`, in tf2onnx's exports)
    /// keeps the shape the analysis gave it.
    pub fn tensor_shapes(&self, input_shape: &[usize]) -> Result<Arc<TensorShapes>> {
        self.for_shape(&self.shapes, input_shape, |mut model| {
            model.analyse(false)?;
            let mut analysed = TensorShapes::new();
            for (outlet, label) in model.outlet_labels.iter() {
                let dims =
                    model.outlet_fact(*outlet).ok().and_then(|f| f.shape.as_concrete_finite().ok().flatten());
                if let Some(dims) = dims {
                    analysed.insert(label.to_string(), dims.to_vec());
                }
            }
            let typed = model.into_typed()?;
            let mut shapes = TensorShapes::new();
            for (outlet, label) in typed.outlet_labels.iter() {
                if let Some(dims) = typed.outlet_fact(*outlet).ok().and_then(|f| f.shape.as_concrete()) {
                    shapes.insert(label.to_string(), dims.to_vec());
                }
            }
            for (label, dims) in analysed {
                shapes.entry(label).or_insert(dims);
            }
            Ok(Arc::new(shapes))
        })
    }

    /// Looks `shape` up in `cache`, or makes the entry from the model with its input fixed to
    /// that shape, and keeps it, dropping the least recently used beyond the cache's capacity.
    fn for_shape<T>(
        &self,
        cache: &Mutex<ByInputShape<T>>,
        shape: &[usize],
        make: impl FnOnce(InferenceModel) -> TractResult<Arc<T>>,
    ) -> Result<Arc<T>> {
        let mut cache = cache.lock().map_err(|_| Error::ModelRun("a previous run failed".into()))?;
        if let Some(at) = cache.kept.iter().position(|(s, _)| s == shape) {
            let hit = cache.kept.remove(at);
            let entry = hit.1.clone();
            cache.kept.push(hit);
            return Ok(entry);
        }
        let entry = (*self.inference)
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(make)
            .map_err(|e| Error::ModelPrepare(format!("{e:#}")))?;
        if cache.kept.len() == cache.capacity {
            cache.kept.remove(0);
        }
        cache.kept.push((shape.to_vec(), entry.clone()));
        Ok(entry)
    }

    fn run_plan(&self, input: ArrayD<f32>) -> Result<TVec<TValue>> {
        self.check_input_shape(input.shape())?;
        let plan = self.plan(input.shape())?;
        plan.run(tvec![Tensor::from(input).into_tvalue()]).map_err(|e| Error::ModelRun(format!("{e:#}")))
    }

    /// Runs the model and returns its first output.
    pub fn run(&self, input: ArrayD<f32>) -> Result<ArrayD<f32>> {
        let first = self
            .run_plan(input)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::ModelRun("the model produced no output".into()))?;
        first
            .into_tensor()
            .into_plain_array::<f32>()
            .map_err(|e| Error::ModelRun(format!("the output is not f32: {e}")))
    }

    /// Runs the model and returns every output, exposed intermediates included.
    pub fn run_all(&self, input: ArrayD<f32>) -> Result<Vec<Value>> {
        // By reference: a value the plan still holds would be deep-cloned by `into_tensor`.
        self.run_plan(input)?.iter().map(|v| graph::to_value(v)).collect()
    }

    fn check_input_shape(&self, got: &[usize]) -> Result<()> {
        let expected = &self.input.shape;
        let fits = got.len() == expected.len()
            && got.iter().zip(expected).all(|(g, e)| match e {
                Dim::Fixed(n) => g == n,
                Dim::Symbolic(_) => *g > 0,
            });
        if fits {
            Ok(())
        } else {
            let dims: Vec<String> = expected.iter().map(Dim::to_string).collect();
            Err(Error::InputShape { got: got.to_vec(), expected: dims.join("×") })
        }
    }
}

/// The ONNX operator types tract has no implementation for, each named once.
/// Every Gather's constant indices fall inside the axis they index, now that the shapes are
/// known: tract's Gather reads past its data otherwise, and on wasm that cannot be caught.
fn gather_indices(typed: &TypedModel) -> Result<()> {
    for node in typed.nodes() {
        let Some(gather) = node.op_as::<tract_onnx::tract_core::ops::array::Gather>() else { continue };
        let (Some(&data), Some(&indices)) = (node.inputs.first(), node.inputs.get(1)) else { continue };
        let fact = |outlet| typed.outlet_fact(outlet).map_err(|e| Error::ModelPrepare(e.to_string()));
        let Some(len) = fact(data)?.shape.get(gather.axis).and_then(|d| d.to_i64().ok()) else {
            continue;
        };
        let Some(konst) = fact(indices)?.konst.clone() else { continue };
        let Ok(values) = konst.cast_to::<i64>() else { continue };
        let Ok(plain) = values.try_as_plain_ram() else { continue };
        let Ok(values) = plain.as_slice::<i64>() else { continue };
        if let Some(bad) = values.iter().find(|&&i| i < -len || i >= len) {
            return Err(Error::ModelPrepare(format!(
                "node {} (Gather): index {bad} is outside the {len} entries of axis {}.",
                node.name, gather.axis
            )));
        }
    }
    Ok(())
}

fn unsupported_ops(model: &InferenceModel) -> Vec<String> {
    let mut names: Vec<String> = model
        .nodes()
        .iter()
        .filter_map(|node| {
            let name = node.op.name();
            name.strip_prefix("Unimplemented(").and_then(|rest| rest.strip_suffix(')')).map(str::to_owned)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn tensor_info(model: &TypedModel, outlet: OutletId) -> Result<TensorInfo> {
    let fact = model.outlet_fact(outlet).map_err(|e| Error::ModelPrepare(e.to_string()))?;
    let shape = fact
        .shape
        .iter()
        .map(|d| match d.to_usize() {
            Ok(n) => Dim::Fixed(n),
            Err(_) => Dim::Symbolic(d.to_string()),
        })
        .collect();
    let name =
        model.outlet_label(outlet).map(str::to_owned).unwrap_or_else(|| model.node(outlet.node).name.clone());
    Ok(TensorInfo { name, shape })
}

/// The ONNX operator set a model declares for the default domain (the newest, if it names
/// several); `None` when it declares none.
pub(crate) fn default_opset(model: &tract_onnx::pb::ModelProto) -> Option<i64> {
    model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
}

/// The inference model of a checked ONNX graph with one input, the named intermediates exposed
/// after its outputs, and its typing (which may fail: the caller may retry).
fn inference_model(
    onnx: &tract_onnx::model::Onnx,
    proto: &tract_onnx::pb::ModelProto,
    intermediates: &[String],
) -> Result<(InferenceModel, TractResult<TypedModel>)> {
    let mut inference = onnx.model_for_proto_model(proto).map_err(|e| Error::NotOnnx(root_cause(&e)))?;
    let unsupported = unsupported_ops(&inference);
    if !unsupported.is_empty() {
        return Err(Error::UnsupportedOps(unsupported));
    }
    if inference.inputs.len() != 1 {
        let names: Vec<String> =
            inference.inputs.iter().map(|&o| inference.node(o.node).name.clone()).collect();
        return Err(Error::ModelPrepare(format!(
            "Glimpse explains a model through one input; this one has {} ({}): a description's \"input\" \
             names the image, and the others are then held at zero.",
            names.len(),
            names.join(", ")
        )));
    }
    if !intermediates.is_empty() {
        let mut outlets = inference.outputs.clone();
        for name in intermediates {
            let outlet = inference
                .find_outlet_label(name)
                .ok_or_else(|| Error::ModelPrepare(format!("the model has no tensor named {name}")))?;
            outlets.push(outlet);
        }
        inference.outputs = outlets;
    }
    let typed = inference.clone().into_typed();
    Ok((inference, typed))
}

/// The first input's fact with its open batch fixed to 1, when it is an f32 input whose other
/// dimensions the file fixes.
fn batch_one(proto: &tract_onnx::pb::ModelProto) -> Option<InferenceFact> {
    let input = inspect::inputs(proto.graph.as_ref()?).into_iter().next()?;
    let (Dim::Symbolic(_), rest) = input.shape.split_first()? else { return None };
    let rest: Option<Vec<usize>> = rest
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Some(*n),
            Dim::Symbolic(_) => None,
        })
        .collect();
    let shape: Vec<usize> = std::iter::once(1).chain(rest?).collect();
    (input.element == "float32").then(|| f32::fact(&shape).into())
}

/// Tract's shape analysis failed at a node: its name and ONNX operator, and the innermost
/// cause ("Impossible to unify 3 with 6"), rather than tract's whole chain of rules.
fn analysis_failed(error: &TractError, proto: &tract_onnx::pb::ModelProto) -> Error {
    let node = error
        .to_string()
        .split('"')
        .nth(1)
        .and_then(|name| proto.graph.as_ref()?.node.iter().find(|n| n.name == name))
        .map(|n| (n.name.clone(), n.op_type.clone()));
    match node {
        Some((name, op)) => Error::ModelPrepare(format!(
            "node {name} ({op}): its inputs' shapes do not fit it ({}).",
            plain_values(root_cause(error).trim_end_matches('.'))
        )),
        None => Error::ModelPrepare(format!("{error:#}")),
    }
}

/// Tract's `Val(3)` as `3`.
fn plain_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Val(") {
        let (before, after) = rest.split_at(at);
        let inner = after.get(4..).unwrap_or_default();
        match inner.find(')') {
            Some(end) => {
                out.push_str(before);
                out.push_str(inner.get(..end).unwrap_or_default());
                rest = inner.get(end + 1..).unwrap_or_default();
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// The innermost message of a tract error chain (for a corrupt file, what the protobuf decoder
/// tripped on, without tract's internal context); a protobuf decoding error's path through nested messages (a hundred
/// levels deep, for a hostile file) shortened to its first and last steps.
pub(crate) fn root_cause(error: &TractError) -> String {
    let text = error.root_cause().to_string();
    let parts: Vec<&str> = text.split(": ").collect();
    match parts.as_slice() {
        [first, .., before, last] if parts.len() > 4 => format!("{first}: …: {before}: {last}"),
        _ => text,
    }
}
