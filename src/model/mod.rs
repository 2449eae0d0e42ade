//! Loading and running ONNX models. This is the only module that names tract.
//!
//! A model is loaded from bytes, checked for operators tract cannot run (named in the error),
//! optimised once, and then run on batches of `f32` tensors. A symbolic batch dimension stays
//! symbolic, so one optimised plan serves every batch size.

use std::sync::Arc;

use ndarray::ArrayD;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use crate::error::{Error, Result};
use crate::tensor::Value;

pub mod graph;

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

/// An optimised, runnable ONNX model with one `f32` input.
#[derive(Debug, Clone)]
pub struct Model {
    plan: Arc<TypedRunnableModel>,
    input: TensorInfo,
    /// The input's symbolic dimensions (the batch size, usually), by axis: shape tensors that
    /// tract folded into constants still hold these symbols.
    input_symbols: Vec<(usize, Symbol)>,
    outputs: Vec<TensorInfo>,
}

impl Model {
    /// Parses, checks and optimises an ONNX model.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_exposing(bytes, &[])
    }

    /// Like [`Model::from_bytes`], and also outputs the named intermediate tensors, after the
    /// model's own outputs, in the order given.
    pub fn from_bytes_exposing(bytes: &[u8], intermediates: &[String]) -> Result<Model> {
        let mut reader = bytes;
        let mut inference =
            tract_onnx::onnx().model_for_read(&mut reader).map_err(|e| Error::NotOnnx(root_cause(&e)))?;

        let unsupported = unsupported_ops(&inference);
        if !unsupported.is_empty() {
            return Err(Error::UnsupportedOps(unsupported));
        }
        if inference.inputs.len() != 1 {
            return Err(Error::ModelPrepare(format!(
                "Glimpse needs a model with one input; this one has {}.",
                inference.inputs.len()
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
        let typed = inference.into_optimized().map_err(|e| Error::ModelPrepare(format!("{e:#}")))?;
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
        let input_symbols = typed
            .input_fact(0)
            .map_err(|e| Error::ModelPrepare(e.to_string()))?
            .shape
            .iter()
            .enumerate()
            .filter_map(|(axis, d)| match d {
                TDim::Sym(s) => Some((axis, s.clone())),
                _ => None,
            })
            .collect();
        let plan = typed.into_runnable().map_err(|e| Error::ModelPrepare(format!("{e:#}")))?;
        Ok(Model { plan, input, input_symbols, outputs })
    }

    pub fn input(&self) -> &TensorInfo {
        &self.input
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Runs the model and returns its first output.
    pub fn run(&self, input: ArrayD<f32>) -> Result<ArrayD<f32>> {
        self.check_input_shape(input.shape())?;
        let outputs = self
            .plan
            .run(tvec![Tensor::from(input).into_tvalue()])
            .map_err(|e| Error::ModelRun(format!("{e:#}")))?;
        let first = outputs
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
        self.check_input_shape(input.shape())?;
        let symbols = self
            .input_symbols
            .iter()
            .fold(SymbolValues::default(), |values, (axis, s)| values.with(s, input.shape()[*axis] as i64));
        let outputs = self
            .plan
            .run(tvec![Tensor::from(input).into_tvalue()])
            .map_err(|e| Error::ModelRun(format!("{e:#}")))?;
        outputs.into_iter().map(|v| graph::to_value(v.into_tensor(), &symbols)).collect()
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
            Err(Error::InputShape { got: got.to_vec(), expected: format!("[{}]", dims.join(", ")) })
        }
    }
}

/// The ONNX operator types tract has no implementation for, each named once.
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

/// The innermost message of a tract error chain: for a corrupt file it says what the protobuf
/// decoder tripped on, without tract's internal context.
fn root_cause(error: &TractError) -> String {
    error.root_cause().to_string()
}
