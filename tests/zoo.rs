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
    // The channels-last model and the one of any size run under their descriptions (below).
    for entry in zoo().into_iter().filter(|e| e.name != "nhwc" && e.name != "any_size") {
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
    use glimpse::model::inspect::{inspect, ImageInput, Kind, Layout};
    use glimpse::model::Dim;

    for entry in zoo() {
        let found = inspect(&onnx(&entry)).unwrap();
        let (layout, channels, height, width) = match entry.input[..] {
            [_, h, w, c] if entry.name == "nhwc" => (Layout::Nhwc, c, h, w),
            [_, c, h, w] => (Layout::Nchw, c, h, w),
            _ => panic!("{}: an image input", entry.name),
        };
        let open = entry.name == "any_size";
        let size = |n: usize| (!open).then_some(n);
        let input = found.inputs[0].name.clone();
        let image = ImageInput { input, layout, channels, height: size(height), width: size(width) };
        let want = Kind::Image { image, others: vec![] };
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

/// A session on a zoo model under a description, with an RGBA image of its size.
fn described(
    entry: &str,
    description: &str,
    side: u32,
) -> glimpse::session::Session<glimpse::session::ImageWorkspace> {
    use glimpse::session::{ImageWorkspace, Session};
    let workspace = ImageWorkspace::from_bytes(&read(&format!("{entry}.onnx")), description.as_bytes())
        .unwrap_or_else(|e| panic!("{entry}: {e}"));
    let mut session = Session::new(workspace);
    let rgba = common::rgba(side);
    session
        .new_subject()
        .set_image(glimpse::RgbaPixels { width: side, height: side, data: &rgba }, 3)
        .unwrap();
    session
}

/// A grey model's description: the image goes in as ITU-R 601 luma (Pillow's `convert("L")`,
/// in integers), normalised with the one channel's mean and std; a colour model's BGR order
/// reverses the channels. Every method runs on the grey model, superpixels included.
#[test]
fn a_description_makes_grey_and_bgr_inputs() {
    use glimpse::config::Preprocess;
    use glimpse::preprocess::{model_view, to_tensor};

    let side = 28;
    let description = r#"{"name": "grey", "preprocess": {"height": 28, "width": 28, "resize_short_side": 28,
        "mean": [127.5], "std": [127.5], "channels": 1}}"#;
    let mut session = described("grey", description, side);
    let config = &session.work().classifier.config;
    let data = common::rgba(side);
    let pixels = glimpse::RgbaPixels { width: side, height: side, data: &data };
    let view = model_view(pixels, &config.preprocess).unwrap();
    let grey = to_tensor(&view, &config.preprocess);
    assert_eq!(grey.shape(), [1, 1, 28, 28]);
    for (p, g) in view.pixels().zip(grey.iter()) {
        let [r, gr, b] = p.0.map(f64::from);
        let luma = (r * 0.299 + gr * 0.587 + b * 0.114).round() as f32;
        assert!((g * 127.5 + 127.5 - luma).abs() <= 1.0, "{:?} gave {}", p.0, g * 127.5 + 127.5);
    }
    common::every_method_runs(&mut session, "grey");

    let rgb = Preprocess::rgb(28, 28, 28, [10.0, 20.0, 30.0], [1.0, 2.0, 3.0]);
    let bgr = Preprocess {
        mean: vec![30.0, 20.0, 10.0],
        std: vec![3.0, 2.0, 1.0],
        channel_order: glimpse::config::ChannelOrder::Bgr,
        ..rgb.clone()
    };
    let (a, b) = (to_tensor(&view, &rgb), to_tensor(&view, &bgr));
    for c in 0..3 {
        assert_eq!(a.index_axis(ndarray::Axis(1), c), b.index_axis(ndarray::Axis(1), 2 - c));
    }
    assert_eq!(glimpse::preprocess::from_tensor(&b.into_dyn(), &bgr).unwrap(), view);
}

