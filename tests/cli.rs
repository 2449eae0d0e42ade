//! The `glimpse` CLI as a user runs it: JSON out, clear errors, non-zero exit on failure.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/efficientnet-lite0.onnx");

fn glimpse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn top(args: &[&str]) -> Vec<(usize, String, f64)> {
    let out = glimpse(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["index"].as_u64().unwrap() as usize,
                p["label"].as_str().unwrap().to_owned(),
                p["prob"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn classify_an_image_prints_ranked_json() {
    let top = top(&["classify", "--model", MODEL, "--input", "www/examples/chelsea.png", "--top", "3"]);
    let mut indices: Vec<usize> = top.iter().map(|t| t.0).collect();
    indices.sort();
    assert_eq!(indices, [281, 282, 285]);
    assert!(top.windows(2).all(|w| w[0].2 >= w[1].2), "sorted by probability: {top:?}");
}

#[test]
fn classify_a_npy_tensor_uses_it_as_it_is() {
    // The tensor the export script made from chelsea; onnxruntime ranks tiger cat first.
    let top = top(&["classify", "--model", MODEL, "--input", "tests/data/chelsea_input.npy", "--top", "1"]);
    assert_eq!(top[0].1, "tiger cat");
    assert!((top[0].2 - 0.383).abs() < 0.01, "{top:?}");
}

#[test]
fn bad_input_is_a_message_and_a_failing_exit() {
    let out = glimpse(&[
        "classify",
        "--model",
        "Cargo.toml",
        "--config",
        "models/efficientnet-lite0.json",
        "--input",
        "x.png",
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("not an ONNX model"), "{message}");

    let out = glimpse(&["classify", "--model", MODEL, "--input", "README.md"]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("README.md: not a readable image"), "{message}");
}

#[test]
fn explain_gradient_writes_the_raw_signed_gradient() {
    let out = std::env::temp_dir().join(format!("glimpse-grad-{}.npy", std::process::id()));
    let result = glimpse(&[
        "explain",
        "--model",
        "tests/data/small_cnn.onnx",
        "--input",
        "tests/data/small_cnn_input.npy",
        "--method",
        "gradient",
        "--target",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let got = glimpse::tensor::from_npy(&std::fs::read(&out).unwrap()).unwrap();
    let want = glimpse::tensor::from_npy(include_bytes!("data/small_cnn_grad.npy")).unwrap();
    let diff: f32 = got.iter().zip(&want).map(|(g, w)| (g - w) * (g - w)).sum::<f32>().sqrt();
    let norm: f32 = want.iter().map(|w| w * w).sum::<f32>().sqrt();
    assert!(diff / norm < 1e-4, "relative L2 {}", diff / norm);
    assert!(got.iter().any(|&v| v < 0.0) && got.iter().any(|&v| v > 0.0), "signed");
    std::fs::remove_file(out).unwrap();
}
