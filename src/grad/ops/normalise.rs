//! Softmax, the normalisations (batch, instance, layer) and the reductions.

use ndarray::{Array2, ArrayD, Axis};

use super::broadcast::broadcast_to;
use super::{at, axis, op, reshape, volume, Context, Grads, Op, Reads};
use crate::error::{Error, Result};

pub(super) const OPS: &[Op] = &[
    op("Softmax", Reads::Outputs(&[]), softmax),
    op("LogSoftmax", Reads::Outputs(&[]), softmax),
    // Inference mode: the scale and the running variance.
    op("BatchNormalization", Reads::Inputs(&[1, 4]), batch_norm),
    op("InstanceNormalization", Reads::Everything, instance_norm),
    op("LayerNormalization", Reads::Everything, layer_norm),
    // The axes, from opset 13 (ReduceSum) and 18 (ReduceMean).
    op("ReduceMean", Reads::Inputs(&[1]), reduce),
    op("ReduceSum", Reads::Inputs(&[1]), reduce),
];

fn softmax(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let y = cx.f32_output(0)?;
    let shape = y.shape().to_vec();
    let rank = shape.len();
    let default_axis = if cx.opset >= 13 { -1 } else { 1 };
    let ax = axis(cx.node.int("axis").unwrap_or(default_axis), rank)?;
    // Before opset 13 the op works on the input flattened to 2-D at `axis`.
    let (y2, g2) = if cx.opset < 13 {
        let (rows, cols) = (volume(&shape, 0..ax), volume(&shape, ax..rank));
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
    if out.ndim() < 2 || out.len_of(Axis(1)) != factor.len() {
        return Err(Error::ModelRun(format!("{} channels for {} scales", out.len_of(Axis(1)), factor.len())));
    }
    for (mut lane, factor) in out.axis_iter_mut(Axis(1)).zip(factor) {
        lane.mapv_inplace(|v| v * factor);
    }
    Ok(cx.only_first(out))
}

/// The VJP of normalising `x` over the axes from `first_axis` on to zero mean and unit
/// variance, then scaling by `gamma` (already broadcast to x's shape).
fn normalise_backward(
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    gamma: &ArrayD<f32>,
    first_axis: usize,
    eps: f32,
) -> Result<ArrayD<f32>> {
    let shape = x.shape().to_vec();
    let (rows, cols) = (volume(&shape, 0..first_axis), volume(&shape, first_axis..shape.len()));
    let x2 = reshape(x.clone(), &[rows, cols])?;
    let gy = reshape(g * gamma, &[rows, cols])?;
    let mut out = Array2::<f32>::zeros((rows, cols));
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
    // The scale is per channel (axis 1): [1, C, 1, …].
    let gamma_shape: Vec<usize> = (0..x.ndim()).map(|a| if a == 1 { scale.len() } else { 1 }).collect();
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
    let kept: Vec<usize> =
        shape.iter().enumerate().map(|(a, &n)| if axes.contains(&a) { 1 } else { n }).collect();
    let count: usize = axes.iter().map(|&a| at(&shape, a, "the input's shape")).product::<Result<usize>>()?;
    let scale = if cx.node.op_type == "ReduceMean" { 1.0 / count.max(1) as f32 } else { 1.0 };
    let g = reshape(g, &kept)? * scale;
    Ok(cx.only_first(broadcast_to(&g, &shape)?))
}
