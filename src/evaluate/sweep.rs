//! A sweep: the passes of deletion and insertion. Features move, in the order the map ranks
//! them, from the sweep's start to its end, a step at a time; each pass is scored by the
//! target's softmax probability, and the scores make a [`Curve`].
//!
//! Conventions (the report names them): a map is ranked as displayed (an image map with its
//! channels reduced the way the tile draws it, at the model's input size). Most relevant first
//! (MoRF) is the values in decreasing order, least relevant first (LeRF) increasing; equal
//! values go in index order either way (row-major pixels, token positions), and a value that
//! is not a number ranks as the least relevant. Step k moves ⌊k·N/S⌋ of the N features with S
//! steps (S at most N), or min(k·K, N) with K features a step (RISE: 224 pixels), and the curve's
//! x is the share moved; the area is the trapezoid rule over [0, 1].

use std::cmp::Ordering;

use ndarray::ArrayD;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::features::Features;
use super::passes::{Passes, Scored};
use crate::classify::softmax;
use crate::error::{Error, Result};
use crate::explain::baseline::rand_chacha;
use crate::explain::schema::Setting;
use crate::text::{Sentence, TextModel};

/// The order features move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Most relevant first.
    #[default]
    Morf,
    /// Least relevant first.
    Lerf,
    /// A seeded random order: the yardstick a map should beat.
    Random,
}

/// The settings of deletion and insertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepConfig {
    /// Steps from one end to the other.
    pub steps: usize,
    /// Features a step instead (RISE: 224 pixels); overrides `steps`.
    pub step_pixels: Option<usize>,
    pub order: Order,
    /// The random order's seed.
    pub seed: u64,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig { steps: 50, step_pixels: None, order: Order::Morf, seed: 0 }
    }
}

/// The most steps a sweep takes.
pub const MAX_STEPS: usize = 1000;

impl SweepConfig {
    /// The schema of the settings, shared by deletion and insertion.
    pub fn settings() -> Vec<Setting> {
        Setting::defaults_from::<SweepConfig>(vec![
            Setting::integer("steps", "Steps", 1, MAX_STEPS as u64)
                .help("from the whole input to none of it (at most one feature a step)"),
            Setting::integer("step_pixels", "Features a step", 1, 1 << 24)
                .or_none("set by the steps")
                .source("RISE's evaluation.py moves 224 pixels a step"),
            Setting::variants(
                "order",
                "Order",
                &[
                    (Order::Morf, "most relevant first"),
                    (Order::Lerf, "least relevant first"),
                    (Order::Random, "random (the yardstick)"),
                ],
            ),
            Setting::seed(),
        ])
    }
}

/// The features in the order they move: indices into `values`.
pub fn ranking(values: &[f32], order: Order, seed: u64) -> Vec<usize> {
    let key = |i: usize| values.get(i).copied().filter(|v| !v.is_nan()).unwrap_or(f32::NEG_INFINITY);
    let mut ranked: Vec<usize> = (0..values.len()).collect();
    match order {
        // A stable sort keeps equal values in index order.
        Order::Morf => ranked.sort_by(|&a, &b| key(b).partial_cmp(&key(a)).unwrap_or(Ordering::Equal)),
        Order::Lerf => ranked.sort_by(|&a, &b| key(a).partial_cmp(&key(b)).unwrap_or(Ordering::Equal)),
        Order::Random => ranked.shuffle(&mut rand_chacha(seed)),
    }
    ranked
}

/// How many of `features` have moved before each pass: 0 first, all last.
pub fn step_counts(features: usize, steps: usize, step_features: Option<usize>) -> Vec<usize> {
    match step_features {
        Some(k) => {
            let k = k.max(1);
            let n = features.div_ceil(k);
            (0..=n).map(|i| (i * k).min(features)).collect()
        }
        None => {
            let s = steps.clamp(1, features.max(1));
            (0..=s).map(|i| i * features / s).collect()
        }
    }
}

/// The trapezoid rule: the area under `y` over `x`.
pub fn trapezoid(x: &[f32], y: &[f32]) -> f32 {
    let pairs = x.iter().zip(y);
    pairs.clone().zip(pairs.skip(1)).map(|((x0, y0), (x1, y1))| (x1 - x0) * (y0 + y1) / 2.0).sum()
}

/// A metric laid out on one subject and one map: its passes and how they make a curve. Like a
/// forward-only method's plan, a pure function of the subject, the map and the settings.
#[derive(Debug, Clone)]
pub struct Sweep {
    features: Features,
    start: ArrayD<f32>,
    end: ArrayD<f32>,
    order: Vec<usize>,
    counts: Vec<usize>,
    target: usize,
}

impl Sweep {
    /// A sweep from `start` to `end` in the order `values` rank the features.
    pub fn new(
        features: &Features,
        start: ArrayD<f32>,
        end: ArrayD<f32>,
        values: &[f32],
        target: usize,
        config: &SweepConfig,
    ) -> Result<Sweep> {
        let n = features.len();
        if n == 0 {
            return Err(Error::Explain("There is nothing to remove: the input has no features.".into()));
        }
        if values.len() != n && config.order != Order::Random {
            return Err(Error::Explain(format!(
                "The map has {} values for the input's {n} features; a map to evaluate has one per \
                 pixel at the model's input size, or one per token.",
                values.len()
            )));
        }
        if start.shape() != features.input().shape() || end.shape() != start.shape() {
            return Err(Error::Bug("a sweep's ends differ in shape from its input".into()));
        }
        // A random order ranks no map: only the number of features counts.
        let order = match config.order {
            Order::Random => ranking(&vec![0.0; n], Order::Random, config.seed),
            order => ranking(values, order, config.seed),
        };
        Ok(Sweep {
            features: features.clone(),
            start: start.as_standard_layout().into_owned(),
            end: end.as_standard_layout().into_owned(),
            order,
            counts: step_counts(n, config.steps, config.step_pixels),
            target,
        })
    }

