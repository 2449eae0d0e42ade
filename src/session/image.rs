//! The image view's workspace: a classifier with its explainer, the current image and custom
//! baseline; its maps are kept as heatmaps at the image's size (with the raw map, which
//! sensitivity compares) and drawn as colour layers.

use std::ops::Range;

use ::image::RgbImage;
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use super::{Session, Workspace};
use crate::error::{Error, Result};
use crate::evaluate::{noise, Changes, Features, Kind, Measure, Passes, SensitivityConfig};
use crate::explain::{
    Attribution, CompletenessReport, ImageMethod, Integration, Method, Node, Plan, Progress, Round, Subject,
    Sums,
};
use crate::render::{self, Colormap, Heatmap, Style};
use crate::{preprocess, ImageClassifier, ModelConfig, Prediction, RgbaPixels};

/// An image classifier, its explainer, and the image (as the model sees it, and as its input
/// tensor) and custom baseline of the session.
pub struct ImageWorkspace {
    pub classifier: ImageClassifier,
    pub explainer: crate::explain::Explainer,
    /// The ONNX file, for the sanity check to randomise.
    onnx: std::sync::Arc<[u8]>,
    image: Option<(RgbImage, ArrayD<f32>)>,
    custom_baseline: Option<ArrayD<f32>>,
}

impl ImageWorkspace {
    pub fn from_bytes(onnx: &[u8], config_json: &[u8]) -> Result<ImageWorkspace> {
        let config = ModelConfig::from_json(config_json)?;
        Self::with_config(onnx.into(), config)
    }

    /// The workspace for a model under its description; the model is explained as the
    /// description prepares it (see [`ModelConfig::prepare`]).
    fn with_config(onnx: std::sync::Arc<[u8]>, config: ModelConfig) -> Result<ImageWorkspace> {
        let onnx: std::sync::Arc<[u8]> = match config.prepare(&onnx)? {
            std::borrow::Cow::Borrowed(_) => onnx,
            std::borrow::Cow::Owned(prepared) => prepared.into(),
        };
        let explainer = crate::explain::Explainer::from_bytes(&onnx)?;
        // One forward model, shared: its optimised plans are made once.
        let classifier = ImageClassifier { model: explainer.forward().clone(), config };
        Ok(ImageWorkspace { classifier, explainer, onnx, image: None, custom_baseline: None })
    }

    /// The image as the model sees it, if one is set.
    pub fn view(&self) -> Result<&RgbImage> {
        self.image.as_ref().map(|(view, _)| view).ok_or_else(no_image)
    }

    /// Makes RGBA pixels the image; returns it as the model sees it, and the top `k` classes.
    /// Use through [`Session::new_subject`], which forgets the maps of the last image.
    pub fn set_image(&mut self, pixels: RgbaPixels<'_>, k: usize) -> Result<(&RgbImage, Vec<Prediction>)> {
        let spec = &self.classifier.config.preprocess;
        let view = preprocess::model_view(pixels, spec)?;
        let input = preprocess::to_tensor(&view, spec).into_dyn();
        let top = self.classifier.classify_tensor(input.clone(), k)?;
        let (view, _) = self.image.insert((view, input));
        Ok((view, top))
    }

    /// Makes RGBA pixels the custom baseline (preprocessed like the image); returns it as the
    /// model sees it. Use through [`Session::new_inputs`].
    pub fn set_baseline(&mut self, pixels: RgbaPixels<'_>) -> Result<RgbImage> {
        let spec = &self.classifier.config.preprocess;
        let view = preprocess::model_view(pixels, spec)?;
        self.custom_baseline = Some(preprocess::to_tensor(&view, spec).into_dyn());
        Ok(view)
    }

    /// The current image, to be explained for `target`.
    fn subject(&self, target: usize) -> Result<Subject> {
        let (_, input) = self.image.as_ref().ok_or_else(no_image)?;
        Ok(Subject {
            input: input.clone(),
            target,
            pixels: Some(self.classifier.config.preprocess.clone()),
            custom_baseline: self.custom_baseline.clone(),
        })
    }
}

fn no_image() -> Error {
    Error::Explain("No image is loaded.".into())
}

/// A finished map: as drawn, and as its method made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub heat: Heatmap,
    /// The method's raw map, which sensitivity compares.
    pub raw: ArrayD<f32>,
}

