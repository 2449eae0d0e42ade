//! Reshaping an ONNX graph before it is loaded, so that a model with several or integer inputs
//! (a BERT-style text classifier: `input_ids` and `attention_mask`, both i64) becomes one that
//! takes a single `f32` tensor, which is what the forward model and the gradient engine run:
//!
//! - an input can be fixed to a constant (the attention mask of the sentence being explained);
//! - the f32 inputs besides the image can be held at zero, with the image's batch;
//! - an integer input can be fed as `f32` through a `Cast` at the graph's entrance (token ids
//!   are far below 2²⁴, so the round trip is exact);
//! - an attention mask can be derived from the token ids (1 where the id is not padding), so a
//!   token replaced by padding is not attended to at all; token type ids, as zeros;
//! - the graph can be cut at an inner tensor, which then becomes the input (the embedding layer's
//!   output, where the gradient methods attribute), and whatever only fed it is dropped;
//! - a channels-last image input (N×H×W×C, as tf2onnx exports Keras) can take N×C×H×W instead,
//!   through a `Transpose` at the graph's entrance, so that every method sees channels first;
//! - an output of probabilities can give their logarithm instead (`Log(p + 10⁻³⁰)`, finite
//!   where a probability underflowed to 0), which a softmax turns back into the same
//!   probabilities: logits up to a constant, as every method expects.
//!
//! The graph is read and written with the protobuf types tract itself parses ONNX with.

use std::collections::HashSet;

use ndarray::ArrayD;
use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType, tensor_shape_proto::dimension, type_proto};
use tract_onnx::prelude::Framework;

use crate::error::{Error, Result};

/// What to change in a graph.
#[derive(Debug, Clone, Default)]
pub struct Surgery {
    /// f32 inputs fed zeros instead, of their declared shape; a symbolic first axis (the batch)
    /// takes the size of the input that is left's.
    pub held_at_zero: Vec<String>,
    /// Inputs replaced by these constant i64 tensors.
    pub constants: Vec<(String, ArrayD<i64>)>,
    /// An i64 input to be fed as f32 instead.
    pub float_input: Option<String>,
    /// An i64 mask input computed instead from `float_input` as ids ≠ the padding id.
    pub mask_from_ids: Option<(String, i64)>,
    /// i64 inputs computed instead as zeros shaped like `float_input` (BERT's token types).
    pub zeros_like_ids: Vec<String>,
    /// Input axes fixed to a size (`(input, axis, size)`): a sentence's length, an image's
    /// height and width, so that only the batch is left symbolic (tract cannot flatten a shape
    /// with two symbols in it, nor plan a convolution for an image of any size).
    pub fixed: Vec<(String, usize, usize)>,
    /// An inner tensor that becomes the (f32) input, with its shape; `None` for a symbolic
    /// dimension (the batch).
    pub cut_at: Option<(String, Vec<Option<usize>>)>,
    /// A channels-last image input that takes channels first instead.
    pub channels_first: Option<String>,
    /// An output of probabilities that gives their logarithm instead.
    pub log_output: Option<String>,
}

