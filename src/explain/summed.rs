//! The gradient methods whose passes are independent and only summed (Integrated Gradients,
//! path-sampled IG, SmoothGrad and its variants), laid out as rounds of weighted gradient sums.
//!
//! A [`Round`] is a list of nodes, each a point at which a gradient is taken (IG: α along the
//! path; SmoothGrad: the index of a noisy sample) and its weight. A round's passes are summed
//! in fixed chunks ([`chunks`]): each chunk gives Σ wᵢ ∇y(xᵢ), Σ wᵢ ∇y(xᵢ)² when the method
//! needs squares, and the target's value at each node, accumulated in f64 from zero; the
//! chunks' sums are then added in order. Because the chunks are a function of the round alone,
//! the page's workers can each take any chunk, and the map is the same bit for bit for one
//! worker or many, and the same as the CLI's.
//!
//! The method reads the round's sums ([`Integrand::absorb`]) and either answers or asks for
//! another round: IG's refinement halves the piece of the path with the largest error, which
//! only the sums of the rounds before can tell.

use std::ops::Range;

use ndarray::{ArrayD, IxDyn};
use serde::Serialize;

use super::perturbation::{check_slice, Outcome};
use super::{Attribution, Explainer, Method, Progress, Subject};
use crate::error::{Error, Result};
use crate::grad::Mode;

/// Where a gradient is taken, in the method's own terms (IG: α along the path; SmoothGrad: the
/// sample's index), and its weight in the sum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Node {
    pub at: f64,
    pub weight: f64,
}

/// One round of independent gradient passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    pub nodes: Vec<Node>,
    /// Passes in each chunk but perhaps the last (see [`chunks`]).
    pub chunk: usize,
    /// Passes made before this round, for progress.
    pub done: usize,
    /// Passes in all, at most.
    pub total: usize,
}

impl Round {
    pub fn new(nodes: Vec<Node>, done: usize, total: usize) -> Round {
        Round { chunk: chunk_len(nodes.len()), nodes, done, total }
    }
}

/// A round's passes are summed in at most this many chunks: few enough that every chunk's sums
/// (two arrays the input's size, in f64) can wait for the others, enough to keep four workers
/// busy.
pub const MAX_CHUNKS: usize = 12;

fn chunk_len(nodes: usize) -> usize {
    nodes.div_ceil(MAX_CHUNKS).max(1)
}

/// The chunks a round of `nodes` passes is summed in, in order.
pub fn chunks(nodes: usize) -> Vec<Range<usize>> {
    let len = chunk_len(nodes);
    (0..nodes).step_by(len).map(|start| start..(start + len).min(nodes)).collect()
}

/// What a chunk of passes gives, flat in the input's element order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sums {
    /// Σ wᵢ ∇y(xᵢ).
    pub sum: Vec<f64>,
    /// Σ wᵢ ∇y(xᵢ)², when the method asks for it.
    pub squares: Option<Vec<f64>>,
    /// The target's value at each node of the chunk, in order.
    pub values: Vec<f32>,
}

impl Sums {
    /// The sums of a round from its chunks' sums, in order: Σ over the chunks, added one after
    /// the other, and the values one after the other. `shape` is the input's.
    pub fn total(parts: Vec<Sums>, round: &Round, shape: &[usize]) -> Result<Total> {
        let expected = chunks(round.nodes.len());
        if parts.len() != expected.len()
            || parts.iter().zip(&expected).any(|(part, range)| part.values.len() != range.len())
        {
            return Err(Error::Bug(format!(
                "the sums of {} chunks do not fit the round's {} chunks of {} passes",
                parts.len(),
                expected.len(),
                round.nodes.len()
            )));
        }
        let size: usize = shape.iter().product();
        let mut sum = vec![0.0; size];
        let mut squares = parts.first().and_then(|p| p.squares.as_ref()).map(|_| vec![0.0; size]);
        let mut values = Vec::with_capacity(round.nodes.len());
        for part in parts {
            add(&mut sum, &part.sum)?;
            match (&mut squares, &part.squares) {
                (Some(total), Some(part)) => add(total, part)?,
                (None, None) => {}
                _ => return Err(Error::Bug("some chunks have squares and some do not".into())),
            }
            values.extend(part.values);
        }
        let array = |flat: Vec<f64>| {
            ArrayD::from_shape_vec(IxDyn(shape), flat).map_err(|e| Error::Bug(e.to_string()))
        };
        Ok(Total { sum: array(sum)?, squares: squares.map(array).transpose()?, values })
    }
}

fn add(total: &mut [f64], part: &[f64]) -> Result<()> {
    if total.len() != part.len() {
        return Err(Error::Bug(format!("a chunk's sum has {} values, not {}", part.len(), total.len())));
    }
    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    Ok(())
}

/// A round's sums, in the input's shape.
#[derive(Debug, Clone)]
pub struct Total {
    pub sum: ArrayD<f64>,
    pub squares: Option<ArrayD<f64>>,
    pub values: Vec<f32>,
}

/// What a method does after a round.
pub enum Next {
    /// Another round.
    Round(Round),
    Done(Box<Outcome>),
}

