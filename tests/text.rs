//! The text side: the tokenizer against Hugging Face's on 71 varied strings (reference and the
//! script that made it in `data/text/`). Runs natively and in headless Chromium.

use glimpse::text::TextTokenizer;
use serde_json::Value as Json;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn tokenizer() -> TextTokenizer {
    TextTokenizer::from_json(include_bytes!("../models/minilm-tokenizer.json"), 64).unwrap()
}

fn numbers(value: &Json) -> Vec<u32> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect()
}

#[test]
fn the_tokenizer_matches_hugging_face() {
    let cases: Json = serde_json::from_str(include_str!("data/text/tokenizer_cases.json")).unwrap();
    let tokenizer = tokenizer();
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want = &case["padded_64"];
        if text.trim().is_empty() {
            assert!(tokenizer.encode(text).is_err(), "an empty sentence is refused: {text:?}");
            continue;
        }
        let got = tokenizer.encode(text).unwrap();
        assert_eq!(got.ids, numbers(&want["ids"]), "{text:?}");
        let tokens: Vec<&str> =
            want["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(got.tokens, tokens, "{text:?}");
        let offsets: Vec<(usize, usize)> = want["byte_offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize))
            .collect();
        assert_eq!(got.offsets, offsets, "{text:?}");
        assert_eq!(got.attention_mask, numbers(&want["attention_mask"]), "{text:?}");
        let plain = case["plain"]["ids"].as_array().unwrap().len();
        assert_eq!(got.truncated, plain > 64, "{text:?}: {plain} tokens untruncated");
        checked += 1;
    }
    assert!(checked >= 60, "{checked} sentences compared");
}

#[test]
fn empty_and_huge_sentences_get_a_message() {
    let tokenizer = tokenizer();
    assert!(tokenizer.encode("   ").unwrap_err().to_string().contains("empty"));
    let huge = "word ".repeat(30_000);
    let message = tokenizer.encode(&huge).unwrap_err().to_string();
    assert!(message.contains("150000 characters"), "{message}");
    let long = "good ".repeat(200);
    let encoding = tokenizer.encode(&long).unwrap();
    assert!(encoding.truncated);
    assert_eq!(encoding.ids.len(), 64);
    assert_eq!(encoding.len_unpadded(), 64);
}

#[test]
fn a_file_that_is_not_a_tokenizer_is_refused() {
    let message = TextTokenizer::from_json(b"{\"not\": \"a tokenizer\"}", 64).unwrap_err().to_string();
    assert!(message.starts_with("The tokenizer file cannot be read"), "{message}");
}

// ---- The model ------------------------------------------------------------------------------

use glimpse::explain::{Baseline, Method, PathConfig, Rule, Subject};
use glimpse::text::{rollout::rollout, TextModel};
use ndarray::ArrayD;

fn model() -> TextModel {
    TextModel::from_bytes(
        include_bytes!("../models/minilm-sentiment.onnx"),
        include_bytes!("../models/minilm-sentiment.json"),
        include_bytes!("../models/minilm-tokenizer.json"),
    )
    .unwrap()
}

fn references() -> Json {
    serde_json::from_str(include_str!("data/text/references.json")).unwrap()
}

fn npy(bytes: &[u8]) -> ArrayD<f32> {
    glimpse::tensor::from_npy(bytes).unwrap()
}

/// The reading model (ids as f32, the mask derived from them) gives onnxruntime's logits for
/// the exported model fed ids and mask.
#[test]
fn the_model_reads_sentences_as_onnxruntime_does() {
    let model = model();
    let reference: Json = serde_json::from_str(include_str!("data/text/logits.json")).unwrap();
    let sentences = reference["sentences"].as_array().unwrap();
    for (i, sentence) in sentences.iter().enumerate() {
        let ids = numbers(&reference["input_ids"][i]);
        let logits = model.reading_model().run(TextModel::ids_tensor(&ids)).unwrap();
        let want: Vec<f64> = reference["logits_onnxruntime"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (got, want) in logits.iter().zip(&want) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{sentence}: {logits:?} against {want:?}");
        }
        let text = sentence.as_str().unwrap();
        if text.trim().is_empty() {
            continue;
        }
        let reading = model.read(text).unwrap();
        assert_eq!(reading.encoding.ids, ids);
        assert_eq!(reading.logits, logits.iter().copied().collect::<Vec<_>>());
        assert_eq!(reading.attentions.len(), 6);
        assert_eq!(reading.attentions[0].shape(), &[12, 64, 64]);
    }
}

/// Attention rollout over all 64 positions equals the reference computed from PyTorch's
/// attentions.
#[test]
fn rollout_matches_the_reference() {
    let model = model();
    let refs = references();
    for (key, file) in [
        ("not_bad", &include_bytes!("data/text/rollout_not_bad.npy")[..]),
        ("review", &include_bytes!("data/text/rollout_review.npy")[..]),
    ] {
        let text = refs["rollout"]["sentences"][key]["text"].as_str().unwrap();
        let reading = model.read(text).unwrap();
        let layers: Vec<_> = reading.attentions.iter().map(|a| a.view()).collect();
        let got = rollout(&layers, 64).unwrap();
        let want = npy(file);
        let diff = got.iter().zip(want.iter()).map(|(g, w)| (g - f64::from(*w)).abs()).fold(0.0, f64::max);
        assert!(diff < 1e-5, "{key}: max |Δ| {diff}");
    }
}

/// Integrated Gradients on the embedding layer's output, from the embeddings of the [PAD]
/// baseline ids, equals Captum's `LayerIntegratedGradients` on the embedding layer, and is
/// complete.
#[test]
fn integrated_gradients_on_the_embeddings_match_captum() {
    let model = model();
    let refs = references();
    for (key, file) in [
        ("not_bad", &include_bytes!("data/text/lig_pad_not_bad.npy")[..]),
        ("love", &include_bytes!("data/text/lig_pad_love.npy")[..]),
    ] {
        let sentence = &refs["ig"]["sentences"][key];
        let reading = model.read(sentence["text"].as_str().unwrap()).unwrap();
        let baseline_ids = model.baseline_ids(&reading.encoding);
        assert_eq!(baseline_ids, numbers(&sentence["lig_pad"]["baseline_input_ids"]));
        let explainer = model.embedding_explainer(&reading.encoding).unwrap();
        let subject = Subject {
            input: reading.embeddings.clone(),
            target: 1,
            pixels: None,
            custom_baseline: Some(model.embeddings(&baseline_ids).unwrap()),
        };
        let config =
            PathConfig { steps: 50, rule: Rule::GaussLegendre, baseline: Baseline::Custom, tolerance: None };
        let ig = explainer.explain(&subject, &Method::IntegratedGradients(config), &mut |_, _| {}).unwrap();
        let want = npy(file).into_shape_with_order(ig.map.raw_dim()).unwrap();
        let diff: f64 = ig.map.iter().zip(want.iter()).map(|(g, w)| f64::from(g - w).powi(2)).sum();
        let norm: f64 = want.iter().map(|w| f64::from(*w).powi(2)).sum();
        let relative = (diff / norm).sqrt();
        assert!(relative < 1e-3, "{key}: relative L2 {relative}");
        let check = ig.completeness.unwrap();
        let expected = sentence["lig_pad"]["logit_x"].as_f64().unwrap()
            - sentence["lig_pad"]["logit_baseline"].as_f64().unwrap();
        assert!((f64::from(check.expected) - expected).abs() < 1e-4, "{check:?}");
        assert!(check.relative_error() < 1e-3, "{check:?}");
    }
}

/// Graph surgery names what it cannot find.
#[test]
fn surgery_names_what_is_missing() {
    use glimpse::model::surgery::{operate, Surgery};
    let onnx = include_bytes!("../models/minilm-sentiment.onnx");
    let cut = Surgery { cut_at: Some(("nowhere".into(), vec![None])), ..Surgery::default() };
    assert!(operate(onnx, &cut).unwrap_err().to_string().contains("no inner tensor nowhere"));
    let float = Surgery { float_input: Some("ids".into()), ..Surgery::default() };
    assert!(operate(onnx, &float).unwrap_err().to_string().contains("no input ids"));
    assert!(operate(b"not a model", &Surgery::default()).is_err());
}
