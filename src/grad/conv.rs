//! The input gradient of `Conv` (1-D and 2-D; groups, strides, dilations, explicit and
//! automatic pads): per batch item and group, `cols = Wᵀ · dY`, then `cols` is scattered back
//! onto the input (col2im). Weight gradients are never needed: explanations differentiate with
//! respect to inputs and activations only.

use ndarray::{s, Array2, ArrayD, ArrayView2, Ix4};

use super::ops::{Context, Grads};
use crate::error::{Error, Result};

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
    let mut axes = Vec::with_capacity(2);
    if rank == 1 {
        axes.push(Axis { input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0 });
    }
    for d in 0..rank {
        let (i, o, k) = (input[2 + d], output[2 + d], kernel[d]);
        let pad_begin = match auto_pad {
            "SAME_UPPER" | "SAME_LOWER" => {
                let needed =
                    ((o.saturating_sub(1)) * strides[d] + (k - 1) * dilations[d] + 1).saturating_sub(i);
                if auto_pad == "SAME_UPPER" {
                    needed / 2
                } else {
                    needed.div_ceil(2)
                }
            }
            "VALID" => 0,
            _ => pads.as_ref().map_or(0, |p| p[d]),
        };
        axes.push(Axis {
            input: i,
            output: o,
            kernel: k,
            stride: strides[d],
            dilation: dilations[d],
            pad_begin,
        });
    }
    Ok([axes[0], axes[1]])
}

pub fn conv(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    if cx.wants.get(1) == Some(&true) {
        return Err(Error::ModelRun("Conv weights that depend on the input are not supported".into()));
    }
    let x_shape = cx.input_shape(0)?.to_vec();
    let w = cx.f32_input(1)?;
    let group = cx.node.int("group").unwrap_or(1).max(1) as usize;
    let kernel: Vec<usize> = w.shape()[2..].to_vec();
    let [ah, aw] = geometry(cx, &x_shape, grad.shape(), &kernel)?;

    let (n, c) = (x_shape[0], x_shape[1]);
    let m = w.shape()[0];
    let (cg, mg) = (c / group, m / group);
    let taps = ah.kernel * aw.kernel;
    let w2 = w
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((m, cg * taps))
        .map_err(|e| Error::ModelRun(e.to_string()))?;
    let dy = grad
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, m, ah.output * aw.output))
        .map_err(|e| Error::ModelRun(e.to_string()))?;

    let mut dx = ndarray::Array4::<f32>::zeros((n, c, ah.input, aw.input));
    let pointwise =
        taps == 1 && [ah, aw].iter().all(|a| a.stride == 1 && a.pad_begin == 0 && a.input == a.output);
    let plane_len = ah.input * aw.input;
    let out_len = ah.output * aw.output;
    let dx_data = dx.as_slice_mut().ok_or_else(|| Error::ModelRun("dx is not contiguous".into()))?;
    let dy_data = dy.as_slice().ok_or_else(|| Error::ModelRun("dy is not contiguous".into()))?;
    let w_data = w2.as_slice().ok_or_else(|| Error::ModelRun("weights are not contiguous".into()))?;
    for b in 0..n {
        for g in 0..group {
            let dx_g = &mut dx_data[(b * c + g * cg) * plane_len..(b * c + (g + 1) * cg) * plane_len];
            if mg == 1 {
                // One output channel per group (depthwise): each tap scatters dY scaled by
                // its weight; no column matrix needed.
                let dy_m = &dy_data[(b * m + g) * out_len..(b * m + g + 1) * out_len];
                for ci in 0..cg {
                    let plane = &mut dx_g[ci * plane_len..(ci + 1) * plane_len];
                    for tap in 0..taps {
                        let weight = w_data[g * cg * taps + ci * taps + tap];
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
            for ci in 0..cg {
                let plane = &mut dx_g[ci * plane_len..(ci + 1) * plane_len];
                for tap in 0..taps {
                    let row = &cols[(ci * taps + tap) * out_len..(ci * taps + tap + 1) * out_len];
                    scatter_tap(plane, row, 1.0, ah, aw, tap / aw.kernel, tap % aw.kernel);
                }
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
        let dst_row = &mut plane[ih * aw.input..(ih + 1) * aw.input];
        let src_row = &src[oh * aw.output + ow_lo..oh * aw.output + ow_hi];
        let first = ow_lo * aw.stride + col_offset - aw.pad_begin;
        if aw.stride == 1 {
            for (d, s) in dst_row[first..first + src_row.len()].iter_mut().zip(src_row) {
                *d += scale * s;
            }
        } else {
            for (d, s) in dst_row[first..].iter_mut().step_by(aw.stride).zip(src_row) {
                *d += scale * s;
            }
        }
    }
}

pub(super) fn as4(a: &ArrayD<f32>) -> Result<ndarray::ArrayView4<'_, f32>> {
    let s = a.shape();
    let view = match s.len() {
        3 => a.view().into_shape_with_order((s[0], s[1], 1, s[2])),
        4 => return a.view().into_dimensionality::<Ix4>().map_err(|e| Error::ModelRun(e.to_string())),
        _ => return Err(Error::ModelRun(format!("expected a 1-D or 2-D spatial tensor, got {s:?}"))),
    };
    view.map_err(|e| Error::ModelRun(e.to_string()))
}
