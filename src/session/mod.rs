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

use serde::Serialize;

pub use self::image::{ImageRender, ImageWorkspace};
pub use self::text::{TextRender, TextWorkspace};
pub use last_made::LastMade;

use crate::error::Result;
use crate::explain::{Progress, Registered, Registry};

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

    /// What to keep of an answer, and what to tell the page.
    fn keep(&self, answer: Self::Answer) -> Result<(Self::Kept, Self::Summary)>;
}

/// A subject, its model, and the maps made of it by tile. A method arrives as JSON
/// (`{"method": NAME, ...settings}`), checked against its schema.
pub struct Session<W: Workspace> {
    work: W,
    kept: HashMap<u32, W::Kept>,
    /// The last forward-only method laid out, by its JSON settings and target, so that its
    /// passes can be scored slice by slice.
    plan: LastMade<(String, usize), W::Plan>,
}

impl<W: Workspace> Session<W> {
    pub fn new(work: W) -> Self {
        Session { work, kept: HashMap::new(), plan: LastMade::default() }
    }

    pub fn work(&self) -> &W {
        &self.work
    }

    /// The workspace, to change the subject: every map and plan made of the old one is forgotten.
    pub fn new_subject(&mut self) -> &mut W {
        self.kept.clear();
        self.plan.clear();
        &mut self.work
    }

    /// The workspace, to change what plans are made from (a baseline): the plan is forgotten,
    /// the finished maps stay.
    pub fn new_inputs(&mut self) -> &mut W {
        self.plan.clear();
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
