//! Malformed and hostile models (`data/hostile/make_hostile.py`): truncated files, random bytes,
//! a protobuf that is not a model, attributes out of range, impossible shapes, a cycle, a
//! dangling tensor, enormous declared sizes, unknown operators, opsets out of range, weights
//! that do not hold what they declare. Each is refused with a message that names what is wrong
//! (the node, the tensor or the file), and none panics: on the page a panic kills the worker.
//! The few that are well-formed enough to run give the control's outputs.

mod common;

use glimpse::explain::Explainer;
use glimpse::model::inspect::inspect;
use ndarray::ArrayD;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Entry {
    file: String,
    what: String,
    node: Option<String>,
    tensor: Option<String>,
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/hostile/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Files whose graph is fine as far as Glimpse is concerned, and which run as the control does:
/// an old or absent opset import (read as the default), a long chain of Identity nodes.
const RUN_AS_THE_CONTROL: &[&str] = &["opset_1.onnx", "no_opset_import.onnx", "identity_chain.onnx"];

/// What each refusal must name besides the manifest's node or tensor, where that is not what
/// the message is about (tract's shape analysis finds a bad Split where its output meets Gemm).
const NAMES: &[(&str, &str)] = &[
    ("split_bad_sizes.onnx", "gemm"),
    ("two_inputs.onnx", "x1, x2"),
    ("string_input.onnx", "conv"),
    ("external_data_missing.onnx", "weights.bin"),
    ("external_data_traversal.onnx", "etc/passwd"),
    ("opset_99.onnx", "opset 99"),
    ("no_outputs.onnx", "no output"),
    ("unknown_op.onnx", "FrobnicateNd"),
    ("custom_domain.onnx", "SecretSauce"),
    ("nested_if.onnx", "recursion limit reached"),
];

#[test]
fn every_hostile_model_is_refused_naming_what_is_wrong() {
    let manifest: Vec<Entry> = serde_json::from_slice(&read("manifest.json")).unwrap();
    assert!(manifest.len() >= 50, "{} models", manifest.len());
    let input =
        ArrayD::<f32>::from_shape_fn(vec![1, 3, 8, 8], |i| (i[1] + 2 * i[2] + 3 * i[3]) as f32 / 20.0);
    let control = Explainer::from_bytes(&read("valid.onnx")).unwrap().forward().run(input.clone()).unwrap();
    let mut failed = vec![];
    for entry in manifest.iter().filter(|e| e.file != "valid.onnx") {
        let bytes = read(&entry.file);
        // Inspecting never panics, whatever the file; it may find nothing wrong.
        let _ = inspect(&bytes);
        // Nor does the gradient engine's setup, which reads the file on its own.
        let _ = glimpse::grad::GradModel::from_bytes(&bytes, &[]);
        let loaded = Explainer::from_bytes(&bytes);
        if RUN_AS_THE_CONTROL.contains(&entry.file.as_str()) {
            match loaded.and_then(|x| x.forward().run(input.clone())) {
                Ok(out) if common::relative_l2(&out, &control) < 1e-6 => {}
                other => failed.push(format!(
                    "{}: {:?}, not the control's outputs",
                    entry.file,
                    other.map(|o| o.len())
                )),
            }
            continue;
        }
        let message = match loaded {
            Ok(_) => {
                failed.push(format!("{} ({}): loaded", entry.file, entry.what));
                continue;
            }
            Err(e) => e.to_string(),
        };
        let names: Vec<String> = match NAMES.iter().find(|(file, _)| *file == entry.file) {
            Some((_, name)) => vec![(*name).to_owned()],
            None => entry.node.iter().chain(&entry.tensor).cloned().collect(),
        };
        match names.as_slice() {
            [] if !message.starts_with("This file is not an ONNX model") => {
                failed.push(format!("{}: \"{message}\" for a file that is not a model", entry.file));
            }
            names if !names.is_empty() && !names.iter().any(|n| message.contains(n)) => {
                failed.push(format!("{}: \"{message}\" names none of {names:?}", entry.file));
            }
            _ => {}
        }
        if message.len() > 400 {
            failed.push(format!("{}: a message of {} characters", entry.file, message.len()));
        }
        // tract's jargon stays out of what the person reads.
        if message.contains("Infering facts") || message.contains("Val(") {
            failed.push(format!("{}: \"{message}\"", entry.file));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The page's inspection says why it will not load the ones it can tell from the file alone.
#[test]
fn inspection_names_what_the_page_cannot_take() {
    let refusal = |file: &str| inspect(&read(file)).unwrap().refusal.unwrap_or_default();
    // Two image inputs are not refused: the form asks which one is the image.
    assert!(refusal("two_inputs.onnx").is_empty());
    let notes = inspect(&read("two_inputs.onnx")).unwrap().notes;
    assert!(
        notes.iter().any(|n| n.contains("2 inputs: choose which is the image (the guess is x1)")),
        "{notes:?}"
    );
    assert!(refusal("external_data_missing.onnx").contains("another file (weights.bin)"));
    assert!(refusal("no_outputs.onnx").contains("no output"));
    assert!(refusal("string_input.onnx").contains("no float32 image or integer token input"));
    assert!(inspect(&read("random_bytes.onnx")).is_err());
    assert!(inspect(&read("valid.onnx")).unwrap().refusal.is_none());
}

/// Every input with which the fuzzer (`fuzz/`, afl.rs) crashed or hung the model loader or the
/// gradient engine's setup: each is now refused with a message (or, where it is a model Glimpse
/// can run, loaded), and none panics. The test profile checks overflow and debug assertions, as
/// the fuzzer's build did.
#[test]
fn every_input_that_crashed_the_fuzzer_is_refused_or_loaded() {
    let root = format!("{}/tests/data/fuzz", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for target in ["model", "gradients"] {
        let mut files: Vec<_> =
            std::fs::read_dir(format!("{root}/{target}")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            eprintln!("{}", path.display());
            let _ = inspect(&bytes);
            let _ = glimpse::grad::GradModel::from_bytes(&bytes, &[]);
            if let Err(e) = Explainer::from_bytes(&bytes) {
                assert!(!e.to_string().is_empty(), "{}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 100, "{seen} inputs");
}
