//! The text side: the tokenizer against Hugging Face's on 71 varied strings (reference and the
//! script that made it in `data/text/`). Runs natively and in headless Chromium.

mod common;
use common::npy;

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

/// The reading model (ids as f32, the mask derived from them) gives onnxruntime's logits for
/// the exported model fed ids and mask, and PyTorch's, padded to 64; and a sentence read at its
/// own length (the model's graph leaves the length open) gives the same.
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
        // And PyTorch's, for the model the ONNX file was exported from.
        for (got, want) in logits.iter().zip(floats(&reference["logits_torch"][i])) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{sentence}: {logits:?} against PyTorch's {want}");
        }
        let text = sentence.as_str().unwrap();
        if text.trim().is_empty() {
            continue;
        }
        let reading = model.read(text).unwrap();
        let n = ids.iter().position(|&id| id == 0).unwrap_or(ids.len());
        assert_eq!(reading.encoding.ids, ids[..n]);
        for (own, padded) in reading.logits.iter().zip(&logits) {
            assert!(
                (own - padded).abs() < 1e-5,
                "{sentence}: {:?} at its own length, {logits:?} padded",
                reading.logits
            );
        }
        assert_eq!(reading.attentions.len(), 6);
        assert_eq!(reading.attentions[0].shape(), &[12, n, n]);
    }
}

/// Attention rollout over a sentence's own tokens equals the reference computed from PyTorch's
/// attentions padded to 64 positions, on the sentence's block (padding is never attended to, so
/// the block is the same).
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
        let n = reading.encoding.ids.len();
        let got = rollout(&layers, n).unwrap();
        let want = npy(file).slice_move(ndarray::s![..n, ..n]);
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
        let n = baseline_ids.len();
        // Captum's baseline is padded to 64: the sentence's own length is its first n ids.
        assert_eq!(baseline_ids, numbers(&sentence["lig_pad"]["baseline_input_ids"])[..n]);
        let explainer = model.embedding_explainer(&reading.encoding).unwrap();
        let subject = Subject {
            input: reading.embeddings.clone(),
            target: 1,
            pixels: None,
            custom_baseline: Some(model.embeddings(&baseline_ids).unwrap()),
        };
        let config = PathConfig {
            steps: 50,
            rule: Rule::GaussLegendre,
            baseline: Baseline::Custom,
            seed: 0,
            tolerance: None,
        };
        let ig = explainer
            .explain(&subject, &Method::with("integrated-gradients", &config).unwrap(), &mut |_, _| {})
            .unwrap();
        // Captum's map covers 64 positions; the padding's rows are zeros (the same [PAD] at both
        // ends of the path), and the sentence's are compared.
        let want = npy(file);
        assert!(want.slice(ndarray::s![n.., ..]).iter().all(|&w| w == 0.0));
        let want = want.slice_move(ndarray::s![..n, ..]).into_shape_with_order(ig.map.raw_dim()).unwrap();
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

// ---- Token attributions ---------------------------------------------------------------------

use glimpse::text::explain::{kendall_tau, AttentionConfig, TokenLimeConfig};
use glimpse::text::{TextMethod, TokenAttribution};

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap()
}

fn floats(value: &Json) -> Vec<f64> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

fn run(model: &TextModel, text: &str, method: &TextMethod) -> TokenAttribution {
    let mut sentence = model.sentence(text).unwrap();
    model.explain(&mut sentence, method, 1, &mut |_, _| {}).unwrap()
}

/// Leave-one-out equals onnxruntime's drop in the logit with the token's id set to [PAD] and its
/// mask to 0; [CLS] and [SEP] are not scored.
#[test]
fn occlusion_removes_each_token_as_onnxruntime_does() {
    let model = model();
    let reference = json(include_str!("data/text/occlusion.json"));
    for key in ["not_bad", "review"] {
        let case = &reference["sentences"][key];
        let got = run(&model, case["text"].as_str().unwrap(), &TextMethod::from_name("occlusion").unwrap());
        let n = case["n"].as_u64().unwrap() as usize;
        assert_eq!(got.scores.len(), n);
        assert!(got.scores[0].is_none() && got.scores[n - 1].is_none(), "[CLS] and [SEP] stay");
        let want = floats(&case["target_logit_drop"]);
        for (position, want) in numbers(&case["positions"]).iter().zip(&want) {
            let score = f64::from(got.scores[*position as usize].unwrap());
            assert!((score - want).abs() < 1e-4, "{key}, token {position}: {score} against {want}");
        }
    }
}

