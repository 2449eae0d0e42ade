//! `glimpse`: the core from the command line, for batch runs, reference comparisons and tests.
//!
//! ```text
//! glimpse classify --model M.onnx [--config M.json] --input FILE [--top K]
//! ```
//! prints `[{"index": i, "label": "...", "prob": p}, ...]`. An image input is preprocessed as
//! the model's description says; a `.npy` input goes to the model as it is.
//!
//! ```text
//! glimpse explain --model M.onnx [--config M.json] --input FILE --method NAME [--target T]
//!   [--SETTING VALUE ...] --out OUT.npy|OUT.png
//! ```
//! The settings flags come from the registry: each method's settings, by their keys
//! (`--steps 20`, `--kernel-width 0.3`, `--tolerance off`, `--baseline FILE.npy` for a baseline in
//! pixel units); a flag the method does not have is an error.
//! writes the attribution and prints a JSON summary. `.npy` is the raw, signed map in the
//! input's shape (for the CAMs: 1×1×h×w at the layer's resolution); `.png` is the map drawn
//! over the image as the model sees it, scaled to its own 99th percentile.
//!
//! ```text
//! glimpse explain --model M.onnx [--config M.json] [--tokenizer tokenizer.json] --text "..."
//!   --method NAME [--target T] [--SETTING VALUE ...] --out OUT.json
//! ```
//! explains a sentence to a text classifier and writes its tokens with their scores (and, for
//! the attention methods, the token × token matrix).
//!
//! ```text
//! glimpse evaluate --model M.onnx [--config M.json] --input FILE_OR_DIR [--methods a,b,...]
//!   [--metrics deletion,insertion] [--map FILE.npy] [--target T] [--seed S]
//!   [--steps N | --step-pixels K] [--order morf|lerf] [--shard i/n] --out report.json|report.csv
//! glimpse evaluate --model M.onnx [--tokenizer T.json] --text "..." [--text "..."] [...]
//! glimpse evaluate --merge A.json B.json ... --out report.json
//! ```
//! scores every method's map (at its defaults) on every image of a folder with the faithfulness
//! metrics, in both orders and against a random order, on every core, and writes
//! `{"conventions": {...}, "results": [{"input", "method", "metric", "order", "target", "auc",
//! "curve"}, ...]}`. `--map` scores a map made elsewhere (ranked as `--methods`' tiles display
//! theirs); `--shard i/n` runs the i-th of n parts, which `--merge` joins. With `--text`, the
//! text methods' maps of each sentence are scored over its tokens. `--metrics randomisation`
//! recomputes every map on the model re-initialised from the logits down
//! (`--randomisation-mode`, `--randomisation-steps`) and writes its similarity to the original;
//! `--metrics sensitivity` remakes it on noisy inputs (`--sensitivity-radius`,
//! `--sensitivity-samples`) and writes Captum's `sensitivity_max`; `--metrics soft-stability`
//! shows the map's top quarter of features (superpixels, tokens) with up to r more
//! (`--stability-radius`, `--stability-epsilon`, `--stability-delta`) and writes how often the
//! prediction holds, with its interval.
//!
//! ```text
//! glimpse randomise --model M.onnx [--layers 0,1,... --seed S --out R.onnx]
//! ```
//! lists the model's parameterised layers (logits first) and writes it with those re-initialised.

mod evaluate;
mod explain;
mod flags;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use glimpse::explain::Method;
use glimpse::text::TextMethod;
use glimpse::{preprocess, ImageClassifier, ModelConfig, Prediction, RgbaPixels};

use flags::SettingFlags;

