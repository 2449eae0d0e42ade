//! Where a text classifier's parts are in its ONNX graph, for a model exported with only its
//! logits as output (as `torch.onnx.export` and Hugging Face's exporters make it):
//!
//! - the embedding layer's output, where the gradient methods attribute: the tensor the first
//!   weight matrix multiplies (the first `MatMul` or `Gemm` on the token ids' path whose other
//!   input is a constant). Before it lie only the lookups, their sum and the LayerNorm, whatever
//!   the operators they are exported as (BERT's query projection; ALBERT's mapping from its
//!   smaller embedding width);
//! - each layer's attention probabilities: every `Softmax` on the ids' path whose output, past
//!   any `Dropout`, `Identity`, `Cast` or the `Where` that PyTorch's scaled-dot-product
//!   attention puts there, is the left operand of a `MatMul` (the probabilities
//!   times the values), in graph order.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::Framework;

use crate::error::{Error, Result};

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anatomy {
    pub embeddings: Option<String>,
    /// First layer first.
    pub attentions: Vec<String>,
    /// The graph's own outputs.
    pub outputs: Vec<String>,
    /// The rows of the word embedding table (the first weight the ids index), when there is one:
    /// an id at or past it has no embedding.
    pub vocabulary: Option<usize>,
    /// Whether the file leaves the ids' length (their second axis) open.
    pub length_open: bool,
}

/// Finds the parts in the ONNX model `onnx` whose token ids come in as `ids`.
pub fn find(onnx: &[u8], ids: &str) -> Result<Anatomy> {
    let mut reader = onnx;
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut reader)
        .map_err(|e| Error::NotOnnx(crate::model::root_cause(&e)))?;
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;
    Ok(Anatomy {
        embeddings: embeddings(graph, ids),
        attentions: attentions(graph, ids),
        outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
        vocabulary: vocabulary(graph, ids),
        length_open: length_open(graph, ids),
    })
}

fn length_open(graph: &pb::GraphProto, ids: &str) -> bool {
    use pb::tensor_shape_proto::dimension::Value;
    let input = graph.input.iter().find(|i| i.name == ids);
    let shape = match input.and_then(|i| i.r#type.as_ref()?.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(tensor)) => tensor.shape.as_ref(),
        None => None,
    };
    shape.and_then(|s| s.dim.get(1)).is_some_and(|d| !matches!(d.value, Some(Value::DimValue(_))))
}

fn vocabulary(graph: &pb::GraphProto, ids: &str) -> Option<usize> {
    let reached = from_ids(graph, ids);
    graph.node.iter().filter(|n| n.op_type == "Gather").find_map(|n| match n.input.as_slice() {
        [table, indices, ..] if reached.contains(indices.as_str()) => graph
            .initializer
            .iter()
            .find(|t| &t.name == table)
            .and_then(|t| t.dims.first())
            .and_then(|&rows| usize::try_from(rows).ok()),
        _ => None,
    })
}

/// The tensors computed from the ids (the nodes are in topological order, as ONNX requires).
fn from_ids<'g>(graph: &'g pb::GraphProto, ids: &'g str) -> HashSet<&'g str> {
    let mut reached: HashSet<&str> = HashSet::from([ids]);
    for node in &graph.node {
        if node.input.iter().any(|i| reached.contains(i.as_str())) {
            reached.extend(node.output.iter().map(String::as_str));
        }
    }
    reached
}

/// Tensors fixed in the file: weights, `Constant` nodes, and what is computed from them alone
/// (a transposed weight).
fn constants(graph: &pb::GraphProto) -> HashSet<&str> {
    let mut fixed: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for node in &graph.node {
        if node.op_type == "Constant" || node.input.iter().all(|i| i.is_empty() || fixed.contains(i.as_str()))
        {
            fixed.extend(node.output.iter().map(String::as_str));
        }
    }
    fixed
}

fn embeddings(graph: &pb::GraphProto, ids: &str) -> Option<String> {
    let reached = from_ids(graph, ids);
    let fixed = constants(graph);
    graph.node.iter().filter(|n| n.op_type == "MatMul" || n.op_type == "Gemm").find_map(|n| {
        match n.input.as_slice() {
            [a, b, ..] if reached.contains(a.as_str()) && fixed.contains(b.as_str()) => Some(a.clone()),
            _ => None,
        }
    })
}

fn attentions(graph: &pb::GraphProto, ids: &str) -> Vec<String> {
    let reached = from_ids(graph, ids);
    let mut readers: HashMap<&str, Vec<&pb::NodeProto>> = HashMap::new();
    for node in &graph.node {
        for input in &node.input {
            readers.entry(input.as_str()).or_default().push(node);
        }
    }
    // Whether `tensor`, past pass-through nodes, is a MatMul's left operand.
    let weighs_values = |tensor: &str| {
        let mut frontier = vec![tensor];
        while let Some(t) = frontier.pop() {
            for reader in readers.get(t).into_iter().flatten() {
                match reader.op_type.as_str() {
                    "MatMul" if reader.input.first().is_some_and(|i| i == t) => return true,
                    "Dropout" | "Identity" | "Cast" => {
                        frontier.extend(reader.output.first().map(String::as_str))
                    }
                    // PyTorch's scaled-dot-product attention zeroes the rows that are all NaN.
                    "Where" if reader.input.iter().skip(1).any(|i| i == t) => {
                        frontier.extend(reader.output.first().map(String::as_str));
                    }
                    _ => {}
                }
            }
        }
        false
    };
    graph
        .node
        .iter()
        .filter(|n| n.op_type == "Softmax" && n.input.iter().any(|i| reached.contains(i.as_str())))
        .filter_map(|n| n.output.first())
        .filter(|o| weighs_values(o))
        .cloned()
        .collect()
}
