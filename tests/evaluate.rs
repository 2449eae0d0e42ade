//! The faithfulness metrics against their definitions: deletion and insertion against the RISE
//! repository's `evaluation.py`, re-implemented in NumPy with onnxruntime
//! (`data/evaluate/make_references.py`), on EfficientNet-Lite0 with maps made by Captum and
//! pytorch-grad-cam, ranked as Glimpse displays them; and the sessions' metric verbs.

mod common;
use common::npy;

use glimpse::evaluate::{gkern, Features, Measure};
use glimpse::explain::{Display, Explainer};
use glimpse::render::displayed;
use ndarray::ArrayD;
use serde_json::Value as Json;

const MODEL: &[u8] = include_bytes!("../models/efficientnet-lite0.onnx");

fn references() -> Json {
    serde_json::from_str(include_str!("data/evaluate/references.json")).unwrap()
}

fn floats(value: &Json) -> Vec<f32> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

/// A reference map as its method's tile displays it, one value per input pixel.
fn values(method: &str) -> Vec<f32> {
    let (map, display): (ArrayD<f32>, Display) = match method {
        "gradient" => {
            (npy(include_bytes!("data/explain/efficientnet_saliency.npy")), Display::MaxAbsOverChannels)
        }
        "occlusion" => {
            (npy(include_bytes!("data/explain/efficientnet_occlusion_32_16.npy")), Display::MeanOverChannels)
        }
        "grad-cam" => (npy(include_bytes!("data/explain/efficientnet_grad_cam.npy")), Display::Magnitude),
        other => panic!("no reference map for {other}"),
    };
    displayed(&map, display, 224, 224).unwrap().iter().copied().collect()
}

#[test]
fn rise_blur_kernel_is_scipys_gaussian_filter_of_a_delta() {
    let want = references()["gkern_11_5"].clone();
    let kernel = gkern(11, 5.0);
    for (row, want_row) in kernel.outer_iter().zip(want.as_array().unwrap()) {
        for (got, want) in row.iter().zip(floats(want_row)) {
            assert!((got - want).abs() < 1e-7, "{got} against {want}");
        }
    }
}

#[test]
fn deletion_and_insertion_match_rises_evaluation_on_efficientnet_lite0() {
    let explainer = Explainer::from_bytes(MODEL).unwrap();
    let features = Features::Pixels { input: npy(include_bytes!("data/chelsea_input.npy")) };
    let refs = references();
    let target = refs["target"].as_u64().unwrap() as usize;
    for run in refs["runs"].as_array().unwrap() {
        let method = run["method"].as_str().unwrap();
        let mut settings = serde_json::json!({"metric": run["metric"], "order": run["order"]});
        for key in ["steps", "step_pixels"] {
            if let Some(v) = run.get(key) {
                settings[key] = v.clone();
            }
        }
        let measure = Measure::parse(&settings.to_string()).unwrap();
        let sweep = measure.sweep(&features, &values(method), target).unwrap();
        let scores = explainer.sweep_scores(&sweep, 0..sweep.len(), &mut |_, _| {}).unwrap();
        let curve = sweep.finish(&scores).unwrap();
        let (want_scores, want_auc) = (floats(&run["scores"]), run["auc"].as_f64().unwrap() as f32);
        assert_eq!(curve.scores.len(), want_scores.len(), "{settings}");
        let worst = curve.scores.iter().zip(&want_scores).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-4, "{method} {settings}: a score is {worst} off onnxruntime's");
        assert!(
            (curve.auc - want_auc).abs() < 1e-4,
            "{method} {settings}: AUC {} against {want_auc}",
            curve.auc
        );
        assert_eq!(curve.fractions, floats(&run["fractions"]), "{settings}");
    }
}

#[test]
fn a_random_order_is_the_same_for_the_same_seed_and_differs_for_another() {
    let features = Features::Pixels { input: npy(include_bytes!("data/chelsea_input.npy")) };
    let values = vec![0.0; 224 * 224];
    let sweep = |seed: u64| {
        let json = format!(r#"{{"metric": "deletion", "order": "random", "steps": 4, "seed": {seed}}}"#);
        Measure::parse(&json).unwrap().sweep(&features, &values, 0).unwrap()
    };
    assert_eq!(sweep(3).input(2), sweep(3).input(2));
    assert_ne!(sweep(3).input(2), sweep(4).input(2));
    let removed = sweep(3).input(2).iter().filter(|&&v| v == 0.0).count();
    assert!(removed >= 3 * 224 * 224 / 2, "half the pixels, every channel, are 0: {removed}");
}