#[derive(Parser)]
#[command(name = "glimpse", version, about = "Explain ONNX models from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the top classes for one input as JSON.
    Classify {
        #[command(flatten)]
        model: ModelArgs,
        /// An image file (PNG, JPEG, WebP, GIF, BMP), or a `.npy` tensor fed as it is.
        #[arg(long)]
        input: PathBuf,
        /// How many classes to print.
        #[arg(long, default_value_t = 5)]
        top: usize,
    },
    /// Explain one input with one method; write the map as .npy or .png.
    Explain(Box<ExplainArgs>),
    /// Score every method's map on every image of a folder by the faithfulness metrics.
    Evaluate(Box<EvaluateArgs>),
    /// List a model's parameterised layers (logits first), or write it with some re-initialised.
    Randomise {
        #[arg(long)]
        model: PathBuf,
        /// The layers to re-initialise, by their index in the list (0: the logits layer).
        #[arg(long, value_delimiter = ',')]
        layers: Vec<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to write the randomised model; without it, the layers are listed.
        #[arg(long, requires = "layers")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// The ONNX model.
    #[arg(long, required_unless_present = "merge")]
    model: Option<PathBuf>,
    /// The model's description; defaults to the model's path with `.json`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// An image or `.npy` tensor, or a folder of them.
    #[arg(long, required_unless_present_any = ["merge", "text"], conflicts_with = "text")]
    input: Option<PathBuf>,
    /// A sentence, for a text model (repeat for several).
    #[arg(long)]
    text: Vec<String>,
    /// A text model's tokenizer; default: the one its description names, beside it.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// The methods, comma-separated; default: every method the model allows.
    #[arg(long)]
    methods: Option<String>,
    /// The metrics, comma-separated; default: all.
    #[arg(long)]
    metrics: Option<String>,
    /// A map made elsewhere (`.npy`, 1×C×H×W or H×W), scored instead of the methods'.
    #[arg(long)]
    map: Option<PathBuf>,
    /// The class; default: each input's top class.
    #[arg(long)]
    target: Option<usize>,
    /// The random order's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Steps from the whole input to none of it.
    #[arg(long, default_value_t = 50, conflicts_with = "step_pixels")]
    steps: usize,
    /// Pixels a step instead (RISE's setting: 224).
    #[arg(long)]
    step_pixels: Option<usize>,
    /// morf (most relevant first) or lerf; default: both.
    #[arg(long)]
    order: Option<String>,
    /// Leave out the random order's curves (the yardstick).
    #[arg(long)]
    no_random: bool,
    /// Randomisation's mode (both when left out).
    #[arg(long, value_parser = ["cascading", "independent"])]
    randomisation_mode: Option<String>,
    /// Randomisation's depths, from the logits layer to the first.
    #[arg(long, default_value_t = 5)]
    randomisation_steps: usize,
    /// Sensitivity's noise radius, in the model's input units (Captum: 0.02).
    #[arg(long, default_value_t = 0.02)]
    sensitivity_radius: f32,
    /// Sensitivity's noisy inputs (Captum: 10).
    #[arg(long, default_value_t = 10)]
    sensitivity_samples: usize,
    /// Soft stability's radius: at most this many features shown besides the top quarter.
    #[arg(long, default_value_t = 2)]
    stability_radius: usize,
    /// Soft stability's accuracy ε and risk δ: N = ⌈ln(2/δ) / 2ε²⌉ samples (150 for 0.1, 0.1).
    #[arg(long, default_value_t = 0.1)]
    stability_epsilon: f32,
    #[arg(long, default_value_t = 0.1)]
    stability_delta: f32,
    /// Run the i-th of n parts of the folder (i from 1).
    #[arg(long)]
    shard: Option<String>,
    /// Join the reports of a sharded run instead.
    #[arg(long, num_args = 1.., conflicts_with_all = ["model", "input"])]
    merge: Vec<PathBuf>,
    /// Where to write the report: `.json` or `.csv`.
    #[arg(long)]
    out: PathBuf,
}