/// Applies `surgery` to the ONNX model in `bytes` and returns the new model's bytes.
pub fn operate(bytes: &[u8], surgery: &Surgery) -> Result<Vec<u8>> {
    let mut reader = bytes;
    let mut model = tract_onnx::onnx()
        .proto_model_for_read(&mut reader)
        .map_err(|e| Error::NotOnnx(crate::model::root_cause(&e)))?;
    let opset = crate::model::default_opset(&model).unwrap_or(0);
    let graph = model.graph.as_mut().ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;

    hold_at_zero(graph, &surgery.held_at_zero, opset)?;

    for (name, value) in &surgery.constants {
        take_input(graph, name)?;
        let dims = value.shape().iter().map(|&d| d as i64).collect();
        graph.initializer.push(int64s(name, dims, value.iter().copied().collect()));
    }

    if let Some(name) = &surgery.float_input {
        let input = input_mut(graph, name)?;
        set_elem_type(input, DataType::Float)?;

        let integer = format!("{name}_as_int64");
        rename_uses(graph, name, &integer);
        let mut entrance = vec![cast(&format!("{name}_cast"), name, &integer, DataType::Int64)];
        if let Some((mask, pad)) = &surgery.mask_from_ids {
            take_input(graph, mask)?;
            let pad_name = format!("{mask}_pad_id");
            graph.initializer.push(int64s(&pad_name, vec![], vec![*pad]));
            let (is_pad, is_token) = (format!("{mask}_is_pad"), format!("{mask}_is_token"));
            entrance.push(node("Equal", &format!("{mask}_equal"), &[&integer, &pad_name], &is_pad));
            entrance.push(node("Not", &format!("{mask}_not"), &[&is_pad], &is_token));
            entrance.push(cast(&format!("{mask}_cast"), &is_token, mask, DataType::Int64));
        }
        for zeros in &surgery.zeros_like_ids {
            take_input(graph, zeros)?;
            let zero = format!("{zeros}_zero");
            graph.initializer.push(int64s(&zero, vec![], vec![0]));
            entrance.push(node("Mul", &format!("{zeros}_zeros"), &[&integer, &zero], zeros));
        }
        graph.node.splice(0..0, entrance);
    } else if surgery.mask_from_ids.is_some() || !surgery.zeros_like_ids.is_empty() {
        return Err(Error::ModelPrepare("a mask or token types are derived from ids fed as f32".into()));
    }

    for (name, axis, size) in &surgery.fixed {
        set_dim(input_mut(graph, name)?, *axis, *size)?;
    }

    if let Some(name) = &surgery.channels_first {
        let input = input_mut(graph, name)?;
        match input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            Some(type_proto::Value::TensorType(tensor)) => match tensor.shape.as_mut() {
                Some(shape) if shape.dim.len() == 4 => shape.dim[1..].rotate_right(1),
                _ => return Err(Error::ModelPrepare(format!("input {name} is not N×H×W×C"))),
            },
            _ => return Err(Error::ModelPrepare(format!("input {name} is not a tensor"))),
        }
        let channels_last = format!("{name}_channels_last");
        rename_uses(graph, name, &channels_last);
        let perm = pb::AttributeProto {
            name: "perm".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: vec![0, 2, 3, 1],
            ..Default::default()
        };
        let transpose = node("Transpose", &format!("{name}_to_channels_last"), &[name], &channels_last);
        graph.node.insert(0, pb::NodeProto { attribute: vec![perm], ..transpose });
    }

    if let Some(name) = &surgery.log_output {
        if !graph.output.iter().any(|o| &o.name == name) {
            return Err(Error::ModelPrepare(format!("the model has no output {name}")));
        }
        let probabilities = format!("{name}_probabilities");
        for node in &mut graph.node {
            for output in node.output.iter_mut().filter(|o| *o == name) {
                output.clone_from(&probabilities);
            }
        }
        rename_uses(graph, name, &probabilities);
        let (floor, floored) = (format!("{name}_floor"), format!("{name}_floored"));
        graph.initializer.push(pb::TensorProto {
            name: floor.clone(),
            data_type: DataType::Float as i32,
            float_data: vec![1e-30],
            ..Default::default()
        });
        graph.node.push(node("Add", &format!("{name}_add_floor"), &[&probabilities, &floor], &floored));
        graph.node.push(node("Log", &format!("{name}_log"), &[&floored], name));
    }

    if let Some((name, shape)) = &surgery.cut_at {
        if !graph.node.iter().any(|n| n.output.contains(name)) {
            return Err(Error::ModelPrepare(format!("the model has no inner tensor {name}")));
        }
        graph.output.retain(|o| &o.name != name);
        graph.input.insert(0, value_info(name, DataType::Float, shape));
        let needed = prune_dead(graph);
        graph.input.retain(|i| needed.contains(&i.name));
    }

    let mut out = Vec::with_capacity(model.encoded_len());
    model
        .encode(&mut out)
        .map_err(|e| Error::ModelPrepare(format!("the changed model cannot be written: {e}")))?;
    Ok(out)
}

