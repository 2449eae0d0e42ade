//! Gradients of pooling: `MaxPool` (overlapping windows, pads, dilations, `ceil_mode`: the
//! output size is read from the actual output), `AveragePool` (`count_include_pad`) and
//! `GlobalAveragePool`.

use ndarray::{ArrayD, Axis as NdAxis};

use super::conv::{as4, geometry, Axis};
use super::ops::{Context, Grads};
use crate::error::{Error, Result};

fn kernel(cx: &Context) -> Result<Vec<usize>> {
    cx.node
        .ints("kernel_shape")
        .map(|k| k.iter().map(|&x| x.max(1) as usize).collect())
        .ok_or_else(|| Error::ModelRun("pooling without kernel_shape".into()))
}

/// Each output's gradient goes to the first maximum of its window (PyTorch's tie rule).
pub fn max_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let x = cx.f32_input(0)?;
    let [ah, aw] = geometry(cx, x.shape(), grad.shape(), &kernel(cx)?)?;
    let x4 = as4(x)?;
    let g4 = as4(&grad)?;
    let (n, c) = (x4.shape()[0], x4.shape()[1]);
    let mut dx = ndarray::Array4::<f32>::zeros((n, c, ah.input, aw.input));
    for b in 0..n {
        for ch in 0..c {
            let plane = x4.slice(ndarray::s![b, ch, .., ..]);
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let mut best: Option<(usize, usize, f32)> = None;
                    for ki in 0..ah.kernel {
                        let Some(ih) = ah.input_at(oh, ki) else { continue };
                        for kj in 0..aw.kernel {
                            let Some(iw) = aw.input_at(ow, kj) else { continue };
                            let v = plane[[ih, iw]];
                            if best.is_none_or(|(_, _, m)| v > m) {
                                best = Some((ih, iw, v));
                            }
                        }
                    }
                    if let Some((ih, iw, _)) = best {
                        dx[[b, ch, ih, iw]] += g4[[b, ch, oh, ow]];
                    }
                }
            }
        }
    }
    let dx = dx.into_dyn().into_shape_with_order(x.shape()).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(dx))
}

pub fn average_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let x_shape = cx.input_shape(0)?.to_vec();
    let [ah, aw] = geometry(cx, &x_shape, grad.shape(), &kernel(cx)?)?;
    let include_pad = cx.node.int("count_include_pad").unwrap_or(0) != 0;
    let pads_end = pads_end(cx, x_shape.len() - 2);
    let g4 = as4(&grad)?;
    let (n, c) = (x_shape[0], x_shape[1]);
    let mut dx = ndarray::Array4::<f32>::zeros((n, c, ah.input, aw.input));
    // Taps that count towards a window's divisor: inside the input, or inside the pads too.
    let counted = |a: &Axis, end: usize, o: usize| -> usize {
        (0..a.kernel)
            .filter(|&k| {
                let p = (o * a.stride + k * a.dilation) as isize - a.pad_begin as isize;
                if include_pad {
                    p >= -(a.pad_begin as isize) && p < (a.input + end) as isize
                } else {
                    (0..a.input as isize).contains(&p)
                }
            })
            .count()
    };
    for oh in 0..ah.output {
        let rows = counted(&ah, pads_end[0], oh);
        for ow in 0..aw.output {
            let divisor = (rows * counted(&aw, pads_end[1], ow)).max(1) as f32;
            for ki in 0..ah.kernel {
                let Some(ih) = ah.input_at(oh, ki) else { continue };
                for kj in 0..aw.kernel {
                    let Some(iw) = aw.input_at(ow, kj) else { continue };
                    for b in 0..n {
                        for ch in 0..c {
                            dx[[b, ch, ih, iw]] += g4[[b, ch, oh, ow]] / divisor;
                        }
                    }
                }
            }
        }
    }
    let dx = dx.into_dyn().into_shape_with_order(x_shape).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(dx))
}

/// The pads after the last input element, per axis, as `[height, width]` (1-D: `[0, length]`).
fn pads_end(cx: &Context, spatial: usize) -> [usize; 2] {
    let ends: Vec<usize> = cx
        .node
        .ints("pads")
        .map(|p| p[spatial..].iter().map(|&x| x.max(0) as usize).collect())
        .unwrap_or_default();
    if spatial == 1 {
        [0, ends.first().copied().unwrap_or(0)]
    } else {
        [ends.first().copied().unwrap_or(0), ends.get(1).copied().unwrap_or(0)]
    }
}

pub fn global_average_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let count: usize = shape[2..].iter().product();
    let mut g = grad / count.max(1) as f32;
    // grad is [N, C, 1, 1, ...]: broadcast it over the spatial axes.
    while g.ndim() > 2 {
        g = g.index_axis_move(NdAxis(2), 0);
    }
    for _ in 2..shape.len() {
        let at = g.ndim();
        g = g.insert_axis(NdAxis(at));
    }
    Ok(cx.only_first(super::broadcast::broadcast_to(&g, &shape)?))
}