/// KernelSHAP at its default budget enumerates every coalition of the four words of "not bad at
/// all", so it gives their exact Shapley values (computed from onnxruntime's 16 logits), and is
/// efficient.
#[test]
fn kernel_shap_over_tokens_gives_the_exact_shapley_values() {
    let model = model();
    let reference = json(include_str!("data/text/shapley_not_bad.json"));
    let got = run(&model, "not bad at all", &TextMethod::from_name("kernel-shap").unwrap());
    let want = floats(&reference["shapley_values"]);
    for (position, want) in numbers(&reference["players"]).iter().zip(&want) {
        let score = f64::from(got.scores[*position as usize].unwrap());
        assert!((score - want).abs() < 1e-4, "token {position}: {score} against {want}");
    }
    let check = got.completeness.unwrap();
    let expected = reference["f_all"].as_f64().unwrap() - reference["f_none"].as_f64().unwrap();
    assert!((f64::from(check.expected) - expected).abs() < 1e-4, "{check:?}");
    assert!(check.error().abs() < 1e-5, "{check:?}");
}

/// LIME over tokens: the same seed gives the same scores, another seed others; the fit is reported.
#[test]
fn lime_over_tokens_is_seeded() {
    let model = model();
    let text = "The flight was delayed again and nobody told us anything.";
    let lime = |seed| {
        TextMethod::with("lime", &TokenLimeConfig { samples: 60, seed, ..TokenLimeConfig::default() })
            .unwrap()
    };
    let first = run(&model, text, &lime(3));
    assert_eq!(first, run(&model, text, &lime(3)));
    assert_ne!(first.scores, run(&model, text, &lime(4)).scores);
    let r2 = first.r_squared.unwrap();
    assert!((0.0..=1.0).contains(&r2), "{r2}");
}

/// Gradient-weighted rollout (Chefer et al. 2021) from tract's attention gradients equals the
/// float64 PyTorch reference; each layer's Σ_heads ∂y/∂A ⊙ A is checked on the way.
#[test]
fn gradient_rollout_matches_pytorch() {
    let model = model();
    let reference = json(include_str!("data/text/gradient_rollout.json"));
    for key in ["not_bad", "review"] {
        let case = &reference["sentences"][key];
        let got =
            run(&model, case["text"].as_str().unwrap(), &TextMethod::from_name("gradient-rollout").unwrap());
        let matrix = got.matrix.unwrap();
        let want: Vec<Vec<f64>> = case["gradient_rollout"].as_array().unwrap().iter().map(floats).collect();
        assert_eq!(matrix.nrows(), want.len());
        let diff =
            matrix.indexed_iter().map(|((i, j), v)| (f64::from(*v) - want[i][j]).abs()).fold(0.0, f64::max);
        assert!(diff < 1e-4, "{key}: max |Δ| {diff}");
        // A mean-pooled model: token scores are the mean of the rows.
        let column = |j: usize| want.iter().map(|row| row[j]).sum::<f64>() / want.len() as f64;
        for (j, score) in got.scores.iter().enumerate() {
            assert!((f64::from(score.unwrap()) - column(j)).abs() < 1e-4);
        }
    }
}

