//! NumPy-style broadcasting, backwards: a gradient shaped like the broadcast result is summed
//! down to the shape of the operand that was broadcast.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::error::{Error, Result};

/// Sums `grad` over the axes along which an operand of `shape` was broadcast.
pub fn unbroadcast(grad: ArrayD<f32>, shape: &[usize]) -> Result<ArrayD<f32>> {
    if grad.shape() == shape {
        return Ok(grad);
    }
    let extra = grad
        .ndim()
        .checked_sub(shape.len())
        .ok_or_else(|| Error::ModelRun(format!("cannot unbroadcast {:?} to {shape:?}", grad.shape())))?;
    let mut g = grad;
    for _ in 0..extra {
        g = g.sum_axis(Axis(0));
    }
    for (axis, &n) in shape.iter().enumerate() {
        if n == 1 && g.shape().get(axis).is_some_and(|&m| m != 1) {
            g = g.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        }
    }
    if g.shape() != shape {
        return Err(Error::ModelRun(format!("cannot unbroadcast to {shape:?}: got {:?}", g.shape())));
    }
    Ok(g)
}

/// Broadcasts `a` to `shape` as an owned array.
pub fn broadcast_to(a: &ArrayD<f32>, shape: &[usize]) -> Result<ArrayD<f32>> {
    a.broadcast(IxDyn(shape))
        .map(|v| v.to_owned())
        .ok_or_else(|| Error::ModelRun(format!("cannot broadcast {:?} to {shape:?}", a.shape())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sums_over_broadcast_axes() {
        let g = ArrayD::from_elem(vec![2, 3, 4], 1.0f32);
        assert_eq!(unbroadcast(g.clone(), &[3, 1]).unwrap(), array![[8.0f32], [8.0], [8.0]].into_dyn());
        assert_eq!(unbroadcast(g.clone(), &[]).unwrap(), ArrayD::from_elem(vec![], 24.0));
        assert_eq!(unbroadcast(g, &[2, 1, 4]).unwrap(), ArrayD::from_elem(vec![2, 1, 4], 3.0));
    }
}
