//! Operators that move values without changing them: transposes, reshapes, concatenation and
//! splitting, slicing, padding, broadcasting, selection and gathering.

use ndarray::{Array3, ArrayD, Axis, IxDyn, Slice, Zip};

use super::broadcast::unbroadcast;
use super::{at, axis, copy, op, reshape, standard, volume, Context, Grads, Op, Reads, Vjp};
use crate::error::{Error, Result};
use crate::tensor::Value;

pub(super) const OPS: &[Op] = &[
    op("Transpose", Reads::Shapes, transpose),
    op("Reshape", Reads::Shapes, reshape_back),
    op("Flatten", Reads::Shapes, reshape_back),
    op("Squeeze", Reads::Shapes, reshape_back),
    op("Unsqueeze", Reads::Shapes, reshape_back),
    op("Concat", Reads::Shapes, concat),
    Op { name: "Split", reads: Reads::Shapes, vjp: Vjp::Every(split) },
    // Starts, ends, axes and steps.
    op("Slice", Reads::Inputs(&[1, 2, 3, 4]), slice),
    op("Expand", Reads::Shapes, |cx, g| Ok(cx.only_first(unbroadcast(g, cx.input_shape(0)?)?))),
    // The condition.
    op("Where", Reads::Inputs(&[0]), where_),
    // The pads and the axes.
    op("Pad", Reads::Inputs(&[1, 3]), pad),
    // The indices.
    op("Gather", Reads::Inputs(&[1]), gather),
];

fn transpose(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let rank = cx.rank()?;
    let perm: Vec<usize> = cx
        .node
        .ints("perm")
        .map_or_else(|| (0..rank).rev().collect(), |p| p.iter().map(|&a| a as usize).collect());
    // `model::check` has refused a `perm` that is not a permutation of the axes.
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        let slot =
            inverse.get_mut(p).ok_or_else(|| Error::ModelRun(format!("perm names axis {p} of {rank}")))?;
        *slot = i;
    }
    Ok(cx.only_first(standard(g.permuted_axes(IxDyn(&inverse)))))
}

fn reshape_back(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    Ok(cx.only_first(reshape(g, cx.input_shape(0)?)?))
}

fn concat(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let ax = axis(cx.node.int("axis").unwrap_or(0), g.ndim())?;
    let mut start = 0;
    let mut grads = Vec::with_capacity(cx.inputs.len());
    for (shape, &wanted) in cx.input_shapes.iter().zip(cx.wants) {
        let len = shape.map_or(0, |s| s.get(ax).copied().unwrap_or(0));
        if start + len > g.len_of(Axis(ax)) {
            return Err(Error::ModelRun("the inputs are longer than the output".into()));
        }
        grads.push(wanted.then(|| copy(g.slice_axis(Axis(ax), Slice::from(start..start + len)))));
        start += len;
    }
    Ok(grads)
}

fn split(cx: &Context, grads: Vec<Option<ArrayD<f32>>>) -> Result<Grads> {
    let x_shape = cx.input_shape(0)?.to_vec();
    let ax = axis(cx.node.int("axis").unwrap_or(0), x_shape.len())?;
    let parts: Vec<ArrayD<f32>> = grads
        .into_iter()
        .enumerate()
        .map(|(i, g)| match g {
            Some(g) => Ok(g),
            None => Ok(ArrayD::zeros(cx.output_shape(i)?)),
        })
        .collect::<Result<_>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let joined = ndarray::concatenate(Axis(ax), &views).map_err(|e| Error::ModelRun(e.to_string()))?;
    Ok(cx.only_first(joined))
}

fn slice(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    // From opset 10 starts/ends/axes/steps are inputs; before, attributes.
    let get =
        |input: usize, attr: &str| cx.ints_input(input).or_else(|| cx.node.ints(attr).map(<[i64]>::to_vec));
    let starts = get(1, "starts").unwrap_or_default();
    let ends = get(2, "ends").unwrap_or_default();
    let axes = get(3, "axes").unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = cx.ints_input(4).unwrap_or_else(|| vec![1; starts.len()]);
    let mut out = ArrayD::<f32>::zeros(shape.clone());
    let mut view = out.view_mut();
    for i in 0..starts.len() {
        let a = axis(at(&axes, i, "Slice's axes")?, rank)?;
        let dim = at(&shape, a, "the input's shape")? as i64;
        let step = at(&steps, i, "Slice's steps")?;
        let (start, end) = (at(&starts, i, "Slice's starts")?, at(&ends, i, "Slice's ends")?);
        let resolve = |v: i64| if v < 0 { v + dim } else { v };
        let slice = match step {
            0 => return Err(Error::ModelRun("a Slice step of 0".into())),
            1.. => Slice::new(
                resolve(start).clamp(0, dim) as isize,
                Some(resolve(end).clamp(0, dim) as isize),
                step as isize,
            ),
            // ndarray slices negative steps from the end of [begin, end): express (end, start].
            _ => Slice::new(
                (resolve(end).clamp(-1, dim - 1) + 1) as isize,
                Some((resolve(start).clamp(-1, dim - 1) + 1) as isize),
                step as isize,
            ),
        };
        view.slice_axis_inplace(Axis(a), slice);
    }
    if view.shape() != g.shape() {
        return Err(Error::ModelRun(format!(
            "a slice of {:?} for a gradient of {:?}",
            view.shape(),
            g.shape()
        )));
    }
    view.assign(&g);
    Ok(cx.only_first(out))
}

