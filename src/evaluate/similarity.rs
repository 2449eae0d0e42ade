//! How alike two maps are: Spearman's rank correlation, as SciPy's `spearmanr` (ties share
//! their average rank), and the structural similarity index, as scikit-image's
//! `structural_similarity` at its defaults (a 7×7 uniform window, sample covariances,
//! K₁ = 0.01, K₂ = 0.03, the mean over the windows that fit inside the image).

use std::cmp::Ordering;

/// The ranks of `values`, 1-based, ties given the average of the ranks they span.
fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].partial_cmp(&values[b]).unwrap_or(Ordering::Equal));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold equal values: ranks start+1..=end, averaged.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Pearson's correlation, NaN when either side is constant.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt()
}

/// Spearman's ρ of two equally long lists; NaN when either is constant (as SciPy) or they
/// hold a NaN.
pub fn spearman(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.len() < 2 || a.iter().chain(b).any(|v| v.is_nan()) {
        return f32::NAN;
    }
    pearson(&ranks(a), &ranks(b)) as f32
}

/// The window's side.
const WINDOW: usize = 7;

/// The mean of each `WINDOW`×`WINDOW` window that fits inside the h×w image, row by row.
fn window_means(image: &[f64], h: usize, w: usize) -> Vec<f64> {
    let (oh, ow) = (h + 1 - WINDOW, w + 1 - WINDOW);
    // Sums along rows, then along columns.
    let mut rows = vec![0.0; h * ow];
    for y in 0..h {
        for x in 0..ow {
            rows[y * ow + x] = image[y * w + x..y * w + x + WINDOW].iter().sum();
        }
    }
    let area = (WINDOW * WINDOW) as f64;
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..WINDOW).map(|d| rows[(y + d) * ow + x]).sum::<f64>() / area;
        }
    }
    out
}

/// The mean structural similarity of two h×w images whose values span `data_range`; `None`
/// when an image is smaller than the window.
pub fn ssim(a: &[f32], b: &[f32], h: usize, w: usize, data_range: f32) -> Option<f32> {
    if h < WINDOW || w < WINDOW || a.len() != h * w || b.len() != h * w {
        return None;
    }
    let a: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
    let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    let product = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).collect::<Vec<f64>>();
    let (ma, mb) = (window_means(&a, h, w), window_means(&b, h, w));
    let (maa, mbb, mab) = (
        window_means(&product(&a, &a), h, w),
        window_means(&product(&b, &b), h, w),
        window_means(&product(&a, &b), h, w),
    );
    let area = (WINDOW * WINDOW) as f64;
    let sample = area / (area - 1.0);
    let range = f64::from(data_range);
    let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
    let mut total = 0.0;
    for i in 0..ma.len() {
        let (ux, uy) = (ma[i], mb[i]);
        let vx = sample * (maa[i] - ux * ux);
        let vy = sample * (mbb[i] - uy * uy);
        let vxy = sample * (mab[i] - ux * uy);
        total += (2.0 * ux * uy + c1) * (2.0 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    Some((total / ma.len() as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn spearman_is_one_for_any_increasing_map_and_minus_one_reversed() {
        let a = [0.1, 0.5, 0.2, 9.0, 3.0];
        let b: Vec<f32> = a.iter().map(|v| v * v * v + 1.0).collect();
        assert!((spearman(&a, &b) - 1.0).abs() < 1e-6);
        let c: Vec<f32> = a.iter().map(|v| -v).collect();
        assert!((spearman(&a, &c) + 1.0).abs() < 1e-6);
        assert!(spearman(&a, &[1.0; 5]).is_nan());
    }

    #[test]
    fn an_image_is_wholly_similar_to_itself() {
        let image: Vec<f32> = (0..100).map(|i| ((i * 37) % 11) as f32).collect();
        assert!((ssim(&image, &image, 10, 10, 10.0).unwrap() - 1.0).abs() < 1e-6);
        assert_eq!(ssim(&image, &image, 5, 20, 10.0), None);
    }
}
