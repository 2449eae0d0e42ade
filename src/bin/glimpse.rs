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
//!   [--layer TENSOR] [--steps N --rule R --tolerance T|off] [--baseline black|blur|noise|FILE.npy]
//!   [--samples N --sigma S] [--seed S] [--window K --stride S --fill zero|blur|mean]
//!   [--masks N --grid S --keep P] [--segments N --compactness M --fill mean|blur|black]
//!   [--samples N --kernel-width W --ridge A] [--budget N]
//!   --out OUT.npy|OUT.png
//! ```
//! writes the attribution and prints a JSON summary. `.npy` is the raw, signed map in the
//! input's shape (for the CAMs: 1×1×h×w at the layer's resolution); `.png` is the map drawn
//! over the image as the model sees it, scaled to its own 99th percentile.
//!
//! ```text
//! glimpse explain --model M.onnx [--config M.json] [--tokenizer tokenizer.json] --text "..."
//!   --method NAME [--target T] [--steps N --rule R --tolerance T|off]
//!   [--samples N --kernel-width W --ridge A] [--budget N] [--seed S] [--layer L --head H]
//!   --out OUT.json
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
    use clap::{Parser, Subcommand};
    use glimpse::config::Preprocess;
    use glimpse::explain::{
        Attribution, Baseline, Explainer, Fill, Method, PathConfig, PathSampledConfig, Rule, SegmentFill,
        Subject, SuperpixelConfig,
    };
    use glimpse::render::{self, Colormap, Style};
    use glimpse::text::explain::{AttentionConfig, TextPathConfig};
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
        /// The layer for grad-cam and grad-cam-pp, by ONNX tensor name; default: the one
        /// feeding the global pooling. For attention: 1 for the first layer; default: the last.
        #[arg(long)]
        layer: Option<String>,
        /// The attention head, 1 for the first; default: the mean of the heads (attention).
        #[arg(long)]
        head: Option<usize>,
        /// Points on the path (integrated-gradients, path-sampled-ig).
        #[arg(long)]
        steps: Option<usize>,
        /// The quadrature rule (integrated-gradients, path-sampled-ig).
        #[arg(long, value_parser = PossibleValuesParser::new(RULE_NAMES))]
        rule: Option<String>,
        /// Refine IG's path until |Σφ − (f(x) − f(x′))| is within this fraction of
        /// |f(x) − f(x′)| (default 0.01), or `off` for exactly --steps points
        /// (integrated-gradients).
        #[arg(long)]
        tolerance: Option<String>,
        /// black, blur, noise, or a `.npy` in pixel units (0‥255) in the input's shape.
        #[arg(long)]
        baseline: Option<String>,
        /// Noisy samples (smoothgrad, smoothgrad-sq, vargrad); perturbed samples (lime).
        #[arg(long)]
        samples: Option<usize>,
        /// Noise σ as a fraction of the input's range (smoothgrad, smoothgrad-sq, vargrad).
        #[arg(long)]
        sigma: Option<f32>,
        /// Seed of the noise (smoothgrad and its variants, the noise baseline) or of the samples (rise, lime, kernel-shap).
        #[arg(long)]
        seed: Option<u64>,
        /// The occluding window's side in pixels (occlusion).
        #[arg(long)]
        window: Option<usize>,
        /// The step between windows in pixels (occlusion).
        #[arg(long)]
        stride: Option<usize>,
        /// Random masks (rise).
        #[arg(long)]
        masks: Option<usize>,
        /// The masks' coarse grid side (rise).
        #[arg(long)]
        grid: Option<usize>,
        /// The probability that a grid cell is kept (rise).
        #[arg(long)]
        keep: Option<f32>,
        /// What covers an occluded window: zero, blur or mean (occlusion); what fills a hidden
        /// segment: mean (its mean colour), blur or black (lime, kernel-shap).
        #[arg(long, value_parser = PossibleValuesParser::new(["zero", "blur", "mean", "black"]))]
        fill: Option<String>,
        /// About how many superpixels SLIC makes (lime, kernel-shap).
        #[arg(long)]
        segments: Option<usize>,
        /// SLIC's compactness m (lime, kernel-shap).
        #[arg(long)]
        compactness: Option<f32>,
        /// The exponential kernel's width on the cosine distance (lime).
        #[arg(long)]
        kernel_width: Option<f32>,
        /// The ridge penalty α (lime).
        #[arg(long)]
        ridge: Option<f32>,
        /// Coalitions evaluated; default 2M + 2048 for M segments (kernel-shap).
        #[arg(long)]
        budget: Option<usize>,
        /// Where to write the map: `.npy` (raw) or `.png` (drawn over the image); for a
        /// sentence, `.json`.
        #[arg(long)]
        out: PathBuf,
    }

    const RULE_NAMES: [&str; 5] =
        ["gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid"];

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
        let mut names: Vec<&str> = Method::all().iter().map(Method::name).collect();
        for method in TextMethod::all() {
            if !names.contains(&method.name()) {
                names.push(method.name());
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
        let custom_baseline = match args.baseline.as_deref() {
            Some(path) if path.ends_with(".npy") => Some(pixel_baseline(Path::new(path), pixels.as_ref())?),
            _ => None,
        };
        let method = method(&args)?;
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
            "completeness": attribution.completeness.map(completeness_json),
        });
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
    }

    /// A completeness check in the CLI's reports.
    fn completeness_json(c: glimpse::explain::Completeness) -> serde_json::Value {
        serde_json::json!({
            "sum": c.sum, "expected": c.expected, "error": c.error(), "relative_error": c.relative_error(),
            "steps": c.steps,
        })
    }

    /// The method named on the command line, with the flags that apply to it; a flag that
    /// does not apply is an error rather than silently ignored.
    fn method(args: &ExplainArgs) -> Result<Method, String> {
        let mut method = Method::from_name(&args.method).map_err(|e| e.to_string())?;
        let rule = args.rule.as_deref().map(|r| serde_json::from_value::<Rule>(r.into())).transpose();
        let rule = rule.map_err(|e| e.to_string())?;
        let baseline = match args.baseline.as_deref() {
            None => None,
            Some("black") => Some(Baseline::Black),
            Some("blur") => Some(Baseline::Blur { sigma: 20.0 }),
            Some("noise") => Some(Baseline::Noise { seed: args.seed.unwrap_or(0) }),
            Some(path) if path.ends_with(".npy") => Some(Baseline::Custom),
            Some(other) => return Err(format!("--baseline {other}: use black, blur, noise or a .npy file")),
        };
        let mut used = Vec::new();
        match &mut method {
            Method::IntegratedGradients(PathConfig { steps, rule: r, baseline: b, tolerance }) => {
                set(steps, args.steps, "--steps", &mut used);
                set(r, rule, "--rule", &mut used);
                set(b, baseline, "--baseline", &mut used);
                set(tolerance, tolerance_flag(args)?, "--tolerance", &mut used);
                if matches!(b, Baseline::Noise { .. }) {
                    used.push("--seed");
                }
            }
            Method::PathSampledIg(PathSampledConfig { steps, rule: r, baseline: b }) => {
                set(steps, args.steps, "--steps", &mut used);
                set(r, rule, "--rule", &mut used);
                set(b, baseline, "--baseline", &mut used);
                if matches!(b, Baseline::Noise { .. }) {
                    used.push("--seed");
                }
            }
            Method::SmoothGrad(c) | Method::SmoothGradSq(c) | Method::VarGrad(c) => {
                set(&mut c.samples, args.samples, "--samples", &mut used);
                set(&mut c.sigma, args.sigma, "--sigma", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            Method::GradCam(c) | Method::GradCamPp(c) => {
                set(&mut c.layer, args.layer.clone().map(Some), "--layer", &mut used);
            }
            Method::Occlusion(c) => {
                let fill = args.fill.as_deref().map(|f| serde_json::from_value::<Fill>(f.into())).transpose();
                set(&mut c.window, args.window, "--window", &mut used);
                set(&mut c.stride, args.stride, "--stride", &mut used);
                set(&mut c.fill, fill.map_err(|e| e.to_string())?, "--fill", &mut used);
            }
            Method::Rise(c) => {
                set(&mut c.masks, args.masks, "--masks", &mut used);
                set(&mut c.grid, args.grid, "--grid", &mut used);
                set(&mut c.keep, args.keep, "--keep", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            Method::Lime(c) => {
                set_superpixels(args, &mut c.superpixels, &mut c.fill, &mut used)?;
                set(&mut c.samples, args.samples, "--samples", &mut used);
                set(&mut c.kernel_width, args.kernel_width, "--kernel-width", &mut used);
                set(&mut c.ridge, args.ridge, "--ridge", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            Method::KernelShap(c) => {
                set_superpixels(args, &mut c.superpixels, &mut c.fill, &mut used)?;
                set(&mut c.budget, args.budget.map(Some), "--budget", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            Method::Gradient | Method::GradXInput | Method::GuidedBackprop | Method::Cam => {}
        }
        refuse_unused(args, &used)?;
        Ok(method)
    }

    /// A flag given that the method does not use is an error rather than silently ignored.
    fn refuse_unused(args: &ExplainArgs, used: &[&str]) -> Result<(), String> {
        let given = [
            ("--steps", args.steps.is_some()),
            ("--rule", args.rule.is_some()),
            ("--tolerance", args.tolerance.is_some()),
            ("--baseline", args.baseline.is_some()),
            ("--samples", args.samples.is_some()),
            ("--sigma", args.sigma.is_some()),
            ("--seed", args.seed.is_some()),
            ("--layer", args.layer.is_some()),
            ("--window", args.window.is_some()),
            ("--stride", args.stride.is_some()),
            ("--fill", args.fill.is_some()),
            ("--masks", args.masks.is_some()),
            ("--grid", args.grid.is_some()),
            ("--keep", args.keep.is_some()),
            ("--segments", args.segments.is_some()),
            ("--compactness", args.compactness.is_some()),
            ("--kernel-width", args.kernel_width.is_some()),
            ("--ridge", args.ridge.is_some()),
            ("--budget", args.budget.is_some()),
            ("--head", args.head.is_some()),
        ];
        for (flag, present) in given {
            if present && !used.contains(&flag) {
                return Err(format!("{flag} does not apply to {}", args.method));
            }
        }
        Ok(())
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
        let method = text_method(args)?;
        let mut sentence = model.sentence(text).map_err(|e| e.to_string())?;
        let logits = sentence.reading.logits.clone();
        let target = match args.target {
            Some(t) => t,
            None => (0..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best }),
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
        let completeness = attribution.completeness.map(completeness_json);
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

    /// The text method named on the command line, with the flags that apply to it.
    fn text_method(args: &ExplainArgs) -> Result<TextMethod, String> {
        let mut method = TextMethod::from_name(&args.method).map_err(|e| e.to_string())?;
        let mut used = Vec::new();
        match &mut method {
            TextMethod::IntegratedGradients(TextPathConfig { steps, rule, tolerance }) => {
                let given =
                    args.rule.as_deref().map(|r| serde_json::from_value::<Rule>(r.into())).transpose();
                set(steps, args.steps, "--steps", &mut used);
                set(rule, given.map_err(|e| e.to_string())?, "--rule", &mut used);
                set(tolerance, tolerance_flag(args)?, "--tolerance", &mut used);
            }
            TextMethod::Lime(c) => {
                set(&mut c.samples, args.samples, "--samples", &mut used);
                set(&mut c.kernel_width, args.kernel_width, "--kernel-width", &mut used);
                set(&mut c.ridge, args.ridge, "--ridge", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            TextMethod::KernelShap(c) => {
                set(&mut c.budget, args.budget.map(Some), "--budget", &mut used);
                set(&mut c.seed, args.seed, "--seed", &mut used);
            }
            TextMethod::Attention(AttentionConfig { layer, head }) => {
                let number = |flag: &str, value: &str| match value.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(n - 1),
                    _ => Err(format!("{flag} {value}: a number from 1")),
                };
                let given = args.layer.as_deref().map(|l| number("--layer", l)).transpose()?;
                set(layer, given.map(Some), "--layer", &mut used);
                let given = args.head.map(|h| number("--head", &h.to_string())).transpose()?;
                set(head, given.map(Some), "--head", &mut used);
            }
            TextMethod::Gradient
            | TextMethod::GradXInput
            | TextMethod::Occlusion
            | TextMethod::Rollout
            | TextMethod::GradientRollout => {}
        }
        refuse_unused(args, &used)?;
        Ok(method)
    }

    /// `--tolerance`: a fraction, or `off`.
    fn tolerance_flag(args: &ExplainArgs) -> Result<Option<Option<f32>>, String> {
        match args.tolerance.as_deref() {
            None => Ok(None),
            Some("off") => Ok(Some(None)),
            Some(t) => t
                .parse::<f32>()
                .map(|t| Some(Some(t)))
                .map_err(|_| format!("--tolerance {t}: a fraction such as 0.01, or off")),
        }
    }

    /// `--segments`, `--compactness` and `--fill`, for the methods on superpixels.
    fn set_superpixels(
        args: &ExplainArgs,
        superpixels: &mut SuperpixelConfig,
        fill: &mut SegmentFill,
        used: &mut Vec<&'static str>,
    ) -> Result<(), String> {
        let given = args.fill.as_deref().map(|f| serde_json::from_value::<SegmentFill>(f.into())).transpose();
        let given = given
            .map_err(|_| format!("--fill {}: use mean, blur or black", args.fill.as_deref().unwrap_or("")))?;
        set(&mut superpixels.segments, args.segments, "--segments", used);
        set(&mut superpixels.compactness, args.compactness, "--compactness", used);
        set(fill, given, "--fill", used);
        Ok(())
    }

    fn set<T>(slot: &mut T, value: Option<T>, flag: &'static str, used: &mut Vec<&'static str>) {
        used.push(flag);
        if let Some(value) = value {
            *slot = value;
        }
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
            let view = config.and_then(|c| unnormalise(&input, &c.preprocess));
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

    fn unnormalise(input: &ArrayD<f32>, spec: &Preprocess) -> Option<RgbImage> {
        let &[1, 3, h, w] = input.shape() else { return None };
        Some(RgbImage::from_fn(w as u32, h as u32, |x, y| {
            image::Rgb(std::array::from_fn(|c| {
                let v = input[[0, c, y as usize, x as usize]] * spec.std[c] + spec.mean[c];
                v.round().clamp(0.0, 255.0) as u8
            }))
        }))
    }

    /// A baseline given in pixel units, normalised as the model's input is.
    fn pixel_baseline(path: &Path, spec: Option<&Preprocess>) -> Result<ArrayD<f32>, String> {
        let mut baseline = glimpse::tensor::from_npy(&read(path)?).map_err(|e| e.to_string())?;
        if baseline.ndim() == 3 {
            baseline.insert_axis_inplace(ndarray::Axis(0));
        }
        if let (Some(spec), 4, Some(3)) = (spec, baseline.ndim(), baseline.shape().get(1).copied()) {
            for (c, mut channel) in baseline.axis_iter_mut(ndarray::Axis(1)).enumerate() {
                channel.mapv_inplace(|v| (v - spec.mean[c]) / spec.std[c]);
            }
        }
        Ok(baseline)
    }

    fn top_class(explainer: &Explainer, input: &ArrayD<f32>) -> Result<usize, String> {
        let output = explainer.forward().run(input.clone()).map_err(|e| e.to_string())?;
        let best = output
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        Ok(best.0)
    }

    fn png(attribution: &Attribution, view: &RgbImage) -> Result<Vec<u8>, String> {
        let (width, height) = view.dimensions();
        let heat =
            render::heatmap(attribution, height as usize, width as usize).map_err(|e| e.to_string())?;
        let scale = render::scale(&[&heat], 99.0);
        let style = Style {
            boundaries: heat.segments.is_some(),
            ..Style::new(Colormap::default_for(heat.signed), 0.85)
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
