//! Reverse-mode gradients over ONNX graphs.
//!
//! tract runs the model forwards with every tensor the backward pass needs exposed as an
//! output (by its ONNX name); then the graph is walked backwards, applying each operator's
//! vector–Jacobian product (VJP, in [`ops`]) with ndarray. Gradients flow to the model input
//! and, in the same pass, to any named intermediate tensors (Grad-CAM's layer).
//!
//! Only the nodes on a path from the input to the target output are differentiated; shape
//! computations off that path run in tract and are read as values.
//!
//! No index here can panic (`clippy::indexing_slicing` is denied): the shapes and attributes
//! come from a model the user gave, and on wasm a panic cannot be caught.
#![deny(clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet};

use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::model::Model;
use crate::tensor::Value;

mod ops;

/// What to differentiate: one element of the output row of each batch item, or a weighted sum
/// of the row's elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A flat index into one batch item's output, such as a class index into the logits.
    Index(usize),
    /// Weights with the shape of one batch item's output; the target is Σ wᵢ·outputᵢ.
    Weights(ArrayD<f32>),
}

/// How ReLU-like operators pass gradients backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The true gradient.
    #[default]
    Plain,
    /// Guided Backprop (Springenberg et al. 2015): rectifiers (`Relu`, and `Clip` from 0 such
    /// as ReLU6) pass only positive gradients, and only where they pass their input.
    Guided,
}

/// The result of one forward and backward pass over a batch.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// The model's output (the one the target refers to), per batch item.
    pub output: ArrayD<f32>,
    /// The target's value per batch item.
    pub target: Vec<f32>,
    /// ∂target/∂input, in the input's shape.
    pub input: ArrayD<f32>,
    /// For each requested intermediate tensor: its value and its gradient.
    pub intermediates: HashMap<String, (ArrayD<f32>, ArrayD<f32>)>,
}

/// The value and gradient of one intermediate tensor, with the model's output and target.
#[derive(Debug, Clone)]
pub struct LayerGradients {
    pub output: ArrayD<f32>,
    pub target: Vec<f32>,
    pub value: ArrayD<f32>,
    pub grad: ArrayD<f32>,
}

/// How far back a backward pass goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    Input,
    Kept,
}

/// The nodes between a model's input and its first output: what gradients would flow
/// through. It can be traced on any model, differentiable or not (the CAMs that need only
/// forward passes find their layers on it).
#[derive(Debug, Clone)]
pub struct Route {
    graph: Graph,
    input: String,
    output: String,
    /// Indices into `graph.nodes` of the nodes between input and output, in graph order.
    path: Vec<usize>,
    /// Tensors that depend on the input: the only ones gradients flow into.
    on_path: HashSet<String>,
}

impl Route {
    pub fn from_bytes(bytes: &[u8]) -> Result<Route> {
        let graph = Graph::from_bytes(bytes)?;
        let input = graph
            .inputs
            .first()
            .cloned()
            .ok_or_else(|| Error::ModelPrepare("the model has no input".into()))?;
        let output = graph
            .outputs
            .first()
            .cloned()
            .ok_or_else(|| Error::ModelPrepare("the model has no output".into()))?;

        // Forwards: which tensors depend on the input.
        let mut on_path: HashSet<String> = HashSet::from([input.clone()]);
        for node in &graph.nodes {
            if !ops::cuts_gradient(node) && node.inputs.iter().any(|i| on_path.contains(i)) {
                on_path.extend(node.outputs.iter().cloned());
            }
        }
        // Backwards: which of those the output depends on.
        let mut needed: HashSet<String> = HashSet::from([output.clone()]);
        let mut path = Vec::new();
        for (index, node) in graph.nodes.iter().enumerate().rev() {
            if node.outputs.iter().any(|o| needed.contains(o))
                && node.inputs.iter().any(|i| on_path.contains(i))
            {
                path.push(index);
                needed.extend(node.inputs.iter().filter(|i| on_path.contains(*i)).cloned());
            }
        }
        path.reverse();
        Ok(Route { graph, input, output, path, on_path })
    }

    /// The ONNX graph, as plain data.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    fn nodes(&self) -> impl DoubleEndedIterator<Item = &crate::model::graph::Node> {
        self.path.iter().filter_map(|&i| self.graph.nodes.get(i))
    }

    /// Whether gradients flow from the target to this tensor: it depends on the input and the
    /// output depends on it.
    pub fn on_path(&self, tensor: &str) -> bool {
        self.nodes().any(|node| node.outputs.iter().any(|o| o == tensor))
    }
}

