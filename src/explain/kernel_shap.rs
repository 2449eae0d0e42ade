//! KernelSHAP (Lundberg & Lee 2017) over superpixels, as the shap package's `KernelExplainer`:
//! Shapley values are the solution of a weighted least-squares problem over coalitions of
//! segments, with the Shapley kernel π(s) = (M − 1) / (C(M, s) · s · (M − s)) for a coalition
//! of s of the M segments.
//!
//! The budget is spent as shap spends it. Coalition sizes are taken in pairs from the ends
//! (s and M − s, where the kernel is heaviest); while the budget covers every coalition of a
//! pair of sizes, all of them are enumerated with their exact kernel weight. The rest of the
//! budget samples coalitions of the remaining sizes (each with its complement), and they share
//! the remaining kernel mass, a repeated coalition counting once more each time it is drawn.
//! The efficiency constraint Σφ = f(x) − f(∅) is enforced exactly by eliminating the last
//! segment's value, as shap does. With a budget of at least 2^M − 2 every coalition is
//! enumerated and the answer is the exact Shapley values.
//!
//! Inputs: the whole image, the empty coalition (every segment filled), then the coalitions.
//! The score is the target's output (logit).

use std::borrow::Cow;
use std::collections::HashMap;

use rand::seq::index::sample;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::baseline::rand_chacha;
use super::least_squares::solve;
use super::perturbation::{Perturbations, PlayerValues, Players};
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::superpixels::{segment_settings, Coalitions, SegmentFill, SegmentPlan, SuperpixelConfig};
use super::{Completeness, Display, Explainer, ImageMethod, Settings, Subject};
use crate::error::{Error, Result};

pub struct KernelShap;

impl ImageMethod for KernelShap {
    fn descriptor(&self) -> Descriptor {
        let mut settings = segment_settings();
        settings.extend([budget_setting(), Setting::seed().help("of the sampled coalitions")]);
        Descriptor::new(
            "kernel-shap",
            "KernelSHAP",
            "Shapley values of ~{segments} superpixels; coalitions: {budget}",
            Needs::ForwardPasses,
            Cost::Many,
            Display::MeanOverChannels,
            Units::SegmentShare,
        )
        .completeness("Σφ − (f(x) − f(∅))")
        .segments(None)
        .settings::<KernelShapConfig>(settings)
    }

    fn plan(&self, _: &Explainer, subject: &Subject, settings: &Settings) -> Result<Box<dyn Perturbations>> {
        let config: KernelShapConfig = settings.config()?;
        // A budget given is checked before the (slower) segmentation.
        config.budget.map(Design::check).transpose()?;
        let coalitions = Coalitions::new(subject, &config.superpixels, config.fill)?;
        let design = Design::new(coalitions.players(), config.budget, config.seed)?;
        Ok(Box::new(SegmentPlan { coalitions, players: Box::new(design) }))
    }
}

/// The coalitions to evaluate, shared by KernelSHAP on superpixels and on tokens.
pub(crate) fn budget_setting() -> Setting {
    Setting::integer("budget", "Coalitions", 1, MAX_BUDGET as u64)
        .or_none("2M + 2048, as shap")
        .help("forward passes besides the whole and the empty input")
        .source("shap's nsamples = 2M + 2048")
}

/// Settings of KernelSHAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelShapConfig {
    #[serde(flatten)]
    pub superpixels: SuperpixelConfig,
    pub fill: SegmentFill,
    /// Coalitions evaluated (forward passes, besides the whole and the empty image); `None` is
    /// shap's default, 2M + 2048.
    pub budget: Option<usize>,
    pub seed: u64,
}

impl Default for KernelShapConfig {
    fn default() -> Self {
        KernelShapConfig {
            superpixels: SuperpixelConfig::default(),
            fill: SegmentFill::Black,
            budget: None,
            seed: 0,
        }
    }
}

/// The largest budget accepted.
pub const MAX_BUDGET: usize = 50_000;

/// KernelSHAP's coalitions of any players (superpixels, tokens), each with its kernel weight,
/// and the Shapley values they give. Coalition 0 is every player, 1 none, then the chosen ones.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    players: usize,
    present: Vec<Vec<bool>>,
    weights: Vec<f64>,
}

impl Design {
    pub fn new(players: usize, budget: Option<usize>, seed: u64) -> Result<Design> {
        let budget = Design::check(budget.unwrap_or(2 * players + 2048))?;
        let (present, weights) =
            if players < 2 { (Vec::new(), Vec::new()) } else { choose_coalitions(players, budget, seed) };
        Ok(Design { players, present, weights })
    }

