//! Vector–Jacobian products, one per ONNX operator: given the gradient of a node's outputs,
//! the gradients of its inputs. Each is checked against central finite differences in
//! `tests/grad_ops.rs`.

use std::f32::consts::PI;

use ndarray::{ArrayD, Axis, IxDyn, Slice, Zip};

use super::broadcast::{broadcast_to, unbroadcast};
use super::{conv, pool, Mode};
use crate::error::{Error, Result};
use crate::model::graph::Node;
use crate::tensor::Value;

/// Gradients for each input of a node, `None` where none flows.
pub type Grads = Vec<Option<ArrayD<f32>>>;

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

/// Operators whose gradient flows to their first input only, elementwise.
const UNARY: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Erf",
    "Gelu",
    "Exp",
    "Log",
    "Sqrt",
    "Neg",
    "Abs",
    "Reciprocal",
    "Softplus",
    "Identity",
    "Dropout",
    "Cast",
];
const BINARY: &[&str] = &["Add", "Sub", "Mul", "Div", "Pow"];
const OTHER: &[&str] = &[
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "MatMul",
    "Gemm",
    "Softmax",
    "LogSoftmax",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "ReduceMean",
    "ReduceSum",
    "Transpose",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Split",
    "Slice",
    "Expand",
    "Where",
    "Pad",
    "Gather",
    "Resize",
    "Sum",
    "Mean",
];

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

/// Whether a node's outputs are piecewise constant in its inputs (or not numbers at all).
pub fn cuts_gradient(node: &Node) -> bool {
    const FLOAT_TYPES: [i64; 4] = [1, 10, 11, 16]; // FLOAT, FLOAT16, DOUBLE, BFLOAT16
    NO_GRADIENT.contains(&node.op_type.as_str())
        || (node.op_type == "Cast" && node.int("to").is_some_and(|t| !FLOAT_TYPES.contains(&t)))
}

/// The tensors whose values a node's VJP reads. Every other input and output is needed for
/// its shape only, which comes from shape inference: so a convolution's padded input, or a
/// residual sum, need not be kept, and tract can fuse them away.
pub fn reads(node: &Node) -> Vec<&String> {
    let op = node.op_type.as_str();
    let inputs =
        |indices: &[usize]| -> Vec<&String> { indices.iter().filter_map(|&i| node.inputs.get(i)).collect() };
    let tensors: Vec<&String> = match op {
        "Identity" | "Dropout" | "Cast" | "Neg" | "Add" | "Sub" | "Sum" | "Mean" | "Concat" | "Split"
        | "Expand" | "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose" | "GlobalAveragePool"
        | "AveragePool" => Vec::new(),
        // Clip's bounds are inputs 1 and 2 (constants, usually).
        "Relu" | "Clip" | "Sigmoid" | "Tanh" | "Exp" | "Sqrt" | "Reciprocal" | "Softmax" | "LogSoftmax" => {
            node.outputs.iter().chain(inputs(&[1, 2])).collect()
        }
        "Conv" | "Gather" | "ReduceMean" | "ReduceSum" => inputs(&[1]),
        "BatchNormalization" => inputs(&[1, 4]),
        "Slice" => inputs(&[1, 2, 3, 4]),
        "Pad" => inputs(&[1, 3]),
        "Resize" => inputs(&[2]),
        "Where" => inputs(&[0]),
        _ => node.inputs.iter().chain(&node.outputs).collect(),
    };
    tensors.into_iter().filter(|t| !t.is_empty()).collect()
}