/// A model prepared for gradients: its route from input to output, and a tract plan that
/// exposes the tensors the backward pass reads.
#[derive(Debug, Clone)]
pub struct GradModel {
    route: Route,
    plan: Model,
    /// Tensor names the plan outputs after the model's own outputs, in order.
    exposed: Vec<String>,
    /// Intermediate tensors whose gradients the caller asked for.
    keep: Vec<String>,
}

impl GradModel {
    /// Prepares `bytes` for gradients of its first output, keeping the gradients of the named
    /// intermediate tensors as well. Fails, naming them, if the path from input to output
    /// crosses operators the engine cannot differentiate.
    pub fn from_bytes(bytes: &[u8], keep: &[String]) -> Result<GradModel> {
        let route = Route::from_bytes(bytes)?;
        for name in keep {
            if !route.on_path(name) && *name != route.input {
                return Err(Error::ModelPrepare(format!(
                    "tensor {name} is not between the model's input and its output"
                )));
            }
        }
        let missing = ops::unsupported(route.nodes());
        if !missing.is_empty() {
            return Err(Error::NotDifferentiable(missing));
        }

        // Expose every tensor a VJP on the path reads, except the input and constants, and
        // the intermediates whose gradients are kept (their values are returned too).
        let mut exposed = Vec::new();
        let mut seen = HashSet::from([route.input.clone(), route.output.clone()]);
        for name in route.nodes().flat_map(ops::reads).chain(keep) {
            if !route.graph.constants.contains_key(name) && seen.insert(name.clone()) {
                exposed.push(name.clone());
            }
        }
        let plan = Model::from_bytes_exposing(bytes, &exposed)?;
        Ok(GradModel { route, plan, exposed, keep: keep.to_vec() })
    }

    /// The forward pass's model, with its input and output descriptions.
    pub fn model(&self) -> &Model {
        &self.plan
    }

    /// The route gradients take from input to output.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// One forward and backward pass over a batch of inputs.
    pub fn gradients(&self, input: ArrayD<f32>, target: &Target, mode: Mode) -> Result<Gradients> {
        self.backward(input, target, mode, Until::Input)
    }

    /// The value and gradient of one kept intermediate tensor, for a batch of inputs. The
    /// backward pass stops there, so this costs little more than the forward pass when the
    /// layer is near the output (Grad-CAM's).
    pub fn layer_gradients(
        &self,
        input: ArrayD<f32>,
        target: &Target,
        layer: &str,
    ) -> Result<LayerGradients> {
        if !self.keep.iter().any(|k| k == layer) {
            return Err(Error::ModelRun(format!("tensor {layer} was not kept when the model was prepared")));
        }
        let mut grads = self.backward(input, target, Mode::Plain, Until::Kept)?;
        let (value, grad) = grads
            .intermediates
            .remove(layer)
            .ok_or_else(|| Error::ModelRun(format!("no gradient reached tensor {layer}")))?;
        Ok(LayerGradients { output: grads.output, target: grads.target, value, grad })
    }

