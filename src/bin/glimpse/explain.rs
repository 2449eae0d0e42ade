//! `glimpse explain`: one image or sentence, one method, the map written to a file.

use std::path::{Path, PathBuf};

use glimpse::classify::argmax;
use glimpse::config::Preprocess;
use glimpse::explain::{Attribution, Explainer, ImageMethod, Registered, Registry, Subject};
use glimpse::render::{self, Colormap, Style};
use glimpse::text::explain::TokenMethod;
use glimpse::text::TextModel;
use glimpse::{preprocess, ModelConfig, RgbaPixels};
use image::RgbImage;
use ndarray::ArrayD;

use super::{decode, read, ExplainArgs};

pub fn explain(args: ExplainArgs) -> Result<String, String> {
    if let Some(text) = &args.text {
        return explain_text(&args, text);
    }
    let input_path = args.input.as_deref().ok_or("give --input or --text")?;
    let (onnx, config) = args.model.load()?;
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
    let model = load_text_model(&args.model.model, &args.model.config_path(), args.tokenizer.as_deref())?;
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

/// A text model, its description and its tokenizer (default: the one the description names,
/// beside it).
pub fn load_text_model(
    model: &Path,
    config_path: &Path,
    tokenizer: Option<&Path>,
) -> Result<TextModel, String> {
    let files = TextFiles::read(model, config_path, tokenizer)?;
    files.model(&files.onnx)
}

/// A text model's three files, read.
pub struct TextFiles {
    pub onnx: Vec<u8>,
    pub config: Vec<u8>,
    pub tokenizer: Vec<u8>,
}

impl TextFiles {
    pub fn read(model: &Path, config_path: &Path, tokenizer: Option<&Path>) -> Result<TextFiles, String> {
        let config = read(config_path)?;
        let description = glimpse::text::TextModelConfig::from_json(&config).map_err(|e| e.to_string())?;
        let tokenizer_path =
            tokenizer.map_or_else(|| config_path.with_file_name(&description.tokenizer), Path::to_owned);
        Ok(TextFiles { onnx: read(model)?, config, tokenizer: read(&tokenizer_path)? })
    }

    /// The text model with these ONNX bytes (the file's, or a randomised copy).
    pub fn model(&self, onnx: &[u8]) -> Result<TextModel, String> {
        TextModel::from_bytes(onnx, &self.config, &self.tokenizer).map_err(|e| e.to_string())
    }
}

/// The model input, and the image as the model sees it (for drawing). An image file is
/// preprocessed; a `.npy` is used as it is, and drawn by undoing the normalisation.
pub fn load_input(
    path: &Path,
    config: Option<&ModelConfig>,
) -> Result<(ArrayD<f32>, Option<RgbImage>), String> {
    let bytes = read(path)?;
    if path.extension().is_some_and(|e| e == "npy") {
        let input = glimpse::tensor::from_npy(&bytes).map_err(|e| e.to_string())?;
        let input = match config {
            Some(c) => preprocess::channels_first(input, &c.preprocess),
            None => input,
        };
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

pub fn top_class(explainer: &Explainer, input: &ArrayD<f32>) -> Result<usize, String> {
    let output = explainer.forward().run(input.clone()).map_err(|e| e.to_string())?;
    Ok(argmax(output.iter().copied().collect::<ndarray::Array1<f32>>().view()))
}

fn png(attribution: &Attribution, view: &RgbImage) -> Result<Vec<u8>, String> {
    let (width, height) = view.dimensions();
    let heat = render::heatmap(attribution, height as usize, width as usize).map_err(|e| e.to_string())?;
    let scale = render::scale(&[&heat], render::DEFAULT_PERCENTILE);
    let style = Style {
        boundaries: heat.segments.is_some(),
        ..Style::new(Colormap::default_for(heat.signed), render::DEFAULT_OPACITY)
    };
    let rgba = render::overlay(&heat, scale, style, view).map_err(|e| e.to_string())?;
    let image = image::RgbaImage::from_raw(width, height, rgba).ok_or("the drawn map has the wrong size")?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(bytes.into_inner())
}
