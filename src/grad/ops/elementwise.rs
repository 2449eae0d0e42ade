//! Elementwise operators: activations and other functions of one tensor, the arithmetic of
//! two (with NumPy broadcasting), and sums and means of many.

use std::f32::consts::PI;

use ndarray::{ArrayD, Zip};

use super::broadcast::unbroadcast;
use super::{op, Context, Grads, Mode, Op, Reads};
use crate::error::Result;
use crate::tensor::Value;

/// Relu, Clip, Sigmoid, Tanh, Exp, Sqrt and Reciprocal read their output, from which their
/// derivative follows: their inputs (convolution outputs, mostly) need not be exposed, and
/// tract can fuse the convolution with the activation.
pub(super) const OPS: &[Op] = &[
    op("Relu", Reads::Outputs(&[]), relu),
    op("LeakyRelu", Reads::Everything, leaky_relu),
    // Clip's bounds are inputs 1 and 2 (constants, usually).
    op("Clip", Reads::Outputs(&[1, 2]), clip),
    op("Sigmoid", Reads::Outputs(&[]), |cx, g| from_output(cx, g, |g, y| g * (y * (1.0 - y)))),
    op("HardSigmoid", Reads::Everything, hard_sigmoid),
    op("HardSwish", Reads::Everything, hard_swish),
    op("Tanh", Reads::Outputs(&[]), |cx, g| from_output(cx, g, |g, y| g * (1.0 - y * y))),
    op("Erf", Reads::Everything, |cx, g| from_input(cx, g, |g, x| g * (2.0 / PI.sqrt() * (-x * x).exp()))),
    op("Gelu", Reads::Everything, gelu),
    op("Exp", Reads::Outputs(&[]), |cx, g| from_output(cx, g, |g, y| g * y)),
    op("Log", Reads::Everything, |cx, g| from_input(cx, g, |g, x| g / x)),
    op("Sqrt", Reads::Outputs(&[]), |cx, g| from_output(cx, g, |g, y| g / (2.0 * y))),
    op("Neg", Reads::Shapes, |cx, g| Ok(cx.only_first(-g))),
    op("Abs", Reads::Everything, |cx, g| from_input(cx, g, |g, x| g * (x.signum() * f32::from(x != 0.0)))),
    op("Reciprocal", Reads::Outputs(&[]), |cx, g| from_output(cx, g, |g, y| g * (-y * y))),
    op("Softplus", Reads::Everything, |cx, g| from_input(cx, g, |g, x| g * (1.0 / (1.0 + (-x).exp())))),
    op("Identity", Reads::Shapes, pass_through),
    op("Dropout", Reads::Shapes, pass_through),
    // Casts to integers never get here: they cut the path (`cuts_gradient`).
    op("Cast", Reads::Shapes, pass_through),
    op("Add", Reads::Shapes, add_sub),
    op("Sub", Reads::Shapes, add_sub),
    op("Mul", Reads::Everything, mul),
    op("Div", Reads::Everything, div),
    op("Pow", Reads::Everything, pow),
    op("Sum", Reads::Shapes, variadic_sum),
    op("Mean", Reads::Shapes, variadic_sum),
];

fn pass_through(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    Ok(cx.only_first(g))
}

/// `g ← d(g, x)` elementwise, x the input.
fn from_input(cx: &Context, g: ArrayD<f32>, d: impl Fn(f32, f32) -> f32) -> Result<Grads> {
    Ok(cx.only_first(pointwise(g, cx.f32_input(0)?, d)))
}

/// `g ← d(g, y)` elementwise, y the output.
fn from_output(cx: &Context, g: ArrayD<f32>, d: impl Fn(f32, f32) -> f32) -> Result<Grads> {
    Ok(cx.only_first(pointwise(g, cx.f32_output(0)?, d)))
}

/// `g ← d(g, v)` elementwise. Over plain slices when both are in standard layout, so that the
/// loop vectorises (wasm's SIMD included): through `Zip`, ReLU6's VJP cost 27 ms of a 194 ms
/// gradient pass in wasm (BENCHMARKS.md).
fn pointwise(mut g: ArrayD<f32>, v: &ArrayD<f32>, d: impl Fn(f32, f32) -> f32) -> ArrayD<f32> {
    if g.shape() == v.shape() {
        if let (Some(gs), Some(vs)) = (g.as_slice_mut(), v.as_slice()) {
            for (g, &v) in gs.iter_mut().zip(vs) {
                *g = d(*g, v);
            }
            return g;
        }
    }
    Zip::from(&mut g).and(v).for_each(|g, &v| *g = d(*g, v));
    g
}

