//! The small dense solves behind LIME and KernelSHAP: weighted ridge regression and weighted
//! least squares, through the normal equations in f64. The systems are at most a thousand
//! unknowns, so Gaussian elimination with partial pivoting is exact enough and needs no
//! LAPACK (which does not build for wasm).

use crate::error::{Error, Result};

/// Solves A·x = b for a square A (row-major, n×n), or says that A is singular.
pub fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs())).unwrap_or(col);
        if a[pivot * n + col].abs() <= scale * 1e-12 {
            return Err(Error::Explain(
                "the regression has too few distinct samples to fit every segment; raise the number of samples"
                    .into(),
            ));
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            if factor != 0.0 {
                for k in col..n {
                    a[row * n + k] -= factor * a[col * n + k];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row * n + row];
    }
    Ok(x)
}

/// A fitted linear model with its weighted R².
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub r_squared: f64,
}

/// Ridge regression with sample weights and an unpenalised intercept, as scikit-learn's
/// `Ridge(alpha).fit(X, y, sample_weight=w)`: centre X and y on their weighted means, solve
/// (XᵀWX + αI)β = XᵀWy, and put the intercept back. `rows` are the samples' features.
pub fn weighted_ridge(rows: &[Vec<f64>], y: &[f64], w: &[f64], alpha: f64) -> Result<Fit> {
    let p = rows.first().map_or(0, Vec::len);
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Err(Error::Explain("every sample has zero weight".into()));
    }
    let x_mean: Vec<f64> =
        (0..p).map(|j| rows.iter().zip(w).map(|(r, wi)| wi * r[j]).sum::<f64>() / total).collect();
    let y_mean = y.iter().zip(w).map(|(yi, wi)| wi * yi).sum::<f64>() / total;
    let mut normal = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    let mut centred = vec![0.0; p];
    for ((row, &yi), &wi) in rows.iter().zip(y).zip(w) {
        for j in 0..p {
            centred[j] = row[j] - x_mean[j];
        }
        for j in 0..p {
            let wj = wi * centred[j];
            rhs[j] += wj * (yi - y_mean);
            for k in j..p {
                normal[j * p + k] += wj * centred[k];
            }
        }
    }
    for j in 0..p {
        normal[j * p + j] += alpha;
        for k in 0..j {
            normal[j * p + k] = normal[k * p + j];
        }
    }
    let coefficients = solve(normal, rhs)?;
    let intercept = y_mean - x_mean.iter().zip(&coefficients).map(|(m, c)| m * c).sum::<f64>();
    let predict = |row: &[f64]| intercept + row.iter().zip(&coefficients).map(|(x, c)| x * c).sum::<f64>();
    let residual: f64 = rows.iter().zip(y).zip(w).map(|((r, yi), wi)| wi * (yi - predict(r)).powi(2)).sum();
    let spread: f64 = y.iter().zip(w).map(|(yi, wi)| wi * (yi - y_mean).powi(2)).sum();
    let r_squared = if spread > 0.0 { 1.0 - residual / spread } else { 1.0 };
    Ok(Fit { coefficients, intercept, r_squared })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_that_needs_pivoting() {
        let x = solve(vec![0.0, 2.0, 1.0, 1.0], vec![4.0, 3.0]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12);
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0]).is_err());
    }

    #[test]
    fn ridge_without_penalty_recovers_a_linear_function() {
        let rows: Vec<Vec<f64>> =
            (0..20).map(|i| vec![f64::from(i % 3), f64::from(i % 5), f64::from(i % 2)]).collect();
        let y: Vec<f64> = rows.iter().map(|r| 0.5 + 2.0 * r[0] - r[1] + 3.0 * r[2]).collect();
        let w: Vec<f64> = (0..20).map(|i| 1.0 + f64::from(i) / 10.0).collect();
        let fit = weighted_ridge(&rows, &y, &w, 0.0).unwrap();
        for (c, expected) in fit.coefficients.iter().zip([2.0, -1.0, 3.0]) {
            assert!((c - expected).abs() < 1e-10);
        }
        assert!((fit.intercept - 0.5).abs() < 1e-10 && (fit.r_squared - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ridge_matches_scikit_learn() {
        // sklearn.linear_model.Ridge(alpha=1).fit(X, y, sample_weight=w) on these numbers gives
        // coef_ = [0.5, 0.0], intercept_ = 1.0 and score (R²) 0.61538462.
        let rows = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0], vec![0.0, 0.0]];
        let y = [2.0, 1.0, 1.5, 0.5];
        let w = [1.0, 2.0, 1.0, 1.0];
        let fit = weighted_ridge(&rows, &y, &w, 1.0).unwrap();
        let expected = [0.5, 0.0];
        for (c, e) in fit.coefficients.iter().zip(expected) {
            assert!((c - e).abs() < 1e-7, "{c} against {e}");
        }
        assert!((fit.intercept - 1.0).abs() < 1e-7);
        assert!((fit.r_squared - 0.615_384_62).abs() < 1e-7);
    }
}