/// The operator types among `nodes` that have no VJP here, each named once.
pub fn unsupported<'a>(nodes: impl Iterator<Item = &'a Node>) -> Vec<String> {
    let mut missing: Vec<String> = nodes
        .filter(|n| ![UNARY, BINARY, OTHER].iter().any(|list| list.contains(&n.op_type.as_str())))
        .map(|n| n.op_type.clone())
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

pub fn vjp(cx: &Context, grad_outputs: Vec<Option<ArrayD<f32>>>) -> Result<Grads> {
    let op = cx.node.op_type.as_str();
    if op == "Split" {
        return split(cx, grad_outputs);
    }
    let Some(Some(grad)) = grad_outputs.into_iter().next() else {
        return Ok(vec![None; cx.inputs.len()]);
    };
    match op {
        _ if UNARY.contains(&op) => unary(cx, grad),
        _ if BINARY.contains(&op) => binary(cx, grad),
        "Sum" | "Mean" => variadic_sum(cx, grad),
        "Conv" => conv::conv(cx, grad),
        "MaxPool" => pool::max_pool(cx, grad),
        "AveragePool" => pool::average_pool(cx, grad),
        "GlobalAveragePool" => pool::global_average_pool(cx, grad),
        "MatMul" => matmul(cx, grad),
        "Gemm" => gemm(cx, grad),
        "Softmax" | "LogSoftmax" => softmax(cx, grad),
        "BatchNormalization" => batch_norm(cx, grad),
        "InstanceNormalization" => instance_norm(cx, grad),
        "LayerNormalization" => layer_norm(cx, grad),
        "ReduceMean" | "ReduceSum" => reduce(cx, grad),
        "Transpose" => transpose(cx, grad),
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => reshape_back(cx, grad),
        "Concat" => concat(cx, grad),
        "Slice" => slice(cx, grad),
        "Expand" => Ok(cx.only_first(unbroadcast(grad, cx.input_shape(0)?)?)),
        "Where" => where_(cx, grad),
        "Pad" => pad(cx, grad),
        "Gather" => gather(cx, grad),
        "Resize" => resize(cx, grad),
        _ => Err(Error::NotDifferentiable(vec![op.to_owned()])),
    }
}

fn reshape(a: ArrayD<f32>, shape: &[usize]) -> Result<ArrayD<f32>> {
    a.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(shape))
        .map_err(|e| Error::ModelRun(format!("reshape to {shape:?}: {e}")))
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

// ---- elementwise ----------------------------------------------------------------------------

fn unary(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let op = cx.node.op_type.as_str();
    // Casts to integers never get here: they cut the path (`cuts_gradient`).
    if matches!(op, "Identity" | "Dropout" | "Cast") {
        return Ok(cx.only_first(g));
    }
    let mut out = g;
    let node = cx.node;
    match op {
        // Relu and Clip read their output: y > 0 exactly where x > 0, and lo < y < hi exactly
        // where lo < x < hi. So their inputs (convolution outputs, mostly) need not be
        // exposed, and tract can fuse the convolution with the activation.
        "Relu" => {
            let y = cx.f32_output(0)?;
            match cx.mode {
                Mode::Plain => {
                    Zip::from(&mut out).and(y).for_each(|g, &y| *g = if y > 0.0 { *g } else { 0.0 })
                }
                Mode::Guided => {
                    Zip::from(&mut out).and(y).for_each(|g, &y| *g = if y > 0.0 { g.max(0.0) } else { 0.0 })
                }
            }
        }
        "LeakyRelu" => {
            let x = cx.f32_input(0)?;
            let alpha = node.float("alpha").unwrap_or(0.01);
            Zip::from(&mut out).and(x).for_each(|g, &x| *g *= if x > 0.0 { 1.0 } else { alpha });
        }
        "Clip" => {
            let bound = |i: usize, attr: &str, default: f32| -> f32 {
                cx.inputs
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(Value::as_f32)
                    .and_then(|a| a.iter().next().copied())
                    .or_else(|| node.float(attr))
                    .unwrap_or(default)
            };
            let (lo, hi) = (bound(1, "min", f32::NEG_INFINITY), bound(2, "max", f32::INFINITY));
            // As PyTorch's hardtanh: no gradient at the bounds themselves. A clip from 0 (ReLU6)
            // is a rectifier, so Guided Backprop treats it like Relu.
            let y = cx.f32_output(0)?;
            let guided = cx.mode == Mode::Guided && lo == 0.0;
            Zip::from(&mut out).and(y).for_each(|g, &y| {
                *g = if y > lo && y < hi {
                    if guided {
                        g.max(0.0)
                    } else {
                        *g
                    }
                } else {
                    0.0
                }
            });
        }
        "Sigmoid" => {
            let y = cx.f32_output(0)?;
            Zip::from(&mut out).and(y).for_each(|g, &y| *g *= y * (1.0 - y));
        }
        "HardSigmoid" | "HardSwish" => {
            let x = cx.f32_input(0)?;
            let (alpha, beta) = if op == "HardSwish" {
                (1.0 / 6.0, 0.5)
            } else {
                (node.float("alpha").unwrap_or(0.2), node.float("beta").unwrap_or(0.5))
            };
            Zip::from(&mut out).and(x).for_each(|g, &x| {
                let z = alpha * x + beta;
                let inside = z > 0.0 && z < 1.0;
                let d_sigmoid = if inside { alpha } else { 0.0 };
                *g *= if op == "HardSwish" { z.clamp(0.0, 1.0) + x * d_sigmoid } else { d_sigmoid };
            });
        }
        "Tanh" => {
            let y = cx.f32_output(0)?;
            Zip::from(&mut out).and(y).for_each(|g, &y| *g *= 1.0 - y * y);
        }
        "Erf" => {
            Zip::from(&mut out).and(cx.f32_input(0)?).for_each(|g, &x| *g *= 2.0 / PI.sqrt() * (-x * x).exp())
        }
        "Gelu" => {
            let x = cx.f32_input(0)?;
            let tanh_approx = node.string("approximate") == Some("tanh");
            Zip::from(&mut out).and(x).for_each(|g, &x| *g *= gelu_derivative(x, tanh_approx));
        }
        "Exp" => {
            let y = cx.f32_output(0)?;
            Zip::from(&mut out).and(y).for_each(|g, &y| *g *= y);
        }
        "Log" => Zip::from(&mut out).and(cx.f32_input(0)?).for_each(|g, &x| *g /= x),
        "Sqrt" => {
            let y = cx.f32_output(0)?;
            Zip::from(&mut out).and(y).for_each(|g, &y| *g /= 2.0 * y);
        }
        "Neg" => out.mapv_inplace(|g| -g),
        "Abs" => {
            Zip::from(&mut out).and(cx.f32_input(0)?).for_each(|g, &x| *g *= x.signum() * f32::from(x != 0.0))
        }
        "Reciprocal" => {
            let y = cx.f32_output(0)?;
            Zip::from(&mut out).and(y).for_each(|g, &y| *g *= -y * y);
        }
        "Softplus" => {
            Zip::from(&mut out).and(cx.f32_input(0)?).for_each(|g, &x| *g *= 1.0 / (1.0 + (-x).exp()))
        }
        _ => return Err(Error::NotDifferentiable(vec![op.to_owned()])),
    }
    Ok(cx.only_first(out))
}

/// d/dx of GELU: exact, Φ(x) + x·φ(x); or of its tanh approximation.
fn gelu_derivative(x: f32, tanh_approx: bool) -> f32 {
    if tanh_approx {
        let c = (2.0 / PI).sqrt();
        let inner = c * (x + 0.044715 * x * x * x);
        let t = inner.tanh();
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)
    } else {
        let cdf = 0.5 * (1.0 + erf(x / 2f32.sqrt()));
        let pdf = (-0.5 * x * x).exp() / (2.0 * PI).sqrt();
        cdf + x * pdf
    }
}

