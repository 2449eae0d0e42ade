//! An ONNX graph as plain data: nodes in file order (ONNX requires topological order), their
//! attributes, and the constant tensors. The gradient engine walks this backwards; tract runs
//! the same graph forwards.

use std::collections::HashMap;

use ndarray::ArrayD;

use tract_onnx::pb::{self, attribute_proto::AttributeType};
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::tensor::Value;

/// One attribute of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Str(String),
    Tensor(Value),
}

/// One operator application.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    /// Tensor names; an empty name is an omitted optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: HashMap<String, Attribute>,
}

impl Node {
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.attributes.get(name) {
            Some(Attribute::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Option<f32> {
        match self.attributes.get(name) {
            Some(Attribute::Float(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.attributes.get(name) {
            Some(Attribute::Ints(v)) => Some(v),
            _ => None,
        }
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        match self.attributes.get(name) {
            Some(Attribute::Str(v)) => Some(v),
            _ => None,
        }
    }
}

/// A whole ONNX graph.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The graph's real inputs (initializers listed as inputs are left out).
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub nodes: Vec<Node>,
    /// Initializers, and the values of `Constant` nodes.
    pub constants: HashMap<String, Value>,
    /// The default-domain operator set version.
    pub opset: i64,
}

impl Graph {
    pub fn from_bytes(bytes: &[u8]) -> Result<Graph> {
        let mut reader = bytes;
        let onnx = tract_onnx::onnx();
        let proto =
            onnx.proto_model_for_read(&mut reader).map_err(|e| Error::NotOnnx(e.root_cause().to_string()))?;
        super::check::attributes(&proto)?;
        let graph = proto.graph.as_ref().ok_or_else(|| Error::NotOnnx("the file holds no graph".into()))?;
        let load = |t: &pb::TensorProto| -> Result<Value> {
            let tensor = tract_onnx::tensor::load_tensor(&*onnx.provider, t, None)
                .map_err(|e| Error::ModelPrepare(format!("tensor {}: {e}", t.name)))?;
            to_value(&tensor)
        };

        let mut constants = HashMap::new();
        for initializer in &graph.initializer {
            constants.insert(initializer.name.clone(), load(initializer)?);
        }
        let mut nodes = Vec::with_capacity(graph.node.len());
        for node in &graph.node {
            let mut attributes = HashMap::new();
            for a in &node.attribute {
                let value = match AttributeType::try_from(a.r#type) {
                    Ok(AttributeType::Int) => Attribute::Int(a.i),
                    Ok(AttributeType::Float) => Attribute::Float(a.f),
                    Ok(AttributeType::Ints) => Attribute::Ints(a.ints.clone()),
                    Ok(AttributeType::Floats) => Attribute::Floats(a.floats.clone()),
                    Ok(AttributeType::String) => Attribute::Str(String::from_utf8_lossy(&a.s).into_owned()),
                    Ok(AttributeType::Tensor) => match &a.t {
                        Some(t) => Attribute::Tensor(load(t)?),
                        None => continue,
                    },
                    _ => continue,
                };
                attributes.insert(a.name.clone(), value);
            }
            let node = Node {
                name: node.name.clone(),
                op_type: node.op_type.clone(),
                inputs: node.input.clone(),
                outputs: node.output.clone(),
                attributes,
            };
            if node.op_type == "Constant" {
                if let (Some(Attribute::Tensor(value)), Some(output)) =
                    (node.attributes.get("value"), node.outputs.first())
                {
                    constants.insert(output.clone(), value.clone());
                    continue;
                }
            }
            nodes.push(node);
        }
        let inputs =
            graph.input.iter().map(|i| i.name.clone()).filter(|name| !constants.contains_key(name)).collect();
        let outputs = graph.output.iter().map(|o| o.name.clone()).collect();
        let opset = super::default_opset(&proto).unwrap_or(1);
        Ok(Graph { inputs, outputs, nodes, constants, opset })
    }
}

/// Converts a tract tensor to a [`Value`], copying it once. Shape tensors (`TDim`) must be
/// concrete, as they are in a plan made for a concrete input shape.
pub(crate) fn to_value(tensor: &Tensor) -> Result<Value> {
    let bad = |e: TractError| Error::ModelRun(format!("tensor conversion: {e}"));
    let dt = tensor.datum_type();
    Ok(if dt == TDim::datum_type() {
        let dims = tensor.to_plain_array_view::<TDim>().map_err(bad)?;
        let mut values = Vec::with_capacity(dims.len());
        for d in dims.iter() {
            values.push(d.to_i64().map_err(|e| Error::ModelRun(format!("symbolic shape: {e}")))?);
        }
        Value::I64(ArrayD::from_shape_vec(dims.shape(), values).map_err(|e| Error::ModelRun(e.to_string()))?)
    } else if dt == f32::datum_type() {
        Value::F32(tensor.to_plain_array_view::<f32>().map_err(bad)?.to_owned())
    } else if dt == bool::datum_type() {
        Value::Bool(tensor.to_plain_array_view::<bool>().map_err(bad)?.to_owned())
    } else if dt.is_integer() {
        Value::I64(
            tensor.cast_to::<i64>().map_err(bad)?.to_plain_array_view::<i64>().map_err(bad)?.to_owned(),
        )
    } else {
        Value::F32(
            tensor.cast_to::<f32>().map_err(bad)?.to_plain_array_view::<f32>().map_err(bad)?.to_owned(),
        )
    })
}
