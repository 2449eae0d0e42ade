//! The faithfulness metrics against their definitions: deletion and insertion against the RISE
//! repository's `evaluation.py`, re-implemented in NumPy with onnxruntime
//! (`data/evaluate/make_references.py`), on EfficientNet-Lite0 with maps made by Captum and
//! pytorch-grad-cam, ranked as Glimpse displays them; model randomisation against onnxruntime
//! on the same re-initialised weights, SciPy and scikit-image (`make_randomisation_references.py`);
//! soft stability against its rate computed exactly with onnxruntime (`make_stability_references.py`);
//! and the sessions' metric verbs.

mod common;
use common::npy;

use glimpse::evaluate::{
    compare, gkern, half_width, Features, Measure, Passes, Scored, SoftStabilityConfig, Stability,
    StabilityRate,
};
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
    let features = Features::Pixels { input: npy(include_bytes!("data/chelsea_input.npy")), pixels: None };
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
        let sweep = measure.lay_out(&features, &values(method), target).unwrap();
        let scores = explainer.measure_scores(sweep.as_ref(), 0..sweep.len(), &mut |_, _| {}).unwrap();
        let Scored::Curve(curve) = sweep.finish(&scores).unwrap() else { panic!("a sweep gives a curve") };
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
    let features = Features::Pixels { input: npy(include_bytes!("data/chelsea_input.npy")), pixels: None };
    let values = vec![0.0; 224 * 224];
    let sweep = |seed: u64| {
        let json = format!(r#"{{"metric": "deletion", "order": "random", "steps": 4, "seed": {seed}}}"#);
        Measure::parse(&json).unwrap().lay_out(&features, &values, 0).unwrap()
    };
    assert_eq!(sweep(3).input(2), sweep(3).input(2));
    assert_ne!(sweep(3).input(2), sweep(4).input(2));
    let removed = sweep(3).input(2).iter().filter(|&&v| v == 0.0).count();
    assert!(removed >= 3 * 224 * 224 / 2, "half the pixels, every channel, are 0: {removed}");
}

fn randomisation_references() -> Json {
    serde_json::from_str(include_str!("data/evaluate/randomisation.json")).unwrap()
}

fn indices(value: &Json) -> Vec<usize> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
}

/// The largest difference from onnxruntime's logits, relative to their largest magnitude.
fn off(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max) / scale
}

#[test]
fn randomised_efficientnet_lite0_gives_onnxruntimes_logits_on_the_same_weights() {
    let refs = randomisation_references();
    let seed = refs["seed"].as_u64().unwrap();
    let input = npy(include_bytes!("data/chelsea_input.npy"));
    let original = glimpse::Model::from_bytes(MODEL).unwrap().run(input.clone()).unwrap();
    for case in refs["image"].as_array().unwrap() {
        let layers = indices(&case["layers"]);
        let bytes = glimpse::model::randomise::randomise(MODEL, &layers, seed).unwrap();
        let logits = glimpse::Model::from_bytes(&bytes).unwrap().run(input.clone()).unwrap();
        let got: Vec<f32> = logits.iter().copied().collect();
        let worst = off(&got, &floats(&case["logits"]));
        assert!(worst < 1e-4, "{} layers {}: {worst}", case["mode"], layers.len());
        assert!(logits != original, "the randomised model is another model");
    }
}

#[test]
fn randomised_minilm_gives_onnxruntimes_logits_on_the_same_weights() {
    let refs = randomisation_references();
    let seed = refs["seed"].as_u64().unwrap();
    let onnx = include_bytes!("../models/minilm-sentiment.onnx");
    for case in refs["text"].as_array().unwrap() {
        let layers = indices(&case["layers"]);
        let bytes = glimpse::model::randomise::randomise(onnx, &layers, seed).unwrap();
        let model = glimpse::text::TextModel::from_bytes(
            &bytes,
            include_bytes!("../models/minilm-sentiment.json"),
            include_bytes!("../models/minilm-tokenizer.json"),
        )
        .unwrap();
        let reading = model.read(case["text"].as_str().unwrap()).unwrap();
        let worst = off(&reading.logits, &floats(&case["logits"]));
        assert!(worst < 1e-4, "{} layers {}: {worst}", case["mode"], layers.len());
    }
}

#[test]
fn map_similarity_is_scipys_spearman_and_scikit_images_ssim() {
    let refs = &randomisation_references()["similarity"];
    let flat = |v: &Json| v.as_array().unwrap().iter().flat_map(floats).collect::<Vec<f32>>();
    let (a, b) = (flat(&refs["a"]), flat(&refs["b"]));
    let similarity = compare(&a, &b, Some((24, 30)));
    for (got, key) in [
        (similarity.spearman_abs, "spearman_abs"),
        (similarity.spearman_signed, "spearman_signed"),
        (similarity.ssim.unwrap(), "ssim"),
    ] {
        let want = refs[key].as_f64().unwrap() as f32;
        assert!((got - want).abs() < 1e-6, "{key}: {got} against {want}");
    }
    let same = compare(&a, &a, None);
    assert_eq!((same.spearman_abs, same.spearman_signed, same.ssim), (1.0, 1.0, None));
}