/// The error function, from Numerical Recipes' Chebyshev fit of erfc: absolute error below
/// 1.2e-7, inside f32 precision.
fn erf(x: f32) -> f32 {
    let z = f64::from(x).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    (if x >= 0.0 { 1.0 - erfc } else { erfc - 1.0 }) as f32
}

fn binary(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let want = |i: usize| cx.wants.get(i).copied().unwrap_or(false);
    let (shape_a, shape_b) = (cx.input_shape(0)?, cx.input_shape(1)?);
    let op = cx.node.op_type.as_str();
    if op == "Add" || op == "Sub" {
        let ga = want(0).then(|| g.clone());
        let gb = want(1).then(|| if op == "Sub" { -&g } else { g.clone() });
        return Ok(vec![
            ga.map(|g| unbroadcast(g, shape_a)).transpose()?,
            gb.map(|g| unbroadcast(g, shape_b)).transpose()?,
        ]);
    }
    let a = cx.f32_input(0)?;
    let b = cx.f32_input(1)?;
    let (ga, gb) = match op {
        "Mul" => (want(0).then(|| &g * b), want(1).then(|| &g * a)),
        "Div" => (want(0).then(|| &g / b), want(1).then(|| -(&g * a) / (b * b))),
        "Pow" => {
            let ga = want(0).then(|| {
                let mut d = &g * b;
                Zip::from(&mut d)
                    .and_broadcast(a)
                    .and_broadcast(b)
                    .for_each(|d, &a, &b| *d *= a.powf(b - 1.0));
                d
            });
            let gb = want(1).then(|| {
                let mut d = g.clone();
                Zip::from(&mut d)
                    .and_broadcast(a)
                    .and_broadcast(b)
                    .for_each(|d, &a, &b| *d *= a.powf(b) * a.ln());
                d
            });
            (ga, gb)
        }
        other => return Err(Error::NotDifferentiable(vec![other.to_owned()])),
    };
    Ok(vec![
        ga.map(|g| unbroadcast(g, a.shape())).transpose()?,
        gb.map(|g| unbroadcast(g, b.shape())).transpose()?,
    ])
}

