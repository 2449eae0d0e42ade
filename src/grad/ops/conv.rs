//! The input gradient of `Conv` (1-D and 2-D; groups, strides, dilations, explicit and
//! automatic pads): per batch item and group, `cols = Wᵀ · dY`, then `cols` is scattered back
//! onto the input (col2im). Weight gradients are never needed: explanations differentiate with
//! respect to inputs and activations only.

use ndarray::{s, Array2, ArrayD, ArrayView2, Ix4};

use super::{at, op, Context, Grads, Op, Reads};
use crate::error::{Error, Result};

/// Only the weights are read: the input's gradient needs its shape alone.
pub(super) const OPS: &[Op] = &[op("Conv", Reads::Inputs(&[1]), conv)];

/// Geometry of one spatial axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    /// Padding before the first input element.
    pub pad_begin: usize,
}

impl Axis {
    /// The input position that kernel tap `k` of output position `o` reads, if inside the input.
    #[inline]
    pub fn input_at(&self, o: usize, k: usize) -> Option<usize> {
        let position = (o * self.stride + k * self.dilation) as isize - self.pad_begin as isize;
        (0..self.input as isize).contains(&position).then_some(position as usize)
    }
}

/// The spatial geometry of a convolution or pooling node, from its attributes and the actual
/// input and output sizes. 1-D nodes get a leading axis of size 1.
pub fn geometry(cx: &Context, input: &[usize], output: &[usize], kernel: &[usize]) -> Result<[Axis; 2]> {
    let rank = input.len().checked_sub(2).filter(|r| (1..=2).contains(r)).ok_or_else(|| {
        Error::ModelRun(format!("only 1-D and 2-D {} is supported, not input {:?}", cx.node.op_type, input))
    })?;
    let attr = |name: &str, default: usize| -> Vec<usize> {
        cx.node.ints(name).map_or(vec![default; rank], |v| v.iter().map(|&x| x.max(0) as usize).collect())
    };
    let (strides, dilations) = (attr("strides", 1), attr("dilations", 1));
    let pads = cx.node.ints("pads").map(|p| p.iter().map(|&x| x.max(0) as usize).collect::<Vec<_>>());
    let auto_pad = cx.node.string("auto_pad").unwrap_or("NOTSET");
    let one = Axis { input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0 };
    let mut axes = [one, one];
    for d in 0..rank {
        let (i, o, k) = (
            at(input, 2 + d, "the input's shape")?,
            at(output, 2 + d, "the output's shape")?,
            at(kernel, d, "the kernel")?,
        );
        let (stride, dilation) = (at(&strides, d, "strides")?, at(&dilations, d, "dilations")?);
        let pad_begin = match auto_pad {
            "SAME_UPPER" | "SAME_LOWER" => {
                let needed =
                    (o.saturating_sub(1) * stride + k.saturating_sub(1) * dilation + 1).saturating_sub(i);
                if auto_pad == "SAME_UPPER" {
                    needed / 2
                } else {
                    needed.div_ceil(2)
                }
            }
            "VALID" => 0,
            _ => pads.as_ref().map_or(Ok(0), |p| at(p, d, "pads"))?,
        };
        // A 1-D node's one axis is the second (width).
        if let Some(slot) = axes.get_mut(d + 2 - rank) {
            *slot = Axis { input: i, output: o, kernel: k, stride, dilation, pad_begin };
        }
    }
    if axes.iter().any(|a| a.stride == 0 || a.dilation == 0 || a.kernel == 0) {
        return Err(Error::ModelRun("a kernel, stride or dilation of 0".into()));
    }
    Ok(axes)
}

