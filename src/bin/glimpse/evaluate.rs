//! `glimpse evaluate`: every method's map on every image of a folder, held to the faithfulness
//! metrics, on every core; the same numbers as the page for the same image, settings and seed.
//! `--merge` joins the reports of a sharded run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use glimpse::evaluate::{
    compare, noise, Changes, Features, Kind, Measure, Order, Passes, RandomisationConfig, Scored,
    SensitivityConfig, Similarity, StabilityRate, Step,
};
use glimpse::explain::{Explainer, Method, Subject};
use glimpse::model::randomise;
use glimpse::render::displayed;
use glimpse::text::{TextMethod, TextModel};
use glimpse::ModelConfig;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::explain::{load_input, top_class, TextFiles};
use super::{read, EvaluateArgs};

/// The method name of the random order's rows: the yardstick.
const RANDOM: &str = "random";

/// One curve of the report; what a metric does not give stays empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub input: String,
    /// The method whose map is ranked; "random" for the random order's yardstick.
    pub method: String,
    pub metric: String,
    pub order: String,
    pub target: usize,
    /// A sweep's area; randomisation has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc: Option<f32>,
    /// A sweep's scores; randomisation's Spearman ρ of the absolute maps, step by step.
    pub curve: Vec<f32>,
    /// Randomisation: each step's deepest re-initialised layer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
    /// Randomisation: Spearman's ρ of the signed maps, step by step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spearman_signed: Vec<f32>,
    /// Randomisation: SSIM of the absolute maps, step by step (none for a sentence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssim: Vec<Option<f32>>,
    /// Sensitivity: the largest relative change (the `curve` holds each draw's); soft
    /// stability: the stability rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Soft stability: the rate with its interval, samples, and the explanation's prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<StabilityRate>,
}

/// A report: the conventions it used and every curve.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub conventions: Value,
    pub results: Vec<Row>,
}

/// The images (and `.npy` tensors) a path names: the file, or a folder's, sorted by name.
fn inputs(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let known = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "npy"];
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| known.contains(&e.to_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no image (PNG, JPEG, WebP, GIF, BMP) or .npy file in this folder",
            path.display()
        ));
    }
    Ok(files)
}

/// `i/n`: the i-th of n parts, counted from 1.
fn shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard takes i/n with 1 ≤ i ≤ n (the i-th of n parts), not {text}");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The metrics asked for: each sweep in the orders asked (and the random order, unless left
/// out) at the steps asked, and randomisation in the modes asked.
struct Measures {
    sweeps: Vec<(Measure, Order)>,
    stabilities: Vec<Measure>,
    randomisations: Vec<Measure>,
    sensitivities: Vec<Measure>,
}

