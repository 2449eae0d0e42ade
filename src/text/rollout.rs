//! Attention rollout (Abnar & Zuidema 2020) and its gradient-weighted variant (Chefer et al.
//! 2021): how much each token's final representation draws on each input token, through every
//! layer, from the attention probabilities alone (and, for the second, their gradients).
//!
//! Rollout: per layer, the heads' mean A; Â = ½A + ½I (the residual connection), rows
//! renormalised; R = Â_L ⋯ Â_1. Gradient-weighted: per layer, Ā = mean over heads of
//! (∂y/∂A ⊙ A)⁺; R = I, then R ← R + Ā·R layer by layer. In both, row i of R says where token i
//! takes its information from; row 0 ([CLS]) is what a pooled classifier reads. Only the first
//! `tokens` rows and columns (the real tokens, not padding) are used.

use ndarray::{s, Array2, ArrayView3, Axis};

use crate::error::{Error, Result};

/// Attention rollout over layers given in order, each heads × T × T.
pub fn rollout(layers: &[ArrayView3<'_, f32>], tokens: usize) -> Result<Array2<f64>> {
    let mut result = Array2::<f64>::eye(tokens);
    for attention in layers {
        let mean = head_mean(attention, tokens, |a, _| a, None)?;
        let mut mixed = (&mean * 0.5) + &(Array2::<f64>::eye(tokens) * 0.5);
        for mut row in mixed.rows_mut() {
            let total: f64 = row.sum();
            if total > 0.0 {
                row /= total;
            }
        }
        result = mixed.dot(&result);
    }
    Ok(result)
}

/// Gradient-weighted rollout: `gradients[l]` is ∂y/∂A for `layers[l]`.
pub fn gradient_rollout(
    layers: &[ArrayView3<'_, f32>],
    gradients: &[ArrayView3<'_, f32>],
    tokens: usize,
) -> Result<Array2<f64>> {
    if layers.len() != gradients.len() {
        return Err(Error::Text(format!(
            "{} attention layers but {} gradients",
            layers.len(),
            gradients.len()
        )));
    }
    let mut result = Array2::<f64>::eye(tokens);
    for (attention, gradient) in layers.iter().zip(gradients) {
        let weighted = head_mean(attention, tokens, |a, g| (a * g).max(0.0), Some(gradient))?;
        result = &result + &weighted.dot(&result);
    }
    Ok(result)
}

/// The mean over heads of `value(a, g)` on the first `tokens` rows and columns.
fn head_mean(
    attention: &ArrayView3<'_, f32>,
    tokens: usize,
    value: impl Fn(f64, f64) -> f64,
    gradient: Option<&ArrayView3<'_, f32>>,
) -> Result<Array2<f64>> {
    let (heads, rows, cols) = attention.dim();
    if rows != cols || tokens > rows || heads == 0 || gradient.is_some_and(|g| g.dim() != attention.dim()) {
        return Err(Error::Text(format!(
            "attention of shape {:?} cannot be rolled out over {tokens} tokens",
            attention.shape()
        )));
    }
    let mut mean = Array2::<f64>::zeros((tokens, tokens));
    for h in 0..heads {
        let a = attention.index_axis(Axis(0), h);
        let a = a.slice(s![..tokens, ..tokens]);
        for ((i, j), m) in mean.indexed_iter_mut() {
            let g = gradient.map_or(1.0, |g| f64::from(g[[h, i, j]]));
            *m += value(f64::from(a[[i, j]]), g);
        }
    }
    Ok(mean / heads as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn identity_attention_rolls_out_to_the_identity() {
        let eye = Array3::from_shape_fn((4, 6, 6), |(_, i, j)| if i == j { 1.0f32 } else { 0.0 });
        let layers = vec![eye.view(); 6];
        let r = rollout(&layers, 6).unwrap();
        assert_eq!(r, Array2::<f64>::eye(6));
        // Padding beyond `tokens` is ignored.
        assert_eq!(rollout(&layers, 3).unwrap(), Array2::<f64>::eye(3));
    }

    #[test]
    fn rollout_rows_are_distributions_and_follow_the_definition() {
        // Two heads, three tokens, two layers; every row of every head sums to one.
        let a = Array3::from_shape_vec(
            (2, 3, 3),
            vec![
                0.5f32, 0.25, 0.25, 0.1, 0.8, 0.1, 0.0, 0.5, 0.5, 0.2, 0.2, 0.6, 0.3, 0.3, 0.4, 1.0, 0.0, 0.0,
            ],
        )
        .unwrap();
        let r = rollout(&[a.view(), a.view()], 3).unwrap();
        for row in r.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let mean =
            (a.index_axis(Axis(0), 0).mapv(f64::from) + a.index_axis(Axis(0), 1).mapv(f64::from)) / 2.0;
        let layer = (&mean + &Array2::<f64>::eye(3)) / 2.0; // rows already sum to one
        let want = layer.dot(&layer);
        // The f32 inputs sum to one only to within 1e-7, so the renormalisation moves them that much.
        assert!((&r - &want).iter().all(|d| d.abs() < 1e-6));
    }

    #[test]
    fn gradient_rollout_keeps_only_positive_relevance() {
        let a = Array3::from_elem((1, 2, 2), 0.5f32);
        let g = Array3::from_shape_vec((1, 2, 2), vec![2.0f32, -2.0, -1.0, 4.0]).unwrap();
        let r = gradient_rollout(&[a.view()], &[g.view()], 2).unwrap();
        // Ā = [[1, 0], [0, 2]]; R = I + Ā.
        assert_eq!(r, ndarray::array![[2.0, 0.0], [0.0, 3.0]]);
    }
}