fn variadic_sum(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let scale = if cx.node.op_type == "Mean" { 1.0 / cx.inputs.len() as f32 } else { 1.0 };
    cx.input_shapes
        .iter()
        .zip(cx.wants)
        .map(|(shape, &wanted)| match (shape, wanted) {
            (Some(shape), true) => unbroadcast(&g * scale, shape).map(Some),
            _ => Ok(None),
        })
        .collect()
}

// ---- linear algebra -------------------------------------------------------------------------

/// Batched matrix product with NumPy broadcasting over the leading axes.
fn batched_matmul(a: &ArrayD<f32>, b: &ArrayD<f32>) -> Result<ArrayD<f32>> {
    let (ra, rb) = (a.ndim(), b.ndim());
    let lead_len = ra.max(rb) - 2;
    let lead_a = &a.shape()[..ra - 2];
    let lead_b = &b.shape()[..rb - 2];
    let mut lead = vec![1usize; lead_len];
    for (i, slot) in lead.iter_mut().enumerate() {
        let da = (i + lead_a.len()).checked_sub(lead_len).map_or(1, |j| lead_a[j]);
        let db = (i + lead_b.len()).checked_sub(lead_len).map_or(1, |j| lead_b[j]);
        *slot = da.max(db);
    }
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let full = |x: &ArrayD<f32>, rows: usize, cols: usize| -> Result<ArrayD<f32>> {
        let mut shape = lead.clone();
        shape.extend([rows, cols]);
        broadcast_to(x, &shape)
    };
    let a3 = reshape(full(a, m, k)?, &[lead.iter().product(), m, k])?;
    let b3 = reshape(full(b, k, n)?, &[lead.iter().product(), k, n])?;
    let mut out = ndarray::Array3::<f32>::zeros((a3.shape()[0], m, n));
    for (i, mut o) in out.outer_iter_mut().enumerate() {
        let ai = a3
            .index_axis(Axis(0), i)
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| Error::ModelRun(e.to_string()))?;
        let bi = b3
            .index_axis(Axis(0), i)
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| Error::ModelRun(e.to_string()))?;
        o.assign(&ai.dot(&bi));
    }
    let mut shape = lead;
    shape.extend([m, n]);
    reshape(out.into_dyn(), &shape)
}

fn swap_last(a: &ArrayD<f32>) -> ArrayD<f32> {
    let r = a.ndim();
    let mut v = a.view();
    v.swap_axes(r - 2, r - 1);
    v.to_owned()
}

fn matmul(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (a, b) = (cx.f32_input(0)?, cx.f32_input(1)?);
    // Promote 1-D operands as numpy does, and undo it at the end.
    let a2 = if a.ndim() == 1 { a.clone().insert_axis(Axis(0)) } else { a.clone() };
    let b2 = if b.ndim() == 1 { b.clone().insert_axis(Axis(1)) } else { b.clone() };
    // The gradient gets back the axes the promotion added: [.., 1, n] for a 1-D `a`,
    // [.., m, 1] for a 1-D `b`.
    let mut g2 = g;
    if a.ndim() == 1 {
        let at = if b.ndim() == 1 { g2.ndim() } else { g2.ndim() - 1 };
        g2 = g2.insert_axis(Axis(at));
    }
    if b.ndim() == 1 {
        let at = g2.ndim();
        g2 = g2.insert_axis(Axis(at));
    }
    let ga = if cx.wants[0] {
        Some(reshape(unbroadcast(batched_matmul(&g2, &swap_last(&b2))?, a2.shape())?, a.shape())?)
    } else {
        None
    };
    let gb = if cx.wants.get(1) == Some(&true) {
        Some(reshape(unbroadcast(batched_matmul(&swap_last(&a2), &g2)?, b2.shape())?, b.shape())?)
    } else {
        None
    };
    Ok(vec![ga, gb])
}

