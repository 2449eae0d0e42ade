//! A metric laid out as forward passes: deletion and insertion's sweeps and soft stability's
//! samples. Like a forward-only method's plan, it is a pure function of the subject, the map and
//! the settings, so every worker that lays out the same one can score any slice of it.

use std::ops::Range;

use ndarray::{ArrayD, ArrayView1};
use serde::Serialize;

use super::soft_stability::StabilityRate;
use super::sweep::Curve;
use crate::error::Result;
use crate::explain::perturbation::check_slice;
use crate::explain::{Explainer, Progress};
use crate::text::TextModel;

/// A metric's forward passes: each one's input, its score from the model's output row, and
/// what the scores make.
pub trait Passes: Send + Sync {
    /// How many passes.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pass `i`'s input.
    fn input(&self, i: usize) -> ArrayD<f32>;

    /// A pass's score from the model's output row.
    fn score(&self, row: ArrayView1<'_, f32>) -> Result<f32>;

    /// What every pass's score, in order, makes.
    fn finish(&self, scores: &[f32]) -> Result<Scored>;
}

/// A metric's answer on one map.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Scored {
    /// Deletion and insertion: the target's probability against the share of features moved.
    Curve(Curve),
    /// Soft stability: how often the prediction holds, with its bound.
    Stability(StabilityRate),
}

impl Explainer {
    /// The scores of a metric's passes in `range`, in batches.
    pub fn measure_scores(
        &self,
        passes: &dyn Passes,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        check_slice(&range, passes.len(), "metric")?;
        self.score_passes(range.map(|i| passes.input(i)), progress, |row| passes.score(row))
    }
}

impl TextModel {
    /// The scores of a metric's passes in `range`, on the reading model.
    pub fn measure_scores(
        &self,
        passes: &dyn Passes,
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        check_slice(&range, passes.len(), "metric")?;
        self.score_passes(range.map(|i| passes.input(i)), progress, |row| passes.score(row))
    }
}