/// Captum's `sensitivity_max` on a small ReLU network, with the noise Captum was given
/// (`data/evaluate/make_sensitivity_references.py`): every draw's relative change and their
/// largest, for the raw gradient and Grad × Input.
#[test]
fn sensitivity_is_captums_sensitivity_max_with_the_same_noise() {
    use glimpse::explain::{Method, Subject};

    let refs: Json = serde_json::from_str(include_str!("data/evaluate/sensitivity.json")).unwrap();
    let explainer = Explainer::from_bytes(include_bytes!("data/evaluate/sensitivity_mlp.onnx")).unwrap();
    let nested = |v: &Json| -> Vec<f32> {
        fn walk(v: &Json, out: &mut Vec<f32>) {
            match v.as_array() {
                Some(items) => items.iter().for_each(|i| walk(i, out)),
                None => out.push(v.as_f64().unwrap() as f32),
            }
        }
        let mut out = vec![];
        walk(v, &mut out);
        out
    };
    let input = ArrayD::from_shape_vec(vec![1, 3, 4, 4], nested(&refs["input"])).unwrap();
    let noise = nested(&refs["noise"]);
    let draws: Vec<ArrayD<f32>> =
        noise.chunks(48).map(|d| ArrayD::from_shape_vec(vec![1, 3, 4, 4], d.to_vec()).unwrap()).collect();
    let subject = Subject {
        input,
        target: refs["target"].as_u64().unwrap() as usize,
        pixels: None,
        custom_baseline: None,
    };
    for (name, run) in refs["runs"].as_object().unwrap() {
        let method = Method::from_name(name).unwrap();
        let original = explainer.explain(&subject, &method, &mut |_, _| {}).unwrap();
        let changes =
            explainer.sensitivity(&subject, &method, &original.map, draws.iter().cloned(), &mut |_, _| {});
        let got = glimpse::evaluate::Changes::new(changes.unwrap());
        for (g, w) in got.changes.iter().zip(floats(&run["changes"])) {
            assert!((g - w).abs() < 1e-5, "{name}: a change is {g}, Captum's {w}");
        }
        let want = run["max"].as_f64().unwrap() as f32;
        assert!((got.max - want).abs() < 1e-5, "{name}: {} against Captum's {want}", got.max);
    }
}

/// The rate soft stability gives on the sensitivity references' ReLU network, its 16 pixels the
/// features (each its own segment), for the radius and accuracy given.
fn stability_on(onnx: &[u8], radius: usize, epsilon: f32, delta: f32) -> (Stability, StabilityRate) {
    let refs: Json = serde_json::from_str(include_str!("data/evaluate/stability.json")).unwrap();
    let features = Features::Segments {
        input: ArrayD::from_shape_vec(vec![1, 3, 4, 4], floats(&refs["input"])).unwrap(),
        members: (0..16).map(|p| vec![p]).collect(),
    };
    let config = SoftStabilityConfig { radius, epsilon, delta, ..Default::default() };
    let plan = Stability::new(&features, &floats(&refs["values"]), &config).unwrap();
    let explainer = Explainer::from_bytes(onnx).unwrap();
    let scores = explainer.measure_scores(&plan, 0..plan.len(), &mut |_, _| {}).unwrap();
    let Scored::Stability(rate) = plan.finish(&scores).unwrap() else {
        panic!("soft stability gives a rate")
    };
    (plan, rate)
}

/// Soft stability against τ_r computed exactly by onnxruntime on every mask: Glimpse tries
/// every mask too when there are no more than Hoeffding's 150, and agrees exactly; beyond, its
/// 150 samples land within the bound they claim.
#[test]
fn soft_stability_is_the_exact_rate_or_within_hoeffdings_bound_of_it() {
    let refs: Json = serde_json::from_str(include_str!("data/evaluate/stability.json")).unwrap();
    let mlp = include_bytes!("data/evaluate/sensitivity_mlp.onnx");
    let shown: Vec<usize> =
        refs["shown"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    for (r, want) in refs["rates"].as_object().unwrap() {
        let radius: usize = r.parse().unwrap();
        let (tau, masks) = (want["rate"].as_f64().unwrap() as f32, want["masks"].as_u64().unwrap() as usize);
        let (plan, got) = stability_on(mlp, radius, 0.1, 0.1);
        assert_eq!(plan.shown(), shown, "the explanation is the map's top quarter");
        assert_eq!(got.prediction as u64, refs["prediction"].as_u64().unwrap());
        if masks <= 150 {
            assert!(got.exact && got.samples == masks, "r = {r}: {masks} masks are tried each once");
            assert!(
                (got.rate - tau).abs() < 1e-6 && got.low == got.rate && got.high == got.rate,
                "r = {r}: {got:?} against {tau}"
            );
        } else {
            assert!(!got.exact && got.samples == 150);
            assert!(
                (got.rate - tau).abs() <= half_width(150, 0.1),
                "r = {r}: {} against τ = {tau}",
                got.rate
            );
            assert!(got.low <= tau && tau <= got.high && got.confidence == 0.9);
            // ε = 0.02, δ = 0.01 asks for 6,623 samples: more than there are masks, so each is
            // tried once and the rate is exact.
            let (_, fine) = stability_on(mlp, radius, 0.02, 0.01);
            assert!(
                fine.exact && fine.samples == masks && (fine.rate - tau).abs() < 1e-6,
                "r = {r}: {fine:?}"
            );
        }
    }
    let (_, again) = stability_on(mlp, 3, 0.1, 0.1);
    assert_eq!(again, stability_on(mlp, 3, 0.1, 0.1).1, "the same seed, the same rate");
}

/// A model whose prediction no mask can change (zero weights, a bias) scores 1 at every radius.
#[test]
fn a_model_that_cannot_change_its_mind_is_perfectly_stable() {
    for radius in [1, 4, 12] {
        let (_, got) =
            stability_on(include_bytes!("data/evaluate/stability_constant.onnx"), radius, 0.1, 0.1);
        assert_eq!((got.rate, got.high, got.prediction), (1.0, 1.0, 1), "r = {radius}");
        assert!(got.low >= 0.9 - 1e-6);
    }
}