    fn backward(&self, input: ArrayD<f32>, target: &Target, mode: Mode, until: Until) -> Result<Gradients> {
        let mut outputs = self.plan.run_all(input.clone())?.into_iter();
        let output = match outputs.next() {
            Some(Value::F32(o)) => o,
            _ => return Err(Error::ModelRun("the model's first output is not f32".into())),
        };
        // The model's other outputs come before the exposed tensors.
        let mut exposed_values = outputs.skip(self.route.graph.outputs.len().saturating_sub(1));
        let mut values: HashMap<&str, Value> = HashMap::with_capacity(self.exposed.len() + 2);
        for name in &self.exposed {
            let value =
                exposed_values.next().ok_or_else(|| Error::ModelRun("missing exposed tensor".into()))?;
            values.insert(name, value);
        }
        values.insert(&self.route.input, Value::F32(input.clone()));
        values.insert(&self.route.output, Value::F32(output.clone()));

        let shapes = self.plan.tensor_shapes(input.shape())?;
        let (seed, target_values) = seed(&output, target)?;
        let mut grads: HashMap<String, ArrayD<f32>> = HashMap::from([(self.route.output.clone(), seed)]);
        let mut intermediates = HashMap::new();

        let lookup = |name: &str| -> Option<&Value> {
            if name.is_empty() {
                None
            } else {
                values.get(name).or_else(|| self.route.graph.constants.get(name))
            }
        };
        for node in self.route.nodes().rev() {
            let grad_outputs: Vec<Option<ArrayD<f32>>> =
                node.outputs.iter().map(|o| grads.remove(o)).collect();
            if grad_outputs.iter().all(Option::is_none) {
                continue;
            }
            for (name, grad) in node.outputs.iter().zip(&grad_outputs) {
                if let (true, Some(grad), Some(Value::F32(value))) =
                    (self.keep.contains(name), grad, lookup(name))
                {
                    intermediates.insert(name.clone(), (value.clone(), grad.clone()));
                }
            }
            // In reverse graph order, every consumer of a node's outputs has been visited by
            // the time the node is: the kept gradients are complete.
            if until == Until::Kept && intermediates.len() == self.keep.len() {
                return Ok(Gradients {
                    output,
                    target: target_values,
                    input: ArrayD::zeros(vec![0]),
                    intermediates,
                });
            }
            let inputs: Vec<Option<&Value>> = node.inputs.iter().map(|i| lookup(i)).collect();
            let outputs: Vec<Option<&Value>> = node.outputs.iter().map(|o| lookup(o)).collect();
            let input_shapes: Vec<Option<&[usize]>> =
                node.inputs.iter().zip(&inputs).map(|(n, v)| shape_of(&shapes, n, *v)).collect();
            let output_shapes: Vec<Option<&[usize]>> =
                node.outputs.iter().zip(&outputs).map(|(n, v)| shape_of(&shapes, n, *v)).collect();
            let wants: Vec<bool> = node.inputs.iter().map(|i| self.route.on_path.contains(i)).collect();
            let context = ops::Context {
                node,
                opset: self.route.graph.opset,
                inputs: &inputs,
                outputs: &outputs,
                input_shapes: &input_shapes,
                output_shapes: &output_shapes,
                wants: &wants,
                mode,
            };
            let grad_inputs = ops::vjp(&context, grad_outputs)
                .map_err(|e| Error::ModelRun(format!("gradient of {} ({}): {e}", node.name, node.op_type)))?;
            for ((name, grad), wanted) in node.inputs.iter().zip(grad_inputs).zip(&wants) {
                if let (Some(grad), true) = (grad, *wanted) {
                    accumulate(&mut grads, name, grad)?;
                }
            }
        }
        let input_grad = match grads.remove(&self.route.input) {
            Some(g) => ops::standard(g),
            None => ArrayD::zeros(input.shape()),
        };
        Ok(Gradients { output, target: target_values, input: input_grad, intermediates })
    }
}

/// A tensor's shape: from its value when kept, else from shape inference.
fn shape_of<'a>(
    shapes: &'a HashMap<String, Vec<usize>>,
    name: &str,
    value: Option<&'a Value>,
) -> Option<&'a [usize]> {
    value.map(Value::shape).or_else(|| shapes.get(name).map(Vec::as_slice))
}

fn accumulate(grads: &mut HashMap<String, ArrayD<f32>>, name: &str, grad: ArrayD<f32>) -> Result<()> {
    match grads.get_mut(name) {
        Some(existing) if existing.shape() == grad.shape() => {
            *existing += &grad;
            Ok(())
        }
        Some(existing) => Err(Error::ModelRun(format!(
            "gradient shapes disagree for {name}: {:?} and {:?}",
            existing.shape(),
            grad.shape()
        ))),
        None => {
            grads.insert(name.to_owned(), grad);
            Ok(())
        }
    }
}

/// The output gradient that starts the backward pass, and the target's value per batch item.
fn seed(output: &ArrayD<f32>, target: &Target) -> Result<(ArrayD<f32>, Vec<f32>)> {
    let batch = output.shape().first().copied().unwrap_or(1);
    let row: usize = output.shape().iter().skip(1).product();
    let weights: Vec<f32> = match target {
        Target::Index(i) if *i < row => (0..row).map(|j| if j == *i { 1.0 } else { 0.0 }).collect(),
        Target::Index(i) => {
            return Err(Error::ModelRun(format!("target index {i} is outside the output's {row} elements")))
        }
        Target::Weights(w) if w.len() == row => w.iter().copied().collect(),
        Target::Weights(w) => {
            return Err(Error::ModelRun(format!(
                "target weights have {} elements; the output has {row} per item",
                w.len()
            )))
        }
    };
    let rows = output
        .to_shape((batch, row))
        .map_err(|e| Error::ModelRun(format!("output of shape {:?}: {e}", output.shape())))?;
    let values = rows.outer_iter().map(|r| r.iter().zip(&weights).map(|(o, w)| o * w).sum()).collect();
    let seed_data: Vec<f32> = (0..batch).flat_map(|_| weights.iter().copied()).collect();
    let seed =
        ArrayD::from_shape_vec(output.shape(), seed_data).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok((seed, values))
}