fn where_(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let condition = match cx.input(0)? {
        Value::Bool(c) => c.clone(),
        other => ArrayD::from_shape_vec(other.shape(), other.to_i64_vec().iter().map(|&v| v != 0).collect())
            .map_err(|e| Error::ModelRun(e.to_string()))?,
    };
    let condition = condition
        .broadcast(g.raw_dim())
        .ok_or_else(|| Error::ModelRun("Where: condition does not broadcast".into()))?
        .to_owned();
    let pick = |when: bool, i: usize| -> Result<Option<ArrayD<f32>>> {
        if !cx.wants(i) {
            return Ok(None);
        }
        let mut d = g.clone();
        Zip::from(&mut d).and(&condition).for_each(|d, &c| {
            if c != when {
                *d = 0.0
            }
        });
        unbroadcast(d, cx.input_shape(i)?).map(Some)
    };
    Ok(vec![None, pick(true, 1)?, pick(false, 2)?])
}

fn pad(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let rank = shape.len();
    let pads = cx
        .ints_input(1)
        .or_else(|| cx.node.ints("pads").map(<[i64]>::to_vec))
        .ok_or_else(|| Error::ModelRun("Pad without pads".into()))?;
    // Opset 18 may name the padded axes; default: all of them.
    let axes: Vec<usize> = match cx.ints_input(3) {
        Some(a) => a.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    // Pads before and after each axis.
    let mut around = vec![(0i64, 0i64); rank];
    for (i, &a) in axes.iter().enumerate() {
        let pads = (at(&pads, i, "Pad's pads")?, at(&pads, i + axes.len(), "Pad's pads")?);
        if pads.0 < 0 || pads.1 < 0 {
            return Err(Error::NotDifferentiable(vec!["Pad (negative pads)".into()]));
        }
        if let Some(slot) = around.get_mut(a) {
            *slot = pads;
        }
    }
    let mode = cx.node.string("mode").unwrap_or("constant");
    if g.ndim() != rank {
        return Err(Error::ModelRun(format!("a gradient of rank {} for an input of rank {rank}", g.ndim())));
    }
    let mut grad = g;
    // Undo the padding one axis at a time: crop, and for reflect/edge fold the pads back.
    for (a, (&n, &(b, e))) in shape.iter().zip(&around).enumerate() {
        let n = n as i64;
        let len = grad.len_of(Axis(a)) as i64;
        let folds = match mode {
            "constant" => true,
            "reflect" => b < n && e < n,
            _ => n > 0 || b + e == 0,
        };
        if b + n + e != len || !folds {
            return Err(Error::ModelRun(format!("pads {b} and {e} around {n} make {len}")));
        }
        if b == 0 && e == 0 {
            continue;
        }
        let mut core = copy(grad.slice_axis(Axis(a), Slice::from(b as isize..(len - e) as isize)));
        if mode != "constant" {
            // Output position p (before the input) copies input index src, and after it, q.
            let before = (0..b).map(|p| (p, if mode == "reflect" { b - p } else { 0 }));
            let after = (0..e).map(|q| (b + n + q, if mode == "reflect" { n - 2 - q } else { n - 1 }));
            for (position, src) in before.chain(after) {
                let lane = grad.index_axis(Axis(a), position as usize);
                let mut target = core.index_axis_mut(Axis(a), src as usize);
                target += &lane;
            }
        }
        grad = core;
    }
    Ok(cx.only_first(grad))
}

fn gather(cx: &Context, g: ArrayD<f32>) -> Result<Grads> {
    let shape = cx.input_shape(0)?.to_vec();
    let ax = axis(cx.node.int("axis").unwrap_or(0), shape.len())?;
    let indices = cx.input(1)?.to_i64_vec();
    let dim = at(&shape, ax, "the input's shape")?;
    // g has shape data[..ax] ++ indices.shape ++ data[ax+1..]; scatter-add along `ax`.
    let (outer, inner) = (volume(&shape, 0..ax), volume(&shape, ax + 1..shape.len()));
    let g = reshape(g, &[outer, indices.len(), inner])?;
    let mut out3 = Array3::<f32>::zeros((outer, dim, inner));
    for (k, &index) in indices.iter().enumerate() {
        let i = if index < 0 { index + dim as i64 } else { index };
        if !(0..dim as i64).contains(&i) {
            return Err(Error::ModelRun(format!("Gather index {index} is out of range")));
        }
        let mut lane = out3.index_axis_mut(Axis(1), i as usize);
        lane += &g.index_axis(Axis(1), k);
    }
    Ok(cx.only_first(reshape(out3.into_dyn(), &shape)?))
}