fn two(x: &ArrayD<f32>) -> Result<ndarray::ArrayView2<'_, f32>> {
    x.view().into_dimensionality::<ndarray::Ix2>().map_err(|e| Error::ModelRun(e.to_string()))
}

fn gemm(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let node = cx.node;
    let (alpha, beta) = (node.float("alpha").unwrap_or(1.0), node.float("beta").unwrap_or(1.0));
    let (trans_a, trans_b) = (node.int("transA").unwrap_or(0) != 0, node.int("transB").unwrap_or(0) != 0);
    let (a, b, g2) = (two(cx.f32_input(0)?)?, two(cx.f32_input(1)?)?, two(&g)?);
    let a_op = if trans_a { a.t() } else { a };
    let b_op = if trans_b { b.t() } else { b };
    let mut grads: Grads = vec![None; cx.inputs.len()];
    if cx.wants[0] {
        let d = g2.dot(&b_op.t()) * alpha; // d(A_op)
        grads[0] = Some(if trans_a { d.t().to_owned() } else { d }.into_dyn());
    }
    if cx.wants.get(1) == Some(&true) {
        let d = a_op.t().dot(&g2) * alpha;
        grads[1] = Some(if trans_b { d.t().to_owned() } else { d }.into_dyn());
    }
    if cx.wants.get(2) == Some(&true) && cx.has_input(2) {
        grads[2] = Some(unbroadcast(&g * beta, cx.input_shape(2)?)?);
    }
    Ok(grads)
}

// ---- softmax and normalisation --------------------------------------------------------------

fn softmax(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let y = cx.f32_output(0)?;
    let shape = y.shape().to_vec();
    let rank = shape.len();
    let default_axis = if cx.opset >= 13 { -1 } else { 1 };
    let ax = axis(cx.node.int("axis").unwrap_or(default_axis), rank)?;
    // Before opset 13 the op works on the input flattened to 2-D at `axis`.
    let (y2, g2) = if cx.opset < 13 {
        let rows: usize = shape[..ax].iter().product();
        let cols: usize = shape[ax..].iter().product();
        (reshape(y.clone(), &[rows, cols])?, reshape(g, &[rows, cols])?)
    } else {
        (y.clone(), g)
    };
    let along = if cx.opset < 13 { Axis(1) } else { Axis(ax) };
    let out = if cx.node.op_type == "Softmax" {
        // dx = y ⊙ (g − Σ g⊙y)
        let dot = (&g2 * &y2).sum_axis(along).insert_axis(along);
        &y2 * &(&g2 - &dot)
    } else {
        // y = log softmax: dx = g − softmax ⊙ Σ g
        let total = g2.sum_axis(along).insert_axis(along);
        &g2 - &(y2.mapv(f32::exp) * &total)
    };
    Ok(cx.only_first(reshape(out, &shape)?))
}

/// Per-channel scale for inference-mode normalisation: `scale / sqrt(var + eps)`.
fn batch_norm(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let scale = cx.f32_input(1)?;
    let var = cx.f32_input(4)?;
    let eps = cx.node.float("epsilon").unwrap_or(1e-5);
    let factor: Vec<f32> = scale.iter().zip(var.iter()).map(|(s, v)| s / (v + eps).sqrt()).collect();
    let mut out = g;
    for (c, mut lane) in out.axis_iter_mut(Axis(1)).enumerate() {
        lane.mapv_inplace(|v| v * factor[c]);
    }
    Ok(cx.only_first(out))
}

/// The VJP of normalising `x` over `axes` to zero mean and unit variance, then scaling by
/// `gamma` (already broadcast to x's shape).
fn normalise_backward(
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    gamma: &ArrayD<f32>,
    first_axis: usize,
    eps: f32,
) -> Result<ArrayD<f32>> {
    let shape = x.shape().to_vec();
    let rows: usize = shape[..first_axis].iter().product();
    let cols: usize = shape[first_axis..].iter().product();
    let x2 = reshape(x.clone(), &[rows, cols])?;
    let gy = reshape(g * gamma, &[rows, cols])?;
    let mut out = ndarray::Array2::<f32>::zeros((rows, cols));
    let n = cols as f32;
    for ((xr, gr), mut orow) in x2.outer_iter().zip(gy.outer_iter()).zip(out.outer_iter_mut()) {
        let mean = xr.sum() / n;
        let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        let xhat: Vec<f32> = xr.iter().map(|v| (v - mean) * inv).collect();
        let g_mean = gr.sum() / n;
        let gx_mean = gr.iter().zip(&xhat).map(|(g, x)| g * x).sum::<f32>() / n;
        for ((o, g), xh) in orow.iter_mut().zip(gr.iter()).zip(&xhat) {
            *o = inv * (g - g_mean - xh * gx_mean);
        }
    }
    reshape(out.into_dyn(), &shape)
}

