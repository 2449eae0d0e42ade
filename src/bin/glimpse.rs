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

fn main() -> std::process::ExitCode {
    cli::main()
}

mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use clap::builder::PossibleValuesParser;
    use clap::{Arg, ArgMatches, Parser, Subcommand};
    use glimpse::classify::argmax;
    use glimpse::config::Preprocess;
    use glimpse::explain::schema::Descriptor;
    use glimpse::explain::{Attribution, Explainer, ImageMethod, Method, Registered, Registry, Subject};
    use glimpse::render::{self, Colormap, Style};
    use glimpse::text::explain::TokenMethod;
    use glimpse::text::{TextMethod, TextModel};
    use glimpse::{preprocess, ImageClassifier, ModelConfig, Prediction, RgbaPixels};
    use image::RgbImage;
    use ndarray::ArrayD;

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

    impl ModelArgs {
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

    /// Every setting of every method (image and text) as a flag, from the registries.
    #[derive(Default)]
    struct SettingFlags(Vec<(&'static str, String)>);

    /// Each setting key once, with its help: the first method's label and help, and which
    /// methods have it.
    fn setting_flags() -> Vec<(&'static str, String)> {
        let mut flags: Vec<(&'static str, String, Vec<&'static str>)> = Vec::new();
        for descriptor in Method::descriptors().iter().chain(&TextMethod::descriptors()) {
            for setting in &descriptor.settings {
                match flags.iter_mut().find(|(key, ..)| *key == setting.key) {
                    Some((.., methods)) if !methods.contains(&descriptor.id) => methods.push(descriptor.id),
                    Some(_) => {}
                    None => {
                        let help = format!("{}: {}", setting.label, setting.accepts());
                        flags.push((setting.key, help, vec![descriptor.id]));
                    }
                }
            }
        }
        flags
            .into_iter()
            .map(|(key, help, methods)| (key, format!("{help} ({})", methods.join(", "))))
            .collect()
    }

    impl clap::FromArgMatches for SettingFlags {
        fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
            let given = setting_flags()
                .into_iter()
                .filter_map(|(key, _)| matches.get_one::<String>(key).map(|value| (key, value.clone())))
                .collect();
            Ok(SettingFlags(given))
        }

        fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
            *self = SettingFlags::from_arg_matches(matches)?;
            Ok(())
        }
    }

    impl clap::Args for SettingFlags {
        fn augment_args(command: clap::Command) -> clap::Command {
            setting_flags().into_iter().fold(command, |command, (key, help)| {
                command.arg(Arg::new(key).long(key.replace('_', "-")).value_name("VALUE").help(help))
            })
        }

        fn augment_args_for_update(command: clap::Command) -> clap::Command {
            SettingFlags::augment_args(command)
        }
    }

    impl SettingFlags {
        /// The flags as the method's settings (JSON), each parsed by its schema; a flag the
        /// method does not have is an error. `--baseline FILE.npy` is the custom baseline, and
        /// its path is returned beside.
        fn settings(&self, descriptor: &Descriptor) -> Result<(serde_json::Value, Option<PathBuf>), String> {
            let mut settings = serde_json::Map::new();
            let mut baseline_file = None;
            for (key, text) in &self.0 {
                let flag = format!("--{}", key.replace('_', "-"));
                let setting = descriptor
                    .settings
                    .iter()
                    .find(|s| s.key == *key)
                    .ok_or_else(|| format!("{flag} does not apply to {}", descriptor.id))?;
                let value = if *key == "baseline" && text.ends_with(".npy") {
                    baseline_file = Some(PathBuf::from(text));
                    "custom".into()
                } else {
                    setting.parse_text(text).map_err(|e| e.to_string())?
                };
                settings.insert((*key).to_owned(), value);
            }
            Ok((serde_json::Value::Object(settings), baseline_file))
        }
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
            Command::Classify { model, input, top } => {
                let classifier =
                    ImageClassifier::from_bytes(&read(&model.model)?, &read(&model.config_path())?)
                        .map_err(|e| e.to_string())?;
                let predictions = classify(&classifier, &input, top)?;
                serde_json::to_string_pretty(&predictions).map_err(|e| e.to_string())
            }
            Command::Explain(args) => explain(*args),
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

    fn explain(args: ExplainArgs) -> Result<String, String> {
        if let Some(text) = &args.text {
            return explain_text(&args, text);
        }
        let input_path = args.input.as_deref().ok_or("give --input or --text")?;
        let onnx = read(&args.model.model)?;
        let config_path = args.model.config_path();
        // Without a description the input is used as it is; a named one must exist.
        let config = match (args.model.config.is_some(), config_path.exists()) {
            (false, false) => None,
            _ => Some(ModelConfig::from_json(&read(&config_path)?).map_err(|e| e.to_string())?),
        };
        let explainer = Explainer::from_bytes(&onnx).map_err(|e| e.to_string())?;
        let (input, view) = load_input(input_path, config.as_ref())?;
        let pixels = config.as_ref().map(|c| c.preprocess.clone());
        let target = match args.target {
            Some(t) => t,
            None => top_class(&explainer, &input)?,
        };
        let (method, baseline_file) = method::<dyn ImageMethod>(&args)?;
        let custom_baseline = baseline_file.map(|path| pixel_baseline(&path, pixels.as_ref())).transpose()?;
        let subject = Subject { input, target, pixels, custom_baseline };
        let attribution = explainer.explain(&subject, &method, &mut |_, _| {}).map_err(|e| e.to_string())?;

        let bytes = if args.out.extension().is_some_and(|e| e == "png") {
            let view = view.ok_or("a .png needs an image input, or a .npy input with a model description")?;
            png(&attribution, &view)?
        } else {
            glimpse::tensor::to_npy(&attribution.map).map_err(|e| e.to_string())?
        };
        std::fs::write(&args.out, bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
        let summary = serde_json::json!({
            "out": args.out.display().to_string(),
            "method": attribution.method,
            "target": target,
            "label": config.as_ref().map(|c| c.label(target)),
            "layer": attribution.layer,
            "shape": attribution.map.shape(),
            "completeness": attribution.completeness.map(|c| c.report()),
        });
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
    }

    /// The method named on the command line, with the flags that apply to it, and the file of
    /// a custom baseline.
    fn method<S: ?Sized + Registry>(args: &ExplainArgs) -> Result<(Registered<S>, Option<PathBuf>), String> {
        let defaults = Registered::<S>::from_name(&args.method).map_err(|e| e.to_string())?;
        let (settings, baseline_file) = args.settings.settings(defaults.descriptor())?;
        Ok((Registered::new(&args.method, settings).map_err(|e| e.to_string())?, baseline_file))
    }

    /// A sentence: its tokens with their scores, as JSON in `--out`; a summary on stdout.
    fn explain_text(args: &ExplainArgs, text: &str) -> Result<String, String> {
        let config_path = args.model.config_path();
        let config_json = read(&config_path)?;
        let config = glimpse::text::TextModelConfig::from_json(&config_json).map_err(|e| e.to_string())?;
        let tokenizer_path =
            args.tokenizer.clone().unwrap_or_else(|| config_path.with_file_name(&config.tokenizer));
        let model = TextModel::from_bytes(&read(&args.model.model)?, &config_json, &read(&tokenizer_path)?)
            .map_err(|e| e.to_string())?;
        let (method, baseline_file) = method::<dyn TokenMethod>(args)?;
        if baseline_file.is_some() {
            return Err("a text method's baseline is the [PAD] sentence; --baseline does not apply".into());
        }
        let mut sentence = model.sentence(text).map_err(|e| e.to_string())?;
        let logits = sentence.reading.logits.clone();
        let target = match args.target {
            Some(t) => t,
            None => argmax(ndarray::ArrayView1::from(&logits)),
        };
        let attribution =
            model.explain(&mut sentence, &method, target, &mut |_, _| {}).map_err(|e| e.to_string())?;
        let encoding = &sentence.reading.encoding;
        let tokens: Vec<_> = attribution
            .scores
            .iter()
            .enumerate()
            .map(|(i, score)| {
                let (start, end) = encoding.offsets[i];
                serde_json::json!({"token": encoding.tokens[i], "start": start, "end": end, "score": score})
            })
            .collect();
        let label = model.config.labels.get(target).cloned();
        let completeness = attribution.completeness.map(|c| c.report());
        let report = serde_json::json!({
            "text": text,
            "truncated": encoding.truncated,
            "method": attribution.method,
            "target": target,
            "label": label,
            "logits": logits,
            "tokens": tokens,
            "completeness": completeness,
            "r_squared": attribution.r_squared,
            "matrix": attribution.matrix.as_ref().map(|m| m.outer_iter().map(|row| row.to_vec()).collect::<Vec<_>>()),
        });
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(&args.out, json).map_err(|e| format!("{}: {e}", args.out.display()))?;
        let summary = serde_json::json!({
            "out": args.out.display().to_string(),
            "method": attribution.method,
            "target": target,
            "label": label,
            "tokens": tokens.len(),
            "completeness": completeness,
        });
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
    }

    /// The model input, and the image as the model sees it (for drawing). An image file is
    /// preprocessed; a `.npy` is used as it is, and drawn by undoing the normalisation.
    fn load_input(
        path: &Path,
        config: Option<&ModelConfig>,
    ) -> Result<(ArrayD<f32>, Option<RgbImage>), String> {
        let bytes = read(path)?;
        if path.extension().is_some_and(|e| e == "npy") {
            let input = glimpse::tensor::from_npy(&bytes).map_err(|e| e.to_string())?;
            let view = config.and_then(|c| preprocess::from_tensor(&input, &c.preprocess));
            return Ok((input, view));
        }
        let config = config.ok_or("an image input needs the model's description (--config)")?;
        let image = decode(path, &bytes)?;
        let (width, height) = image.dimensions();
        let pixels = RgbaPixels { width, height, data: image.as_raw() };
        let view = preprocess::model_view(pixels, &config.preprocess).map_err(|e| e.to_string())?;
        let input = preprocess::to_tensor(&view, &config.preprocess).into_dyn();
        Ok((input, Some(view)))
    }

    /// A baseline given in pixel units, normalised as the model's input is.
    fn pixel_baseline(path: &Path, spec: Option<&Preprocess>) -> Result<ArrayD<f32>, String> {
        let pixels = glimpse::tensor::from_npy(&read(path)?).map_err(|e| e.to_string())?;
        Ok(preprocess::normalise_pixels(pixels, spec))
    }

    fn top_class(explainer: &Explainer, input: &ArrayD<f32>) -> Result<usize, String> {
        let output = explainer.forward().run(input.clone()).map_err(|e| e.to_string())?;
        Ok(argmax(output.iter().copied().collect::<ndarray::Array1<f32>>().view()))
    }

    fn png(attribution: &Attribution, view: &RgbImage) -> Result<Vec<u8>, String> {
        let (width, height) = view.dimensions();
        let heat =
            render::heatmap(attribution, height as usize, width as usize).map_err(|e| e.to_string())?;
        let scale = render::scale(&[&heat], render::DEFAULT_PERCENTILE);
        let style = Style {
            boundaries: heat.segments.is_some(),
            ..Style::new(Colormap::default_for(heat.signed), render::DEFAULT_OPACITY)
        };
        let rgba = render::overlay(&heat, scale, style, view).map_err(|e| e.to_string())?;
        let image =
            image::RgbaImage::from_raw(width, height, rgba).ok_or("the drawn map has the wrong size")?;
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| e.to_string())?;
        Ok(bytes.into_inner())
    }

    fn classify(classifier: &ImageClassifier, input: &Path, top: usize) -> Result<Vec<Prediction>, String> {
        let bytes = read(input)?;
        let predictions = if input.extension().is_some_and(|e| e == "npy") {
            let tensor = glimpse::tensor::from_npy(&bytes).map_err(|e| e.to_string())?;
            classifier.classify_tensor(tensor, top)
        } else {
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
}
