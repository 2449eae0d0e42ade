//! `Resize` backwards, for `nearest` and `linear` modes over the last two axes (the common
//! image case); other axes must keep their size.

use ndarray::{Array3, ArrayD};

use super::{op, reshape, volume, Context, Grads, Op, Reads};
use crate::error::{Error, Result};
use crate::tensor::Value;

pub(super) const OPS: &[Op] = &[op("Resize", Reads::Inputs(&[2]) /* the scales */, resize)];

/// Where output position `o` samples the input, in input coordinates.
fn source(transform: &str, o: usize, scale: f32, out_len: usize, in_len: usize) -> f32 {
    let o = o as f32;
    match transform {
        "asymmetric" => o / scale,
        "align_corners" if out_len > 1 => o * (in_len as f32 - 1.0) / (out_len as f32 - 1.0),
        "align_corners" => 0.0,
        "pytorch_half_pixel" if out_len > 1 => (o + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => 0.0,
        _ => (o + 0.5) / scale - 0.5, // half_pixel
    }
}

fn resize(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    let (lead, [ih, iw]) = match shape.as_slice() {
        [lead @ .., ih, iw] => (lead, [*ih, *iw]),
        _ => return Err(Error::ModelRun("Resize gradients need two spatial axes".into())),
    };
    let (oh, ow) = match g.shape() {
        [g_lead @ .., oh, ow] if g_lead == lead => (*oh, *ow),
        _ => return Err(Error::ModelRun("Resize gradients need the leading axes to keep their size".into())),
    };
    if ih == 0 || iw == 0 {
        return Err(Error::ModelRun("Resize of an empty input".into()));
    }
    let mode = cx.node.string("mode").unwrap_or("nearest");
    if !matches!(mode, "nearest" | "linear") {
        return Err(Error::NotDifferentiable(vec![format!("Resize ({mode})")]));
    }
    let transform = cx.node.string("coordinate_transformation_mode").unwrap_or("half_pixel");
    let nearest_mode = cx.node.string("nearest_mode").unwrap_or("round_prefer_floor");
    // Scales: the explicit input when given, else output/input sizes.
    let scales: Option<Vec<f32>> =
        cx.inputs.get(2).copied().flatten().and_then(Value::as_f32).map(|s| s.iter().copied().collect());
    let scale_of = |axis_from_end: usize, out: usize, inp: usize| -> f32 {
        scales
            .as_ref()
            .filter(|s| s.len() == rank)
            .and_then(|s| s.get(rank - axis_from_end).copied())
            .unwrap_or(out as f32 / inp as f32)
    };
    // Each output position's contributing input taps and weights, per axis.
    let taps = |out_len: usize, in_len: usize, scale: f32| -> Vec<Vec<(usize, f32)>> {
        (0..out_len)
            .map(|o| {
                let x = source(transform, o, scale, out_len, in_len);
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
    let (rows, cols) = (taps(oh, ih, scale_of(2, oh, ih)), taps(ow, iw, scale_of(1, ow, iw)));
    let planes = volume(&shape, 0..rank - 2);
    let g3 = reshape(g, &[planes, oh, ow])?;
    let mut out = Array3::<f32>::zeros((planes, ih, iw));
    for (mut plane, g_plane) in out.outer_iter_mut().zip(g3.outer_iter()) {
        for (row_taps, g_row) in rows.iter().zip(g_plane.outer_iter()) {
            for (col_taps, &v) in cols.iter().zip(g_row.iter()) {
                for &(r, wr) in row_taps {
                    for &(c, wc) in col_taps {
                        if let Some(o) = plane.get_mut((r, c)) {
                            *o += v * wr * wc;
                        }
                    }
                }
            }
        }
    }
    Ok(cx.only_first(reshape(out.into_dyn(), &shape)?))
}