    /// The budget, if it is one KernelSHAP accepts.
    fn check(budget: usize) -> Result<usize> {
        if budget == 0 || budget > MAX_BUDGET {
            return Err(Error::Explain(format!(
                "KernelSHAP's budget must be 1 to {MAX_BUDGET} coalitions; it is {budget}."
            )));
        }
        Ok(budget)
    }

    pub fn len(&self) -> usize {
        self.present.len() + 2
    }

    /// Which players coalition `i` holds.
    pub fn present(&self, i: usize) -> std::borrow::Cow<'_, [bool]> {
        match i {
            0 => vec![true; self.players].into(),
            1 => vec![false; self.players].into(),
            _ => self.present[i - 2].as_slice().into(),
        }
    }

    /// The Shapley values from every coalition's score, in order, and the efficiency check.
    pub fn values(&self, scores: &[f32]) -> Result<(Vec<f32>, Completeness)> {
        let players = self.players;
        let (full, empty) = (f64::from(scores[0]), f64::from(scores[1]));
        let total = full - empty;
        let mut phi = vec![0.0f64; players];
        if players == 1 {
            phi[0] = total;
        } else if players > 1 {
            // φ_M = total − Σ_{j<M} φ_j, substituted into Σ w (y − f∅ − z·φ)².
            let free = players - 1;
            let mut normal = vec![0.0; free * free];
            let mut rhs = vec![0.0; free];
            let mut row = vec![0.0; free];
            for ((present, &weight), &score) in self.present.iter().zip(&self.weights).zip(&scores[2..]) {
                let last = f64::from(u8::from(present[free]));
                for (j, r) in row.iter_mut().enumerate() {
                    *r = f64::from(u8::from(present[j])) - last;
                }
                let target = f64::from(score) - empty - last * total;
                for j in 0..free {
                    rhs[j] += weight * row[j] * target;
                    for k in j..free {
                        normal[j * free + k] += weight * row[j] * row[k];
                    }
                }
            }
            for j in 0..free {
                for k in 0..j {
                    normal[j * free + k] = normal[k * free + j];
                }
            }
            let solved = solve(normal, rhs)?;
            phi[..free].copy_from_slice(&solved);
            phi[free] = total - solved.iter().sum::<f64>();
        }
        let check = Completeness { sum: phi.iter().sum::<f64>() as f32, expected: total as f32, steps: None };
        Ok((phi.iter().map(|&v| v as f32).collect(), check))
    }
}

impl Players for Design {
    fn len(&self) -> usize {
        Design::len(self)
    }

    fn present(&self, i: usize) -> Cow<'_, [bool]> {
        Design::present(self, i)
    }

    fn values(&self, scores: &[f32]) -> Result<PlayerValues> {
        let (values, completeness) = Design::values(self, scores)?;
        Ok(PlayerValues { values, completeness: Some(completeness), r_squared: None })
    }
}