/// Guided Backprop passes only positive gradients back through a rectifier.
fn relu(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    match cx.mode {
        Mode::Plain => from_output(cx, g, |g, y| if y > 0.0 { g } else { 0.0 }),
        Mode::Guided => from_output(cx, g, |g, y| if y > 0.0 { g.max(0.0) } else { 0.0 }),
    }
}

fn leaky_relu(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let alpha = cx.node.float("alpha").unwrap_or(0.01);
    from_input(cx, g, |g, x| g * if x > 0.0 { 1.0 } else { alpha })
}

/// As PyTorch's hardtanh: no gradient at the bounds themselves (lo < y < hi exactly where
/// lo < x < hi). A clip from 0 (ReLU6) is a rectifier, so Guided Backprop treats it like Relu.
fn clip(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let bound = |i: usize, attr: &str, default: f32| -> f32 {
        cx.inputs
            .get(i)
            .copied()
            .flatten()
            .and_then(Value::as_f32)
            .and_then(|a| a.iter().next().copied())
            .or_else(|| cx.node.float(attr))
            .unwrap_or(default)
    };
    let (lo, hi) = (bound(1, "min", f32::NEG_INFINITY), bound(2, "max", f32::INFINITY));
    // `&`, not `&&`, and the mode outside the loop: a select the loop vectorises, not a branch on
    // each element (ReLU6's outputs are 0 about half the time, unpredictably).
    let inside = move |y: f32| (y > lo) & (y < hi);
    if cx.mode == Mode::Guided && lo == 0.0 {
        from_output(cx, g, |g, y| if inside(y) { g.max(0.0) } else { 0.0 })
    } else {
        from_output(cx, g, |g, y| if inside(y) { g } else { 0.0 })
    }
}

/// d/dx of clamp(αx + β, 0, 1): α inside, 0 outside.
fn hard_sigmoid_derivative(alpha: f32, beta: f32, x: f32) -> (f32, f32) {
    let z = alpha * x + beta;
    (z, if z > 0.0 && z < 1.0 { alpha } else { 0.0 })
}

fn hard_sigmoid(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (alpha, beta) = (cx.node.float("alpha").unwrap_or(0.2), cx.node.float("beta").unwrap_or(0.5));
    from_input(cx, g, |g, x| g * hard_sigmoid_derivative(alpha, beta, x).1)
}

/// x · HardSigmoid(x) with α = 1/6, β = 1/2.
fn hard_swish(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    from_input(cx, g, |g, x| {
        let (z, d_sigmoid) = hard_sigmoid_derivative(1.0 / 6.0, 0.5, x);
        g * (z.clamp(0.0, 1.0) + x * d_sigmoid)
    })
}

fn gelu(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let tanh_approx = cx.node.string("approximate") == Some("tanh");
    from_input(cx, g, |g, x| g * gelu_derivative(x, tanh_approx))
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

/// The gradients of a two-input operator, each summed back to its input's shape.
fn two(cx: &Context, ga: Option<ArrayD<f32>>, gb: Option<ArrayD<f32>>) -> Result<Grads> {
    Ok(vec![
        ga.map(|g| unbroadcast(g, cx.input_shape(0)?)).transpose()?,
        gb.map(|g| unbroadcast(g, cx.input_shape(1)?)).transpose()?,
    ])
}

fn add_sub(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let gb = cx.wants(1).then(|| if cx.node.op_type == "Sub" { -&g } else { g.clone() });
    two(cx, cx.wants(0).then_some(g), gb)
}

fn mul(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (a, b) = (cx.f32_input(0)?, cx.f32_input(1)?);
    two(cx, cx.wants(0).then(|| &g * b), cx.wants(1).then(|| &g * a))
}

fn div(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (a, b) = (cx.f32_input(0)?, cx.f32_input(1)?);
    two(cx, cx.wants(0).then(|| &g / b), cx.wants(1).then(|| -(&g * a) / (b * b)))
}

fn pow(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (a, b) = (cx.f32_input(0)?, cx.f32_input(1)?);
    let ga = cx.wants(0).then(|| {
        let mut d = &g * b;
        Zip::from(&mut d).and_broadcast(a).and_broadcast(b).for_each(|d, &a, &b| *d *= a.powf(b - 1.0));
        d
    });
    let gb = cx.wants(1).then(|| {
        let mut d = g.clone();
        Zip::from(&mut d).and_broadcast(a).and_broadcast(b).for_each(|d, &a, &b| *d *= a.powf(b) * a.ln());
        d
    });
    two(cx, ga, gb)
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
