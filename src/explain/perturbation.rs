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

/// The passes of a method that removes players (superpixels of an image, tokens of a sentence):
/// which players each pass keeps, and what the scores become. LIME's samples, KernelSHAP's
/// coalitions and leave-one-out are the same on images and on sentences.
pub trait Players: Send + Sync + fmt::Debug {
    /// How many passes.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Which players pass `i` keeps.
    fn present(&self, i: usize) -> std::borrow::Cow<'_, [bool]>;

    /// Every pass's score, in order, as one value per player.
    fn values(&self, scores: &[f32]) -> Result<PlayerValues>;
}

/// What a [`Players`] design makes of the scores.
pub struct PlayerValues {
    pub values: Vec<f32>,
    /// KernelSHAP's efficiency.
    pub completeness: Option<Completeness>,
    /// LIME's weighted R².
    pub r_squared: Option<f32>,
}

/// Leave one out: pass 0 keeps every player, pass 1 + k all but player k; a player's value is
/// the score's drop without it.
#[derive(Debug, Clone)]
pub struct LeaveOneOut {
    pub players: usize,
}

impl Players for LeaveOneOut {
    fn len(&self) -> usize {
        self.players + 1
    }

    fn present(&self, i: usize) -> std::borrow::Cow<'_, [bool]> {
        (0..self.players).map(|k| i == 0 || k + 1 != i).collect::<Vec<_>>().into()
    }

    fn values(&self, scores: &[f32]) -> Result<PlayerValues> {
        let (whole, rest) =
            scores.split_first().ok_or_else(|| Error::Bug("no score for the whole input".into()))?;
        Ok(PlayerValues {
            values: rest.iter().map(|s| whole - s).collect(),
            completeness: None,
            r_squared: None,
        })
    }
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

impl Outcome {
    /// A map with its completeness check (the path methods).
    pub fn checked(map: ArrayD<f32>, completeness: Completeness) -> Outcome {
        Outcome { completeness: Some(completeness), ..map.into() }
    }
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
        check_slice(&range, plan.len(), "plan")?;
        self.score_passes(range.map(|i| plan.inputs.input(i)), progress, |row| plan.score(row))
    }
}

/// An error unless passes `range` lie within the `len` passes of a plan (`what`: "plan",
/// "sweep"): the page asks for slices of what it laid out, so this is Glimpse's bug.
pub(crate) fn check_slice(range: &Range<usize>, len: usize, what: &str) -> Result<()> {
    if range.end > len || range.start > range.end {
        let (start, end) = (range.start, range.end);
        return Err(Error::Bug(format!("passes {start} to {end} are outside the {what}'s {len}")));
    }
    Ok(())
}