    /// The curve the passes' scores make, in order.
    pub fn curve(&self, scores: &[f32]) -> Result<Curve> {
        if scores.len() != self.len() {
            return Err(Error::Bug(format!("{} scores for {} passes", scores.len(), self.len())));
        }
        let n = self.features.len() as f32;
        let fractions: Vec<f32> = self.counts.iter().map(|&c| c as f32 / n).collect();
        Ok(Curve { auc: trapezoid(&fractions, scores), fractions, scores: scores.to_vec() })
    }
}

impl Passes for Sweep {
    fn len(&self) -> usize {
        self.counts.len()
    }

    /// Pass `i`'s input: the start with the first `counts[i]` features of the order taken from
    /// the end.
    fn input(&self, i: usize) -> ArrayD<f32> {
        let count = self.counts.get(i).copied().unwrap_or(0);
        self.features.show(&self.start, &self.end, self.order.get(..count).unwrap_or(&self.order))
    }

    /// The target's softmax probability.
    fn score(&self, row: ndarray::ArrayView1<'_, f32>) -> Result<f32> {
        softmax(row).get(self.target).copied().ok_or_else(|| {
            Error::Explain(format!("Class {} is outside the model's {} outputs.", self.target, row.len()))
        })
    }

    fn finish(&self, scores: &[f32]) -> Result<Scored> {
        self.curve(scores).map(Scored::Curve)
    }
}

impl TextModel {
    /// A sentence's tokens as the metrics move them: its ids, the players, and [PAD].
    pub fn features(&self, sentence: &Sentence) -> Features {
        Features::Tokens {
            input: TextModel::ids_tensor(&sentence.reading.encoding.ids),
            players: self.players(sentence),
            pad: self.config.special_tokens.pad as f32,
        }
    }

    /// A map of the sentence (one score per token) as the metrics rank it: one value per
    /// player; a token the method does not score ranks last.
    pub fn ranked(&self, sentence: &Sentence, scores: &[Option<f32>]) -> Vec<f32> {
        let players = self.players(sentence);
        players.iter().map(|&p| scores.get(p).copied().flatten().unwrap_or(f32::NAN)).collect()
    }
}

/// The target's probability against the share of features moved, and its area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    pub fractions: Vec<f32>,
    pub scores: Vec<f32>,
    pub auc: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::Passes;

    #[test]
    fn ties_go_in_index_order_and_nan_ranks_last() {
        let values = [1.0, 3.0, 1.0, f32::NAN, 3.0];
        assert_eq!(ranking(&values, Order::Morf, 0), [1, 4, 0, 2, 3]);
        assert_eq!(ranking(&values, Order::Lerf, 0), [3, 0, 2, 1, 4]);
        let mut shuffled = ranking(&values, Order::Random, 7);
        assert_eq!(shuffled, ranking(&values, Order::Random, 7), "the same seed, the same order");
        shuffled.sort_unstable();
        assert_eq!(shuffled, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn steps_cover_every_feature() {
        assert_eq!(step_counts(10, 4, None), [0, 2, 5, 7, 10]);
        assert_eq!(step_counts(3, 50, None), [0, 1, 2, 3], "at most one feature a step");
        assert_eq!(step_counts(224 * 224, 50, Some(224)).len(), 225, "RISE's 224 steps");
        assert_eq!(step_counts(10, 1, Some(4)), [0, 4, 8, 10]);
    }

    #[test]
    fn the_trapezoid_rule_is_exact_on_a_line() {
        let x = [0.0, 0.25, 1.0];
        assert!((trapezoid(&x, &[1.0, 0.75, 0.0]) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_sweep_moves_every_channel_of_a_pixel_in_the_maps_order() {
        let input = ArrayD::from_shape_fn(vec![1, 2, 1, 3], |i| (1 + i[1] * 3 + i[3]) as f32);
        let features = Features::Pixels { input: input.clone(), pixels: None };
        let config = SweepConfig { steps: 3, ..SweepConfig::default() };
        let sweep =
            Sweep::new(&features, input.clone(), features.removed(), &[0.5, 0.9, 0.1], 0, &config).unwrap();
        assert_eq!(sweep.input(0), input);
        assert_eq!(sweep.input(1).into_raw_vec_and_offset().0, [1.0, 0.0, 3.0, 4.0, 0.0, 6.0]);
        assert_eq!(sweep.input(2).into_raw_vec_and_offset().0, [0.0, 0.0, 3.0, 0.0, 0.0, 6.0]);
        assert!(sweep.input(3).iter().all(|&v| v == 0.0));
        let wrong = Sweep::new(&features, input.clone(), features.removed(), &[0.5], 0, &config);
        assert!(wrong.unwrap_err().to_string().contains("1 values for the input's 3 features"));
    }
}
