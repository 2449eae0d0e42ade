//! The `glimpse` CLI as a user runs it: JSON out, clear errors, non-zero exit on failure.
#![cfg(not(target_arch = "wasm32"))]

mod common;
use common::relative_l2;

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

/// A user's bare `.onnx`, with no description beside it: a `.npy` tensor goes in as it is and
/// the classes are named by their index; an image asks for the description.
#[test]
fn classify_takes_a_model_without_a_description() {
    let folder = temp("bare-model");
    std::fs::create_dir_all(&folder).unwrap();
    let bare = folder.join("model.onnx");
    std::fs::copy(MODEL, &bare).unwrap();
    let bare = bare.to_str().unwrap();
    let got = top(&["classify", "--model", bare, "--input", "tests/data/chelsea_input.npy", "--top", "3"]);
    let described =
        top(&["classify", "--model", MODEL, "--input", "tests/data/chelsea_input.npy", "--top", "3"]);
    for ((index, label, p), (want_index, _, want_p)) in got.iter().zip(&described) {
        assert_eq!((index, label, p), (want_index, &format!("class {want_index}"), want_p));
    }
    let image = glimpse(&["classify", "--model", bare, "--input", "www/examples/chelsea.png"]);
    assert!(!image.status.success());
    assert!(String::from_utf8_lossy(&image.stderr).contains("needs the model's description (--config)"));
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

/// `glimpse explain` on chelsea with EfficientNet-Lite0.
fn explain_chelsea(args: &[&str], out: &std::path::Path) -> std::process::Output {
    let mut all = vec!["explain", "--model", MODEL, "--input", "www/examples/chelsea.png"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    glimpse(&all)
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("glimpse-{}-{name}", std::process::id()))
}

#[test]
fn explain_writes_the_raw_map_as_npy() {
    let out = temp("ig.npy");
    let result = glimpse(&[
        "explain",
        "--model",
        "tests/data/explain/small_cnn_gap.onnx",
        "--input",
        "tests/data/explain/small_cnn_gap_input.npy",
        "--method",
        "integrated-gradients",
        "--steps",
        "20",
        "--rule",
        "riemann-middle",
        "--tolerance",
        "off",
        "--baseline",
        "tests/data/explain/small_cnn_gap_baseline.npy",
        "--target",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(summary["method"]["steps"], 20);
    assert!(summary["completeness"]["error"].as_f64().unwrap().abs() < 1e-3, "{summary}");
    let got = glimpse::tensor::from_npy(&std::fs::read(&out).unwrap()).unwrap();
    let want =
        glimpse::tensor::from_npy(include_bytes!("data/explain/small_cnn_gap_ig_riemann_middle_20.npy"))
            .unwrap();
    assert!(relative_l2(&got, &want) < 1e-3, "against Captum: {}", relative_l2(&got, &want));
    std::fs::remove_file(out).unwrap();
}

#[test]
fn explain_draws_a_png_over_the_image() {
    let out = temp("grad-cam.png");
    let result = explain_chelsea(&["--method", "grad-cam"], &out);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(summary["label"], "tiger cat", "the top class by default");
    assert_eq!(summary["layer"], "/_swish_1/Clip_output_0");
    assert_eq!(summary["shape"], serde_json::json!([1, 1, 7, 7]));
    let png = image::load_from_memory(&std::fs::read(&out).unwrap()).unwrap().into_rgb8();
    assert_eq!(png.dimensions(), (224, 224));
    // The map is coloured where Grad-CAM is high and grey elsewhere.
    let coloured = png.pixels().filter(|p| p[0].abs_diff(p[1]) > 40 || p[1].abs_diff(p[2]) > 40).count();
    assert!(coloured > 224 * 224 / 20 && coloured < 224 * 224 * 19 / 20, "{coloured} coloured pixels");
    std::fs::remove_file(out).unwrap();
}

#[test]
fn explain_refuses_flags_that_do_not_apply() {
    let out = temp("x.npy");
    let result = explain_chelsea(&["--method", "gradient", "--steps", "10"], &out);
    assert!(!result.status.success());
    let message = String::from_utf8_lossy(&result.stderr);
    assert!(message.contains("--steps does not apply to gradient"), "{message}");
    assert!(!out.exists());
    let result = explain_chelsea(&["--method", "lime", "--budget", "10"], &out);
    let message = String::from_utf8_lossy(&result.stderr);
    assert!(message.contains("--budget does not apply to lime"), "{message}");
    let result = explain_chelsea(&["--method", "kernel-shap", "--fill", "zero"], &out);
    let message = String::from_utf8_lossy(&result.stderr);
    assert!(message.contains("--fill zero: it must be one of mean, blur, black."), "{message}");
}

/// What a person can type that once crashed the CLI (or every worker of the page) gets a
/// message and exit code 1: a RISE grid of 100000, a 32000×1 or 1×32000 image, a model with a
/// stride of 0, a misspelt setting.
#[test]
fn hostile_inputs_are_a_message_and_exit_code_1() {
    let out = temp("hostile.npy");
    let failure = |result: std::process::Output| {
        assert_eq!(result.status.code(), Some(1), "{}", String::from_utf8_lossy(&result.stderr));
        String::from_utf8_lossy(&result.stderr).into_owned()
    };
    let message = failure(explain_chelsea(&["--method", "rise", "--grid", "100000"], &out));
    assert!(message.contains("RISE: “Grid” must be a whole number from 1 to 64; it is 100000."), "{message}");
    let message = failure(explain_chelsea(&["--method", "rise", "--masks", "20000", "--grid", "64"], &out));
    assert!(message.contains("lower the masks or the grid"), "{message}");

    for (width, height) in [(32_000u32, 1u32), (1, 32_000)] {
        let path = temp(&format!("strip-{width}x{height}.png"));
        image::GrayImage::from_pixel(width, height, image::Luma([128])).save(&path).unwrap();
        let args = ["classify", "--model", MODEL, "--input", path.to_str().unwrap()];
        let message = failure(glimpse(&args));
        assert!(
            message.contains(&format!("The image is {width}×{height}, 32000 times longer than it is wide")),
            "{message}"
        );
    }

    // small_cnn_gap with its first convolution's strides set to 0.
    let bytes = std::fs::read("tests/data/explain/small_cnn_gap.onnx").unwrap();
    let mut model = <tract_onnx::pb::ModelProto as prost::Message>::decode(bytes.as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let conv = graph.node.iter_mut().find(|n| n.op_type == "Conv").unwrap();
    let name = conv.name.clone();
    conv.attribute.retain(|a| a.name != "strides");
    conv.attribute.push(tract_onnx::pb::AttributeProto {
        name: "strides".into(),
        r#type: tract_onnx::pb::attribute_proto::AttributeType::Ints as i32,
        ints: vec![0, 0],
        ..Default::default()
    });
    let broken = temp("stride0.onnx");
    std::fs::write(&broken, prost::Message::encode_to_vec(&model)).unwrap();
    let args = [
        "explain",
        "--model",
        broken.to_str().unwrap(),
        "--input",
        "tests/data/explain/small_cnn_gap_input.npy",
    ];
    let message =
        failure(glimpse(&[&args[..], &["--method", "gradient", "--out", out.to_str().unwrap()]].concat()));
    assert!(
        message.contains(&format!("node {name} (Conv): strides is [0, 0], and each must be from 1 to 65536")),
        "{message}"
    );

    let message = failure(explain_chelsea(&["--method", "smoothgrad", "--samples", "5", "--sigma=-1"], &out));
    assert!(message.contains("SmoothGrad: “Noise σ” must be a number from 0 to 1; it is -1."), "{message}");
}

/// KernelSHAP from the command line: one value per superpixel, efficient, seeded.
#[test]
fn explain_kernel_shap_writes_one_value_per_superpixel() {
    let out = temp("shap.npy");
    let args =
        ["--method", "kernel-shap", "--segments", "12", "--budget", "40", "--fill", "blur", "--seed", "3"];
    let result = explain_chelsea(&args, &out);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(summary["method"]["budget"], 40);
    assert!(summary["completeness"]["relative"].as_f64().unwrap() < 1e-5, "{summary}");
    let map = glimpse::tensor::from_npy(&std::fs::read(&out).unwrap()).unwrap();
    let mut values: Vec<f32> = map.iter().copied().collect();
    values.sort_by(f32::total_cmp);
    values.dedup();
    assert!((5..=30).contains(&values.len()), "{} distinct values, one per superpixel", values.len());
    let again = explain_chelsea(&args, &out);
    assert!(again.status.success());
    assert_eq!(
        glimpse::tensor::from_npy(&std::fs::read(&out).unwrap()).unwrap(),
        map,
        "the same seed, the same map"
    );
    std::fs::remove_file(out).unwrap();
}

/// A sentence: the tokens with their scores in `--out`; occlusion's are the drops onnxruntime
/// gives (the reference beside the text tests), and the special tokens are not scored.
#[test]
fn explain_a_sentence_writes_tokens_with_scores() {
    let out = temp("not-bad.json");
    let model = "models/minilm-sentiment.onnx";
    let tokenizer = "models/minilm-tokenizer.json";
    let run = glimpse(&[
        "explain",
        "--model",
        model,
        "--tokenizer",
        tokenizer,
        "--text",
        "not bad at all",
        "--method",
        "occlusion",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["label"], "positive");
    let tokens = report["tokens"].as_array().unwrap();
    let words: Vec<&str> = tokens.iter().map(|t| t["token"].as_str().unwrap()).collect();
    assert_eq!(words, ["[CLS]", "not", "bad", "at", "all", "[SEP]"]);
    assert!(tokens[0]["score"].is_null() && tokens[5]["score"].is_null());
    assert_eq!((tokens[2]["start"].as_u64(), tokens[2]["end"].as_u64()), (Some(4), Some(7)));
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/text/occlusion.json")).unwrap();
    let want = reference["sentences"]["not_bad"]["target_logit_drop"].as_array().unwrap();
    for (token, want) in tokens[1..5].iter().zip(want) {
        let (got, want) = (token["score"].as_f64().unwrap(), want.as_f64().unwrap());
        assert!((got - want).abs() < 1e-4, "{got} against {want}");
    }

    let attention = glimpse(&[
        "explain",
        "--model",
        model,
        "--text",
        "not bad at all",
        "--method",
        "attention",
        "--layer",
        "2",
        "--head",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(attention.status.success(), "{}", String::from_utf8_lossy(&attention.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["method"], serde_json::json!({"method": "attention", "layer": 1, "head": 2}));
    let matrix = report["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 6);
    for row in matrix {
        let sum: f64 = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-5, "each row of attention probabilities sums to one: {sum}");
    }

    let refused = glimpse(&[
        "explain",
        "--model",
        model,
        "--text",
        "not bad at all",
        "--method",
        "rollout",
        "--budget",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--budget does not apply to rollout"));
    let empty =
        glimpse(&["explain", "--model", model, "--text", "  ", "--method", "gradient", "--out", "x.json"]);
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("empty"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
}

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A map made by Captum (Saliency), given with `--map`, scores what RISE's evaluation.py
/// re-implemented with onnxruntime gives (`data/evaluate/make_references.py`).
#[test]
fn evaluate_scores_a_captum_map_as_rises_evaluation_does() {
    let out = temp("captum-map.json");
    let args = [
        "evaluate",
        "--model",
        MODEL,
        "--input",
        "tests/data/chelsea_input.npy",
        "--map",
        "tests/data/explain/efficientnet_saliency.npy",
        "--methods",
        "gradient",
        "--target",
        "282",
        "--steps",
        "10",
        "--metrics",
        "deletion,insertion",
        "--out",
    ];
    let run = glimpse(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let got = report(&out);
    let want: serde_json::Value =
        serde_json::from_str(include_str!("data/evaluate/references.json")).unwrap();
    let mut compared = 0;
    for reference in want["runs"].as_array().unwrap() {
        if reference["method"] != "gradient" || reference.get("steps").is_none() {
            continue;
        }
        let row = got["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == reference["metric"] && r["order"] == reference["order"])
            .unwrap();
        let (auc, want_auc) = (row["auc"].as_f64().unwrap(), reference["auc"].as_f64().unwrap());
        assert!((auc - want_auc).abs() < 1e-4, "{}: {auc} against {want_auc}", reference["metric"]);
        compared += 1;
    }
    assert_eq!(compared, 4, "deletion and insertion, most and least relevant first");
    let random = got["results"].as_array().unwrap().iter().filter(|r| r["method"] == "random").count();
    assert_eq!(random, 2, "the random order's yardstick, once per metric");
    assert!(got["conventions"]["ranking"].as_str().unwrap().contains("index order"));
}

/// A folder in two shards, merged, is the whole folder's report; a bad shard is refused.
#[test]
fn evaluate_runs_a_folder_in_shards_that_merge_into_the_whole() {
    let folder = temp("evaluate-folder");
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["chelsea.png", "coffee.png"] {
        std::fs::copy(format!("www/examples/{name}"), folder.join(name)).unwrap();
    }
    let folder = folder.to_str().unwrap();
    let common = ["evaluate", "--model", MODEL, "--input", folder, "--methods", "gradient", "--steps", "4"];
    let run = |extra: &[&str], out: &std::path::Path| {
        let run = glimpse(&[&common[..], extra, &["--out", out.to_str().unwrap()]].concat());
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        report(out)
    };
    let whole = run(&[], &temp("whole.json"));
    let (one, two) = (temp("shard1.json"), temp("shard2.json"));
    let first = run(&["--shard", "1/2"], &one);
    run(&["--shard", "2/2"], &two);
    assert_eq!(first["results"].as_array().unwrap().len(), 6, "one image: 2 metrics × (morf, lerf, random)");
    let merged = temp("merged.json");
    let out = glimpse(&[
        "evaluate",
        "--merge",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report(&merged), whole);
    let bad = glimpse(&[&common[..], &["--shard", "3/2", "--out", "/dev/null"]].concat());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("the i-th of n parts"));
    let csv = temp("whole.csv");
    let out = glimpse(&[&common[..], &["--out", csv.to_str().unwrap()]].concat());
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = "input,method,metric,order,target,auc,curve,layers,spearman_signed,ssim,score,low,high";
    assert!(text.starts_with(&format!("{header}\n")));
    assert_eq!(text.lines().count(), 13, "a header and 12 curves");
    assert!(text.lines().all(|line| line.split(',').count() == 13), "every row has the header's 13 fields");
}

/// Sentences: the first pass of deletion is the sentence itself (P(positive) = 0.9196 from
/// onnxruntime's logits ±1.2182), and inserting most relevant first retraces deleting least
/// relevant first, since a sentence's insertion starts where its deletion ends.
#[test]
fn evaluate_scores_a_sentences_maps_over_its_tokens() {
    let out = temp("text-report.json");
    let run = glimpse(&[
        "evaluate",
        "--model",
        "models/minilm-sentiment.onnx",
        "--text",
        "not bad at all",
        "--methods",
        "occlusion,gradient",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report = report(&out);
    let rows = report["results"].as_array().unwrap();
    let row = |method: &str, metric: &str, order: &str| {
        rows.iter().find(|r| r["method"] == method && r["metric"] == metric && r["order"] == order).unwrap()
    };
    for method in ["occlusion", "gradient"] {
        let deletion = row(method, "deletion", "morf");
        let first = deletion["curve"][0].as_f64().unwrap();
        assert!((first - 0.9196).abs() < 1e-3, "{method}: {first}");
        assert_eq!(deletion["curve"].as_array().unwrap().len(), 5, "four words, one a step");
        let (ins, del) = (
            row(method, "insertion", "morf")["auc"].as_f64().unwrap(),
            row(method, "deletion", "lerf")["auc"].as_f64().unwrap(),
        );
        assert!((ins - del).abs() < 1e-6, "{method}: insertion {ins}, deletion LeRF {del}");
    }
    assert!(report["conventions"]["deletion"].as_str().unwrap().contains("[PAD]"));
    let empty = glimpse(&[
        "evaluate",
        "--model",
        "models/minilm-sentiment.onnx",
        "--text",
        "",
        "--methods",
        "occlusion",
        "--out",
        "/dev/null",
    ]);
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("empty"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
}

/// Adebayo et al.'s finding on the bundled model: re-initialising the logits layer alone
/// changes the gradient's map (ρ well below 1) while Guided Backprop's barely moves. The
/// CLI's numbers are the library's, recomputed here; `randomise` lists the layers and writes
/// the randomised model.
#[test]
fn evaluate_randomisation_shows_guided_backprop_surviving_the_logits_randomised() {
    use glimpse::evaluate::compare;
    use glimpse::explain::{Explainer, Method, Subject};

    let out = temp("randomisation.json");
    let run = glimpse(&[
        "evaluate",
        "--model",
        MODEL,
        "--input",
        "tests/data/chelsea_input.npy",
        "--methods",
        "gradient,guided-backprop",
        "--metrics",
        "randomisation",
        "--randomisation-mode",
        "cascading",
        "--randomisation-steps",
        "2",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rows = report(&out)["results"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    let row = |method: &str| rows.iter().find(|r| r["method"] == method).unwrap().clone();
    let (gradient, guided) = (row("gradient"), row("guided-backprop"));
    assert_eq!(gradient["layers"], serde_json::json!(["/_fc/Gemm", "/_conv_stem/Conv"]));
    let rho = |r: &serde_json::Value| r["curve"][0].as_f64().unwrap() as f32;
    assert!(
        rho(&guided) > 0.95 && rho(&gradient) < 0.6,
        "guided {} gradient {}",
        rho(&guided),
        rho(&gradient)
    );

    let onnx = std::fs::read(MODEL).unwrap();
    let subject = Subject {
        input: common::npy(&std::fs::read("tests/data/chelsea_input.npy").unwrap()),
        target: gradient["target"].as_u64().unwrap() as usize,
        pixels: None,
        custom_baseline: None,
    };
    let randomised = glimpse::model::randomise::randomise(&onnx, &[0], 4).unwrap();
    let method = Method::from_name("gradient").unwrap();
    let map = |bytes: &[u8]| {
        let raw =
            Explainer::from_bytes(bytes).unwrap().explain(&subject, &method, &mut |_, _| {}).unwrap().map;
        glimpse::render::displayed(&raw, method.display(), 224, 224)
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<f32>>()
    };
    let similarity = compare(&map(&onnx), &map(&randomised), Some((224, 224)));
    assert_eq!(rho(&gradient), similarity.spearman_abs);
    assert_eq!(gradient["ssim"][0].as_f64().unwrap() as f32, similarity.ssim.unwrap());

    let written = temp("randomised.onnx");
    let listed = glimpse(&[
        "randomise",
        "--model",
        MODEL,
        "--layers",
        "0",
        "--seed",
        "4",
        "--out",
        written.to_str().unwrap(),
    ]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(std::fs::read(&written).unwrap(), randomised);
    let layers: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(layers["layers"].as_array().unwrap().len(), 50);
    assert_eq!(layers["layers"][0]["randomised"], true);
    let bad = glimpse(&["randomise", "--model", MODEL, "--layers", "50", "--out", "/dev/null"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("50 parameterised layers"));
}

/// Sensitivity from the CLI: each noisy input's relative change and the largest, the same as
/// the library's with the same seeded noise; a sentence is refused.
#[test]
fn evaluate_sensitivity_is_the_librarys_sensitivity_max() {
    use glimpse::evaluate::noise;
    use glimpse::explain::{Explainer, Method, Subject};

    let out = temp("sensitivity.json");
    let run = glimpse(&[
        "evaluate",
        "--model",
        MODEL,
        "--input",
        "tests/data/chelsea_input.npy",
        "--methods",
        "gradient",
        "--metrics",
        "sensitivity",
        "--sensitivity-samples",
        "3",
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rows = report(&out)["results"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    let curve: Vec<f32> =
        rows[0]["curve"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(curve.len(), 3);

    let explainer = Explainer::from_bytes(&std::fs::read(MODEL).unwrap()).unwrap();
    let input = common::npy(&std::fs::read("tests/data/chelsea_input.npy").unwrap());
    let noises: Vec<_> = (0..3).map(|k| noise(input.shape(), 0.02, 9, k)).collect();
    let target = rows[0]["target"].as_u64().unwrap() as usize;
    let subject = Subject { input, target, pixels: None, custom_baseline: None };
    let method = Method::from_name("gradient").unwrap();
    let original = explainer.explain(&subject, &method, &mut |_, _| {}).unwrap();
    let want =
        explainer.sensitivity(&subject, &method, &original.map, noises.into_iter(), &mut |_, _| {}).unwrap();
    let want = glimpse::evaluate::Changes::new(want);
    assert_eq!(curve, want.changes);
    assert_eq!(rows[0]["score"].as_f64().unwrap() as f32, want.max);
    assert!(want.max > 0.0);

    let text = glimpse(&[
        "evaluate",
        "--model",
        "models/minilm-sentiment.onnx",
        "--text",
        "fine",
        "--metrics",
        "sensitivity",
        "--out",
        "/dev/null",
    ]);
    assert!(String::from_utf8_lossy(&text.stderr).contains("applies to images"));
}

/// Soft stability from the CLI: the same rate as the library's on the same superpixels, map and
/// seed, with its interval in JSON and CSV; a sentence's few tokens give every mask once.
#[test]
fn evaluate_soft_stability_is_the_librarys_rate() {
    use glimpse::evaluate::{Features, Measure, Scored};
    use glimpse::explain::{Explainer, Method, Subject};
    use glimpse::render::displayed;

    let out = temp("stability.json");
    let run = glimpse(&[
        "evaluate",
        "--model",
        MODEL,
        "--input",
        "tests/data/chelsea_input.npy",
        "--methods",
        "grad-cam",
        "--metrics",
        "soft-stability",
        "--stability-epsilon",
        "0.25",
        "--stability-delta",
        "0.2",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rows = report(&out)["results"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    let got = &rows[0]["stability"];
    assert_eq!(got["samples"], 19, "⌈ln(2/0.2) / (2 · 0.25²)⌉");

    let explainer = Explainer::from_bytes(&std::fs::read(MODEL).unwrap()).unwrap();
    let input = common::npy(&std::fs::read("tests/data/chelsea_input.npy").unwrap());
    let target = rows[0]["target"].as_u64().unwrap() as usize;
    let subject = Subject { input: input.clone(), target, pixels: None, custom_baseline: None };
    let method = Method::from_name("grad-cam").unwrap();
    let map = explainer.explain(&subject, &method, &mut |_, _| {}).unwrap().map;
    let values: Vec<f32> = displayed(&map, method.display(), 224, 224).unwrap().iter().copied().collect();
    let measure =
        Measure::parse(r#"{"metric": "soft-stability", "epsilon": 0.25, "delta": 0.2, "seed": 4}"#).unwrap();
    // The CLI reads the description beside the model: SLIC sees the photo's colours (CIELAB).
    let config =
        glimpse::ModelConfig::from_json(&std::fs::read(MODEL.replace(".onnx", ".json")).unwrap()).unwrap();
    let features = Features::Pixels { input, pixels: Some(config.preprocess) };
    let passes = measure.lay_out(&features, &values, target).unwrap();
    let scores = explainer.measure_scores(passes.as_ref(), 0..passes.len(), &mut |_, _| {}).unwrap();
    let Scored::Stability(want) = passes.finish(&scores).unwrap() else { panic!("a rate") };
    assert_eq!(got["rate"].as_f64().unwrap() as f32, want.rate);
    assert_eq!(got["low"].as_f64().unwrap() as f32, want.low);
    assert_eq!(got["prediction"].as_u64().unwrap() as usize, want.prediction);
    assert!(want.features > 30 && want.shown == want.features.div_ceil(4));

    let csv = temp("stability.csv");
    let text = glimpse(&[
        "evaluate",
        "--model",
        "models/minilm-sentiment.onnx",
        "--text",
        "not bad at all",
        "--methods",
        "occlusion",
        "--metrics",
        "soft-stability",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let written = std::fs::read_to_string(&csv).unwrap();
    let mut lines = written.lines();
    assert!(lines.next().unwrap().ends_with(",score,low,high"));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (rate, low, high) = (row[10], row[11], row[12]);
    assert!(rate == low && low == high, "a few tokens: every mask once, the rate exact: {row:?}");
}
