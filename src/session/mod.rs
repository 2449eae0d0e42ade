//! What the page keeps between calls, in the core so that it is tested natively: a
//! [`Session`] is a subject (an image, a sentence) with its model, the maps finished so far by
//! tile, and the forward-only plan the workers are scoring. Images and sentences share it; each
//! is a [`Workspace`] that says how to run a method, lay out a plan and keep an answer, and
//! draws its own maps. `src/web/` only converts.

mod image;
mod last_made;
mod text;

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

pub use self::image::{ImageRender, ImageWorkspace};
pub use self::text::{TextRender, TextWorkspace};
pub use last_made::LastMade;

use crate::error::{Error, Result};
use crate::evaluate::{
    compare, Features, Kind, Measure, Passes, RandomisationConfig, Scored, Similarity, Step,
};
use crate::explain::{Node, Progress, Registered, Registry, Round, Sums};
use crate::model::randomise;

/// One view's subject and model: what a [`Session`] needs of it.
pub trait Workspace {
    /// Its methods' registry.
    type Spec: ?Sized + Registry;
    /// A forward-only method laid out on the subject.
    type Plan;
    /// A method's answer.
    type Answer;
    /// What the session keeps of an answer, by tile, to draw it again.
    type Kept;
    /// What the page is told of an answer.
    type Summary: Serialize;

