//! The model zoo (`data/zoo/make_zoo.py`): the image classifiers people export (torchvision's
//! and timm's ResNet, MobileNetV2/V3, EfficientNet, SqueezeNet, DenseNet, ConvNeXt, RegNet, ViT
//! and DeiT; through the TorchScript exporter at opsets 13 to 17 and the dynamo exporter at 18;
//! one-channel, channels-last, batch-1 and softmax-output models), small and with random
//! weights. Each one's forward pass equals onnxruntime's and its input gradient PyTorch's
//! autograd, and every image method runs on it.

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
