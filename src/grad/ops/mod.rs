//! Vector–Jacobian products, one per ONNX operator: given the gradient of a node's outputs,
//! the gradients of its inputs. Each operator is one row of its family's table ([`Op`]: its
//! name, the tensors its VJP reads, the VJP), in a file per family; each VJP is checked
//! against central finite differences in `tests/grad_ops.rs`.
//!
//! Every index here is checked (`clippy::indexing_slicing` is denied): the shapes, axes and
//! attributes a VJP reads come from a model the user gave, and on wasm a panic cannot be caught.

mod broadcast;
mod conv;
mod elementwise;
mod linear;
mod normalise;
mod pool;
mod resize;
mod shape;

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::Mode;
use crate::error::{Error, Result};
use crate::model::graph::Node;
use crate::tensor::Value;

/// Gradients for each input of a node, `None` where none flows.
pub type Grads = Vec<Option<ArrayD<f32>>>;

/// One operator's gradient.
pub struct Op {
    pub name: &'static str,
    /// The tensors its VJP reads the values of.
    pub reads: Reads,
    pub vjp: Vjp,
}

/// The tensors a VJP reads. Every other input and output is needed for its shape only, which
/// comes from shape inference: so a convolution's padded input, or a residual sum, need not be
/// kept, and tract can fuse them away.
pub enum Reads {
    /// Nothing but shapes.
    Shapes,
    /// Its outputs and these inputs (Relu reads y, not x: y > 0 exactly where x > 0).
    Outputs(&'static [usize]),
    /// These inputs.
    Inputs(&'static [usize]),
    /// Every input and output.
    Everything,
}

/// A VJP: from the gradient of the first output (the node's only one, mostly), or of every
/// output (`Split`).
pub enum Vjp {
    First(fn(&Context, ArrayD<f32>) -> Result<Grads>),
    Every(fn(&Context, Grads) -> Result<Grads>),
}

/// The row of an operator whose VJP takes the gradient of its first output (all but `Split`).
const fn op(name: &'static str, reads: Reads, vjp: fn(&Context, ArrayD<f32>) -> Result<Grads>) -> Op {
    Op { name, reads, vjp: Vjp::First(vjp) }
}

/// Every differentiable operator, by family.
const FAMILIES: &[&[Op]] =
    &[elementwise::OPS, linear::OPS, conv::OPS, pool::OPS, normalise::OPS, shape::OPS, resize::OPS];

/// Operators whose outputs carry no gradient: shapes, comparisons, indices, integer casts.
/// Data flowing through them leaves the differentiable path.
const NO_GRADIENT: &[&str] = &[
    "Shape",
    "Size",
    "ConstantOfShape",
    "Equal",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "Not",
    "And",
    "Or",
    "Xor",
    "ArgMax",
    "ArgMin",
    "NonZero",
    "Range",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "IsNaN",
    "IsInf",
    "EyeLike",
    "RandomNormalLike",
    "RandomUniformLike",
];

fn find(op_type: &str) -> Option<&'static Op> {
    FAMILIES.iter().flat_map(|family| family.iter()).find(|op| op.name == op_type)
}

/// Whether a node's outputs are piecewise constant in its inputs (or not numbers at all).
pub fn cuts_gradient(node: &Node) -> bool {
    const FLOAT_TYPES: [i64; 4] = [1, 10, 11, 16]; // FLOAT, FLOAT16, DOUBLE, BFLOAT16
    NO_GRADIENT.contains(&node.op_type.as_str())
        || (node.op_type == "Cast" && node.int("to").is_some_and(|t| !FLOAT_TYPES.contains(&t)))
}

/// The tensors whose values a node's VJP reads ([`Reads`]).
pub fn reads(node: &Node) -> Vec<&String> {
    let inputs =
        |indices: &[usize]| -> Vec<&String> { indices.iter().filter_map(|&i| node.inputs.get(i)).collect() };
    let tensors: Vec<&String> = match find(&node.op_type).map(|op| &op.reads) {
        Some(Reads::Shapes) => Vec::new(),
        Some(Reads::Outputs(extra)) => node.outputs.iter().chain(inputs(extra)).collect(),
        Some(Reads::Inputs(indices)) => inputs(indices),
        Some(Reads::Everything) | None => node.inputs.iter().chain(&node.outputs).collect(),
    };
    tensors.into_iter().filter(|t| !t.is_empty()).collect()
}

/// The operator types among `nodes` that have no VJP here, each named once.
pub fn unsupported<'a>(nodes: impl Iterator<Item = &'a Node>) -> Vec<String> {
    let mut missing: Vec<String> =
        nodes.filter(|n| find(&n.op_type).is_none()).map(|n| n.op_type.clone()).collect();
    missing.sort();
    missing.dedup();
    missing
}

