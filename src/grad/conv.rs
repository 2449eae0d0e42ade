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
    let x_shape = cx.input(0)?.shape().to_vec();
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
    for b in 0..n {
        for g in 0..group {
            let w_g: ArrayView2<f32> = w2.slice(s![g * mg..(g + 1) * mg, ..]);
            let dy_g: ArrayView2<f32> = dy.slice(s![b, g * mg..(g + 1) * mg, ..]);
            let cols: Array2<f32> = w_g.t().dot(&dy_g);
            let mut dx_g = dx.slice_mut(s![b, g * cg..(g + 1) * cg, .., ..]);
            if pointwise {
                let shape = dx_g.raw_dim();
                dx_g += &cols.into_shape_with_order(shape).map_err(|e| Error::ModelRun(e.to_string()))?;
                continue;
            }
            for ci in 0..cg {
                let mut plane = dx_g.slice_mut(s![ci, .., ..]);
                for ki in 0..ah.kernel {
                    for kj in 0..aw.kernel {
                        let row = cols.row((ci * ah.kernel + ki) * aw.kernel + kj);
                        for oh in 0..ah.output {
                            let Some(ih) = ah.input_at(oh, ki) else { continue };
                            for ow in 0..aw.output {
                                if let Some(iw) = aw.input_at(ow, kj) {
                                    plane[[ih, iw]] += row[oh * aw.output + ow];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let dx = dx.into_dyn().into_shape_with_order(x_shape).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(dx))
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