/// The model and its description.
#[derive(clap::Args)]
struct ModelArgs {
    /// The ONNX model.
    #[arg(long)]
    model: PathBuf,
    /// The model's description; defaults to the model's path with `.json`.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The description named, or the one beside the model if there is one: without a description
/// a `.npy` input goes in as it is and the classes are "class i"; a named one must exist.
fn description(named: Option<&Path>, model: &Path) -> Result<Option<ModelConfig>, String> {
    let path = named.map_or_else(|| model.with_extension("json"), Path::to_owned);
    if named.is_none() && !path.exists() {
        return Ok(None);
    }
    ModelConfig::from_json(&read(&path)?).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// The model as Glimpse explains it under its description (see `ModelConfig::prepare`), and
/// the description.
fn load(named: Option<&Path>, model: &Path) -> Result<(Vec<u8>, Option<ModelConfig>), String> {
    let onnx = read(model)?;
    let config = description(named, model)?;
    let onnx = match &config {
        Some(config) => config.prepare(&onnx).map_err(|e| e.to_string())?.into_owned(),
        None => onnx,
    };
    Ok((onnx, config))
}

impl ModelArgs {
    fn load(&self) -> Result<(Vec<u8>, Option<ModelConfig>), String> {
        load(self.config.as_deref(), &self.model)
    }

    fn config_path(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(|| self.model.with_extension("json"))
    }
}

#[derive(clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// An image file, preprocessed as the description says, or a `.npy` tensor (batch 1)
    /// fed as it is.
    #[arg(long, required_unless_present = "text", conflicts_with = "text")]
    input: Option<PathBuf>,
    /// A sentence, for a text model.
    #[arg(long)]
    text: Option<String>,
    /// A text model's tokenizer; default: the one its description names, beside it.
    #[arg(long, requires = "text")]
    tokenizer: Option<PathBuf>,
    #[arg(long, value_parser = PossibleValuesParser::new(method_names()))]
    method: String,
    /// The class to explain; default: the top class.
    #[arg(long)]
    target: Option<usize>,
    #[command(flatten)]
    settings: SettingFlags,
    /// Where to write the map: `.npy` (raw) or `.png` (drawn over the image); for a
    /// sentence, `.json`.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("glimpse: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Classify { model: args, input, top } => {
            let (onnx, config) = args.load()?;
            let model = glimpse::model::Model::from_bytes(&onnx).map_err(|e| e.to_string())?;
            let predictions = match config {
                Some(config) => classify(&ImageClassifier { model, config }, &input, top)?,
                // Without a description: a tensor as it is, the classes by their index.
                None => {
                    let (tensor, _) = explain::load_input(&input, None)?;
                    let logits = model.run(tensor).map_err(|e| e.to_string())?;
                    let logits: ndarray::Array1<f32> = logits.iter().copied().collect();
                    glimpse::classify::ranked(logits.view(), top, |i| format!("class {i}"))
                }
            };
            serde_json::to_string_pretty(&predictions).map_err(|e| e.to_string())
        }
        Command::Explain(args) => explain::explain(*args),
        Command::Evaluate(args) => evaluate::evaluate(*args),
        Command::Randomise { model, layers, seed, out } => {
            let bytes = read(&model)?;
            let list = glimpse::model::randomise::layers(&bytes).map_err(|e| e.to_string())?;
            if let Some(out) = &out {
                let randomised =
                    glimpse::model::randomise::randomise(&bytes, &layers, seed).map_err(|e| e.to_string())?;
                std::fs::write(out, randomised).map_err(|e| format!("{}: {e}", out.display()))?;
            }
            let listed: Vec<serde_json::Value> = list
                .iter()
                .enumerate()
                .map(|(i, l)| serde_json::json!({"index": i, "layer": l, "randomised": layers.contains(&i)}))
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({"layers": listed, "seed": seed, "out": out}))
                .map_err(|e| e.to_string())
        }
    }
}

/// Every method's name, the image's then the text's that are not also the image's.
fn method_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Method::descriptors().iter().map(|d| d.id).collect();
    for descriptor in TextMethod::descriptors() {
        if !names.contains(&descriptor.id) {
            names.push(descriptor.id);
        }
    }
    names
}

fn classify(classifier: &ImageClassifier, input: &Path, top: usize) -> Result<Vec<Prediction>, String> {
    let predictions = if input.extension().is_some_and(|e| e == "npy") {
        let (tensor, _) = explain::load_input(input, Some(&classifier.config))?;
        classifier.classify_tensor(tensor, top)
    } else {
        let bytes = read(input)?;
        let image = decode(input, &bytes)?;
        let (width, height) = image.dimensions();
        let pixels = RgbaPixels { width, height, data: image.as_raw() };
        classifier.classify_pixels(pixels, top).map(|c| c.top)
    };
    predictions.map_err(|e| e.to_string())
}

fn decode(path: &Path, bytes: &[u8]) -> Result<image::RgbaImage, String> {
    preprocess::check_encoded(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let image = image::load_from_memory(bytes)
        .map_err(|e| format!("{}: not a readable image ({e})", path.display()))?;
    Ok(image.into_rgba8())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}