    /// Runs a method on the subject for class `target`.
    fn explain(
        &mut self,
        method: &Registered<Self::Spec>,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<Self::Answer>;

    /// Lays out a forward-only method on the subject.
    fn plan(&self, method: &Registered<Self::Spec>, target: usize) -> Result<Self::Plan>;

    /// How many forward passes a plan makes.
    fn passes(plan: &Self::Plan) -> usize;

    /// The target's score for passes `range` of the plan.
    fn scores(&self, plan: &Self::Plan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>>;

    /// Combines every pass's score into the answer.
    fn finish(plan: &Self::Plan, scores: &[f32]) -> Result<Self::Answer>;

    /// A summed gradient method laid out on the subject, in progress (see
    /// [`crate::explain::summed`]).
    type Integration;

    /// Lays out a summed gradient method on the subject.
    fn integration(&mut self, method: &Registered<Self::Spec>, target: usize) -> Result<Self::Integration>;

    /// The round to run now.
    fn round(integration: &Self::Integration) -> &Round;

    /// The sums of passes `range` of a round with these nodes.
    fn sums(
        &mut self,
        integration: &Self::Integration,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums>;

    /// Takes a round's sums (its chunks', in order): the answer, or `None` and the next round.
    fn absorb(
        &mut self,
        integration: &mut Self::Integration,
        parts: Vec<Sums>,
    ) -> Result<Option<Self::Answer>>;

    /// What to keep of an answer, and what to tell the page.
    fn keep(&self, answer: Self::Answer) -> Result<(Self::Kept, Self::Summary)>;

    /// The subject's features, as the metrics move them.
    fn features(&self) -> Result<Features>;

    /// A kept map as the metrics rank it: one value per feature, as displayed.
    fn values(&self, kept: &Self::Kept) -> Result<Vec<f32>>;

    /// The scores of passes `range` of a metric laid out on the subject.
    fn measure_scores(
        &self,
        passes: &dyn Passes,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>>;

    /// What the sanity check's filmstrip shows of a kept map.
    type Picture: Serialize;

    /// The model's ONNX file, which randomisation re-initialises.
    fn onnx(&self) -> &[u8];

    /// The same subject on another ONNX file with the same inputs and outputs (a randomised
    /// copy of the model).
    fn with_onnx(&self, onnx: &[u8]) -> Result<Self>
    where
        Self: Sized;

    /// The subject's height and width when it is an image (SSIM compares images only).
    fn image_shape(&self) -> Option<(usize, usize)>;

    /// A kept map drawn for the filmstrip, at its own scale and the default colours.
    fn picture(&self, kept: &Self::Kept) -> Result<Self::Picture>;
}

/// A map the sanity check makes again: its tile and its method's JSON settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remake {
    pub tile: u32,
    pub method: serde_json::Value,
}

/// One step of the sanity check: the model re-initialised through `label`, every map made
/// again on it and compared with the original.
#[derive(Debug, Serialize)]
pub struct Randomised<P> {
    pub step: usize,
    /// The deepest layer re-initialised.
    pub label: String,
    /// How many layers are re-initialised.
    pub layers: usize,
    pub maps: Vec<Remade<P>>,
}

#[derive(Debug, Serialize)]
pub struct Remade<P> {
    pub tile: u32,
    pub similarity: Similarity,
    pub picture: P,
}

/// What a round of a summed gradient method gives the page: another round, or the finished map.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Absorbed<S> {
    Round(Round),
    Done(S),
}

/// What a metric's sweep is laid out for: the metric's JSON, the target, and the map's values
/// (by their bits, so that a map with NaN still finds its sweep).
type MeasureKey = (String, usize, Vec<u32>);

/// A subject, its model, and the maps made of it by tile. A method arrives as JSON
/// (`{"method": NAME, ...settings}`), checked against its schema.
pub struct Session<W: Workspace> {
    work: W,
    kept: HashMap<u32, W::Kept>,
    /// The last forward-only method laid out, by its JSON settings and target, so that its
    /// passes can be scored slice by slice.
    plan: LastMade<(String, usize), W::Plan>,
    /// The last metric laid out, likewise.
    laid_out: LastMade<MeasureKey, Box<dyn Passes>>,
    /// The summed gradient method in progress, by its JSON settings and target: on the worker
    /// that absorbs its rounds, with their state; on the others, only to make its inputs.
    integration: Option<((String, usize), W::Integration)>,
}

impl<W: Workspace> Session<W> {
    pub fn new(work: W) -> Self {
        Session {
            work,
            kept: HashMap::new(),
            plan: LastMade::default(),
            laid_out: LastMade::default(),
            integration: None,
        }
    }

    pub fn work(&self) -> &W {
        &self.work
    }

    /// The workspace, to change the subject: every map and plan made of the old one is forgotten.
    pub fn new_subject(&mut self) -> &mut W {
        self.kept.clear();
        self.new_inputs()
    }

    /// The workspace, to change what plans are made from (a baseline): the plan is forgotten,
    /// the finished maps stay.
    pub fn new_inputs(&mut self) -> &mut W {
        self.plan.clear();
        self.laid_out.clear();
        self.integration = None;
        &mut self.work
    }

    /// Runs a method and keeps its answer as tile `tile`.
    pub fn explain(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        progress: Progress<'_>,
    ) -> Result<W::Summary> {
        let method = Registered::<W::Spec>::parse(method)?;
        let answer = self.work.explain(&method, target, progress)?;
        self.keep(tile, answer)
    }

    /// Lays out a forward-only method (or finds it laid out) and says how many passes it makes.
    /// The page's workers each lay it out the same way, score slices of it with
    /// [`Session::scores`], and one of them finishes it with [`Session::finish`].
    pub fn passes(&mut self, method: &str, target: usize) -> Result<usize> {
        self.lay_out(method, target, |plan, _| Ok(W::passes(plan)))
    }

    /// The scores of passes `range` of the method's plan.
    pub fn scores(
        &mut self,
        method: &str,
        target: usize,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        self.lay_out(method, target, |plan, work| work.scores(plan, range, progress))
    }

    /// Combines every pass's score and keeps the answer as tile `tile`.
    pub fn finish(&mut self, tile: u32, method: &str, target: usize, scores: &[f32]) -> Result<W::Summary> {
        let answer = self.lay_out(method, target, |plan, _| W::finish(plan, scores))?;
        self.keep(tile, answer)
    }

    /// Lays out a summed gradient method afresh (whatever was in progress is dropped) and gives
    /// its first round. The page's workers each sum chunks of a round with [`Session::sums`],
    /// and this one takes them with [`Session::absorb`].
    pub fn sums_round(&mut self, method: &str, target: usize) -> Result<Round> {
        self.integration = None;
        let integration = self.integrating(method, target)?;
        Ok(W::round(integration).clone())
    }

    /// The sums of passes `range` of a round with these `nodes` of the method (laid out first
    /// if needed).
    pub fn sums(
        &mut self,
        method: &str,
        target: usize,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums> {
        self.integrating(method, target)?;
        let Some((_, integration)) = self.integration.as_ref() else {
            return Err(Error::Bug("the summed method was not laid out".into()));
        };
        self.work.sums(integration, nodes, range, progress)
    }

    /// Takes the round's sums (its chunks', in order) for the method laid out by
    /// [`Session::sums_round`]: the next round, or the map, kept as tile `tile`.
    pub fn absorb(
        &mut self,
        tile: u32,
        method: &str,
        target: usize,
        parts: Vec<Sums>,
    ) -> Result<Absorbed<W::Summary>> {
        let key = (method.to_owned(), target);
        let Some((_, integration)) = self.integration.as_mut().filter(|(k, _)| *k == key) else {
            return Err(Error::Bug(format!("no round of {method} is in progress")));
        };
        match self.work.absorb(integration, parts) {
            Ok(Some(answer)) => {
                self.integration = None;
                Ok(Absorbed::Done(self.keep(tile, answer)?))
            }
            Ok(None) => Ok(Absorbed::Round(W::round(integration).clone())),
            Err(e) => {
                self.integration = None;
                Err(e)
            }
        }
    }

    /// The summed method for these settings and target: the one in progress, or a new one.
    fn integrating(&mut self, method: &str, target: usize) -> Result<&W::Integration> {
        let key = (method.to_owned(), target);
        if self.integration.as_ref().is_none_or(|(k, _)| *k != key) {
            self.integration = None;
            let made = self.work.integration(&Registered::<W::Spec>::parse(method)?, target)?;
            self.integration = Some((key.clone(), made));
        }
        self.integration
            .as_ref()
            .map(|(_, integration)| integration)
            .ok_or_else(|| Error::Bug("the summed method was not laid out".into()))
    }

    /// Forgets a tile's map.
    pub fn forget(&mut self, tile: u32) {
        self.kept.remove(&tile);
    }

    /// What is kept of tile `tile`.
    pub fn kept(&self, tile: u32) -> Option<&W::Kept> {
        self.kept.get(&tile)
    }

    /// Every kept tile, in tile order.
    pub fn tiles(&self) -> Vec<(u32, &W::Kept)> {
        let mut tiles: Vec<(u32, &W::Kept)> = self.kept.iter().map(|(&t, k)| (t, k)).collect();
        tiles.sort_by_key(|(tile, _)| *tile);
        tiles
    }

    /// Tile `tile`'s map as the metrics rank it: one value per feature. The page's worker that
    /// keeps the tile sends these to the others, which lay out the same sweep.
    pub fn values(&self, tile: u32) -> Result<Vec<f32>> {
        let kept = self.kept(tile).ok_or_else(|| Error::Explain(format!("Tile {tile} has no map yet.")))?;
        self.work.values(kept)
    }

    /// Lays out a metric on the subject and a map's `values` (or finds it laid out) and says how
    /// many passes it makes. Like a forward-only method, its passes are scored in slices
    /// ([`Session::measure_scores`]) and finished by one worker ([`Session::measure_finish`]).
    pub fn measure_passes(&mut self, metric: &str, target: usize, values: &[f32]) -> Result<usize> {
        self.measured(metric, target, values, |sweep, _| Ok(sweep.len()))
    }

    /// The scores of passes `range` of the metric's sweep.
    pub fn measure_scores(
        &mut self,
        metric: &str,
        target: usize,
        values: &[f32],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        self.measured(metric, target, values, |passes, work| work.measure_scores(passes, range, progress))
    }

    /// What every pass's score makes: a curve, or a stability rate.
    pub fn measure_finish(
        &mut self,
        metric: &str,
        target: usize,
        values: &[f32],
        scores: &[f32],
    ) -> Result<Scored> {
        self.measured(metric, target, values, |sweep, _| sweep.finish(scores))
    }

    /// The sanity check's steps on this model, for a randomisation metric's JSON settings.
    pub fn randomisation_steps(&self, metric: &str) -> Result<Vec<Step>> {
        let (_, steps) = self.randomisation(metric)?;
        Ok(steps)
    }

    /// Step `step` of the sanity check: the model randomised once, every map in `maps` made
    /// again on it for class `target` and compared with its original values (`values`: each
    /// map's, one after the other, as [`Session::values`] gives them). `progress` counts maps.
    pub fn randomisation_step(
        &self,
        metric: &str,
        step: usize,
        target: usize,
        maps: &[Remake],
        values: &[f32],
        progress: Progress<'_>,
    ) -> Result<Randomised<W::Picture>> {
        let (config, steps) = self.randomisation(metric)?;
        let chosen = steps.get(step).ok_or_else(|| {
            Error::Setting(format!("the sanity check has {} steps; there is no step {step}", steps.len()))
        })?;
        let each = self.work.features()?.len();
        if each * maps.len() != values.len() {
            return Err(Error::Bug(format!(
                "{} values are not {} maps of {each} features",
                values.len(),
                maps.len()
            )));
        }
        let mut other =
            self.work.with_onnx(&randomise::randomise(self.work.onnx(), &chosen.layers, config.seed)?)?;
        let mut remade = Vec::with_capacity(maps.len());
        progress(0, maps.len());
        for (i, (remake, original)) in maps.iter().zip(values.chunks(each.max(1))).enumerate() {
            let method = Registered::<W::Spec>::parse(&remake.method.to_string())?;
            let answer = other.explain(&method, target, &mut |_, _| {})?;
            let (kept, _) = other.keep(answer)?;
            let similarity = compare(original, &other.values(&kept)?, self.work.image_shape());
            remade.push(Remade { tile: remake.tile, similarity, picture: other.picture(&kept)? });
            progress(i + 1, maps.len());
        }
        Ok(Randomised { step, label: chosen.label.clone(), layers: chosen.layers.len(), maps: remade })
    }

    fn randomisation(&self, metric: &str) -> Result<(RandomisationConfig, Vec<Step>)> {
        let measure = Measure::parse(metric)?;
        if measure.spec().descriptor().kind != Kind::Randomisation {
            return Err(Error::Setting(format!("{} does not randomise the model", measure.name())));
        }
        let config: RandomisationConfig = measure.settings().config()?;
        let layers = randomise::layers(self.work.onnx())?;
        if layers.is_empty() {
            return Err(Error::Setting(
                "This model has no layer the sanity check can re-initialise (a Conv, a Gemm, or a MatMul with a constant weight).".into(),
            ));
        }
        let steps = config.steps(&layers);
        Ok((config, steps))
    }

    fn measured<T>(
        &mut self,
        metric: &str,
        target: usize,
        values: &[f32],
        with: impl FnOnce(&dyn Passes, &W) -> Result<T>,
    ) -> Result<T> {
        let work = &self.work;
        let key = (metric.to_owned(), target, values.iter().map(|v| v.to_bits()).collect());
        let passes = self
            .laid_out
            .get_or_make(key, || Measure::parse(metric)?.lay_out(&work.features()?, values, target))?;
        with(passes.as_ref().as_ref(), work)
    }

    /// Runs `with` on the plan for these settings and target: the last one laid out, or a new one.
    fn lay_out<T>(
        &mut self,
        method: &str,
        target: usize,
        with: impl FnOnce(&W::Plan, &W) -> Result<T>,
    ) -> Result<T> {
        let work = &self.work;
        let plan = self.plan.get_or_make((method.to_owned(), target), || {
            work.plan(&Registered::<W::Spec>::parse(method)?, target)
        })?;
        with(&plan, work)
    }

    fn keep(&mut self, tile: u32, answer: W::Answer) -> Result<W::Summary> {
        let (kept, summary) = self.work.keep(answer)?;
        self.kept.insert(tile, kept);
        Ok(summary)
    }
}
