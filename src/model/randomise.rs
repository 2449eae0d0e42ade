//! Re-initialising a model's parameterised layers, for the model randomisation test (Adebayo
//! et al. 2018): a map that does not change when the weights it explains are replaced by noise
//! does not explain them.
//!
//! A parameterised layer is a `Conv`, a `Gemm`, or a `MatMul` whose weight is a constant: an
//! initializer, or a constant computed from initializers (a weight stored as int8 and scaled
//! back in the graph, as the bundled text model's). Its bias is the `Conv`'s or the `Gemm`'s
//! third input, or the constant the `MatMul`'s output is added to. Layers are listed from the
//! logits down (the graph's node order reversed: ONNX lists nodes in topological order).
//! Normalisation layers and embedding tables keep their parameters.
//!
//! A re-initialised layer is drawn as PyTorch's `reset_parameters` draws a `Conv2d` or a
//! `Linear`: the weight from `kaiming_uniform_(a = √5)`, which is U(−1/√fan_in, 1/√fan_in),
//! and the bias from the same U(−1/√fan_in, 1/√fan_in), where fan_in is a kernel's inputs
//! (input channels per group × kernel size) or a linear layer's input width. The draws come
//! from ChaCha8 keyed by the seed and the layer's index, so a layer gets the same weights
//! whichever other layers are re-initialised with it: the cascading steps only add layers.
//! The new values are new f32 initializers the layer reads instead; what fed only the old ones
//! is dropped.

use std::collections::HashMap;

use prost::Message;
use rand::RngExt;
use serde::Serialize;
use tract_onnx::pb::{self, tensor_proto::DataType};
use tract_onnx::prelude::Framework;

use crate::error::{Error, Result};

/// A layer that can be re-initialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamLayer {
    /// The node's name (its first output's when it has none).
    pub name: String,
    pub op: String,
    /// The weight's shape.
    pub shape: Vec<usize>,
    /// The inputs each output sees: the bound of the draws is 1/√fan_in.
    pub fan_in: usize,
    /// Whether it has a bias to re-initialise.
    pub bias: bool,
}

/// Where a layer's parameters are read, in the graph.
struct Site {
    layer: ParamLayer,
    /// The node reading the weight, and which of its inputs.
    weight: (usize, usize),
    /// The node reading the bias, which input, and the bias's length.
    bias: Option<(usize, usize, usize)>,
}

fn parse(bytes: &[u8]) -> Result<pb::ModelProto> {
    let mut reader = bytes;
    tract_onnx::onnx()
        .proto_model_for_read(&mut reader)
        .map_err(|e| Error::NotOnnx(crate::model::root_cause(&e)))
}

fn graph_of(model: &mut pb::ModelProto) -> Result<&mut pb::GraphProto> {
    model.graph.as_mut().ok_or_else(|| Error::NotOnnx("the file has no graph".into()))
}

/// The shapes of the graph's constants: its initializers, `Constant` nodes, and what
/// element-wise operators and casts compute from them alone.
fn constant_shapes(graph: &pb::GraphProto) -> HashMap<&str, Vec<usize>> {
    let dims = |d: &[i64]| d.iter().map(|&x| usize::try_from(x).unwrap_or(0)).collect::<Vec<_>>();
    let mut shapes: HashMap<&str, Vec<usize>> =
        graph.initializer.iter().map(|t| (t.name.as_str(), dims(&t.dims))).collect();
    for node in &graph.node {
        let Some(output) = node.output.first() else { continue };
        let shape = match node.op_type.as_str() {
            "Constant" => node
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
                .map(|t| dims(&t.dims)),
            "Cast" | "Identity" | "Mul" | "Add" | "Sub" | "Div" | "DequantizeLinear" => {
                let inputs: Option<Vec<&Vec<usize>>> =
                    node.input.iter().filter(|i| !i.is_empty()).map(|i| shapes.get(i.as_str())).collect();
                inputs.and_then(|inputs| broadcast(&inputs))
            }
            _ => None,
        };
        if let Some(shape) = shape {
            shapes.insert(output.as_str(), shape);
        }
    }
    shapes
}

/// NumPy broadcasting of several shapes, `None` when they do not broadcast.
fn broadcast(shapes: &[&Vec<usize>]) -> Option<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max()?;
    let mut out = vec![1; rank];
    for shape in shapes {
        for (o, &d) in out.iter_mut().skip(rank - shape.len()).zip(shape.iter()) {
            match (*o, d) {
                (a, b) if a == b || b == 1 => {}
                (1, b) => *o = b,
                _ => return None,
            }
        }
    }
    Some(out)
}