/// Plain rollout's token scores are the mean over rows of the matrix whose rows the reference
/// gives; the attention map of one head is that head's probabilities.
#[test]
fn attention_and_rollout_scores_follow_the_pooling() {
    let model = model();
    let reference = json(include_str!("data/text/gradient_rollout.json"));
    let case = &reference["sentences"]["not_bad"];
    let got = run(&model, "not bad at all", &TextMethod::from_name("rollout").unwrap());
    let matrix = got.matrix.unwrap();
    for (got, want) in matrix.row(0).iter().zip(floats(&case["rollout_cls"])) {
        assert!((f64::from(*got) - want).abs() < 1e-5, "{got} against {want}");
    }
    let means = matrix.mean_axis(ndarray::Axis(0)).unwrap();
    assert_eq!(got.scores, means.iter().map(|&m| Some(m)).collect::<Vec<_>>());

    let config = AttentionConfig { layer: Some(2), head: Some(7) };
    let got = run(&model, "not bad at all", &TextMethod::with("attention", &config).unwrap());
    let reading = model.read("not bad at all").unwrap();
    let head = reading.attentions[2].slice(ndarray::s![7, ..6, ..6]).to_owned();
    assert_eq!(got.matrix.unwrap(), head);
    let config = AttentionConfig { layer: Some(6), head: None };
    let mut sentence = model.sentence("not bad at all").unwrap();
    let message = model
        .explain(&mut sentence, &TextMethod::with("attention", &config).unwrap(), 1, &mut |_, _| {})
        .unwrap_err();
    assert!(message.to_string().contains("6 attention layers, not 7"), "{message}");
}

/// Integrated Gradients' token scores (sums over the embedding width) add up to
/// f(x) − f([PAD] sentence), and are zero at [CLS] and [SEP], which the baseline keeps.
#[test]
fn integrated_gradients_token_scores_are_complete() {
    let model = model();
    let got = run(&model, "not bad at all", &TextMethod::from_name("integrated-gradients").unwrap());
    let check = got.completeness.unwrap();
    let sum: f32 = got.scores.iter().map(|s| s.unwrap()).sum();
    assert!((sum - check.expected).abs() < 0.01 * check.expected.abs(), "{sum} against {check:?}");
    assert_eq!(got.scores[0], Some(0.0));
    assert_eq!(got.scores[5], Some(0.0));
}

/// Kendall's τ-b equals SciPy's on ten cases, ties and a constant side included.
#[test]
fn kendall_tau_matches_scipy() {
    let reference = json(include_str!("data/text/kendall.json"));
    for case in reference["cases"].as_array().unwrap() {
        let got = kendall_tau(&floats(&case["a"]), &floats(&case["b"]));
        match case["tau"].as_f64() {
            Some(want) => {
                assert!((got.unwrap() - want).abs() < 1e-12, "{}: {got:?} against {want}", case["name"])
            }
            None => assert_eq!(got, None, "{}", case["name"]),
        }
    }
}

/// Smoke test over the text registry, so a text method is run the day it is listed: every one,
/// at its defaults (LIME with 20 samples, to stay quick), scores every word of "not bad at all",
/// and refuses a setting its schema does not have.
#[test]
fn smoke_every_text_method_runs_at_its_defaults() {
    let model = model();
    for descriptor in TextMethod::descriptors() {
        let name = descriptor.id;
        let light = descriptor.settings.iter().any(|s| s.key == "samples");
        let settings = if light { serde_json::json!({"samples": 20}) } else { serde_json::json!({}) };
        let method = TextMethod::new(name, settings).unwrap();
        let got = run(&model, "not bad at all", &method);
        assert_eq!(got.scores.len(), 6, "{name}");
        assert!(got.scores[1..5].iter().all(|s| s.is_some_and(f32::is_finite)), "{name}: {:?}", got.scores);
        let error = TextMethod::new(name, serde_json::json!({"no_such_setting": 1})).unwrap_err().to_string();
        assert!(error.contains("no_such_setting"), "{name}: {error}");
    }
}

