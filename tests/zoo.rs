//! The model zoo (`data/zoo/make_zoo.py`): the image classifiers people export (torchvision's
//! and timm's ResNet, MobileNetV2/V3, EfficientNet, SqueezeNet, DenseNet, ConvNeXt, RegNet, ViT
//! and DeiT; through the TorchScript exporter at opsets 13 to 17 and the dynamo exporter at 18;
//! one-channel, channels-last, batch-1 and softmax-output models), small and with random
//! weights. Each one's forward pass equals onnxruntime's and its input gradient PyTorch's
//! autograd, and every image method that applies runs on it (the channels-last one once it is
//! made to take channels first); inspecting each says what kind of classifier it is.

mod common;
use common::relative_l2;

use glimpse::explain::{Explainer, Method, Subject};
use glimpse::grad::{GradModel, Mode, Target};
use glimpse::model::Model;
use ndarray::ArrayD;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    input: Vec<usize>,
    target: usize,
    exercises: String,
}

fn zoo() -> Vec<Entry> {
    #[derive(Deserialize)]
    struct Zoo {
        models: Vec<Entry>,
    }
    let zoo: Zoo = serde_json::from_slice(&read("zoo.json")).unwrap();
    zoo.models
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/zoo/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn npy(entry: &Entry, what: &str) -> ArrayD<f32> {
    common::npy(&read(&format!("{}_{what}.npy", entry.name)))
}

fn onnx(entry: &Entry) -> Vec<u8> {
    read(&format!("{}.onnx", entry.name))
}

#[test]
fn every_zoo_model_runs_forward_as_onnxruntime_does() {
    for entry in zoo() {
        let model = Model::from_bytes(&onnx(&entry)).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let input = npy(&entry, "input");
        assert_eq!(input.shape(), entry.input);
        let got = model.run(input).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let err = relative_l2(&got, &npy(&entry, "logits"));
        assert!(err < 1e-5, "{} ({}): relative L2 {err}", entry.name, entry.exercises);
    }
}

#[test]
fn every_zoo_model_has_pytorchs_input_gradient() {
    let mut failed = vec![];
    for entry in zoo() {
        let result = GradModel::from_bytes(&onnx(&entry), &[])
            .and_then(|m| m.gradients(npy(&entry, "input"), &Target::Index(entry.target), Mode::Plain));
        match result {
            Ok(grads) => {
                let err = relative_l2(&grads.input, &npy(&entry, "grad"));
                if err >= 1e-4 {
                    failed.push(format!("{}: relative L2 {err}", entry.name));
                }
            }
            Err(e) => failed.push(format!("{} ({}): {e}", entry.name, entry.exercises)),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// A smoke test: every image method that applies to a channels-first model of the zoo gives a
/// finite map; one that does not says why, and running it says the same. CAM needs global
/// average pooling then one linear layer: MobileNetV3 (two linear layers), SqueezeNet (a
/// convolutional classifier), ConvNeXt (a LayerNorm between), the transformers and a softmax
/// output do not end so.
#[test]
fn every_image_method_that_applies_runs_on_every_zoo_model() {
    let mut failed = vec![];
    let mut refused = vec![];
    for entry in zoo().into_iter().filter(|e| e.name != "nhwc") {
        let explainer = Explainer::from_bytes(&onnx(&entry)).unwrap();
        let unavailable = explainer.unavailable();
        let subject = Subject {
            input: npy(&entry, "input"),
            target: entry.target,
            pixels: None,
            custom_baseline: None,
        };
        for method in Method::all() {
            let why = unavailable.iter().find(|(id, _)| *id == method.name()).map(|(_, why)| why);
            match (explainer.explain(&subject, &method, &mut |_, _| {}), why) {
                (Ok(a), None) if a.map.iter().all(|v| v.is_finite()) => {}
                (Ok(_), None) => {
                    failed.push(format!("{} {}: a value that is not finite", entry.name, method.name()))
                }
                (Err(e), Some(why)) if e.to_string() == *why => {
                    refused.push(format!("{} {}", entry.name, method.name()))
                }
                (result, why) => failed.push(format!(
                    "{} {}: {:?}, listed as {why:?}",
                    entry.name,
                    method.name(),
                    result.err()
                )),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let cam = ["mobilenet_v3", "squeezenet", "convnext", "vit", "deit", "vit_dynamo", "probabilities"];
    assert_eq!(refused, cam.map(|m| format!("{m} cam")));
}

/// What the page says when a model is brought: each zoo model's inputs read as the kind of
/// classifier it is (channels first or last, one or three channels, its size), the bundled text
/// model's as token ids with a mask, and a model whose weights are in a missing file names it,
/// in the inspection and when it is loaded.
#[test]
fn inspecting_a_model_finds_its_kind_its_operators_and_missing_weights() {
    use glimpse::model::inspect::{inspect, Kind, Layout};
    use glimpse::model::Dim;

    for entry in zoo() {
        let found = inspect(&onnx(&entry)).unwrap();
        let (layout, channels, height, width) = match entry.input[..] {
            [_, h, w, c] if entry.name == "nhwc" => (Layout::Nhwc, c, h, w),
            [_, c, h, w] => (Layout::Nchw, c, h, w),
            _ => panic!("{}: an image input", entry.name),
        };
        let want = Kind::Image { layout, channels, height: Some(height), width: Some(width) };
        assert_eq!(found.kind, want, "{}", entry.name);
        let batch = &found.inputs[0].shape[0];
        if entry.name == "batch1" || entry.name.ends_with("dynamo") {
            assert_eq!(*batch, Dim::Fixed(1), "{}: a batch fixed at 1", entry.name);
        } else {
            assert!(matches!(batch, Dim::Symbolic(_)), "{}: a symbolic batch", entry.name);
        }
        assert_eq!(found.outputs.len(), 1);
        assert!(found.operators.iter().any(|(op, n)| op == "Conv" && *n > 0), "{}", entry.name);
        let (parameters, external, quantised) = (found.parameters, &found.external_data, &found.quantised);
        assert!(
            parameters > 500 && external.is_empty() && quantised.is_empty(),
            "{}: {parameters} {external:?} {quantised:?}",
            entry.name
        );
    }
    let minilm = inspect(
        &std::fs::read(format!("{}/models/minilm-sentiment.onnx", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    match minilm.kind {
        Kind::Text { ids, mask, token_types, .. } => {
            assert_eq!(
                (ids.as_str(), mask.as_deref(), token_types),
                ("input_ids", Some("attention_mask"), None)
            );
        }
        other => panic!("MiniLM reads as {other:?}"),
    }
    assert!(minilm.inputs.iter().all(|i| i.element == "int64"), "{:?}", minilm.inputs);

    let external = read("external.onnx");
    assert_eq!(inspect(&external).unwrap().external_data, ["external.onnx.data"]);
    let error = Model::from_bytes(&external).unwrap_err().to_string();
    assert!(error.contains("another file (external.onnx.data)"), "{error}");
    assert!(inspect(b"not a model").is_err());
}

/// A channels-last model (N×H×W×C, as tf2onnx exports Keras) made to take channels first by a
/// `Transpose` at its entrance: the same logits and, transposed, the same gradient as PyTorch's;
/// and every image method that applies runs on it.
#[test]
fn a_channels_last_model_takes_channels_first_after_surgery() {
    use glimpse::model::surgery::{operate, Surgery};

    let entry = zoo().into_iter().find(|e| e.name == "nhwc").unwrap();
    let surgery = Surgery { channels_first: Some("input".into()), ..Surgery::default() };
    let bytes = operate(&onnx(&entry), &surgery).unwrap();
    let first = |x: ArrayD<f32>| x.permuted_axes(vec![0, 3, 1, 2]).as_standard_layout().into_owned();
    let input = first(npy(&entry, "input"));
    let logits = Model::from_bytes(&bytes).unwrap().run(input.clone()).unwrap();
    assert!(relative_l2(&logits, &npy(&entry, "logits")) < 1e-6);
    let grads = GradModel::from_bytes(&bytes, &[])
        .and_then(|m| m.gradients(input.clone(), &Target::Index(entry.target), Mode::Plain))
        .unwrap();
    assert!(relative_l2(&grads.input, &first(npy(&entry, "grad"))) < 1e-4);

    let explainer = Explainer::from_bytes(&bytes).unwrap();
    assert!(explainer.unavailable().is_empty(), "{:?}", explainer.unavailable());
    let subject = Subject { input, target: entry.target, pixels: None, custom_baseline: None };
    for method in Method::all() {
        let map = explainer
            .explain(&subject, &method, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", method.name()))
            .map;
        assert!(map.iter().all(|v| v.is_finite()), "{}", method.name());
    }
    let wrong = Surgery { channels_first: Some("nope".into()), ..Surgery::default() };
    assert!(operate(&onnx(&entry), &wrong).is_err());
}
