//! The methods that need forward passes only (occlusion, RISE, LIME, KernelSHAP), laid out
//! before any pass runs: a [`Plan`] is a list of inputs, each scored by one number from the
//! model's output, and a rule that turns the scores into a map.
//!
//! The plan is a pure function of the subject and the settings (seeded), so any process that
//! makes the same plan can score any slice of it: the page splits the passes over a pool of
//! Web Workers and hands every score back to one of them to finish.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayView1};

use super::superpixels::SegmentScores;
use super::{Attribution, Completeness, Explainer, Method, Progress, Subject};
use crate::classify::softmax;
use crate::error::{Error, Result};

/// A forward-only method's inputs and how their scores combine: what each such method's file
/// provides through [`super::registry::ImageMethod::plan`].
pub trait Perturbations: Send + Sync {
    /// How many forward passes.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th input, `i < len()`.
    fn input(&self, i: usize) -> ArrayD<f32>;

    /// What an input's output row is scored by: the target's logit (as Captum), unless the
    /// method says otherwise.
    fn score(&self) -> Score {
        Score::Logit
    }

    /// Combines every input's score, in order, into the map.
    fn finish(&self, scores: &[f32]) -> Result<Outcome>;
}

/// Which number of the model's output row scores an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    Logit,
    /// The target's softmax probability (RISE, as in the paper).
    Probability,
}

/// What a method's run gives: the map and what is needed to draw it honestly.
pub struct Outcome {
    pub map: ArrayD<f32>,
    /// The layer the map lives on (the CAMs), by ONNX tensor name.
    pub layer: Option<String>,
    pub completeness: Option<Completeness>,
    pub segments: Option<SegmentScores>,
}

impl From<ArrayD<f32>> for Outcome {
    fn from(map: ArrayD<f32>) -> Outcome {
        Outcome { map, layer: None, completeness: None, segments: None }
    }
}

/// A forward-only method, ready to run: its inputs and how to combine their scores.
#[derive(Clone)]
pub struct Plan {
    method: Method,
    target: usize,
    inputs: Arc<dyn Perturbations>,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plan({:?}, target {}, {} passes)", self.method, self.target, self.len())
    }
}

impl Plan {
    /// Lays the method out on the subject; an error for a method that needs gradients.
    pub fn new(explainer: &Explainer, subject: &Subject, method: &Method) -> Result<Plan> {
        if !method.forward_only() {
            return Err(Error::Setting(format!(
                "{} needs gradients, not only forward passes.",
                method.descriptor().title
            )));
        }
        let inputs = method.spec().plan(explainer, subject, method.settings())?;
        Ok(Plan { method: method.clone(), target: subject.target, inputs: Arc::from(inputs) })
    }

    /// How many forward passes.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One input's score from the model's output row.
    fn score(&self, row: ArrayView1<'_, f32>) -> Result<f32> {
        let outside =
            || Error::Explain(format!("Class {} is outside the model's {} outputs.", self.target, row.len()));
        match self.inputs.score() {
            Score::Probability => softmax(row).get(self.target).copied().ok_or_else(outside),
            Score::Logit => row.get(self.target).copied().ok_or_else(outside),
        }
    }

    /// Combines every input's score, in order, into the attribution.
    pub fn finish(&self, scores: &[f32]) -> Result<Attribution> {
        if scores.len() != self.len() {
            return Err(Error::Bug(format!("{} scores for {} passes", scores.len(), self.len())));
        }
        Ok(Attribution::new(self.method.clone(), self.target, self.inputs.finish(scores)?))
    }
}

impl Explainer {
    /// The scores of the plan's inputs in `range`, in batches; progress counts passes within
    /// the range.
    pub fn scores(&self, plan: &Plan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>> {
        if range.end > plan.len() || range.start > range.end {
            let (start, end, len) = (range.start, range.end, plan.len());
            return Err(Error::Bug(format!("passes {start} to {end} are outside the plan's {len}")));
        }
        let total = range.len();
        let mut scores = Vec::with_capacity(total);
        let inputs = range.map(|i| plan.inputs.input(i));
        self.for_each_output_row(inputs, progress, total, |_, row| {
            scores.push(plan.score(row)?);
            Ok(())
        })?;
        Ok(scores)
    }
}
