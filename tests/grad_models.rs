//! Whole-model gradients against PyTorch autograd (references made by
//! `data/make_grad_references.py`), natively and, for EfficientNet-Lite0, in headless Chromium.

mod common;
use common::{npy, relative_l2};

use glimpse::grad::{GradModel, Mode, Target};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// EfficientNet-Lite0's gradient is discontinuous at its 33 ReLU6 layers, and chelsea has 24
/// activations within 1e-5 of a kink: PyTorch's own gradient moves by 5.4e-3 relative L2 when
/// the input moves by 1e-6. So this also checks that tract's forward pass lands on the same
/// side of every kink as PyTorch's. (With a symbolic batch size tract ran other kernels, a few
/// units crossed, and the error was 8.7e-4; with the concrete-shape plans it is 7.5e-7.)
#[test]
fn efficientnet_lite0_matches_pytorch() {
    let model = GradModel::from_bytes(include_bytes!("../models/efficientnet-lite0.onnx"), &[]).unwrap();
    let x = npy(include_bytes!("data/chelsea_input.npy"));
    let grads = model.gradients(x, &Target::Index(282), Mode::Plain).unwrap();
    let err = relative_l2(&grads.input, &npy(include_bytes!("data/grad_efficientnet_chelsea.npy")));
    assert!(err < 1e-4, "relative L2 error {err}");
}

#[test]
fn small_cnn_matches_pytorch_for_the_input_and_a_layer() {
    let layer = include_str!("data/small_cnn_layer.txt").trim().to_owned();
    let model =
        GradModel::from_bytes(include_bytes!("data/small_cnn.onnx"), std::slice::from_ref(&layer)).unwrap();
    let x = npy(include_bytes!("data/small_cnn_input.npy"));
    let grads = model.gradients(x, &Target::Index(3), Mode::Plain).unwrap();
    assert_eq!(grads.target, [grads.output[[0, 3]], grads.output[[1, 3]]], "the target is logit 3 per item");
    let err = relative_l2(&grads.input, &npy(include_bytes!("data/small_cnn_grad.npy")));
    assert!(err < 1e-4, "input: relative L2 error {err}");
    let (_, layer_grad) = &grads.intermediates[&layer];
    let err = relative_l2(layer_grad, &npy(include_bytes!("data/small_cnn_layer_grad.npy")));
    assert!(err < 1e-4, "layer: relative L2 error {err}");
}

#[test]
fn small_attention_matches_pytorch() {
    let model = GradModel::from_bytes(include_bytes!("data/small_attention.onnx"), &[]).unwrap();
    let x = npy(include_bytes!("data/small_attention_input.npy"));
    let grads = model.gradients(x, &Target::Index(1), Mode::Plain).unwrap();
    let err = relative_l2(&grads.input, &npy(include_bytes!("data/small_attention_grad.npy")));
    assert!(err < 1e-4, "relative L2 error {err}");
}