/// The metrics named (the sweeps when none are), parsed and checked once, before any work.
fn measures(args: &EvaluateArgs) -> Result<Measures, String> {
    let mut orders = match args.order.as_deref() {
        None => vec![Order::Morf, Order::Lerf],
        Some("morf") => vec![Order::Morf],
        Some("lerf") => vec![Order::Lerf],
        Some(other) => return Err(format!("--order is morf or lerf (both when left out), not {other}")),
    };
    if !args.no_random {
        orders.push(Order::Random);
    }
    let modes: Vec<&str> = match args.randomisation_mode.as_deref() {
        None => vec!["cascading", "independent"],
        Some(mode) => vec![mode],
    };
    let names: Vec<String> = match &args.metrics {
        Some(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
        None => {
            Measure::descriptors().iter().filter(|d| d.kind == Kind::Sweep).map(|d| d.id.to_owned()).collect()
        }
    };
    let mut out =
        Measures { sweeps: vec![], stabilities: vec![], randomisations: vec![], sensitivities: vec![] };
    for name in names {
        let kind = Measure::descriptors().iter().find(|d| d.id == name).map(|d| d.kind);
        if kind == Some(Kind::Sensitivity) {
            let settings = json!({"metric": name, "seed": args.seed, "radius": args.sensitivity_radius,
                                  "samples": args.sensitivity_samples});
            out.sensitivities.push(Measure::parse(&settings.to_string()).map_err(|e| e.to_string())?);
            continue;
        }
        if kind == Some(Kind::Stability) {
            let settings = json!({"metric": name, "seed": args.seed, "radius": args.stability_radius,
                                  "epsilon": args.stability_epsilon, "delta": args.stability_delta});
            out.stabilities.push(Measure::parse(&settings.to_string()).map_err(|e| e.to_string())?);
            continue;
        }
        if kind == Some(Kind::Randomisation) {
            for mode in &modes {
                let settings = json!({"metric": name, "mode": mode, "steps": args.randomisation_steps, "seed": args.seed});
                out.randomisations.push(Measure::parse(&settings.to_string()).map_err(|e| e.to_string())?);
            }
            continue;
        }
        for &order in &orders {
            let mut settings =
                json!({"metric": name, "order": order, "seed": args.seed, "steps": args.steps});
            if let Some(k) = args.step_pixels {
                settings["step_pixels"] = k.into();
            }
            out.sweeps.push((Measure::parse(&settings.to_string()).map_err(|e| e.to_string())?, order));
        }
    }
    Ok(out)
}

fn order_name(order: Order) -> String {
    serde_json::to_value(order).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn evaluate(args: EvaluateArgs) -> Result<String, String> {
    if !args.merge.is_empty() {
        return merge(&args);
    }
    let model_path = args.model.as_ref().ok_or("give --model (or --merge REPORTS...)")?;
    if !args.text.is_empty() {
        return evaluate_text(&args, model_path);
    }
    let input_path = args.input.as_ref().ok_or("give --input FILE_OR_DIR (or --merge REPORTS...)")?;
    let (onnx, config) = super::load(args.config.as_deref(), model_path)?;
    let explainer = Explainer::from_bytes(&onnx).map_err(|e| e.to_string())?;
    let methods: Vec<Method> = match &args.methods {
        Some(list) => list
            .split(',')
            .map(|m| Method::from_name(m.trim()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?,
        None => {
            let unavailable = explainer.unavailable();
            Method::all().into_iter().filter(|m| !unavailable.iter().any(|(id, _)| *id == m.name())).collect()
        }
    };
    let measures = measures(&args)?;
    let map = match &args.map {
        Some(path) => {
            if methods.len() != 1 || args.methods.is_none() {
                return Err(
                    "--map scores one map: name the one method that made it with --methods, so that \
                            its channels are reduced as that method's tile shows them"
                        .into(),
                );
            }
            Some(glimpse::tensor::from_npy(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let mut files = inputs(input_path)?;
    if map.is_some() && files.len() != 1 {
        return Err("--map scores a map of one input: give --input one file".into());
    }
    if map.is_some() && !measures.randomisations.is_empty() {
        return Err(
            "randomisation recomputes the map on randomised models: it cannot score a map given with --map"
                .into(),
        );
    }
    if let Some(text) = &args.shard {
        let (i, n) = shard(text)?;
        files = files.into_iter().enumerate().filter(|(k, _)| k % n == i - 1).map(|(_, f)| f).collect();
    }

    // Every input and its class, once, on every core.
    let loaded: Vec<(ndarray::ArrayD<f32>, usize)> = files
        .par_iter()
        .map(|file| {
            let context = |e: String| format!("{}: {e}", file.display());
            let (input, _) = load_input(file, config.as_ref()).map_err(context)?;
            if input.ndim() != 4 {
                return Err(context(format!(
                    "evaluate needs an image input (1×C×H×W); this one has shape {:?}",
                    input.shape()
                )));
            }
            let target = match args.target {
                Some(t) => t,
                None => top_class(&explainer, &input).map_err(context)?,
            };
            Ok((input, target))
        })
        .collect::<Result<_, String>>()?;

    // Every input's maps (and the random order), each scored by the sweeps, on every core.
    let maps: Vec<Option<&Method>> = match map {
        Some(_) => methods.first().map(Some).into_iter().collect(),
        None => methods.iter().map(Some).collect(),
    };
    let maps: Vec<Option<&Method>> =
        if args.no_random { maps } else { std::iter::once(None).chain(maps).collect() };
    let tasks: Vec<(usize, Option<&Method>)> =
        (0..files.len()).flat_map(|f| maps.iter().map(move |&m| (f, m))).collect();
    let steps: Vec<(&Measure, Vec<Step>)> = match &measures.randomisations[..] {
        [] => vec![],
        some => {
            let layers = randomise::layers(&onnx).map_err(|e| e.to_string())?;
            some.iter().map(|m| Ok((m, randomisation_steps(m, &layers)?))).collect::<Result<_, String>>()?
        }
    };
    let recomputed = (steps.iter().map(|(_, s)| s.len()).sum::<usize>() + measures.sensitivities.len())
        * files.len()
        * methods.len();
    let bar = ProgressBar::new((tasks.len() + recomputed) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} maps, {elapsed} ({eta} left) {msg}")
            .map_err(|e| e.to_string())?,
    );
    let failed = AtomicBool::new(false);
    let scored: Vec<(Vec<f32>, Vec<Row>)> = tasks
        .par_iter()
        .map(|&(f, method)| {
            if failed.load(Ordering::Relaxed) {
                return Ok((vec![], vec![]));
            }
            let (file, (input, target)) = (&files[f], &loaded[f]);
            let result =
                score_one(&explainer, config.as_ref(), file, input, *target, method, map.as_ref(), &measures);
            bar.inc(1);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            result
        })
        .collect::<Result<_, String>>()?;

    // Each step's randomised model, once, for every input's maps.
    let mut results: Vec<Row> = vec![];
    for (measure, steps) in &steps {
        let per_step: Vec<Vec<Similarity>> = steps
            .par_iter()
            .map(|step| {
                let randomised = randomise::randomise(&onnx, &step.layers, measure_seed(measure)?)
                    .and_then(|bytes| Explainer::from_bytes(&bytes))
                    .map_err(|e| e.to_string())?;
                tasks
                    .iter()
                    .zip(&scored)
                    .filter_map(|(&(f, method), (values, _))| method.map(|m| (f, m, values)))
                    .map(|(f, method, values)| {
                        let (input, target) = &loaded[f];
                        let again = image_values(&randomised, config.as_ref(), input, *target, method)
                            .map_err(|e| {
                                format!("{} (randomised through {}): {e}", files[f].display(), step.label)
                            })?;
                        bar.inc(1);
                        let (h, w) = (input.shape()[2], input.shape()[3]);
                        Ok(compare(values, &again, Some((h, w))))
                    })
                    .collect()
            })
            .collect::<Result<_, String>>()?;
        let mapped = tasks.iter().filter_map(|&(f, method)| method.map(|m| (f, m)));
        for (k, (f, method)) in mapped.enumerate() {
            let similarities: Vec<Similarity> = per_step.iter().filter_map(|s| s.get(k).copied()).collect();
            results.push(randomisation_row(
                files[f].display().to_string(),
                method.name(),
                loaded[f].1,
                measure,
                steps,
                &similarities,
            )?);
        }
    }
    for measure in &measures.sensitivities {
        let sensitivity: SensitivityConfig = measure.settings().config().map_err(|e| e.to_string())?;
        let rows: Vec<Row> = tasks
            .par_iter()
            .filter_map(|&(f, method)| method.map(|m| (f, m)))
            .map(|(f, method)| {
                let (input, target) = &loaded[f];
                let context = |e: glimpse::Error| format!("{}: {e}", files[f].display());
                let subject = Subject {
                    input: input.clone(),
                    target: *target,
                    pixels: config.as_ref().map(|c| c.preprocess.clone()),
                    custom_baseline: None,
                };
                let original = explainer.explain(&subject, method, &mut |_, _| {}).map_err(context)?;
                let noises = (0..sensitivity.samples)
                    .map(|k| noise(input.shape(), sensitivity.radius, sensitivity.seed, k));
                let changes = explainer
                    .sensitivity(&subject, method, &original.map, noises, &mut |_, _| {})
                    .map(Changes::new)
                    .map_err(context)?;
                bar.inc(1);
                Ok(Row {
                    input: files[f].display().to_string(),
                    method: method.name().to_owned(),
                    metric: measure.name().to_owned(),
                    order: "max".into(),
                    target: *target,
                    curve: changes.changes,
                    score: Some(changes.max),
                    ..Row::default()
                })
            })
            .collect::<Result<_, String>>()?;
        results.extend(rows);
    }
    bar.finish_and_clear();
    results.extend(scored.into_iter().flat_map(|(_, rows)| rows));
    sort(&mut results);
    let names = if map.is_some() {
        json!(["a map given with --map"])
    } else {
        serde_json::to_value(&methods).unwrap_or_default()
    };
    let report = Report { conventions: conventions(&args, model_path, names, Unit::Pixels), results };
    write_report(&args.out, &report)?;
    summary(&args.out, ("inputs", files.len()), &report.results)
}

/// The seed a randomisation measure keys its weights with.
fn measure_seed(measure: &Measure) -> Result<u64, String> {
    Ok(measure.settings().config::<RandomisationConfig>().map_err(|e| e.to_string())?.seed)
}

/// A randomisation measure's steps on a model with these layers.
fn randomisation_steps(measure: &Measure, layers: &[randomise::ParamLayer]) -> Result<Vec<Step>, String> {
    let config: RandomisationConfig = measure.settings().config().map_err(|e| e.to_string())?;
    if layers.is_empty() {
        return Err("the model has no layer randomisation can re-initialise (Conv, Gemm, or MatMul with a constant weight)".into());
    }
    Ok(config.steps(layers))
}

/// One map's randomisation row: |Spearman| per step as the curve, the rest beside it.
fn randomisation_row(
    input: String,
    method: &str,
    target: usize,
    measure: &Measure,
    steps: &[Step],
    similarities: &[Similarity],
) -> Result<Row, String> {
    let config: RandomisationConfig = measure.settings().config().map_err(|e| e.to_string())?;
    Ok(Row {
        input,
        method: method.to_owned(),
        metric: measure.name().to_owned(),
        order: serde_json::to_value(config.mode)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        target,
        curve: similarities.iter().map(|s| s.spearman_abs).collect(),
        layers: steps.iter().map(|s| s.label.clone()).collect(),
        spearman_signed: similarities.iter().map(|s| s.spearman_signed).collect(),
        ssim: similarities.iter().map(|s| s.ssim).collect(),
        ..Row::default()
    })
}

/// A method's map of an image input, as its tile displays it: one value per pixel.
fn image_values(
    explainer: &Explainer,
    config: Option<&ModelConfig>,
    input: &ndarray::ArrayD<f32>,
    target: usize,
    method: &Method,
) -> glimpse::Result<Vec<f32>> {
    let subject = Subject {
        input: input.clone(),
        target,
        pixels: config.map(|c| c.preprocess.clone()),
        custom_baseline: None,
    };
    let raw = explainer.explain(&subject, method, &mut |_, _| {})?.map;
    displayed_values(raw, method, input)
}

fn displayed_values(
    raw: ndarray::ArrayD<f32>,
    method: &Method,
    input: &ndarray::ArrayD<f32>,
) -> glimpse::Result<Vec<f32>> {
    let (height, width) = (input.shape()[2], input.shape()[3]);
    let raw =
        if raw.ndim() == 2 { raw.insert_axis(ndarray::Axis(0)).insert_axis(ndarray::Axis(0)) } else { raw };
    Ok(displayed(&raw, method.display(), height, width)?.iter().copied().collect())
}

/// One input: one method's map (or the given map; `None`: the random order's yardstick) under
/// every sweep and order; with the map's values, as displayed.
#[allow(clippy::too_many_arguments)]
fn score_one(
    explainer: &Explainer,
    config: Option<&ModelConfig>,
    file: &Path,
    input: &ndarray::ArrayD<f32>,
    target: usize,
    method: Option<&Method>,
    map: Option<&ndarray::ArrayD<f32>>,
    measures: &Measures,
) -> Result<(Vec<f32>, Vec<Row>), String> {
    let context = |e: glimpse::Error| format!("{}: {e}", file.display());
    let values: Vec<f32> = match (method, map) {
        (None, _) => vec![],
        (Some(method), Some(map)) => displayed_values(map.clone(), method, input).map_err(context)?,
        (Some(method), None) => image_values(explainer, config, input, target, method).map_err(context)?,
    };
    let task = Task {
        input: file.display().to_string(),
        method: method.map_or(RANDOM, |m| m.name()),
        target,
        features: Features::Pixels { input: input.clone(), pixels: config.map(|c| c.preprocess.clone()) },
        values,
    };
    let rows =
        curves(measures, &task, |passes| explainer.measure_scores(passes, 0..passes.len(), &mut |_, _| {}))?;
    Ok((task.values, rows))
}

/// One input's features ranked by one map (the random order: by none), for one class.
struct Task<'a> {
    input: String,
    method: &'a str,
    target: usize,
    features: Features,
    values: Vec<f32>,
}

/// The task's curve under every metric and order that applies to it (the random order to the
/// yardstick's task only), and its stability rates, each pass scored by `score`.
fn curves(
    measures: &Measures,
    task: &Task,
    score: impl Fn(&dyn Passes) -> glimpse::Result<Vec<f32>>,
) -> Result<Vec<Row>, String> {
    let context = |e: glimpse::Error| format!("{}: {e}", task.input);
    let random = task.method == RANDOM;
    let sweeps = measures.sweeps.iter().filter(|(_, order)| (*order == Order::Random) == random);
    let stabilities = measures.stabilities.iter().filter(|_| !random).map(|m| (m, Order::Morf));
    sweeps
        .map(|(measure, order)| (measure, *order))
        .chain(stabilities)
        .map(|(measure, order)| {
            let passes = measure.lay_out(&task.features, &task.values, task.target).map_err(context)?;
            let scores = score(passes.as_ref()).map_err(context)?;
            let row = Row {
                input: task.input.clone(),
                method: task.method.to_owned(),
                metric: measure.name().to_owned(),
                order: order_name(order),
                target: task.target,
                ..Row::default()
            };
            Ok(match passes.finish(&scores).map_err(context)? {
                Scored::Curve(curve) => Row { auc: Some(curve.auc), curve: curve.scores, ..row },
                Scored::Stability(rate) => Row { score: Some(rate.rate), stability: Some(rate), ..row },
            })
        })
        .collect()
}

fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        (&a.input, &a.method, &a.metric, &a.order).cmp(&(&b.input, &b.method, &b.metric, &b.order))
    });
}

/// What a metric moves.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Pixels,
    Tokens,
}

/// Everything a reader needs to interpret the numbers.
fn conventions(args: &EvaluateArgs, model: &Path, methods: Value, unit: Unit) -> Value {
    let steps = match args.step_pixels {
        Some(k) => json!({"step_pixels": k}),
        None => json!({"steps": args.steps}),
    };
    json!({
        "glimpse": env!("CARGO_PKG_VERSION"),
        "model": model.display().to_string(),
        "definition": "Petsiuk et al. 2018, as the RISE repository's evaluation.py",
        "score": "the target's softmax probability",
        "target": match args.target { Some(t) => json!(t), None => json!("the top class of each input") },
        "ranking": match unit {
            Unit::Pixels => "the map as its tile displays it (channels reduced as the method's display says, at the model's input size); morf: decreasing, lerf: increasing; equal values in row-major index order; NaN least relevant",
            Unit::Tokens => "the tokens other than [CLS] and [SEP] by their scores; morf: decreasing, lerf: increasing; equal values in position order; a token without a score least relevant",
        },
        "deletion": match unit {
            Unit::Pixels => "pixels (every channel) set to 0 in the model's input space",
            Unit::Tokens => "tokens set to [PAD], so the mask derived from the ids drops them",
        },
        "insertion": match unit {
            Unit::Pixels => "from the input convolved channel by channel with RISE's gkern(11, 5), zero-padded; pixels put back",
            Unit::Tokens => "from every token [PAD] but [CLS] and [SEP]; tokens put back",
        },
        "step": steps,
        "x": if unit == Unit::Pixels { "the share of pixels moved" } else { "the share of tokens moved" },
        "auc": "the trapezoid rule over [0, 1]",
        "random": if args.no_random { json!(null) } else { json!("a seeded random order (ChaCha8), the yardstick") },
        "soft_stability": match unit {
            Unit::Pixels => "SLIC superpixels (LIME's), each ranked by the mean of the map over its pixels; the top ⌈n/4⌉ shown alone, the rest 0 in the model's input space; up to r more shown, drawn uniformly among every such mask (all of them when there are no more than the Hoeffding count); the prediction is the top class",
            Unit::Tokens => "tokens but [CLS] and [SEP], ranked by their scores; the top ⌈n/4⌉ shown alone, the rest [PAD]; up to r more shown, drawn uniformly among every such mask (all of them when there are no more than the Hoeffding count); the prediction is the top class",
        },
        "seed": args.seed,
        "methods": methods,
        "method_settings": "each method at its defaults",
    })
}

fn write_report(out: &Path, report: &Report) -> Result<(), String> {
    let text = if out.extension().is_some_and(|e| e == "csv") {
        let mut csv = String::from(
            "input,method,metric,order,target,auc,curve,layers,spearman_signed,ssim,score,low,high\n",
        );
        let list = |values: &mut dyn Iterator<Item = String>| values.collect::<Vec<_>>().join(" ");
        let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        for r in &report.results {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                quoted(&r.input),
                r.method,
                r.metric,
                r.order,
                r.target,
                r.auc.map(|a| a.to_string()).unwrap_or_default(),
                list(&mut r.curve.iter().map(f32::to_string)),
                quoted(&list(&mut r.layers.iter().cloned())),
                list(&mut r.spearman_signed.iter().map(f32::to_string)),
                list(&mut r.ssim.iter().map(|v| v.map(|x| x.to_string()).unwrap_or_default())),
                r.score.map(|x| x.to_string()).unwrap_or_default(),
                r.stability.as_ref().map(|s| s.low.to_string()).unwrap_or_default(),
                r.stability.as_ref().map(|s| s.high.to_string()).unwrap_or_default(),
            ));
        }
        csv
    } else {
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
    };
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))
}