fn layer_norm(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let x = cx.f32_input(0)?;
    let first = axis(cx.node.int("axis").unwrap_or(-1), x.ndim())?;
    let gamma = broadcast_to(cx.f32_input(1)?, x.shape())?;
    let eps = cx.node.float("epsilon").unwrap_or(1e-5);
    Ok(cx.only_first(normalise_backward(x, &g, &gamma, first, eps)?))
}

fn instance_norm(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let x = cx.f32_input(0)?;
    let scale = cx.f32_input(1)?;
    let eps = cx.node.float("epsilon").unwrap_or(1e-5);
    let mut gamma_shape = vec![1; x.ndim()];
    gamma_shape[1] = scale.len();
    let gamma = broadcast_to(&reshape(scale.clone(), &gamma_shape)?, x.shape())?;
    Ok(cx.only_first(normalise_backward(x, &g, &gamma, 2, eps)?))
}

fn reduce(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    // Axes come from an input from opset 13 (ReduceSum) and 18 (ReduceMean), else an attribute.
    let listed = cx.ints_input(1).or_else(|| cx.node.ints("axes").map(<[i64]>::to_vec)).unwrap_or_default();
    let axes: Vec<usize> = if listed.is_empty() {
        if cx.node.int("noop_with_empty_axes").unwrap_or(0) != 0 {
            return Ok(cx.only_first(g));
        }
        (0..rank).collect()
    } else {
        listed.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?
    };
    let mut kept = shape.clone();
    for &a in &axes {
        kept[a] = 1;
    }
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let scale = if cx.node.op_type == "ReduceMean" { 1.0 / count.max(1) as f32 } else { 1.0 };
    let g = reshape(g, &kept)? * scale;
    Ok(cx.only_first(broadcast_to(&g, &shape)?))
}

// ---- shapes and indexing --------------------------------------------------------------------

fn transpose(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let rank = cx.rank()?;
    let perm: Vec<usize> = cx
        .node
        .ints("perm")
        .map_or_else(|| (0..rank).rev().collect(), |p| p.iter().map(|&a| a as usize).collect());
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    Ok(cx.only_first(g.permuted_axes(IxDyn(&inverse)).as_standard_layout().into_owned()))
}

fn reshape_back(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    Ok(cx.only_first(reshape(g, cx.input_shape(0)?)?))
}

fn concat(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let ax = axis(cx.node.int("axis").unwrap_or(0), g.ndim())?;
    let mut start = 0;
    let mut grads = Vec::with_capacity(cx.inputs.len());
    for (shape, &wanted) in cx.input_shapes.iter().zip(cx.wants) {
        let len = shape.map_or(0, |s| s.get(ax).copied().unwrap_or(0));
        grads.push(wanted.then(|| g.slice_axis(Axis(ax), Slice::from(start..start + len)).to_owned()));
        start += len;
    }
    Ok(grads)
}

fn split(cx: &Context, grads: Vec<Option<ArrayD<f32>>>) -> Result<Grads> {
    let x_shape = cx.input_shape(0)?.to_vec();
    let ax = axis(cx.node.int("axis").unwrap_or(0), x_shape.len())?;
    let parts: Vec<ArrayD<f32>> = grads
        .into_iter()
        .enumerate()
        .map(|(i, g)| match g {
            Some(g) => Ok(g),
            None => Ok(ArrayD::zeros(cx.output_shape(i)?)),
        })
        .collect::<Result<_>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let joined = ndarray::concatenate(Axis(ax), &views).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(joined))
}