/// The gradients of a node's inputs from those of its outputs.
pub fn vjp(cx: &Context, grad_outputs: Vec<Option<ArrayD<f32>>>) -> Result<Grads> {
    let op = find(&cx.node.op_type).ok_or_else(|| Error::NotDifferentiable(vec![cx.node.op_type.clone()]))?;
    match op.vjp {
        Vjp::Every(vjp) => vjp(cx, grad_outputs),
        Vjp::First(vjp) => match grad_outputs.into_iter().next() {
            Some(Some(grad)) => vjp(cx, grad),
            _ => Ok(vec![None; cx.inputs.len()]),
        },
    }
}

/// What a VJP sees of its node.
pub struct Context<'a> {
    pub node: &'a Node,
    pub opset: i64,
    pub inputs: &'a [Option<&'a Value>],
    pub outputs: &'a [Option<&'a Value>],
    /// Shapes of every input and output, known even where the value was not kept.
    pub input_shapes: &'a [Option<&'a [usize]>],
    pub output_shapes: &'a [Option<&'a [usize]>],
    /// Which inputs depend on the model input (and so need a gradient).
    pub wants: &'a [bool],
    pub mode: Mode,
}

impl Context<'_> {
    pub fn input(&self, i: usize) -> Result<&Value> {
        self.inputs.get(i).copied().flatten().ok_or_else(|| Error::ModelRun(format!("input {i} is missing")))
    }

    pub fn f32_input(&self, i: usize) -> Result<&ArrayD<f32>> {
        self.input(i)?.as_f32().ok_or_else(|| Error::ModelRun(format!("input {i} is not f32")))
    }

    pub fn input_shape(&self, i: usize) -> Result<&[usize]> {
        self.input_shapes
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::ModelRun(format!("input {i}'s shape is unknown")))
    }

    fn output_shape(&self, i: usize) -> Result<&[usize]> {
        self.output_shapes
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::ModelRun(format!("output {i}'s shape is unknown")))
    }

    fn has_input(&self, i: usize) -> bool {
        self.inputs.get(i).copied().flatten().is_some()
    }

    /// Whether input `i` needs a gradient.
    fn wants(&self, i: usize) -> bool {
        self.wants.get(i).copied().unwrap_or(false)
    }

    fn f32_output(&self, i: usize) -> Result<&ArrayD<f32>> {
        self.outputs
            .get(i)
            .copied()
            .flatten()
            .and_then(Value::as_f32)
            .ok_or_else(|| Error::ModelRun(format!("output {i} is missing")))
    }

    /// Integer values of input `i`, for shapes, axes and pads.
    fn ints_input(&self, i: usize) -> Option<Vec<i64>> {
        self.inputs.get(i).copied().flatten().map(Value::to_i64_vec)
    }

    /// A gradient for input 0 only.
    pub fn only_first(&self, grad: ArrayD<f32>) -> Grads {
        let mut grads: Grads = vec![None; self.inputs.len()];
        if let Some(first) = grads.first_mut() {
            *first = Some(grad);
        }
        grads
    }

    fn rank(&self) -> Result<usize> {
        Ok(self.input_shape(0)?.len())
    }
}

fn reshape(a: ArrayD<f32>, shape: &[usize]) -> Result<ArrayD<f32>> {
    standard(a)
        .into_shape_with_order(IxDyn(shape))
        .map_err(|e| Error::ModelRun(format!("reshape to {shape:?}: {e}")))
}

/// `a` in standard layout: itself when it is, else a copy (see [`copy`]).
pub(crate) fn standard(a: ArrayD<f32>) -> ArrayD<f32> {
    if a.is_standard_layout() {
        a
    } else {
        copy(a.view())
    }
}

/// A view copied into standard layout, a row at a time: ndarray's `to_owned` walks a
/// non-contiguous view of dynamic rank one element at a time through its index, which cost
/// 17 ms of a 194 ms gradient pass in wasm (the crops of Pad's VJP, BENCHMARKS.md).
pub(crate) fn copy(view: ArrayViewD<f32>) -> ArrayD<f32> {
    if view.is_standard_layout() {
        return view.to_owned();
    }
    let mut out = ArrayD::zeros(view.raw_dim());
    out.assign(&view);
    out
}

/// A possibly negative axis, resolved against `rank`.
fn axis(a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let resolved = if a < 0 { a + r } else { a };
    if (0..r.max(1)).contains(&resolved) {
        Ok(resolved as usize)
    } else {
        Err(Error::ModelRun(format!("axis {a} is out of range for rank {rank}")))
    }
}

/// Element `i` of a list read from the model (a shape, an attribute), or an error naming it.
fn at<T: Copy>(list: &[T], i: usize, what: &str) -> Result<T> {
    list.get(i).copied().ok_or_else(|| Error::ModelRun(format!("{what} has no element {i}")))
}

/// The product of `shape`'s sizes on `axes` (a range of axes; empty: 1).
fn volume(shape: &[usize], axes: std::ops::Range<usize>) -> usize {
    shape.iter().take(axes.end).skip(axes.start).product()
}