/// What the page is told of a finished map.
#[derive(Debug, Serialize)]
pub struct ImageSummary {
    pub method: Method,
    /// The layer of a CAM.
    pub layer: Option<String>,
    pub completeness: Option<CompletenessReport>,
    /// Maps on superpixels: how many, and LIME's fit.
    pub segments: Option<Segments>,
    pub signed: bool,
    /// The raw map's shape.
    pub shape: Vec<usize>,
}

#[derive(Debug, Serialize)]
pub struct Segments {
    pub count: usize,
    pub r_squared: Option<f32>,
}

impl Workspace for ImageWorkspace {
    type Spec = dyn ImageMethod;
    type Plan = Plan;
    type Answer = Attribution;
    type Kept = Kept;
    type Summary = ImageSummary;

    fn explain(&mut self, method: &Method, target: usize, progress: Progress<'_>) -> Result<Attribution> {
        self.explainer.explain(&self.subject(target)?, method, progress)
    }

    fn plan(&self, method: &Method, target: usize) -> Result<Plan> {
        Plan::new(&self.explainer, &self.subject(target)?, method)
    }

    fn passes(plan: &Plan) -> usize {
        plan.len()
    }

    fn scores(&self, plan: &Plan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>> {
        self.explainer.scores(plan, range, progress)
    }

    fn finish(plan: &Plan, scores: &[f32]) -> Result<Attribution> {
        plan.finish(scores)
    }

    type Integration = Integration;

    fn integration(&mut self, method: &Method, target: usize) -> Result<Integration> {
        Integration::new(&self.explainer, &self.subject(target)?, method)
    }

    fn round(integration: &Integration) -> &Round {
        integration.round()
    }

    fn sums(
        &mut self,
        integration: &Integration,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums> {
        integration.sums(&self.explainer, nodes, range, progress)
    }

    fn absorb(&mut self, integration: &mut Integration, parts: Vec<Sums>) -> Result<Option<Attribution>> {
        integration.absorb(&self.explainer, parts)
    }

    fn keep(&self, attribution: Attribution) -> Result<(Kept, ImageSummary)> {
        let view = self.view()?;
        let heat = render::heatmap(&attribution, view.height() as usize, view.width() as usize)?;
        let summary = ImageSummary {
            signed: heat.signed,
            shape: attribution.map.shape().to_vec(),
            completeness: attribution.completeness.map(|c| c.report()),
            segments: attribution
                .segments
                .as_ref()
                .map(|s| Segments { count: s.scores.len(), r_squared: s.r_squared }),
            layer: attribution.layer,
            method: attribution.method,
        };
        Ok((Kept { heat, raw: attribution.map }, summary))
    }

    fn features(&self) -> Result<Features> {
        let (_, input) = self.image.as_ref().ok_or_else(no_image)?;
        Ok(Features::Pixels { input: input.clone(), pixels: Some(self.classifier.config.preprocess.clone()) })
    }

    fn values(&self, kept: &Kept) -> Result<Vec<f32>> {
        Ok(kept.heat.values.iter().copied().collect())
    }

    fn measure_scores(
        &self,
        passes: &dyn Passes,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        self.explainer.measure_scores(passes, range, progress)
    }

    type Picture = Picture;

    fn onnx(&self) -> &[u8] {
        &self.onnx
    }

    fn with_onnx(&self, onnx: &[u8]) -> Result<ImageWorkspace> {
        let mut other = Self::with_config(onnx.into(), self.classifier.config.clone())?;
        other.image.clone_from(&self.image);
        other.custom_baseline.clone_from(&self.custom_baseline);
        Ok(other)
    }

    fn image_shape(&self) -> Option<(usize, usize)> {
        self.view().ok().map(|v| (v.height() as usize, v.width() as usize))
    }

    fn picture(&self, Kept { heat, .. }: &Kept) -> Result<Picture> {
        let scale = render::scale(&[heat], render::DEFAULT_PERCENTILE);
        let colormap = Colormap::default_for(heat.signed);
        let rgba = render::layer(heat, scale, Style::new(colormap, 1.0), self.view()?)?;
        Ok(Picture { rgba: serde_bytes::ByteBuf::from(rgba), scale, colormap })
    }
}

impl Session<ImageWorkspace> {
    /// A kept map as its method made it, flat: what sensitivity compares the remade maps with.
    /// The worker that keeps the tile sends it to the others.
    pub fn raw(&self, tile: u32) -> Result<Vec<f32>> {
        let kept = self.kept(tile).ok_or_else(|| Error::Explain(format!("Tile {tile} has no map yet.")))?;
        Ok(kept.raw.iter().copied().collect())
    }

    /// How many noisy inputs a sensitivity metric's JSON settings ask for.
    pub fn sensitivity_draws(&self, metric: &str) -> Result<usize> {
        Ok(sensitivity(metric)?.samples)
    }

    /// Draws `range` of a sensitivity metric: `method`'s map (its JSON settings) made again for
    /// class `target` on each noisy input, and its relative change from `original` (the raw
    /// map, flat, as [`Session::raw`] gives it). Draw k's noise is the same on every worker.
    pub fn sensitivity_changes(
        &self,
        metric: &str,
        method: &str,
        target: usize,
        original: &[f32],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        let config = sensitivity(metric)?;
        crate::explain::perturbation::check_slice(&range, config.samples, "sensitivity")?;
        let method = Method::parse(method)?;
        let subject = self.work().subject(target)?;
        let shape = subject.input.shape().to_vec();
        let noises = range.map(|k| noise(&shape, config.radius, config.seed, k));
        let original = ArrayD::from_shape_vec(vec![original.len()], original.to_vec())
            .map_err(|e| Error::Bug(e.to_string()))?;
        self.work().explainer.sensitivity(&subject, &method, &original, noises, progress)
    }

    /// Every draw's change, and the largest: the score.
    pub fn sensitivity_finish(&self, metric: &str, changes: &[f32]) -> Result<Changes> {
        let samples = sensitivity(metric)?.samples;
        if changes.len() != samples {
            return Err(Error::Bug(format!("{} changes for {samples} noisy inputs", changes.len())));
        }
        Ok(Changes::new(changes.to_vec()))
    }
}

/// A sensitivity metric's settings, from its JSON.
fn sensitivity(metric: &str) -> Result<SensitivityConfig> {
    let measure = Measure::parse(metric)?;
    if measure.spec().descriptor().kind != Kind::Sensitivity {
        return Err(Error::Setting(format!("{} does not remake the map on noisy inputs", measure.name())));
    }
    measure.settings().config()
}

/// A map drawn for the filmstrip: a colour layer with straight alpha, to be drawn over the grey
/// image, at the map's own scale.
#[derive(Debug, Serialize)]
pub struct Picture {
    pub rgba: serde_bytes::ByteBuf,
    pub scale: f32,
    pub colormap: Colormap,
}

/// How to draw finished tiles: with `shared`, one scale (the `percentile` of |value| over
/// every listed map) serves them all; else each map has its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRender {
    pub shared: bool,
    pub percentile: f32,
    pub tiles: Vec<TileStyle>,
}

/// A tile's colour map, and for maps on superpixels, [`Style`]'s `top` and `boundaries`. Its
/// opacity is the page's to apply: the layer comes at full strength.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileStyle {
    pub tile: u32,
    pub colormap: Colormap,
    #[serde(default)]
    pub top: Option<usize>,
    #[serde(default)]
    pub boundaries: bool,
}