/// The mean of a number of the rows (the area, the score) by method, metric and order.
fn means(rows: &[Row], of: impl Fn(&Row) -> Option<f32>) -> Value {
    let mut sums: std::collections::BTreeMap<String, (f64, u32)> = Default::default();
    for r in rows {
        let Some(value) = of(r) else { continue };
        let (sum, n) = sums.entry(format!("{} {} {}", r.method, r.metric, r.order)).or_default();
        *sum += f64::from(value);
        *n += 1;
    }
    sums.into_iter().map(|(key, (sum, n))| (key, json!(sum / f64::from(n)))).collect()
}

/// The summary printed when a report is written: where, how many rows, and the means.
fn summary(out: &Path, count: (&str, usize), rows: &[Row]) -> Result<String, String> {
    let mut summary = json!({
        "out": out.display().to_string(),
        "curves": rows.len(),
        "mean_auc": means(rows, |r| r.auc),
        "mean_score": means(rows, |r| r.score),
    });
    summary[count.0] = count.1.into();
    serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
}

/// Sentences: every text method's map of each, scored over its tokens.
fn evaluate_text(args: &EvaluateArgs, model_path: &Path) -> Result<String, String> {
    if args.map.is_some() || args.shard.is_some() || args.step_pixels.is_some() {
        return Err("--map, --shard and --step-pixels apply to images; with --text, give --steps".into());
    }
    if args.metrics.as_deref().is_some_and(|m| m.split(',').any(|n| n.trim() == "sensitivity")) {
        return Err(
            "sensitivity moves the input by small noise: it applies to images, not to a sentence's tokens"
                .into(),
        );
    }
    let config_path = args.config.clone().unwrap_or_else(|| model_path.with_extension("json"));
    let files = TextFiles::read(model_path, &config_path, args.tokenizer.as_deref())?;
    let model = files.model(&files.onnx)?;
    let methods: Vec<TextMethod> = match &args.methods {
        Some(list) => list
            .split(',')
            .map(|m| TextMethod::from_name(m.trim()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?,
        None => TextMethod::all(),
    };
    let measures = measures(args)?;
    // Sentences on every core; each is read once, and its maps share its models.
    let scored: Vec<Sentence> = args
        .text
        .par_iter()
        .map(|text| sentence_rows(args, &model, text, &methods, &measures))
        .collect::<Result<_, String>>()?;
    let mut results: Vec<Row> = vec![];
    let layers = match measures.randomisations.is_empty() {
        true => vec![],
        false => randomise::layers(&files.onnx).map_err(|e| e.to_string())?,
    };
    for measure in &measures.randomisations {
        let steps = randomisation_steps(measure, &layers)?;
        // Each step's randomised model once, for every sentence's maps.
        let per_step: Vec<Vec<Similarity>> = steps
            .par_iter()
            .map(|step| {
                let bytes = randomise::randomise(&files.onnx, &step.layers, measure_seed(measure)?)
                    .map_err(|e| e.to_string())?;
                let randomised = files.model(&bytes)?;
                let mut out = vec![];
                for (text, scored) in args.text.iter().zip(&scored) {
                    let context =
                        |e: glimpse::Error| format!("{text:?} (randomised through {}): {e}", step.label);
                    let mut sentence = randomised.sentence(text).map_err(context)?;
                    for (method, values) in methods.iter().zip(&scored.values) {
                        let again = randomised
                            .explain(&mut sentence, method, scored.target, &mut |_, _| {})
                            .map_err(context)?;
                        out.push(compare(values, &randomised.ranked(&sentence, &again.scores), None));
                    }
                }
                Ok(out)
            })
            .collect::<Result<_, String>>()?;
        let maps = args
            .text
            .iter()
            .zip(&scored)
            .flat_map(|(text, s)| methods.iter().map(move |m| (text, m, s.target)));
        for (k, (text, method, target)) in maps.enumerate() {
            let similarities: Vec<Similarity> = per_step.iter().filter_map(|s| s.get(k).copied()).collect();
            results.push(randomisation_row(
                text.clone(),
                method.name(),
                target,
                measure,
                &steps,
                &similarities,
            )?);
        }
    }
    results.extend(scored.into_iter().flat_map(|s| s.rows));
    sort(&mut results);
    let names = serde_json::to_value(&methods).unwrap_or_default();
    let report = Report { conventions: conventions(args, model_path, names, Unit::Tokens), results };
    write_report(&args.out, &report)?;
    summary(&args.out, ("sentences", args.text.len()), &report.results)
}

/// A sentence's class, its maps' values (one list per method) and their sweeps' rows.
struct Sentence {
    target: usize,
    values: Vec<Vec<f32>>,
    rows: Vec<Row>,
}

/// One sentence: every text method's map (and the random order, unless left out) under every
/// sweep and order.
fn sentence_rows(
    args: &EvaluateArgs,
    model: &TextModel,
    text: &str,
    methods: &[TextMethod],
    measures: &Measures,
) -> Result<Sentence, String> {
    let context = |e: String| format!("{text:?}: {e}");
    let mut sentence = model.sentence(text).map_err(|e| context(e.to_string()))?;
    let target = match args.target {
        Some(t) => t,
        None => glimpse::classify::argmax(ndarray::ArrayView1::from(&sentence.reading.logits)),
    };
    let random = (!args.no_random).then_some(None);
    let (mut rows, mut maps) = (vec![], vec![]);
    for method in random.into_iter().chain(methods.iter().map(Some)) {
        let values = match method {
            Some(method) => {
                let attribution = model
                    .explain(&mut sentence, method, target, &mut |_, _| {})
                    .map_err(|e| context(e.to_string()))?;
                model.ranked(&sentence, &attribution.scores)
            }
            None => vec![],
        };
        let task = Task {
            input: text.to_owned(),
            method: method.map_or(RANDOM, |m| m.name()),
            target,
            features: model.features(&sentence),
            values,
        };
        rows.extend(curves(measures, &task, |passes| {
            model.measure_scores(passes, 0..passes.len(), &mut |_, _| {})
        })?);
        if method.is_some() {
            maps.push(task.values);
        }
    }
    Ok(Sentence { target, values: maps, rows })
}

/// Joins the reports of a sharded run: the same conventions, every curve once.
fn merge(args: &EvaluateArgs) -> Result<String, String> {
    let mut conventions: Option<Value> = None;
    let mut results = vec![];
    for path in &args.merge {
        let report: Report = serde_json::from_slice(&read(path)?)
            .map_err(|e| format!("{}: not a glimpse evaluate JSON report ({e})", path.display()))?;
        match &conventions {
            Some(c) if *c != report.conventions => {
                return Err(format!(
                    "{}: its conventions differ from the first report's; a merge joins the shards of one run",
                    path.display()
                ))
            }
            _ => conventions = Some(report.conventions),
        }
        results.extend(report.results);
    }
    sort(&mut results);
    let before = results.len();
    results.dedup_by(|a, b| {
        (&a.input, &a.method, &a.metric, &a.order) == (&b.input, &b.method, &b.metric, &b.order)
    });
    if results.len() != before {
        return Err("the reports score the same input twice: they are not shards of one run".into());
    }
    let report = Report { conventions: conventions.unwrap_or(Value::Null), results };
    write_report(&args.out, &report)?;
    summary(&args.out, ("reports", args.merge.len()), &report.results)
}