/// Replaces each named f32 input by zeros of its declared shape (`ConstantOfShape`), an open
/// first axis taking the batch of the one input left (`Gather` of its `Shape`), so that a batch
/// of images meets a batch of zeros.
fn hold_at_zero(graph: &mut pb::GraphProto, names: &[String], opset: i64) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    if opset < 9 {
        return Err(Error::ModelPrepare(format!(
            "the model is at opset {opset}; holding its other inputs at zero needs opset 9 (ConstantOfShape)"
        )));
    }
    let mut shapes = vec![];
    for name in names {
        let info = graph.input.iter().find(|i| &i.name == name);
        let tensor = info.and_then(|i| i.r#type.as_ref()).and_then(|t| match &t.value {
            Some(type_proto::Value::TensorType(tensor)) => Some(tensor),
            _ => None,
        });
        let tensor =
            tensor.ok_or_else(|| Error::ModelPrepare(format!("the model has no tensor input {name}")))?;
        if tensor.elem_type != DataType::Float as i32 {
            return Err(Error::ModelPrepare(format!("input {name} is not f32, and cannot be held at zero")));
        }
        let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).ok_or_else(|| {
            Error::ModelPrepare(format!(
                "input {name} declares no shape: Glimpse holds it at zero, and needs one"
            ))
        })?;
        let sizes: Vec<Option<i64>> = dims
            .iter()
            .map(|d| match d.value {
                Some(dimension::Value::DimValue(n)) if n >= 0 => Some(n),
                _ => None,
            })
            .collect();
        if let Some(axis) = sizes.iter().skip(1).position(Option::is_none) {
            return Err(Error::ModelPrepare(format!(
                "input {name} leaves axis {} open: Glimpse holds it at zero, and needs its size",
                axis + 1
            )));
        }
        shapes.push((name.clone(), sizes));
        take_input(graph, name)?;
    }
    let [left] = crate::model::inspect::inputs(graph)
        .try_into()
        .map_err(|_| Error::ModelPrepare("holding inputs at zero must leave one input".into()))?;
    let left = left.name;
    let mut taken = names_in(graph);
    let mut fresh = |base: String| {
        let mut name = base.clone();
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            name = format!("{base}_{n}");
        }
        name
    };
    let value = pb::AttributeProto {
        name: "value".into(),
        r#type: pb::attribute_proto::AttributeType::Tensor as i32,
        t: Some(pb::TensorProto {
            dims: vec![1],
            data_type: DataType::Float as i32,
            float_data: vec![0.0],
            ..Default::default()
        }),
        ..Default::default()
    };
    let (shape, first, batch) =
        (fresh(format!("{left}_shape")), fresh(format!("{left}_first")), fresh(format!("{left}_batch")));
    graph.initializer.push(int64_vector(&first, vec![0]));
    let mut entrance = vec![node("Shape", &shape, &[&left], &shape)];
    let gather = node("Gather", &batch, &[&shape, &first], &batch);
    entrance.push(pb::NodeProto { attribute: vec![int_attribute("axis", 0)], ..gather });
    for (name, sizes) in shapes {
        let held = fresh(format!("{name}_held_shape"));
        match sizes.first() {
            Some(None) => {
                let rest = fresh(format!("{name}_rest"));
                graph.initializer.push(int64_vector(&rest, sizes[1..].iter().flatten().copied().collect()));
                let concat = node("Concat", &held, &[&batch, &rest], &held);
                entrance.push(pb::NodeProto { attribute: vec![int_attribute("axis", 0)], ..concat });
            }
            _ => graph.initializer.push(int64_vector(&held, sizes.into_iter().flatten().collect())),
        }
        let zeros = node("ConstantOfShape", &fresh(format!("{name}_zeros")), &[&held], &name);
        entrance.push(pb::NodeProto { attribute: vec![value.clone()], ..zeros });
    }
    graph.node.splice(0..0, entrance);
    Ok(())
}