fn conv(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    if cx.wants(1) {
        return Err(Error::ModelRun("Conv weights that depend on the input are not supported".into()));
    }
    let x_shape = cx.input_shape(0)?.to_vec();
    let w = cx.f32_input(1)?;
    let group = cx.node.int("group").unwrap_or(1).max(1) as usize;
    let kernel: Vec<usize> = w.shape().iter().skip(2).copied().collect();
    let [ah, aw] = geometry(cx, &x_shape, grad.shape(), &kernel)?;

    let (n, c) = (at(&x_shape, 0, "the input's shape")?, at(&x_shape, 1, "the input's shape")?);
    let m = at(w.shape(), 0, "the weights' shape")?;
    let (cg, mg) = (c / group, m / group);
    if cg * group != c || mg * group != m {
        return Err(Error::ModelRun(format!("{c} input and {m} output channels in {group} groups")));
    }
    let taps = ah.kernel * aw.kernel;
    // The weights as they are (standard, from the file): no copy of them every pass.
    let w_standard = w.as_standard_layout();
    let w2 = w_standard
        .view()
        .into_shape_with_order((m, cg * taps))
        .map_err(|e| Error::ModelRun(e.to_string()))?;
    let dy = super::standard(grad)
        .into_shape_with_order((n, m, ah.output * aw.output))
        .map_err(|e| Error::ModelRun(e.to_string()))?;

    let mut dx = ndarray::Array4::<f32>::zeros((n, c, ah.input, aw.input));
    let pointwise =
        taps == 1 && [ah, aw].iter().all(|a| a.stride == 1 && a.pad_begin == 0 && a.input == a.output);
    let plane_len = ah.input * aw.input;
    let out_len = ah.output * aw.output;
    if dx.is_empty() || out_len == 0 {
        let dx = dx.into_dyn().into_shape_with_order(x_shape).map_err(|e| Error::ModelRun(e.to_string()))?;
        return Ok(cx.only_first(dx));
    }
    let dx_data = dx.as_slice_mut().ok_or_else(|| Error::ModelRun("dx is not contiguous".into()))?;
    let dy_data = dy.as_slice().ok_or_else(|| Error::ModelRun("dy is not contiguous".into()))?;
    let w_data = w2.as_slice().ok_or_else(|| Error::ModelRun("weights are not contiguous".into()))?;
    // Every slice below lies inside its buffer by the shapes above; `get` says so to the reader.
    let outside = || Error::Bug("a convolution's gradient indexed outside its buffers".into());
    // The batch items' and groups' blocks of dx, in order: (b, g) is block b·group + g.
    for (block, dx_g) in dx_data.chunks_exact_mut(cg * plane_len).enumerate() {
        let (b, g) = (block / group, block % group);
        if mg == 1 {
            // One output channel per group (depthwise): each tap scatters dY scaled by
            // its weight; no column matrix needed.
            let dy_m = dy_data.get((b * m + g) * out_len..(b * m + g + 1) * out_len).ok_or_else(outside)?;
            let weights = w_data.get(g * cg * taps..(g + 1) * cg * taps).ok_or_else(outside)?;
            for (plane, weights) in dx_g.chunks_exact_mut(plane_len).zip(weights.chunks_exact(taps)) {
                for (tap, &weight) in weights.iter().enumerate() {
                    scatter_tap(plane, dy_m, weight, ah, aw, tap / aw.kernel, tap % aw.kernel);
                }
            }
            continue;
        }
        let w_g: ArrayView2<f32> = w2.slice(s![g * mg..(g + 1) * mg, ..]);
        let dy_g: ArrayView2<f32> = dy.slice(s![b, g * mg..(g + 1) * mg, ..]);
        let cols: Array2<f32> = w_g.t().dot(&dy_g);
        let cols = cols.as_slice().ok_or_else(|| Error::ModelRun("cols are not contiguous".into()))?;
        if pointwise {
            for (d, v) in dx_g.iter_mut().zip(cols) {
                *d += v;
            }
            continue;
        }
        for (plane, rows) in dx_g.chunks_exact_mut(plane_len).zip(cols.chunks_exact(taps * out_len)) {
            for (tap, row) in rows.chunks_exact(out_len).enumerate() {
                scatter_tap(plane, row, 1.0, ah, aw, tap / aw.kernel, tap % aw.kernel);
            }
        }
    }
    let dx = dx.into_dyn().into_shape_with_order(x_shape).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(dx))
}

/// The output positions `o` whose tap `k` reads inside the input: `lo..hi`.
fn valid_outputs(a: Axis, k: usize) -> (usize, usize) {
    let offset = (k * a.dilation) as isize - a.pad_begin as isize;
    // Need 0 <= o*stride + offset < input.
    let lo = if offset >= 0 { 0 } else { (-offset as usize).div_ceil(a.stride) };
    let last = a.input as isize - 1 - offset;
    let hi = if last < 0 { 0 } else { (last as usize / a.stride + 1).min(a.output) };
    (lo.min(hi), hi)
}

/// `plane[input position of (o, tap)] += scale · src[o]` for every output position whose tap
/// (`ki`, `kj`) falls inside the input: col2im for one row of the column matrix.
fn scatter_tap(plane: &mut [f32], src: &[f32], scale: f32, ah: Axis, aw: Axis, ki: usize, kj: usize) {
    let (oh_lo, oh_hi) = valid_outputs(ah, ki);
    let (ow_lo, ow_hi) = valid_outputs(aw, kj);
    if ow_lo >= ow_hi {
        return;
    }
    let col_offset = kj * aw.dilation;
    for oh in oh_lo..oh_hi {
        let ih = oh * ah.stride + ki * ah.dilation - ah.pad_begin;
        let first = ow_lo * aw.stride + col_offset - aw.pad_begin;
        // Inside by `valid_outputs`: ih < ah.input, and the row's taps < aw.input.
        let row = ih * aw.input;
        let Some(src_row) = src.get(oh * aw.output + ow_lo..oh * aw.output + ow_hi) else { return };
        if aw.stride == 1 {
            // Slices of equal length, so that the loop vectorises.
            let Some(dst_row) = plane.get_mut(row + first..row + first + src_row.len()) else { return };
            for (d, s) in dst_row.iter_mut().zip(src_row) {
                *d += scale * s;
            }
        } else {
            let Some(dst_row) = plane.get_mut(row + first..row + aw.input) else { return };
            for (d, s) in dst_row.iter_mut().step_by(aw.stride).zip(src_row) {
                *d += scale * s;
            }
        }
    }
}

pub(super) fn as4(a: &ArrayD<f32>) -> Result<ndarray::ArrayView4<'_, f32>> {
    let view = match *a.shape() {
        [n, c, w] => a.view().into_shape_with_order((n, c, 1, w)),
        [_, _, _, _] => {
            return a.view().into_dimensionality::<Ix4>().map_err(|e| Error::ModelRun(e.to_string()))
        }
        _ => {
            return Err(Error::ModelRun(format!("expected a 1-D or 2-D spatial tensor, got {:?}", a.shape())))
        }
    };
    view.map_err(|e| Error::ModelRun(e.to_string()))
}
