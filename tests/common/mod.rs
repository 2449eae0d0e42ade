//! Helpers the test files share. Each test file is its own crate and uses what it needs.
#![allow(dead_code)]

use ndarray::ArrayD;

/// A `.npy` reference tensor, as bytes (`include_bytes!`, so the tests also run in the browser).
pub fn npy(bytes: &[u8]) -> ArrayD<f32> {
    glimpse::tensor::from_npy(bytes).unwrap()
}

/// ‖got − want‖₂ / ‖want‖₂, summed in f64.
pub fn relative_l2(got: &ArrayD<f32>, want: &ArrayD<f32>) -> f32 {
    assert_eq!(got.shape(), want.shape());
    let diff: f64 = got.iter().zip(want).map(|(g, w)| f64::from(g - w).powi(2)).sum();
    let norm: f64 = want.iter().map(|w| f64::from(*w).powi(2)).sum();
    (diff / norm).sqrt() as f32
}