/// Every tensor and node name a graph uses.
fn names_in(graph: &pb::GraphProto) -> HashSet<String> {
    let tensors =
        graph.node.iter().flat_map(|n| n.input.iter().chain(&n.output).chain(std::iter::once(&n.name)));
    let declared = graph.input.iter().chain(&graph.output).chain(&graph.value_info).map(|v| &v.name);
    tensors.chain(declared).chain(graph.initializer.iter().map(|t| &t.name)).cloned().collect()
}

/// Every node input named `from` reads `to` instead.
fn rename_uses(graph: &mut pb::GraphProto, from: &str, to: &str) {
    for node in &mut graph.node {
        for input in &mut node.input {
            if input == from {
                *input = to.to_owned();
            }
        }
    }
}

fn node(op_type: &str, name: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        name: name.into(),
        op_type: op_type.into(),
        input: inputs.iter().map(|&i| i.to_owned()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

fn cast(name: &str, input: &str, output: &str, to: DataType) -> pb::NodeProto {
    pb::NodeProto { attribute: vec![int_attribute("to", to as i64)], ..node("Cast", name, &[input], output) }
}

fn int_attribute(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn int64_vector(name: &str, values: Vec<i64>) -> pb::TensorProto {
    int64s(name, vec![values.len() as i64], values)
}

/// An i64 weight of these dims (none: a scalar).
fn int64s(name: &str, dims: Vec<i64>, values: Vec<i64>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims,
        data_type: DataType::Int64 as i32,
        int64_data: values,
        ..Default::default()
    }
}

/// A graph input by name, or says there is none of that name.
fn input_mut<'a>(graph: &'a mut pb::GraphProto, name: &str) -> Result<&'a mut pb::ValueInfoProto> {
    graph
        .input
        .iter_mut()
        .find(|i| i.name == name)
        .ok_or_else(|| Error::ModelPrepare(format!("the model has no input {name}")))
}

/// Removes a graph input, or says there is none of that name.
fn take_input(graph: &mut pb::GraphProto, name: &str) -> Result<()> {
    let before = graph.input.len();
    graph.input.retain(|i| i.name != name);
    if graph.input.len() == before {
        return Err(Error::ModelPrepare(format!("the model has no input {name}")));
    }
    Ok(())
}

fn set_dim(info: &mut pb::ValueInfoProto, axis: usize, size: usize) -> Result<()> {
    let dim = match info.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(type_proto::Value::TensorType(tensor)) => {
            tensor.shape.as_mut().and_then(|s| s.dim.get_mut(axis))
        }
        _ => None,
    };
    let dim = dim.ok_or_else(|| Error::ModelPrepare(format!("input {} has no axis {axis}", info.name)))?;
    dim.value = Some(dimension::Value::DimValue(size as i64));
    Ok(())
}

fn set_elem_type(info: &mut pb::ValueInfoProto, elem: DataType) -> Result<()> {
    match info.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(type_proto::Value::TensorType(tensor)) => {
            tensor.elem_type = elem as i32;
            Ok(())
        }
        _ => Err(Error::ModelPrepare(format!("input {} is not a tensor", info.name))),
    }
}

fn value_info(name: &str, elem: DataType, shape: &[Option<usize>]) -> pb::ValueInfoProto {
    let dim = shape
        .iter()
        .map(|d| pb::tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None => dimension::Value::DimParam("batch".into()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Keeps only the nodes the outputs need, given the graph's inputs, and the initializers those
/// nodes read; returns the names they read.
pub(crate) fn prune_dead(graph: &mut pb::GraphProto) -> HashSet<String> {
    let inputs: HashSet<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    let mut needed: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let mut keep = vec![false; graph.node.len()];
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o) && !inputs.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().filter(|n| !n.is_empty()).cloned());
        }
    }
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        keep[index - 1]
    });
    graph.initializer.retain(|t| needed.contains(&t.name));
    graph.value_info.retain(|v| needed.contains(&v.name));
    needed
}
