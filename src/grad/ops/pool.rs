//! Gradients of pooling: `MaxPool` (overlapping windows, pads, dilations, `ceil_mode`: the
//! output size is read from the actual output), `AveragePool` (`count_include_pad`) and
//! `GlobalAveragePool`.

use ndarray::{ArrayD, Axis as NdAxis};

use super::broadcast::broadcast_to;
use super::conv::{as4, geometry, Axis};
use super::{at, op, volume, Context, Grads, Op, Reads};
use crate::error::{Error, Result};

pub(super) const OPS: &[Op] = &[
    // The first maximum of each window is found again from the input.
    op("MaxPool", Reads::Everything, max_pool),
    op("AveragePool", Reads::Shapes, average_pool),
    op("GlobalAveragePool", Reads::Shapes, global_average_pool),
];

fn kernel(cx: &Context) -> Result<Vec<usize>> {
    cx.node
        .ints("kernel_shape")
        .map(|k| k.iter().map(|&x| x.max(1) as usize).collect())
        .ok_or_else(|| Error::ModelRun("pooling without kernel_shape".into()))
}

/// Each output's gradient goes to the first maximum of its window (PyTorch's tie rule).
fn max_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let x = cx.f32_input(0)?;
    let [ah, aw] = geometry(cx, x.shape(), grad.shape(), &kernel(cx)?)?;
    let x4 = as4(x)?;
    let g4 = as4(&grad)?;
    let (n, c, _, _) = x4.dim();
    same_items(&g4, n, c)?;
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
                            let Some(&v) = plane.get((ih, iw)) else { continue };
                            if best.is_none_or(|(_, _, m)| v > m) {
                                best = Some((ih, iw, v));
                            }
                        }
                    }
                    if let (Some((ih, iw, _)), Some(&g)) = (best, g4.get((b, ch, oh, ow))) {
                        if let Some(d) = dx.get_mut((b, ch, ih, iw)) {
                            *d += g;
                        }
                    }
                }
            }
        }
    }
    let dx = dx.into_dyn().into_shape_with_order(x.shape()).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(dx))
}

fn average_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let x_shape = cx.input_shape(0)?.to_vec();
    let [ah, aw] = geometry(cx, &x_shape, grad.shape(), &kernel(cx)?)?;
    let include_pad = cx.node.int("count_include_pad").unwrap_or(0) != 0;
    let [end_h, end_w] = pads_end(cx, x_shape.len().saturating_sub(2));
    let g4 = as4(&grad)?;
    let (n, c) = (at(&x_shape, 0, "the input's shape")?, at(&x_shape, 1, "the input's shape")?);
    same_items(&g4, n, c)?;
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
        let rows = counted(&ah, end_h, oh);
        for ow in 0..aw.output {
            let divisor = (rows * counted(&aw, end_w, ow)).max(1) as f32;
            for ki in 0..ah.kernel {
                let Some(ih) = ah.input_at(oh, ki) else { continue };
                for kj in 0..aw.kernel {
                    let Some(iw) = aw.input_at(ow, kj) else { continue };
                    for b in 0..n {
                        for ch in 0..c {
                            if let (Some(d), Some(&g)) =
                                (dx.get_mut((b, ch, ih, iw)), g4.get((b, ch, oh, ow)))
                            {
                                *d += g / divisor;
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

/// Checks that the gradient has the input's batch items and channels.
fn same_items(g4: &ndarray::ArrayView4<f32>, n: usize, c: usize) -> Result<()> {
    let (gn, gc, _, _) = g4.dim();
    if (gn, gc) == (n, c) {
        Ok(())
    } else {
        Err(Error::ModelRun(format!("a gradient of {gn}×{gc} for an input of {n}×{c}")))
    }
}

/// The pads after the last input element, per axis, as `[height, width]` (1-D: `[0, length]`).
fn pads_end(cx: &Context, spatial: usize) -> [usize; 2] {
    let ends: Vec<usize> = cx
        .node
        .ints("pads")
        .map(|p| p.iter().skip(spatial).map(|&x| x.max(0) as usize).collect())
        .unwrap_or_default();
    if spatial == 1 {
        [0, ends.first().copied().unwrap_or(0)]
    } else {
        [ends.first().copied().unwrap_or(0), ends.get(1).copied().unwrap_or(0)]
    }
}

fn global_average_pool(cx: &Context, grad: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let count = volume(&shape, 2..shape.len());
    let mut g = grad / count.max(1) as f32;
    // grad is [N, C, 1, 1, ...]: broadcast it over the spatial axes.
    while g.ndim() > 2 {
        g = g.index_axis_move(NdAxis(2), 0);
    }
    for _ in 2..shape.len() {
        let at = g.ndim();
        g = g.insert_axis(NdAxis(at));
    }
    Ok(cx.only_first(broadcast_to(&g, &shape)?))
}
