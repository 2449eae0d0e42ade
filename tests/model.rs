//! The bundled model, end to end through the core: loading from bytes, preprocessing, logits
//! against onnxruntime, and every error path. The same file runs natively (`cargo test`) and in
//! headless Chromium inside a dedicated worker, as the page runs it
//! (`cargo test --target wasm32-unknown-unknown`).

use glimpse::{Error, ImageClassifier, Model, RgbaPixels};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const ONNX: &[u8] = include_bytes!("../models/efficientnet-lite0.onnx");
const CONFIG: &[u8] = include_bytes!("../models/efficientnet-lite0.json");

const TABBY: usize = 281;
const TIGER_CAT: usize = 282;
const EGYPTIAN_CAT: usize = 285;
const ESPRESSO: usize = 967;

fn classifier() -> ImageClassifier {
    ImageClassifier::from_bytes(ONNX, CONFIG).unwrap()
}

fn decode(bytes: &[u8]) -> image::RgbaImage {
    image::load_from_memory(bytes).unwrap().into_rgba8()
}

fn pixels(image: &image::RgbaImage) -> RgbaPixels<'_> {
    RgbaPixels { width: image.width(), height: image.height(), data: image.as_raw() }
}

#[test]
fn loads_from_bytes_and_describes_its_input() {
    let model = Model::from_bytes(ONNX).unwrap();
    assert_eq!(model.input().name, "input");
    let shape: Vec<String> = model.input().shape.iter().map(|d| d.to_string()).collect();
    assert_eq!(shape, ["batch", "3", "224", "224"]);
    assert_eq!(model.outputs()[0].name, "logits");
}

#[test]
fn chelsea_is_a_cat_and_coffee_is_espresso() {
    let classifier = classifier();
    let chelsea = decode(include_bytes!("../www/examples/chelsea.png"));
    let top = classifier.classify_pixels(pixels(&chelsea), 3).unwrap().top;
    let mut indices: Vec<usize> = top.iter().map(|p| p.index).collect();
    indices.sort();
    assert_eq!(indices, [TABBY, TIGER_CAT, EGYPTIAN_CAT], "{top:?}");
    assert!(top.iter().any(|p| p.label == "tiger cat"));

    let coffee = decode(include_bytes!("../www/examples/coffee.png"));
    let top = classifier.classify_pixels(pixels(&coffee), 1).unwrap().top;
    assert_eq!(top[0].index, ESPRESSO);
    assert_eq!(top[0].label, "espresso");
    assert!(top[0].prob > 0.9, "{top:?}");
}

/// Largest absolute difference, relative to the largest magnitude in the reference.
fn relative_max_error(got: &ndarray::ArrayD<f32>, want: &ndarray::ArrayD<f32>) -> f32 {
    assert_eq!(got.shape(), want.shape());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).fold(0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

#[test]
fn logits_match_onnxruntime_on_the_same_tensor() {
    let model = Model::from_bytes(ONNX).unwrap();
    for (input, reference) in [
        (&include_bytes!("data/chelsea_input.npy")[..], &include_bytes!("data/chelsea_logits_ort.npy")[..]),
        (&include_bytes!("data/batch2_input.npy")[..], &include_bytes!("data/batch2_logits_ort.npy")[..]),
    ] {
        let x = glimpse::tensor::from_npy(input).unwrap();
        let want = glimpse::tensor::from_npy(reference).unwrap();
        let got = model.run(x).unwrap();
        let err = relative_max_error(&got, &want);
        assert!(err < 1e-4, "relative max error {err}");
    }
}

#[test]
fn rust_preprocessing_gives_the_reference_tensor() {
    // The page's path (RGBA → model input) against the export script's PIL pipeline.
    let classifier = classifier();
    let chelsea = decode(include_bytes!("../www/examples/chelsea.png"));
    let view = glimpse::preprocess::model_view(pixels(&chelsea), &classifier.config.preprocess).unwrap();
    let ours = glimpse::preprocess::to_tensor(&view, &classifier.config.preprocess).into_dyn();
    let reference = glimpse::tensor::from_npy(include_bytes!("data/chelsea_input.npy")).unwrap();
    // Both resize bilinearly with antialiasing; they differ by rounding, at most a few grey levels.
    let mean_abs = (&ours - &reference).mapv(f32::abs).mean().unwrap();
    assert!(mean_abs < 2.0 / 128.0, "mean |difference| {mean_abs}");
}

#[test]
fn bytes_that_are_not_onnx_are_an_error() {
    for bytes in [&b""[..], b"this is a text file renamed .onnx", &ONNX[..1000]] {
        match Model::from_bytes(bytes) {
            Err(Error::NotOnnx(_)) => {}
            other => panic!("expected NotOnnx, got {other:?}"),
        }
    }
}

#[test]
fn unsupported_ops_are_named() {
    match Model::from_bytes(include_bytes!("data/unsupported_ops.onnx")) {
        Err(Error::UnsupportedOps(ops)) => assert_eq!(ops, ["Det", "Unique"]),
        other => panic!("expected UnsupportedOps, got {other:?}"),
    }
}

#[test]
fn a_wrong_input_shape_is_an_error_that_names_both_shapes() {
    let model = Model::from_bytes(ONNX).unwrap();
    let err = model.run(ndarray::ArrayD::zeros(vec![1, 3, 100, 100])).unwrap_err();
    assert!(matches!(err, Error::InputShape { .. }));
    let message = err.to_string();
    assert_eq!(message, "The input has shape 1×3×100×100, but the model expects batch×3×224×224.");
}

#[test]
fn a_broken_description_is_an_error() {
    assert!(matches!(ImageClassifier::from_bytes(ONNX, b"{\"name\": 3}"), Err(Error::Config(_))));
}