/// A drawn tile: a colour layer with straight alpha, to be drawn over the grey image.
#[derive(Debug, Serialize)]
pub struct Layer {
    pub tile: u32,
    pub rgba: serde_bytes::ByteBuf,
    pub scale: f32,
    /// The colour map used (a diverging one's sequential half for a magnitude).
    pub colormap: Colormap,
}

impl Session<ImageWorkspace> {
    /// Draws the finished tiles among those listed, each as a colour layer with straight alpha
    /// ([`render::layer`]) at full strength, that the page draws over the grey image
    /// ([`render::grey`]) at the tile's opacity.
    pub fn render(&self, request: &ImageRender) -> Result<Vec<Layer>> {
        let view = self.work().view()?;
        let tiles: Vec<(&TileStyle, &Heatmap)> =
            request.tiles.iter().filter_map(|t| self.kept(t.tile).map(|kept| (t, &kept.heat))).collect();
        let shared = request.shared.then(|| {
            let heats: Vec<&Heatmap> = tiles.iter().map(|(_, h)| *h).collect();
            render::scale(&heats, request.percentile)
        });
        tiles
            .into_iter()
            .map(|(style, heat)| {
                let scale = shared.unwrap_or_else(|| render::scale(&[heat], request.percentile));
                let colormap = style.colormap.for_map(heat.signed);
                let look =
                    Style { top: style.top, boundaries: style.boundaries, ..Style::new(colormap, 1.0) };
                let rgba = render::layer(heat, scale, look, view)?;
                Ok(Layer { tile: style.tile, rgba: serde_bytes::ByteBuf::from(rgba), scale, colormap })
            })
            .collect()
    }
}