fn slice(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    // From opset 10 starts/ends/axes/steps are inputs; before, attributes.
    let get =
        |input: usize, attr: &str| cx.ints_input(input).or_else(|| cx.node.ints(attr).map(<[i64]>::to_vec));
    let starts = get(1, "starts").unwrap_or_default();
    let ends = get(2, "ends").unwrap_or_default();
    let axes = get(3, "axes").unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = cx.ints_input(4).unwrap_or_else(|| vec![1; starts.len()]);
    let mut out = ArrayD::<f32>::zeros(shape.clone());
    let mut view = out.view_mut();
    for i in 0..starts.len() {
        let a = axis(axes[i], rank)?;
        let dim = shape[a] as i64;
        let step = steps[i];
        let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
        let resolve = |v: i64| if v < 0 { v + dim } else { v };
        let (start, end) = if step > 0 {
            (clamp(resolve(starts[i]), 0, dim), clamp(resolve(ends[i]), 0, dim))
        } else {
            (clamp(resolve(starts[i]), -1, dim - 1), clamp(resolve(ends[i]), -1, dim - 1))
        };
        let slice = if step > 0 {
            Slice::new(start as isize, Some(end as isize), step as isize)
        } else {
            // ndarray slices negative steps from the end of [begin, end): express (end, start].
            Slice::new((end + 1) as isize, Some((start + 1) as isize), step as isize)
        };
        view.slice_axis_inplace(Axis(a), slice);
    }
    view.assign(&g);
    Ok(cx.only_first(out))
}

fn where_(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let condition = match cx.input(0)? {
        Value::Bool(c) => c.clone(),
        other => ArrayD::from_shape_vec(other.shape(), other.to_i64_vec().iter().map(|&v| v != 0).collect())
            .map_err(|e| Error::ModelRun(e.to_string()))?,
    };
    let condition = condition
        .broadcast(g.raw_dim())
        .ok_or_else(|| Error::ModelRun("Where: condition does not broadcast".into()))?
        .to_owned();
    let pick = |when: bool, i: usize| -> Result<Option<ArrayD<f32>>> {
        if !cx.wants.get(i).copied().unwrap_or(false) {
            return Ok(None);
        }
        let mut d = g.clone();
        Zip::from(&mut d).and(&condition).for_each(|d, &c| {
            if c != when {
                *d = 0.0
            }
        });
        unbroadcast(d, cx.input_shape(i)?).map(Some)
    };
    Ok(vec![None, pick(true, 1)?, pick(false, 2)?])
}

