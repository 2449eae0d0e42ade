//! Matrix products: `MatMul` (NumPy's batched, broadcasting product, 1-D operands promoted)
//! and `Gemm`.

use ndarray::{Array3, ArrayD, ArrayView2, Axis, Ix2};

use super::broadcast::{broadcast_to, unbroadcast};
use super::{op, reshape, Context, Grads, Op, Reads};
use crate::error::{Error, Result};

pub(super) const OPS: &[Op] = &[op("MatMul", Reads::Everything, matmul), op("Gemm", Reads::Everything, gemm)];

/// A matrix's leading (batch) axes, its rows and its columns.
fn split_matrix(shape: &[usize]) -> Result<(&[usize], usize, usize)> {
    match shape {
        [lead @ .., rows, cols] => Ok((lead, *rows, *cols)),
        _ => Err(Error::ModelRun(format!("a matrix product of a tensor of shape {shape:?}"))),
    }
}

/// Batched matrix product with NumPy broadcasting over the leading axes.
fn batched_matmul(a: &ArrayD<f32>, b: &ArrayD<f32>) -> Result<ArrayD<f32>> {
    let (lead_a, m, k) = split_matrix(a.shape())?;
    let (lead_b, _, n) = split_matrix(b.shape())?;
    let lead_len = lead_a.len().max(lead_b.len());
    // Right-aligned, as NumPy broadcasts: a missing leading axis has size 1.
    let size = |lead: &[usize], i: usize| {
        (i + lead.len()).checked_sub(lead_len).and_then(|j| lead.get(j).copied()).unwrap_or(1)
    };
    let lead: Vec<usize> = (0..lead_len).map(|i| size(lead_a, i).max(size(lead_b, i))).collect();
    let full = |x: &ArrayD<f32>, rows: usize, cols: usize| -> Result<ArrayD<f32>> {
        let mut shape = lead.clone();
        shape.extend([rows, cols]);
        broadcast_to(x, &shape)
    };
    let batch: usize = lead.iter().product();
    let a3 = reshape(full(a, m, k)?, &[batch, m, k])?;
    let b3 = reshape(full(b, k, n)?, &[batch, k, n])?;
    let mut out = Array3::<f32>::zeros((batch, m, n));
    for ((mut o, ai), bi) in out.outer_iter_mut().zip(a3.outer_iter()).zip(b3.outer_iter()) {
        let ai = ai.into_dimensionality::<Ix2>().map_err(|e| Error::ModelRun(e.to_string()))?;
        let bi = bi.into_dimensionality::<Ix2>().map_err(|e| Error::ModelRun(e.to_string()))?;
        o.assign(&ai.dot(&bi));
    }
    let mut shape = lead;
    shape.extend([m, n]);
    reshape(out.into_dyn(), &shape)
}

/// The tensor with its last two axes swapped.
fn swap_last(a: &ArrayD<f32>) -> Result<ArrayD<f32>> {
    let r = a.ndim();
    if r < 2 {
        return Err(Error::ModelRun(format!("a matrix product of a tensor of rank {r}")));
    }
    let mut v = a.view();
    v.swap_axes(r - 2, r - 1);
    Ok(v.to_owned())
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
        let at = if b.ndim() == 1 { g2.ndim() } else { g2.ndim().saturating_sub(1) };
        g2 = g2.insert_axis(Axis(at));
    }
    if b.ndim() == 1 {
        let at = g2.ndim();
        g2 = g2.insert_axis(Axis(at));
    }
    let ga = if cx.wants(0) {
        Some(reshape(unbroadcast(batched_matmul(&g2, &swap_last(&b2)?)?, a2.shape())?, a.shape())?)
    } else {
        None
    };
    let gb = if cx.wants(1) {
        Some(reshape(unbroadcast(batched_matmul(&swap_last(&a2)?, &g2)?, b2.shape())?, b.shape())?)
    } else {
        None
    };
    Ok(vec![ga, gb])
}

fn matrix(x: &ArrayD<f32>) -> Result<ArrayView2<'_, f32>> {
    x.view().into_dimensionality::<Ix2>().map_err(|e| Error::ModelRun(e.to_string()))
}

fn gemm(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let node = cx.node;
    let (alpha, beta) = (node.float("alpha").unwrap_or(1.0), node.float("beta").unwrap_or(1.0));
    let (trans_a, trans_b) = (node.int("transA").unwrap_or(0) != 0, node.int("transB").unwrap_or(0) != 0);
    let (a, b, g2) = (matrix(cx.f32_input(0)?)?, matrix(cx.f32_input(1)?)?, matrix(&g)?);
    let a_op = if trans_a { a.t() } else { a };
    let b_op = if trans_b { b.t() } else { b };
    let ga = cx.wants(0).then(|| {
        let d = g2.dot(&b_op.t()) * alpha; // d(A_op)
        if trans_a { d.t().to_owned() } else { d }.into_dyn()
    });
    let gb = cx.wants(1).then(|| {
        let d = a_op.t().dot(&g2) * alpha;
        if trans_b { d.t().to_owned() } else { d }.into_dyn()
    });
    let gc =
        if cx.wants(2) && cx.has_input(2) { Some(unbroadcast(&g * beta, cx.input_shape(2)?)?) } else { None };
    let mut grads = vec![ga, gb, gc];
    grads.truncate(cx.inputs.len());
    Ok(grads)
}
