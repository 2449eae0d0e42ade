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

/// A colourful square: every channel different, so a wrong channel order shows.
pub fn rgba(side: u32) -> Vec<u8> {
    (0..side * side)
        .flat_map(|i| [(i * 7 % 256) as u8, (i * 13 % 251) as u8, (255 - i * 3 % 256) as u8, 255])
        .collect()
}

/// Every image method the model can run makes a finite map through the page's session.
pub fn every_method_runs(
    session: &mut glimpse::session::Session<glimpse::session::ImageWorkspace>,
    what: &str,
) {
    let unavailable = session.work().explainer.unavailable();
    for (tile, method) in glimpse::explain::Method::all().into_iter().enumerate() {
        if unavailable.iter().any(|(id, _)| *id == method.name()) {
            continue;
        }
        let json = format!(r#"{{"method": "{}"}}"#, method.name());
        session
            .explain(tile as u32, &json, 0, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{what} {json}: {e}"));
        let values = session.values(tile as u32).unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{what} {json}");
    }
}