fn sites(graph: &pb::GraphProto) -> Vec<Site> {
    let constants = constant_shapes(graph);
    let constant = |name: &str| constants.get(name).cloned();
    let mut sites = vec![];
    for (index, node) in graph.node.iter().enumerate() {
        let input = |k: usize| node.input.get(k).filter(|i| !i.is_empty());
        let Some(shape) = input(1).and_then(|w| constant(w)) else { continue };
        let (fan_in, bias) = match node.op_type.as_str() {
            "Conv" if shape.len() >= 3 => {
                let bias = input(2).and_then(|b| constant(b)).map(|b| (index, 2, b.iter().product()));
                (shape.iter().skip(1).product(), bias)
            }
            "Gemm" if shape.len() == 2 => {
                let trans_b = node.attribute.iter().any(|a| a.name == "transB" && a.i != 0);
                let bias = input(2).and_then(|b| constant(b)).map(|b| (index, 2, b.iter().product()));
                (if trans_b { shape[1] } else { shape[0] }, bias)
            }
            "MatMul" if shape.len() == 2 && input(0).is_some_and(|a| constant(a).is_none()) => {
                let out = shape[1];
                // The one Add that reads the product and a constant of the output's width.
                let product = node.output.first();
                let readers: Vec<(usize, &pb::NodeProto)> = graph
                    .node
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.input.iter().any(|i| Some(i) == product))
                    .collect();
                let bias = match readers.as_slice() {
                    [(at, add)] if add.op_type == "Add" => {
                        add.input.iter().enumerate().find_map(|(k, name)| {
                            constant(name)
                                .filter(|s| s.iter().product::<usize>() == out && s.last() == Some(&out))
                                .map(|_| (*at, k, out))
                        })
                    }
                    _ => None,
                };
                (shape[0], bias)
            }
            _ => continue,
        };
        if fan_in == 0 {
            continue;
        }
        let name = if node.name.is_empty() {
            node.output.first().cloned().unwrap_or_default()
        } else {
            node.name.clone()
        };
        sites.push(Site {
            layer: ParamLayer { name, op: node.op_type.clone(), shape, fan_in, bias: bias.is_some() },
            weight: (index, 1),
            bias,
        });
    }
    sites.reverse();
    sites
}

/// The model's parameterised layers, from the logits down.
pub fn layers(bytes: &[u8]) -> Result<Vec<ParamLayer>> {
    let mut model = parse(bytes)?;
    Ok(sites(graph_of(&mut model)?).into_iter().map(|s| s.layer).collect())
}

/// The draws of layer `layer` (its index in [`layers`]) with `seed`: `count` values from
/// U(−bound, bound), the weight's first and then the bias's.
fn draws(seed: u64, layer: usize, count: usize, bound: f32) -> Vec<f32> {
    let mut rng = crate::explain::baseline::keyed_rng(seed, layer as u64);
    (0..count).map(|_| rng.random_range(-bound..bound)).collect()
}

/// The model in `bytes` with the layers at these indices of [`layers`] re-initialised.
pub fn randomise(bytes: &[u8], chosen: &[usize], seed: u64) -> Result<Vec<u8>> {
    let mut model = parse(bytes)?;
    let graph = graph_of(&mut model)?;
    let sites = sites(graph);
    for &k in chosen {
        let site = sites.get(k).ok_or_else(|| {
            Error::Setting(format!(
                "the model has {} parameterised layers; there is no layer {k}",
                sites.len()
            ))
        })?;
        let weights: usize = site.layer.shape.iter().product();
        let biases = site.bias.map_or(0, |(_, _, n)| n);
        let bound = 1.0 / (site.layer.fan_in as f32).sqrt();
        let mut values = draws(seed, k, weights + biases, bound);
        let bias_values = values.split_off(weights);
        let mut put =
            |(node, slot): (usize, usize), name: String, dims: Vec<usize>, data: Vec<f32>| -> Result<()> {
                let input = graph
                    .node
                    .get_mut(node)
                    .and_then(|n| n.input.get_mut(slot))
                    .ok_or_else(|| Error::Bug("a parameter's reader moved".into()))?;
                *input = name.clone();
                graph.initializer.push(pb::TensorProto {
                    name,
                    dims: dims.iter().map(|&d| d as i64).collect(),
                    data_type: DataType::Float as i32,
                    float_data: data,
                    ..Default::default()
                });
                Ok(())
            };
        put(site.weight, format!("glimpse.randomised.{k}.weight"), site.layer.shape.clone(), values)?;
        if let Some((node, slot, n)) = site.bias {
            put((node, slot), format!("glimpse.randomised.{k}.bias"), vec![n], bias_values)?;
        }
    }
    super::surgery::prune_dead(graph);
    let mut out = Vec::with_capacity(model.encoded_len());
    model
        .encode(&mut out)
        .map_err(|e| Error::ModelPrepare(format!("the randomised model cannot be written: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &[u8] = include_bytes!("../../models/efficientnet-lite0.onnx");

    #[test]
    fn efficientnet_lite0_has_49_convolutions_and_a_linear_head_listed_from_the_logits_down() {
        let layers = layers(MODEL).unwrap();
        assert_eq!(layers.len(), 50);
        assert_eq!(
            (layers[0].op.as_str(), layers[0].shape.as_slice(), layers[0].fan_in),
            ("Gemm", &[1000, 1280][..], 1280)
        );
        assert!(layers[1..].iter().all(|l| l.op == "Conv" && l.bias));
        // The stem: 3 input channels, a 3×3 kernel.
        assert_eq!(layers[49].fan_in, 27);
    }

    #[test]
    fn draws_are_uniform_within_one_over_root_fan_in_and_keyed_by_seed_and_layer() {
        let values = draws(7, 3, 200_000, 0.25);
        assert!(values.iter().all(|v| v.abs() <= 0.25));
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / values.len() as f64;
        // U(−b, b) has mean 0 and variance b²/3.
        assert!(mean.abs() < 2e-3, "{mean}");
        assert!((var - 0.0625 / 3.0).abs() < 2e-4, "{var}");
        assert_eq!(draws(7, 3, 10, 0.25), values[..10]);
        assert_ne!(draws(7, 4, 10, 0.25), values[..10]);
        assert_ne!(draws(8, 3, 10, 0.25), values[..10]);
    }

    #[test]
    fn an_unknown_layer_is_an_error_that_says_how_many_there_are() {
        let e = randomise(MODEL, &[50], 0).unwrap_err().to_string();
        assert!(e.contains("50 parameterised layers"), "{e}");
    }
}