fn pad(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    let pads = cx
        .ints_input(1)
        .or_else(|| cx.node.ints("pads").map(<[i64]>::to_vec))
        .ok_or_else(|| Error::ModelRun("Pad without pads".into()))?;
    // Opset 18 may name the padded axes; default: all of them.
    let axes: Vec<usize> = match cx.ints_input(3) {
        Some(a) => a.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (i, &a) in axes.iter().enumerate() {
        begin[a] = pads[i];
        end[a] = pads[i + axes.len()];
    }
    let mode = cx.node.string("mode").unwrap_or("constant");
    let mut grad = g;
    // Undo the padding one axis at a time: crop, and for reflect/edge fold the pads back.
    for a in 0..rank {
        let n = shape[a] as i64;
        let (b, e) = (begin[a], end[a]);
        let len = grad.shape()[a] as i64;
        if b < 0 || e < 0 {
            return Err(Error::NotDifferentiable(vec!["Pad (negative pads)".into()]));
        }
        let mut core = grad.slice_axis(Axis(a), Slice::from(b as isize..(len - e) as isize)).to_owned();
        if mode != "constant" {
            for p in 0..b {
                // Output position p (before the input) copies input index src.
                let src = if mode == "reflect" { b - p } else { 0 };
                let lane = grad.index_axis(Axis(a), p as usize).to_owned();
                let mut target = core.index_axis_mut(Axis(a), src as usize);
                target += &lane;
            }
            for q in 0..e {
                let src = if mode == "reflect" { n - 2 - q } else { n - 1 };
                let lane = grad.index_axis(Axis(a), (b + n + q) as usize).to_owned();
                let mut target = core.index_axis_mut(Axis(a), src as usize);
                target += &lane;
            }
        }
        grad = core;
    }
    Ok(cx.only_first(grad))
}

fn gather(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let ax = axis(cx.node.int("axis").unwrap_or(0), shape.len())?;
    let indices = cx.input(1)?.to_i64_vec();
    let dim = shape[ax] as i64;
    // g has shape data[..ax] ++ indices.shape ++ data[ax+1..]; scatter-add along `ax`.
    let outer: usize = shape[..ax].iter().product();
    let inner: usize = shape[ax + 1..].iter().product();
    let g = reshape(g, &[outer, indices.len(), inner])?;
    let mut out3 = ndarray::Array3::<f32>::zeros((outer, shape[ax], inner));
    for (k, &index) in indices.iter().enumerate() {
        let i = if index < 0 { index + dim } else { index };
        if !(0..dim).contains(&i) {
            return Err(Error::ModelRun(format!("Gather index {index} is out of range")));
        }
        let mut lane = out3.index_axis_mut(Axis(1), i as usize);
        lane += &g.index_axis(Axis(1), k);
    }
    Ok(cx.only_first(reshape(out3.into_dyn(), &shape)?))
}

/// `Resize` backwards for `nearest` and `linear` modes over the last two axes (the common image
/// case); other axes must keep their size.
fn resize(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    if rank < 2 || g.shape()[..rank - 2] != shape[..rank - 2] {
        return Err(Error::ModelRun("Resize gradients need the leading axes to keep their size".into()));
    }
    let mode = cx.node.string("mode").unwrap_or("nearest");
    let transform = cx.node.string("coordinate_transformation_mode").unwrap_or("half_pixel");
    let nearest_mode = cx.node.string("nearest_mode").unwrap_or("round_prefer_floor");
    let (ih, iw) = (shape[rank - 2], shape[rank - 1]);
    let (oh, ow) = (g.shape()[rank - 2], g.shape()[rank - 1]);
    // Scales: the explicit input when given, else output/input sizes.
    let scales: Option<Vec<f32>> =
        cx.inputs.get(2).copied().flatten().and_then(Value::as_f32).map(|s| s.iter().copied().collect());
    let scale_of = |axis_from_end: usize, out: usize, inp: usize| -> f32 {
        scales
            .as_ref()
            .filter(|s| s.len() == rank)
            .map_or(out as f32 / inp as f32, |s| s[rank - axis_from_end])
    };
    let (sh, sw) = (scale_of(2, oh, ih), scale_of(1, ow, iw));
    let source = |o: usize, scale: f32, out_len: usize, in_len: usize| -> f32 {
        let o = o as f32;
        match transform {
            "asymmetric" => o / scale,
            "align_corners" => {
                if out_len > 1 {
                    o * (in_len as f32 - 1.0) / (out_len as f32 - 1.0)
                } else {
                    0.0
                }
            }
            "pytorch_half_pixel" => {
                if out_len > 1 {
                    (o + 0.5) / scale - 0.5
                } else {
                    0.0
                }
            }
            _ => (o + 0.5) / scale - 0.5, // half_pixel
        }
    };
    // Each output position's contributing input taps and weights, per axis.
    let taps = |out_len: usize, in_len: usize, scale: f32| -> Vec<Vec<(usize, f32)>> {
        (0..out_len)
            .map(|o| {
                let x = source(o, scale, out_len, in_len);
                if mode == "nearest" {
                    let i = match nearest_mode {
                        "floor" => x.floor(),
                        "ceil" => x.ceil(),
                        "round_prefer_ceil" => x.round(),
                        _ => (x - 0.5).ceil(), // round_prefer_floor
                    };
                    vec![((i.max(0.0) as usize).min(in_len - 1), 1.0)]
                } else {
                    let x = x.clamp(0.0, (in_len - 1) as f32);
                    let lo = x.floor() as usize;
                    let hi = (lo + 1).min(in_len - 1);
                    let t = x - lo as f32;
                    vec![(lo, 1.0 - t), (hi, t)]
                }
            })
            .collect()
    };
    if !matches!(mode, "nearest" | "linear") {
        return Err(Error::NotDifferentiable(vec![format!("Resize ({mode})")]));
    }
    let (rows, cols) = (taps(oh, ih, sh), taps(ow, iw, sw));
    let planes: usize = shape[..rank - 2].iter().product();
    let g3 = reshape(g, &[planes, oh, ow])?;
    let mut out = ndarray::Array3::<f32>::zeros((planes, ih, iw));
    for p in 0..planes {
        for (y, row_taps) in rows.iter().enumerate() {
            for (x, col_taps) in cols.iter().enumerate() {
                let v = g3[[p, y, x]];
                for &(r, wr) in row_taps {
                    for &(c, wc) in col_taps {
                        out[[p, r, c]] += v * wr * wc;
                    }
                }
            }
        }
    }
    Ok(cx.only_first(reshape(out.into_dyn(), &shape)?))
}
