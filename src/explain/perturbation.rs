//! The methods that need forward passes only (occlusion, RISE, LIME, KernelSHAP), laid out
//! before any pass runs: a [`Plan`] is a list of inputs, each scored by one number from the
//! model's output, and a rule that turns the scores into a map.
//!
//! The plan is a pure function of the subject and the settings (seeded), so any process that
//! makes the same plan can score any slice of it: the page splits the passes over a pool of
//! Web Workers and hands every score back to one of them to finish.

use std::ops::Range;

use ndarray::{ArrayD, ArrayView1};

use super::superpixels::SegmentScores;
use super::{
    kernel_shap, lime, occlusion, rise, Attribution, Completeness, Explainer, Method, Progress, Subject,
};
use crate::classify::softmax;
use crate::error::{Error, Result};

/// A forward-only method, ready to run: its inputs and how to combine their scores.
#[derive(Debug, Clone)]
pub struct Plan {
    method: Method,
    target: usize,
    inputs: Inputs,
}

#[derive(Debug, Clone)]
enum Inputs {
    Occlusion(occlusion::Plan),
    Rise(rise::Plan),
    Lime(lime::Plan),
    KernelShap(kernel_shap::Plan),
}

/// What a plan's scores combine into.
pub(super) struct Outcome {
    pub map: ArrayD<f32>,
    pub completeness: Option<Completeness>,
    pub segments: Option<SegmentScores>,
}

impl From<ArrayD<f32>> for Outcome {
    fn from(map: ArrayD<f32>) -> Outcome {
        Outcome { map, completeness: None, segments: None }
    }
}

impl Plan {
    /// Lays the method out on the subject; an error for a method that needs gradients.
    pub fn new(subject: &Subject, method: &Method) -> Result<Plan> {
        let inputs = match method {
            Method::Occlusion(config) => Inputs::Occlusion(occlusion::Plan::new(subject, config)?),
            Method::Rise(config) => Inputs::Rise(rise::Plan::new(subject, config)?),
            Method::Lime(config) => Inputs::Lime(lime::Plan::new(subject, config)?),
            Method::KernelShap(config) => Inputs::KernelShap(kernel_shap::Plan::new(subject, config)?),
            other => {
                return Err(Error::Explain(format!(
                    "{} needs gradients, not only forward passes",
                    other.name()
                )))
            }
        };
        Ok(Plan { method: method.clone(), target: subject.target, inputs })
    }

    /// How many forward passes.
    pub fn len(&self) -> usize {
        match &self.inputs {
            Inputs::Occlusion(p) => p.len(),
            Inputs::Rise(p) => p.len(),
            Inputs::Lime(p) => p.len(),
            Inputs::KernelShap(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th input.
    fn input(&self, i: usize) -> ArrayD<f32> {
        match &self.inputs {
            Inputs::Occlusion(p) => p.input(i),
            Inputs::Rise(p) => p.input(i),
            Inputs::Lime(p) => p.input(i),
            Inputs::KernelShap(p) => p.input(i),
        }
    }

    /// One input's score from the model's output row: the target's probability for RISE (as in
    /// the paper), the target's output (logit) for the others (as Captum).
    fn score(&self, row: ArrayView1<'_, f32>) -> Result<f32> {
        let outside =
            || Error::Explain(format!("class {} is outside the model's {} outputs", self.target, row.len()));
        match self.inputs {
            Inputs::Rise(_) => softmax(row).get(self.target).copied().ok_or_else(outside),
            _ => row.get(self.target).copied().ok_or_else(outside),
        }
    }

    /// Combines every input's score, in order, into the attribution.
    pub fn finish(&self, scores: &[f32]) -> Result<Attribution> {
        if scores.len() != self.len() {
            return Err(Error::Explain(format!("{} scores for {} passes", scores.len(), self.len())));
        }
        let outcome = match &self.inputs {
            Inputs::Occlusion(p) => p.finish(scores)?,
            Inputs::Rise(p) => p.finish(scores)?,
            Inputs::Lime(p) => p.finish(scores)?,
            Inputs::KernelShap(p) => p.finish(scores)?,
        };
        Ok(Attribution {
            method: self.method.clone(),
            target: self.target,
            map: outcome.map,
            layer: None,
            completeness: outcome.completeness,
            segments: outcome.segments,
        })
    }
}

impl Explainer {
    /// The scores of the plan's inputs in `range`, in batches; progress counts passes within
    /// the range.
    pub fn scores(&self, plan: &Plan, range: Range<usize>, progress: Progress<'_>) -> Result<Vec<f32>> {
        if range.end > plan.len() || range.start > range.end {
            return Err(Error::Explain(format!("passes {range:?} are outside the plan's {}", plan.len())));
        }
        let total = range.len();
        let mut scores = Vec::with_capacity(total);
        let inputs = range.map(|i| plan.input(i));
        self.for_each_output_row(inputs, progress, total, |_, row| {
            scores.push(plan.score(row)?);
            Ok(())
        })?;
        Ok(scores)
    }
}