/// A channels-last model described as NHWC: the page's session classifies an image as the
/// model itself does on the channels-last tensor, and every method runs on it; the CLI's
/// `.npy` in the model's layout gives the same classes.
#[test]
fn a_channels_last_description_explains_the_model_as_exported() {
    use glimpse::preprocess::{model_view, to_tensor};

    let description = r#"{"name": "nhwc", "preprocess": {"height": 32, "width": 32, "resize_short_side": 32,
        "mean": [127, 127, 127], "std": [64, 64, 64], "layout": "NHWC"}}"#;
    let mut session = described("nhwc", description, 32);
    let config = session.work().classifier.config.clone();
    let data = common::rgba(32);
    let view =
        model_view(glimpse::RgbaPixels { width: 32, height: 32, data: &data }, &config.preprocess).unwrap();
    let nchw = to_tensor(&view, &config.preprocess).into_dyn();
    let nhwc = nchw.clone().permuted_axes(vec![0, 2, 3, 1]).as_standard_layout().into_owned();
    let raw = Model::from_bytes(&read("nhwc.onnx")).unwrap().run(nhwc.clone()).unwrap();
    let top = session.work().classifier.classify_tensor(nchw, 3).unwrap();
    let probabilities =
        glimpse::classify::softmax(raw.iter().copied().collect::<ndarray::Array1<f32>>().view());
    for p in &top {
        assert!((p.prob - probabilities[p.index]).abs() < 1e-6, "{p:?}");
    }
    assert_eq!(
        glimpse::preprocess::channels_first(nhwc, &config.preprocess),
        to_tensor(&view, &config.preprocess).into_dyn()
    );
    common::every_method_runs(&mut session, "nhwc");
}

/// A model whose output is probabilities, described so: the classes it ranks carry its own
/// probabilities (a softmax of their logarithm), and the gradient is of log p, PyTorch's
/// ∂p/∂x divided by p.
#[test]
fn a_probabilities_description_explains_their_logarithm() {
    let entry = zoo().into_iter().find(|e| e.name == "probabilities").unwrap();
    let description = r#"{"name": "p", "preprocess": {"height": 28, "width": 28, "resize_short_side": 28,
        "mean": [127.5], "std": [127.5], "channels": 1}, "output": "probabilities"}"#;
    let config = glimpse::ModelConfig::from_json(description.as_bytes()).unwrap();
    let prepared = config.prepare(&onnx(&entry)).unwrap().into_owned();
    let want = npy(&entry, "logits");
    let classifier = glimpse::ImageClassifier { model: Model::from_bytes(&prepared).unwrap(), config };
    for p in classifier.classify_tensor(npy(&entry, "input"), 5).unwrap() {
        assert!((p.prob - want[[0, p.index]]).abs() < 1e-6, "{p:?} against {}", want[[0, p.index]]);
    }
    let grads = GradModel::from_bytes(&prepared, &[])
        .and_then(|m| m.gradients(npy(&entry, "input"), &Target::Index(entry.target), Mode::Plain))
        .unwrap();
    let of_log = npy(&entry, "grad") / want[[0, entry.target]];
    assert!(relative_l2(&grads.input, &of_log) < 1e-4);
    let mut session = described("probabilities", description, 28);
    common::every_method_runs(&mut session, "probabilities");
}