/// The page's text session: occlusion scored in slices and finished equals occlusion in one
/// call; an attention map's agreement with it is reported by tile; a new sentence forgets the
/// maps; a missing sentence and a misspelt setting are errors that leave the session working.
#[test]
fn the_text_session_keeps_maps_by_tile_until_the_sentence_changes() {
    use glimpse::session::{Session, TextRender, TextWorkspace};

    let mut session = Session::new(TextWorkspace::new(model()));
    let occlusion = r#"{"method": "occlusion"}"#;
    let none = &mut |_: usize, _: usize| {};
    let error = session.explain(0, occlusion, 1, none).unwrap_err().to_string();
    assert_eq!(error, "No sentence is loaded.");

    let reading = session.new_subject().set_text("not bad at all").unwrap();
    let words: Vec<bool> = reading.tokens.iter().map(|t| t.word).collect();
    assert_eq!(words, [false, true, true, true, true, false]);
    let whole = session.explain(1, occlusion, 1, none).unwrap();
    let passes = session.passes(occlusion, 1).unwrap();
    assert_eq!(passes, 5, "the sentence, and one per word left out");
    let mut scores = session.scores(occlusion, 1, 0..1, none).unwrap();
    scores.extend(session.scores(occlusion, 1, 1..passes, none).unwrap());
    let sliced = session.finish(2, occlusion, 1, &scores).unwrap();
    assert_eq!(whole.scores, sliced.scores, "the same scores, bit for bit");

    let misspelt = session.explain(3, r#"{"method": "attention", "layr": 1}"#, 1, none).unwrap_err();
    assert!(misspelt.to_string().contains("layr"), "{misspelt}");
    session.explain(4, r#"{"method": "rollout"}"#, 1, none).unwrap();
    let pairs: Vec<(u32, u32)> =
        session.agreement().unwrap().iter().map(|a| (a.attention, a.other)).collect();
    assert_eq!(pairs, [(4, 1), (4, 2)]);

    let request: TextRender =
        serde_json::from_str(r#"{"tiles": [{"tile": 4, "colormap": "blue-red"}]}"#).unwrap();
    let drawn = session.render(&request).unwrap();
    assert_eq!(drawn.len(), 1);
    assert_eq!(drawn[0].colours.len(), 6);
    assert_eq!(drawn[0].matrix.as_ref().unwrap().rgba.len(), 6 * 6 * 4);

    session.new_subject().set_text("great").unwrap();
    assert!(session.tiles().is_empty(), "a new sentence forgets every map");
}

/// The bundled MiniLM described with only its logits: Glimpse finds the embedding layer's
/// output and the six attention softmaxes in the graph, and reads a sentence exactly as it
/// does through the outputs the export carries; Integrated Gradients on the found embeddings
/// gives the same scores.
#[test]
fn a_model_with_only_its_logits_has_its_embeddings_and_attentions_found() {
    let onnx = include_bytes!("../models/minilm-sentiment.onnx");
    let mut description: Json =
        serde_json::from_slice(include_bytes!("../models/minilm-sentiment.json")).unwrap();
    description["outputs"] = serde_json::json!({"logits": "logits"});
    let bare = TextModel::from_bytes(
        onnx,
        description.to_string().as_bytes(),
        include_bytes!("../models/minilm-tokenizer.json"),
    )
    .unwrap();
    let full = model();
    assert_eq!(bare.config.outputs.attentions.len(), 6, "{:?}", bare.config.outputs.attentions);
    assert!(!bare.config.outputs.embeddings.is_empty());
    assert_eq!(bare.heads().unwrap(), 12);
    assert!(bare.unavailable().is_empty(), "{:?}", bare.unavailable());
    let (a, b) = (full.read("not bad at all").unwrap(), bare.read("not bad at all").unwrap());
    assert_eq!(a.logits, b.logits);
    assert_eq!(a.embeddings, b.embeddings);
    assert_eq!(a.attentions, b.attentions);

    let method =
        glimpse::text::TextMethod::new("integrated-gradients", serde_json::json!({"steps": 8})).unwrap();
    let explain = |model: &TextModel| {
        let mut sentence = model.sentence("not bad at all").unwrap();
        model.explain(&mut sentence, &method, 1, &mut |_, _| {}).unwrap().scores
    };
    assert_eq!(explain(&full), explain(&bare));
}