/// A summed gradient method laid out on a subject: what each
/// [`super::registry::ImageMethod::integrand`] gives, with its first round. Every worker that
/// lays out the same method makes the same inputs; only the one that absorbs the sums keeps any
/// state.
pub trait Integrand: Send {
    /// The input at a node.
    fn input(&self, at: f64) -> ArrayD<f32>;

    /// Whether the method needs Σ wᵢ ∇y(xᵢ)² too.
    fn squares(&self) -> bool {
        false
    }

    /// Takes a round's sums: the answer, or the next round.
    fn absorb(&mut self, explainer: &Explainer, total: Total) -> Result<Next>;
}

/// A summed method's integrand and its first round.
pub type LaidOut = (Box<dyn Integrand>, Round);

/// A summed method laid out on a subject, from its first round to its answer.
pub struct Integration {
    method: Method,
    target: usize,
    integrand: Box<dyn Integrand>,
    round: Round,
    /// The input's shape, which the sums are in.
    shape: Vec<usize>,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Integration({:?}, target {}, round of {})",
            self.method,
            self.target,
            self.round.nodes.len()
        )
    }
}

impl Integration {
    /// Lays the method out on the subject; an error for a method that is not summed.
    pub fn new(explainer: &Explainer, subject: &Subject, method: &Method) -> Result<Integration> {
        if !method.descriptor().summed {
            return Err(Error::Bug(format!("{} is not a summed gradient method", method.name())));
        }
        let (integrand, round) = method.spec().integrand(explainer, subject, method.settings())?;
        let shape = subject.input.shape().to_vec();
        Ok(Integration { method: method.clone(), target: subject.target, integrand, round, shape })
    }

    /// The round to run now.
    pub fn round(&self) -> &Round {
        &self.round
    }

    /// The sums of passes `range` of a round with these `nodes` (the round in progress, which a
    /// worker that only helps is told).
    pub fn sums(
        &self,
        explainer: &Explainer,
        nodes: &[Node],
        range: Range<usize>,
        progress: Progress<'_>,
    ) -> Result<Sums> {
        sums(explainer, self.integrand.as_ref(), self.target, nodes, range, progress)
    }

    /// Takes the round's sums (its chunks', in order): the attribution, or `None` and the next
    /// round in [`Self::round`].
    pub fn absorb(&mut self, explainer: &Explainer, parts: Vec<Sums>) -> Result<Option<Attribution>> {
        let total = Sums::total(parts, &self.round, &self.shape)?;
        match self.integrand.absorb(explainer, total)? {
            Next::Round(round) => {
                self.round = round;
                Ok(None)
            }
            Next::Done(outcome) => Ok(Some(Attribution::new(self.method.clone(), self.target, *outcome))),
        }
    }

    /// Every round, chunk by chunk, in one process.
    pub fn run(mut self, explainer: &Explainer, progress: Progress<'_>) -> Result<Attribution> {
        loop {
            let parts = round_sums(explainer, self.integrand.as_ref(), self.target, &self.round, progress)?;
            if let Some(attribution) = self.absorb(explainer, parts)? {
                return Ok(attribution);
            }
        }
    }
}

/// Every chunk's sums of a round, in order, in one process; progress counts the passes of every
/// round.
pub(crate) fn round_sums(
    explainer: &Explainer,
    integrand: &dyn Integrand,
    target: usize,
    round: &Round,
    progress: Progress<'_>,
) -> Result<Vec<Sums>> {
    chunks(round.nodes.len())
        .into_iter()
        .map(|range| {
            let start = range.start;
            let mut report = |d: usize, _: usize| progress(round.done + start + d, round.total);
            sums(explainer, integrand, target, &round.nodes, range, &mut report)
        })
        .collect()
}

/// The sums of passes `range` of a round with these `nodes`, accumulated in f64 from zero in
/// node order.
fn sums(
    explainer: &Explainer,
    integrand: &dyn Integrand,
    target: usize,
    nodes: &[Node],
    range: Range<usize>,
    progress: Progress<'_>,
) -> Result<Sums> {
    check_slice(&range, nodes.len(), "round")?;
    let nodes = nodes.get(range).unwrap_or_default();
    let points = nodes.iter().map(|node| integrand.input(node.at));
    let with_squares = integrand.squares();
    let (mut sum, mut squares) = (Vec::new(), Vec::new());
    let mut values = Vec::with_capacity(nodes.len());
    explainer.for_each_gradient(points, target, Mode::Plain, progress, nodes.len(), |i, grad, value| {
        let weight = nodes.get(i).map_or(0.0, |n| n.weight);
        if sum.is_empty() {
            sum = vec![0.0; grad.len()];
            squares = if with_squares { vec![0.0; grad.len()] } else { Vec::new() };
        }
        let grad = grad.iter().map(|&g| f64::from(g));
        if with_squares {
            for ((s, q), g) in sum.iter_mut().zip(squares.iter_mut()).zip(grad) {
                *s += weight * g;
                *q += weight * g * g;
            }
        } else {
            sum.iter_mut().zip(grad).for_each(|(s, g)| *s += weight * g);
        }
        values.push(value);
        Ok(())
    })?;
    Ok(Sums { sum, squares: with_squares.then_some(squares), values })
}
