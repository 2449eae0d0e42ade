//! The text classifiers people export (`data/text_zoo/make_text_zoo.py`): BERT, DistilBERT,
//! RoBERTa, ALBERT and MiniLM sequence classifiers from `transformers`, small and with random
//! weights, exported by `torch.onnx.export` with only their logits as output, with and without
//! `token_type_ids`, with WordPiece and byte-level BPE tokenizers made for them. Glimpse finds
//! each one's embedding layer and attention softmaxes in the graph (the tensors PyTorch's values
//! say they are), reads sentences as onnxruntime does, at their own length and padded, and its
//! gradient with respect to the embeddings is PyTorch's; every text method runs on each.

mod common;

use glimpse::grad::{Mode, Target};
use glimpse::text::{TextMethod, TextModel};
use ndarray::ArrayD;
use serde_json::{json, Value};

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/text_zoo/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn manifest() -> Value {
    serde_json::from_slice(&read("manifest.json")).unwrap()
}

/// A description of zoo model `name` with only its logits named, at `length` tokens.
fn description(name: &str, entry: &Value, length: usize) -> String {
    let inputs = entry["inputs"].as_array().unwrap();
    let mut names = json!({"input_ids": "input_ids", "attention_mask": "attention_mask"});
    if inputs.iter().any(|i| i == "token_type_ids") {
        names["token_type_ids"] = json!("token_type_ids");
    }
    let special = &entry["special_tokens"];
    json!({
        "name": name, "labels": ["negative", "positive"], "tokenizer": entry["tokenizer"],
        "max_length": length, "inputs": names, "outputs": {"logits": "logits"},
        "special_tokens": {"pad": special["pad"], "cls": special["cls"], "sep": special["sep"]},
        "pooling": "cls",
    })
    .to_string()
}

fn load(name: &str, entry: &Value, length: usize) -> TextModel {
    let tokenizer = read(entry["tokenizer"].as_str().unwrap());
    TextModel::from_bytes(
        &read(&format!("{name}.onnx")),
        description(name, entry, length).as_bytes(),
        &tokenizer,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn npy(name: &str, what: &str, k: usize) -> ArrayD<f32> {
    common::npy(&read(&format!("{name}_{what}_{k}.npy")))
}

#[test]
fn every_text_zoo_model_is_read_and_differentiated_as_pytorch_does() {
    let manifest = manifest();
    let sentences = manifest["sentences"].as_array().unwrap();
    let mut failed = vec![];
    for (name, entry) in manifest["models"].as_object().unwrap() {
        for (k, sentence) in sentences.iter().enumerate() {
            let sentence = sentence.as_str().unwrap();
            let length = entry["token_counts"][k].as_u64().unwrap() as usize;
            let model = load(name, entry, length);
            // The parts found are the ones PyTorch's values say they are.
            assert_eq!(model.config.outputs.embeddings, entry["embeddings"].as_str().unwrap(), "{name}");
            let attentions: Vec<&str> =
                entry["attentions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(model.config.outputs.attentions, attentions, "{name}");
            assert!(model.unavailable().is_empty(), "{name}: {:?}", model.unavailable());

            let reading = model.read(sentence).unwrap();
            let ids: Vec<f32> = npy_ids(name, k);
            assert_eq!(
                reading.encoding.ids.iter().map(|&i| i as f32).collect::<Vec<_>>(),
                ids,
                "{name} {k}: the ids"
            );
            let logits =
                ArrayD::from_shape_vec(vec![1, reading.logits.len()], reading.logits.clone()).unwrap();
            let checks = [
                ("logits", common::relative_l2(&logits, &npy(name, "logits", k))),
                ("embeddings", common::relative_l2(&reading.embeddings, &npy(name, "emb", k))),
                ("attentions", {
                    let stacked = ndarray::stack(
                        ndarray::Axis(0),
                        &reading.attentions.iter().map(|a| a.view()).collect::<Vec<_>>(),
                    )
                    .unwrap()
                    .into_dyn();
                    common::relative_l2(&stacked, &npy(name, "attn", k))
                }),
                ("gradient", {
                    let explainer = model.embedding_explainer(&reading.encoding).unwrap();
                    let grads = explainer
                        .gradient_model()
                        .unwrap()
                        .gradients(reading.embeddings.clone(), &Target::Index(1), Mode::Plain)
                        .unwrap();
                    common::relative_l2(&grads.input, &npy(name, "emb_grad", k))
                }),
            ];
            for (what, err) in checks {
                if err.is_nan() || err >= 1e-4 {
                    failed.push(format!("{name} \"{sentence}\": {what} relative L2 {err}"));
                }
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

fn npy_ids(name: &str, k: usize) -> Vec<f32> {
    let bytes = read(&format!("{name}_ids_{k}.npy"));
    let ids: ndarray::ArrayD<i64> = ndarray_npy::ReadNpyExt::read_npy(&bytes[..]).unwrap();
    ids.iter().map(|&i| i as f32).collect()
}

/// Each model, as exported (its length open), reads a sentence at the sentence's own length; the
/// same graph with its length fixed at 16 reads it padded to 16 and gives the same logits: the
/// mask derived from the ids keeps the padding out (RoBERTa's positions too). Every text method
/// runs on both.
#[test]
fn padded_sentences_read_the_same_and_every_text_method_runs() {
    use glimpse::model::surgery::{operate, Surgery};
    use glimpse::text::Length;
    let manifest = manifest();
    for (name, entry) in manifest["models"].as_object().unwrap() {
        let own = load(name, entry, 16);
        let inputs = entry["inputs"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_owned());
        let fixed = Surgery { fixed: inputs.map(|input| (input, 1, 16)).collect(), ..Surgery::default() };
        let onnx = operate(&read(&format!("{name}.onnx")), &fixed).unwrap();
        let tokenizer = read(entry["tokenizer"].as_str().unwrap());
        let padded =
            TextModel::from_bytes(&onnx, description(name, entry, 16).as_bytes(), &tokenizer).unwrap();
        let words = entry["token_counts"][0].as_u64().unwrap() as usize;
        for (model, length, tokens) in [(own, Length::Own, words), (padded, Length::Padded, 16)] {
            assert_eq!(model.length(), length, "{name}");
            let reading = model.read("not bad at all").unwrap();
            assert_eq!(reading.encoding.ids.len(), tokens, "{name} {length:?}");
            let logits = ArrayD::from_shape_vec(vec![1, 2], reading.logits.clone()).unwrap();
            let err = common::relative_l2(&logits, &npy(name, "logits", 0));
            assert!(err < 1e-4, "{name} {length:?}: logits off by {err}");
            let mut sentence = model.sentence("not bad at all").unwrap();
            for method in TextMethod::all() {
                let map = model
                    .explain(&mut sentence, &method, 1, &mut |_, _| {})
                    .unwrap_or_else(|e| panic!("{name} {length:?} {}: {e}", method.name()));
                assert!(map.scores.iter().flatten().all(|v| v.is_finite()), "{name} {}", method.name());
            }
        }
    }
}

/// A tokenizer that is not the model's (more tokens than the embedding table has rows) is
/// refused, naming both sizes.
#[test]
fn a_tokenizer_that_is_not_the_models_is_refused() {
    let manifest = manifest();
    let entry = &manifest["models"]["bert"];
    let minilm =
        std::fs::read(format!("{}/models/minilm-tokenizer.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let error = TextModel::from_bytes(&read("bert.onnx"), description("bert", entry, 16).as_bytes(), &minilm)
        .unwrap_err()
        .to_string();
    assert!(error.contains("30522 tokens") && error.contains("has 400 rows"), "{error}");
}