/// What a description may not say, each refused with what is wrong.
#[test]
fn a_description_that_cannot_be_followed_says_why() {
    let with = |preprocess: &str| {
        let json = format!(
            r#"{{"name": "m", "preprocess": {{"height": 8, "width": 8, "resize_short_side": 8, {preprocess}}}}}"#
        );
        glimpse::ModelConfig::from_json(json.as_bytes()).map(|_| ()).unwrap_err().to_string()
    };
    assert!(with(r#""mean": [0], "std": [1], "channels": 2"#).contains("1 (grey) or 3"));
    assert!(
        with(r#""mean": [0, 0, 0], "std": [1], "channels": 3"#).contains("std has 1 values for 3 channels")
    );
    assert!(with(r#""mean": [0], "std": [1], "channels": 1, "channel_order": "BGR""#)
        .contains("no channel order"));
    assert!(with(r#""mean": [0, 0, 0], "std": [1, 0, 1]"#).contains("non-zero"));
    assert!(
        with(r#""mean": [0, 0, 0], "std": [1, 1, 1], "layuot": "NHWC""#).contains("unknown field `layuot`")
    );
    assert!(with(r#""mean": [0, 0, 0], "std": [1, 1, 1], "layout": "HWC""#).contains("unknown variant `HWC`"));
    let json = r#"{"name": "m", "preprocess": {"height": 8, "width": 8, "resize_short_side": 8, "mean": [0, 0, 0], "std": [1, 1, 1]}, "output": "odds"}"#;
    assert!(glimpse::ModelConfig::from_json(json.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("unknown variant `odds`"));
}

/// A model whose height and width the file leaves open (dynamic axes): the inspection says the
/// description must give them, and under a description it runs every method at that size.
#[test]
fn an_image_of_any_size_takes_the_descriptions() {
    let found = glimpse::model::inspect::inspect(&read("any_size.onnx")).unwrap();
    assert!(found.notes.iter().any(|n| n.contains("height or width open")), "{:?}", found.notes);
    let description = r#"{"name": "any size", "preprocess": {"height": 28, "width": 28, "resize_short_side": 28,
        "mean": [127.5], "std": [127.5], "channels": 1}}"#;
    let raw = Explainer::from_bytes(&read("any_size.onnx")).unwrap();
    let why = raw.unavailable().into_iter().find(|(id, _)| *id == "grad-cam").map(|(_, why)| why);
    println!("without a size, Grad-CAM: {why:?}");
    let mut session = described("any_size", description, 40);
    assert!(session.work().explainer.unavailable().is_empty());
    common::every_method_runs(&mut session, "any_size");
    let entry = zoo().into_iter().find(|e| e.name == "any_size").unwrap();
    let top = session.work().classifier.classify_tensor(npy(&entry, "input"), 1).unwrap();
    let logits = npy(&entry, "logits");
    let best = logits.iter().enumerate().fold(0, |b, (i, &v)| if v > logits[[0, b]] { i } else { b });
    assert_eq!(top[0].index, best);
}

/// A model with inputs besides the image (`make_zoo.py`'s `two_inputs`: a reference image and a
/// bias row): the inspection guesses the input named as an image and offers the other 4-D one;
/// under a description the others are held at zero, batch for batch, so the logits are
/// onnxruntime's with zeros fed, the gradient PyTorch's, and every method runs. A description
/// naming the reference makes it the image; naming the bias is refused, as is no description.
#[test]
fn a_model_with_several_inputs_explains_the_one_named_and_holds_the_others_at_zero() {
    use glimpse::model::inspect::{inspect, Kind};

    let onnx = read("two_inputs.onnx");
    let found = inspect(&onnx).unwrap();
    let Kind::Image { image, others } = &found.kind else { panic!("{:?}", found.kind) };
    assert_eq!(image.input, "image");
    assert_eq!(others.iter().map(|o| o.input.as_str()).collect::<Vec<_>>(), ["reference"]);
    assert!(
        found.notes.iter().any(|n| n.contains("3 inputs: choose which is the image")),
        "{:?}",
        found.notes
    );
    assert!(found.refusal.is_none());
    let no_description = Model::from_bytes(&onnx).unwrap_err().to_string();
    assert!(no_description.contains("(reference, image, bias)"), "{no_description}");

    let description = |input: &str| {
        format!(
            r#"{{"name": "two", {input} "preprocess": {{"height": 16, "width": 16, "resize_short_side": 16,
            "mean": [127, 127, 127], "std": [64, 64, 64]}}}}"#
        )
    };
    let input = common::npy(&read("two_inputs_input.npy"));
    let logits = common::npy(&read("two_inputs_logits.npy"));
    let target = logits.iter().enumerate().fold(0, |b, (i, &v)| if v > logits[[0, b]] { i } else { b });
    let config = glimpse::ModelConfig::from_json(description("").as_bytes()).unwrap();
    let prepared = config.prepare(&onnx).unwrap().into_owned();
    let got = Model::from_bytes(&prepared).unwrap().run(input.clone()).unwrap();
    assert!(relative_l2(&got, &logits) < 1e-6);
    // A batch of three runs, each row the logits of the one input.
    let three = ndarray::concatenate(ndarray::Axis(0), &[input.view(), input.view(), input.view()]).unwrap();
    let rows = Model::from_bytes(&prepared).unwrap().run(three).unwrap();
    for row in rows.outer_iter() {
        assert!(relative_l2(&row.insert_axis(ndarray::Axis(0)).to_owned(), &logits) < 1e-6);
    }
    let grads = GradModel::from_bytes(&prepared, &[])
        .and_then(|m| m.gradients(input.clone(), &Target::Index(target), Mode::Plain))
        .unwrap();
    assert!(relative_l2(&grads.input, &common::npy(&read("two_inputs_grad.npy"))) < 1e-4);
    let mut session = described("two_inputs", &description(""), 16);
    common::every_method_runs(&mut session, "two_inputs");

    let reference =
        glimpse::ModelConfig::from_json(description(r#""input": "reference","#).as_bytes()).unwrap();
    let prepared = reference.prepare(&onnx).unwrap().into_owned();
    let got = Model::from_bytes(&prepared).unwrap().run(input).unwrap();
    assert!(relative_l2(&got, &common::npy(&read("two_inputs_as_reference.npy"))) < 1e-6);
    for (input, says) in [("bias", "input bias is 2-D, not an image"), ("left", r#"no input "left""#)] {
        let config =
            glimpse::ModelConfig::from_json(description(&format!(r#""input": "{input}","#)).as_bytes());
        let error = config.unwrap().prepare(&onnx).unwrap_err().to_string();
        assert!(error.contains(says), "{error}");
    }
}

/// The grey model quantised to 8 bits by onnxruntime's quantiser (QuantizeLinear and
/// DequantizeLinear around each layer, and shapes recorded for a batch of 1): it runs forward as
/// onnxruntime does; the gradient methods are listed as unavailable, naming the quantised
/// operators, and every forward-only method runs, Score-CAM (which finds its layers without
/// the gradient engine) included.
#[test]
fn a_quantised_model_runs_the_forward_only_methods_and_says_why_not_the_others() {
    let onnx = read("quantised.onnx");
    let found = glimpse::model::inspect::inspect(&onnx).unwrap();
    assert_eq!(found.quantised, ["DequantizeLinear", "QuantizeLinear"]);
    assert!(found.notes.iter().any(|n| n.contains("the forward-only methods work")), "{:?}", found.notes);
    let input = common::npy(&read("grey_input.npy"));
    let got = Model::from_bytes(&onnx).unwrap().run(input.clone()).unwrap();
    let want = common::npy(&read("quantised_logits.npy"));
    let err = relative_l2(&got, &want);
    assert!(err < 1e-5, "relative L2 {err}");

    let explainer = Explainer::from_bytes(&onnx).unwrap();
    let unavailable = explainer.unavailable();
    let subject = Subject { input, target: 0, pixels: None, custom_baseline: None };
    let mut ran = vec![];
    for method in Method::all() {
        match unavailable.iter().find(|(id, _)| *id == method.name()) {
            // Quantise–dequantise pairs stand between the pooling and the linear layer.
            Some((_, why)) if method.name() == "cam" => {
                assert!(why.contains("global average pooling"), "{why}")
            }
            Some((_, why)) => assert!(why.contains("QuantizeLinear"), "{}: {why}", method.name()),
            None => {
                let map = explainer
                    .explain(&subject, &method, &mut |_, _| {})
                    .unwrap_or_else(|e| panic!("{}: {e}", method.name()))
                    .map;
                assert!(map.iter().all(|v| v.is_finite()), "{}", method.name());
                ran.push(method.name());
            }
        }
    }
    assert!(
        ran.contains(&"occlusion") && ran.contains(&"kernel-shap") && ran.contains(&"score-cam"),
        "{ran:?}"
    );
    assert!(!ran.contains(&"gradient") && !ran.contains(&"grad-cam"), "{ran:?}");
}
