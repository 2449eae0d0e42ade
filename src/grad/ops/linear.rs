//! Matrix products: `MatMul` (NumPy's batched, broadcasting product, 1-D operands promoted)
//! and `Gemm`.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayD, ArrayView2, ArrayViewD, Axis, Dimension, Ix2, IxDyn};

use super::broadcast::unbroadcast;
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

/// Batched matrix product with NumPy broadcasting over the leading axes, on views: a
/// transposed or broadcast operand is read where it lies (matrixmultiply takes any strides), not
/// copied first. Copying them cost MiniLM's backward pass about 35 ms of 240 in wasm.
fn batched_matmul(a: ArrayViewD<'_, f32>, b: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
    let (lead_a, m, k) = split_matrix(a.shape())?;
    let (lead_b, k_b, n) = split_matrix(b.shape())?;
    if k != k_b {
        return Err(Error::ModelRun(format!("a matrix product of {:?} and {:?}", a.shape(), b.shape())));
    }
    let lead_len = lead_a.len().max(lead_b.len());
    // Right-aligned, as NumPy broadcasts: a missing leading axis has size 1.
    let size = |lead: &[usize], i: usize| {
        (i + lead.len()).checked_sub(lead_len).and_then(|j| lead.get(j).copied()).unwrap_or(1)
    };
    let lead: Vec<usize> = (0..lead_len).map(|i| size(lead_a, i).max(size(lead_b, i))).collect();
    let (a, b) = (with_lead(&a, &lead)?, with_lead(&b, &lead)?);
    let mut shape = lead.clone();
    shape.extend([m, n]);
    let mut out = ArrayD::<f32>::zeros(IxDyn(&shape));
    for index in ndarray::indices(IxDyn(&lead)) {
        let index = index.slice();
        let mut o = out.view_mut();
        for &i in index {
            o = o.index_axis_move(Axis(0), i);
        }
        let mut o = o.into_dimensionality::<Ix2>().map_err(|e| Error::ModelRun(e.to_string()))?;
        general_mat_mul(1.0, &matrix_at(a.view(), index)?, &matrix_at(b.view(), index)?, 0.0, &mut o);
    }
    Ok(out)
}

/// `x` broadcast to the leading axes `lead`, its last two axes kept.
fn with_lead<'a>(x: &'a ArrayViewD<'_, f32>, lead: &[usize]) -> Result<ArrayViewD<'a, f32>> {
    let mut shape = lead.to_vec();
    shape.extend(x.shape().iter().skip(x.ndim().saturating_sub(2)));
    x.broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::ModelRun(format!("cannot broadcast {:?} to {shape:?}", x.shape())))
}

/// The matrix at `index` of the leading axes.
fn matrix_at<'a>(x: ArrayViewD<'a, f32>, index: &[usize]) -> Result<ArrayView2<'a, f32>> {
    let mut x = x;
    for &i in index {
        x = x.index_axis_move(Axis(0), i);
    }
    x.into_dimensionality::<Ix2>().map_err(|e| Error::ModelRun(e.to_string()))
}

/// The view with its last two axes swapped.
fn swap_last(a: ArrayViewD<'_, f32>) -> Result<ArrayViewD<'_, f32>> {
    let r = a.ndim();
    if r < 2 {
        return Err(Error::ModelRun(format!("a matrix product of a tensor of rank {r}")));
    }
    let mut v = a;
    v.swap_axes(r - 2, r - 1);
    Ok(v)
}

fn matmul(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let (a, b) = (cx.f32_input(0)?, cx.f32_input(1)?);
    // Promote 1-D operands as numpy does, and undo it at the end.
    let a2 = if a.ndim() == 1 { a.view().insert_axis(Axis(0)) } else { a.view() };
    let b2 = if b.ndim() == 1 { b.view().insert_axis(Axis(1)) } else { b.view() };
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
        Some(reshape(unbroadcast(batched_matmul(g2.view(), swap_last(b2.view())?)?, a2.shape())?, a.shape())?)
    } else {
        None
    };
    let gb = if cx.wants(1) {
        Some(reshape(unbroadcast(batched_matmul(swap_last(a2.view())?, g2.view())?, b2.shape())?, b.shape())?)
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