/// C(n, k) as a float (exact for the sizes that are enumerated).
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// shap's choice of coalitions and their weights, for `players` ≥ 2.
fn choose_coalitions(players: usize, budget: usize, seed: u64) -> (Vec<Vec<bool>>, Vec<f64>) {
    let m = players;
    // Sizes s = 1‥⌈(M − 1)/2⌉, each standing for itself and M − s; below M/2 they are pairs.
    let sizes = m / 2;
    let paired_sizes = (m - 1) / 2;
    // The kernel's mass per size s (its own and, when paired, its complement's), normalised.
    let mut mass: Vec<f64> = (1..=sizes)
        .map(|s| {
            let w = (m - 1) as f64 / (s * (m - s)) as f64;
            if s <= paired_sizes {
                2.0 * w
            } else {
                w
            }
        })
        .collect();
    let sum: f64 = mass.iter().sum();
    mass.iter_mut().for_each(|w| *w /= sum);

    let mut present = Vec::new();
    let mut weights = Vec::new();
    let mut left = budget as f64;
    let mut remaining = mass.clone();
    let mut full_sizes = 0;
    for s in 1..=sizes {
        let paired = s <= paired_sizes;
        let count = binomial(m, s) * if paired { 2.0 } else { 1.0 };
        if left * remaining[s - 1] / count < 1.0 - 1e-8 {
            break;
        }
        full_sizes = s;
        left -= count;
        if remaining[s - 1] < 1.0 {
            let scale = 1.0 - remaining[s - 1];
            remaining.iter_mut().for_each(|w| *w /= scale);
        }
        let weight = mass[s - 1] / binomial(m, s) / if paired { 2.0 } else { 1.0 };
        for_each_subset(m, s, |row| {
            if paired {
                present.push(row.iter().map(|p| !p).collect());
                weights.push(weight);
            }
            present.push(row.to_vec());
            weights.push(weight);
        });
    }

    let sampled_mass: f64 = mass[full_sizes..].iter().sum();
    let mut left = left.round() as usize;
    if full_sizes < sizes && left > 0 {
        let tail: Vec<f64> = mass[full_sizes..].iter().map(|w| w / sampled_mass).collect();
        let mut rng = rand_chacha(seed);
        let mut seen: HashMap<Vec<bool>, usize> = HashMap::new();
        let first_sampled = present.len();
        let mut draws = 0;
        while left > 0 && draws < 4 * budget {
            draws += 1;
            let mut u: f64 = rng.random();
            let mut s = full_sizes + 1;
            for (offset, w) in tail.iter().enumerate() {
                s = full_sizes + 1 + offset;
                if u < *w {
                    break;
                }
                u -= w;
            }
            let mut row = vec![false; m];
            for i in sample(&mut rng, m, s) {
                row[i] = true;
            }
            let paired = s <= paired_sizes;
            let mut add = |row: Vec<bool>, left: &mut usize| match seen.get(&row) {
                Some(&index) => weights[index] += 1.0,
                None => {
                    seen.insert(row.clone(), present.len());
                    present.push(row);
                    weights.push(1.0);
                    *left = left.saturating_sub(1);
                }
            };
            let complement: Vec<bool> = row.iter().map(|p| !p).collect();
            add(row, &mut left);
            if paired && left > 0 {
                add(complement, &mut left);
            }
        }
        let drawn: f64 = weights[first_sampled..].iter().sum();
        weights[first_sampled..].iter_mut().for_each(|w| *w *= sampled_mass / drawn);
    }
    (present, weights)
}

/// Calls `visit` with every subset of `k` of `n` players, as a presence row.
fn for_each_subset(n: usize, k: usize, mut visit: impl FnMut(&[bool])) {
    let mut chosen: Vec<usize> = (0..k).collect();
    let mut row = vec![false; n];
    loop {
        row.iter_mut().for_each(|p| *p = false);
        chosen.iter().for_each(|&i| row[i] = true);
        visit(&row);
        // The next combination in lexicographic order.
        let Some(i) = (0..k).rev().find(|&i| chosen[i] != i + n - k) else { return };
        chosen[i] += 1;
        for j in i + 1..k {
            chosen[j] = chosen[j - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_all_enumerated_once() {
        let mut rows = Vec::new();
        for_each_subset(5, 2, |r| rows.push(r.to_vec()));
        assert_eq!(rows.len(), 10);
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), 10);
        assert!(rows.iter().all(|r| r.iter().filter(|&&p| p).count() == 2));
    }

    #[test]
    fn a_large_budget_enumerates_every_coalition_with_the_shapley_kernel() {
        for m in 2..=7 {
            let (present, weights) = choose_coalitions(m, 1 << m, 0);
            assert_eq!(present.len(), (1 << m) - 2, "M = {m}");
            let mut unique = present.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), present.len());
            // Weights proportional to (M − 1) / (C(M, s) s (M − s)).
            let kernel = |row: &Vec<bool>| {
                let s = row.iter().filter(|&&p| p).count();
                (m - 1) as f64 / (binomial(m, s) * (s * (m - s)) as f64)
            };
            let ratio = weights[0] / kernel(&present[0]);
            for (row, w) in present.iter().zip(&weights) {
                assert!((w / kernel(row) - ratio).abs() < 1e-12 * ratio, "M = {m}");
            }
        }
    }

    #[test]
    fn a_small_budget_samples_the_rest_reproducibly() {
        let (a, wa) = choose_coalitions(30, 2 * 30 + 2048, 3);
        let (b, wb) = choose_coalitions(30, 2 * 30 + 2048, 3);
        assert_eq!((&a, &wa), (&b, &wb));
        assert_eq!(a.len(), 2 * 30 + 2048, "the budget is spent on distinct coalitions");
        assert!((wa.iter().sum::<f64>() - 1.0).abs() < 1e-9, "the kernel's mass is spread over them");
        let (c, _) = choose_coalitions(30, 2 * 30 + 2048, 4);
        assert_ne!(a, c);
    }
}
