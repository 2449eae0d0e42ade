//! `glimpse`: the core from the command line, for batch runs, reference comparisons and tests.
//!
//! ```text
//! glimpse classify --model M.onnx [--config M.json] --input FILE [--top K]
//! ```
//! prints `[{"index": i, "label": "...", "prob": p}, ...]`. An image input is preprocessed as
//! the model's description says; a `.npy` input goes to the model as it is.
//!
//! ```text
//! glimpse explain --model M.onnx --input X.npy --method gradient --target T --out G.npy
//! ```
//! writes the raw, signed gradient of output element T (per batch item) with respect to the
//! input tensor, in the input's shape.

fn main() -> std::process::ExitCode {
    cli::main()
}

mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use clap::{Parser, Subcommand, ValueEnum};
    use glimpse::grad::{GradModel, Mode, Target};
    use glimpse::{ImageClassifier, Prediction, RgbaPixels};

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
            /// The ONNX model.
            #[arg(long)]
            model: PathBuf,
            /// The model's description; defaults to the model's path with `.json`.
            #[arg(long)]
            config: Option<PathBuf>,
            /// An image file (PNG, JPEG, WebP, GIF, BMP), or a `.npy` tensor fed as it is.
            #[arg(long)]
            input: PathBuf,
            /// How many classes to print.
            #[arg(long, default_value_t = 5)]
            top: usize,
        },
        /// Write an attribution for a `.npy` input tensor as `.npy`.
        Explain {
            /// The ONNX model.
            #[arg(long)]
            model: PathBuf,
            /// A `.npy` tensor, fed to the model as it is.
            #[arg(long)]
            input: PathBuf,
            #[arg(long, value_enum)]
            method: Method,
            /// The output element to explain (a class index); default: the top class of the
            /// first batch item.
            #[arg(long)]
            target: Option<usize>,
            /// Where to write the attribution (`.npy`).
            #[arg(long)]
            out: PathBuf,
        },
    }

    /// Attribution methods the CLI can run.
    #[derive(Clone, Copy, ValueEnum)]
    enum Method {
        /// The raw, signed gradient ∂output[target]/∂input.
        Gradient,
    }

    pub fn main() -> ExitCode {
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
            Command::Classify { model, config, input, top } => {
                let config = config.unwrap_or_else(|| model.with_extension("json"));
                let classifier = ImageClassifier::from_bytes(&read(&model)?, &read(&config)?)
                    .map_err(|e| e.to_string())?;
                let predictions = classify(&classifier, &input, top)?;
                serde_json::to_string_pretty(&predictions).map_err(|e| e.to_string())
            }
            Command::Explain { model, input, method, target, out } => {
                let input = glimpse::tensor::from_npy(&read(&input)?).map_err(|e| e.to_string())?;
                let attribution = match method {
                    Method::Gradient => gradient(&read(&model)?, input, target)?,
                };
                let bytes = glimpse::tensor::to_npy(&attribution).map_err(|e| e.to_string())?;
                std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
                Ok(format!("wrote {} ({:?})", out.display(), attribution.shape()))
            }
        }
    }

    fn gradient(
        model: &[u8],
        input: ndarray::ArrayD<f32>,
        target: Option<usize>,
    ) -> Result<ndarray::ArrayD<f32>, String> {
        let model = GradModel::from_bytes(model, &[]).map_err(|e| e.to_string())?;
        let target = match target {
            Some(t) => t,
            None => {
                let output = model.model().run(input.clone()).map_err(|e| e.to_string())?;
                let row: usize = output.shape().iter().skip(1).product();
                let first = output.iter().take(row);
                first
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
                    .0
            }
        };
        let grads = model.gradients(input, &Target::Index(target), Mode::Plain).map_err(|e| e.to_string())?;
        Ok(grads.input)
    }

    fn classify(classifier: &ImageClassifier, input: &Path, top: usize) -> Result<Vec<Prediction>, String> {
        let bytes = read(input)?;
        let predictions = if input.extension().is_some_and(|e| e == "npy") {
            let tensor = glimpse::tensor::from_npy(&bytes).map_err(|e| e.to_string())?;
            classifier.classify_tensor(tensor, top)
        } else {
            let image = image::load_from_memory(&bytes)
                .map_err(|e| format!("{}: not a readable image ({e})", input.display()))?
                .into_rgba8();
            let (width, height) = image.dimensions();
            let pixels = RgbaPixels { width, height, data: image.as_raw() };
            classifier.classify_pixels(pixels, top).map(|c| c.top)
        };
        predictions.map_err(|e| e.to_string())
    }

    fn read(path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}
