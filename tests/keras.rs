//! Keras models as tf2onnx exports them (`data/keras/make_keras.py`: Keras's own MobileNetV2,
//! ending in a softmax, and a grey CNN; channels last, opset 13), explained under the
//! description a Keras user gives (NHWC, and probabilities for the softmax): the page's model
//! ranks classes as onnxruntime does on the channels-last tensor, its input gradient is
//! TensorFlow's (of the log-probability where the model gives probabilities), and every image
//! method runs on it through the page's session.

mod common;
use common::relative_l2;

use glimpse::grad::{GradModel, Mode, Target};
use glimpse::model::Model;
use glimpse::session::{ImageWorkspace, Session};
use ndarray::ArrayD;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    input: Vec<usize>,
    target: usize,
    output: String,
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/keras/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn npy(entry: &Entry, what: &str) -> ArrayD<f32> {
    common::npy(&read(&format!("{}_{what}.npy", entry.name)))
}

/// N×H×W×C to N×C×H×W.
fn channels_first(x: ArrayD<f32>) -> ArrayD<f32> {
    x.permuted_axes(vec![0, 3, 1, 2]).as_standard_layout().into_owned()
}

#[test]
fn keras_models_through_tf2onnx_run_as_tensorflow_and_every_method_applies() {
    #[derive(Deserialize)]
    struct Listing {
        models: Vec<Entry>,
    }
    let listing: Listing = serde_json::from_slice(&read("keras.json")).unwrap();
    assert_eq!(listing.models.len(), 2);
    for entry in listing.models {
        let [_, side, _, channels] = entry.input[..] else { panic!("{}: N×H×W×C", entry.name) };
        let onnx = read(&format!("{}.onnx", entry.name));
        let found = glimpse::model::inspect::inspect(&onnx).unwrap();
        let glimpse::model::inspect::Kind::Image { image, .. } = &found.kind else {
            panic!("{:?}", found.kind)
        };
        assert_eq!((image.layout, image.channels), (glimpse::model::inspect::Layout::Nhwc, channels));
        let softmax = entry.output == "probabilities";
        assert_eq!(found.output_operator.as_deref() == Some("Softmax"), softmax, "{}", entry.name);

        let per_channel =
            |v: f32| vec![v; channels].iter().map(f32::to_string).collect::<Vec<_>>().join(", ");
        let description = format!(
            r#"{{"name": "{}", "preprocess": {{"height": {side}, "width": {side}, "resize_short_side": {side},
            "mean": [{}], "std": [{}], "channels": {channels}, "layout": "NHWC"}}, "output": "{}"}}"#,
            entry.name,
            per_channel(127.5),
            per_channel(127.5),
            entry.output
        );
        let config = glimpse::ModelConfig::from_json(description.as_bytes()).unwrap();
        let prepared = config.prepare(&onnx).unwrap().into_owned();

        // The ranked classes carry onnxruntime's probabilities (a softmax of its logits, or its
        // own probabilities).
        let input = channels_first(npy(&entry, "input"));
        let classifier = glimpse::ImageClassifier { model: Model::from_bytes(&prepared).unwrap(), config };
        let output = npy(&entry, "output");
        let row: ndarray::Array1<f32> = output.iter().copied().collect();
        let want = if softmax { row } else { glimpse::classify::softmax(row.view()).into_iter().collect() };
        for p in classifier.classify_tensor(input.clone(), 5).unwrap() {
            assert!((p.prob - want[p.index]).abs() < 1e-5, "{}: {p:?} against {}", entry.name, want[p.index]);
        }

        let grads = GradModel::from_bytes(&prepared, &[])
            .and_then(|m| m.gradients(input, &Target::Index(entry.target), Mode::Plain))
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let err = relative_l2(&grads.input, &channels_first(npy(&entry, "grad")));
        assert!(err < 1e-4, "{}: gradient relative L2 {err}", entry.name);

        let workspace = ImageWorkspace::from_bytes(&onnx, description.as_bytes()).unwrap();
        let mut session = Session::new(workspace);
        let rgba = common::rgba(side as u32);
        let pixels = glimpse::RgbaPixels { width: side as u32, height: side as u32, data: &rgba };
        session.new_subject().set_image(pixels, 3).unwrap();
        // Only CAM does not apply: a softmax follows MobileNetV2's linear layer, and the grey
        // CNN flattens rather than pools.
        let unavailable = session.work().explainer.unavailable();
        assert!(unavailable.iter().all(|(id, _)| *id == "cam"), "{}: {unavailable:?}", entry.name);
        common::every_method_runs(&mut session, &entry.name);
    }
}
