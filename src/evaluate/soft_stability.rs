//! Soft stability (Jin et al. 2025, "Probabilistic Stability Guarantees for Feature
//! Attributions"): the explanation is the map's top features (a quarter of them), shown alone;
//! its stability rate τ_r is the probability that showing up to r more of the others leaves the
//! model's prediction (the top class) where the explanation alone puts it.
//!
//! As the paper: the masks α′ ⊇ α with |α′ \ α| ≤ r are drawn uniformly (so k added features
//! with probability ∝ C(n − m, k), k = 0‥r, then k of the n − m others uniformly), N of them with
//! N = ⌈ln(2/δ) / (2ε²)⌉ (Hoeffding: 150 for ε = δ = 0.1), so that |τ̂ − τ| ≤ ε with probability
//! at least 1 − δ; the interval shown is τ̂ ± √(ln(2/δ) / 2N), clipped to [0, 1]. When there are
//! no more masks than N, every one is tried once instead and τ is exact.
//!
//! Glimpse's conventions: an image's features are SLIC superpixels (LIME's, 50 by default), each
//! ranked by the mean of the map over its pixels as displayed; a sentence's are its tokens but
//! [CLS] and [SEP]. The explanation is the ⌈share · n⌉ highest, ties in index order as deletion
//! ranks them; a hidden feature is removed as deletion removes it (0 in the model's space,
//! [PAD]). The samples come from ChaCha8 keyed by the seed.

use ndarray::{ArrayD, ArrayView1};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::features::Features;
use super::passes::{Passes, Scored};
use super::registry::{Kind, Metric, MetricDescriptor};
use super::sweep::{ranking, Order};
use crate::classify::argmax;
use crate::error::{Error, Result};
use crate::explain::baseline::rand_chacha;
use crate::explain::schema::Setting;
use crate::explain::superpixels::{SuperpixelConfig, MAX_SEGMENTS};

pub struct SoftStability;

impl Metric for SoftStability {
    fn descriptor(&self) -> MetricDescriptor {
        MetricDescriptor {
            id: "soft-stability",
            title: "Soft stability",
            caption: "how often the prediction on the map's top features holds when up to r more are shown; higher is more stable",
            higher_is_better: true,
            kind: Kind::Stability,
            settings: SoftStabilityConfig::settings(),
        }
    }
}

/// The settings of soft stability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SoftStabilityConfig {
    /// The share of the features the explanation shows.
    pub share: f32,
    /// At most this many more features are shown.
    pub radius: usize,
    /// The estimate is within ε of τ …
    pub epsilon: f32,
    /// … with probability at least 1 − δ.
    pub delta: f32,
    /// About how many superpixels an image has.
    pub segments: usize,
    pub compactness: f32,
    pub seed: u64,
}

impl Default for SoftStabilityConfig {
    fn default() -> Self {
        SoftStabilityConfig {
            share: 0.25,
            radius: 2,
            epsilon: 0.1,
            delta: 0.1,
            segments: SuperpixelConfig::default().segments,
            compactness: SuperpixelConfig::default().compactness,
            seed: 0,
        }
    }
}

impl SoftStabilityConfig {
    pub fn settings() -> Vec<Setting> {
        Setting::defaults_from::<SoftStabilityConfig>(vec![
            Setting::positive("share", "Explanation's share", 0.0, 1.0)
                .help("of the features, the highest of the map, shown alone")
                .source("Jin et al. 2025 select the top 25% of the features"),
            Setting::integer("radius", "Radius r", 0, MAX_SEGMENTS as u64)
                .help("at most this many more features are shown")
                .source("Jin et al. 2025 report τ₂"),
            Setting::number("epsilon", "Accuracy ε", 0.02, 0.5)
                .help("the estimate is within ε of the rate …")
                .source("Jin et al. 2025: ε = 0.1"),
            Setting::number("delta", "Risk δ", 0.001, 0.5)
                .help("… with probability at least 1 − δ")
                .source("Jin et al. 2025: δ = 0.1"),
            Setting::integer("segments", "Superpixels", 1, MAX_SEGMENTS as u64)
                .help("an image's features: about how many (SLIC)")
                .source("LIME's superpixels"),
            Setting::positive("compactness", "Compactness", 0.0, 100.0)
                .help("higher: squarer superpixels")
                .source("scikit-image's slic"),
            Setting::seed(),
        ])
    }

    /// SLIC's settings for an image's features.
    pub fn superpixels(&self) -> SuperpixelConfig {
        SuperpixelConfig { segments: self.segments, compactness: self.compactness }
    }
}

/// Hoeffding's sample size: the N for which |τ̂ − τ| ≤ ε with probability at least 1 − δ.
pub fn hoeffding(epsilon: f32, delta: f32) -> usize {
    ((2.0 / f64::from(delta)).ln() / (2.0 * f64::from(epsilon).powi(2))).ceil() as usize
}

/// The bound `samples` draws give at risk δ: √(ln(2/δ) / 2N).
pub fn half_width(samples: usize, delta: f32) -> f32 {
    ((2.0 / f64::from(delta)).ln() / (2.0 * samples.max(1) as f64)).sqrt() as f32
}

/// Soft stability laid out on one subject and map: the explanation alone, then each sample.
#[derive(Debug, Clone)]
pub struct Stability {
    features: Features,
    hidden: ArrayD<f32>,
    /// The explanation: the features it shows.
    shown: Vec<usize>,
    /// Each pass after the first: the features it shows besides the explanation's.
    added: Vec<Vec<usize>>,
    exact: bool,
    radius: usize,
    delta: f32,
}

impl Stability {
    /// Lays out soft stability on `features` (superpixels or tokens), the explanation being
    /// the highest of `values` (one per feature).
    pub fn new(features: &Features, values: &[f32], config: &SoftStabilityConfig) -> Result<Stability> {
        let n = features.len();
        if n == 0 {
            return Err(Error::Explain("There is nothing to show: the input has no features.".into()));
        }
        if values.len() != n {
            return Err(Error::Explain(format!(
                "The map has {} values for the input's {n} features.",
                values.len()
            )));
        }
        let ranked = ranking(values, Order::Morf, 0);
        let m = ((config.share * n as f32).ceil() as usize).clamp(1, n);
        let (shown, others) = ranked.split_at(m);
        let radius = config.radius.min(others.len());
        let sizes = sizes(others.len(), radius);
        let total: f64 = sizes.iter().sum();
        let samples = hoeffding(config.epsilon, config.delta);
        let (exact, added) = if total <= samples as f64 {
            (true, (0..=radius).flat_map(|k| combinations(others.len(), k)).collect::<Vec<_>>())
        } else {
            let mut rng = rand_chacha(config.seed);
            let draws = (0..samples).map(|_| {
                let mut u = rng.random::<f64>() * total;
                let k = sizes.iter().position(|&w| {
                    u -= w;
                    u < 0.0
                });
                let k = k.unwrap_or(radius);
                rand::seq::index::sample(&mut rng, others.len(), k).into_vec()
            });
            (false, draws.collect())
        };
        let added =
            added.into_iter().map(|picked| picked.iter().filter_map(|&i| others.get(i).copied()).collect());
        Ok(Stability {
            features: features.clone(),
            hidden: features.removed(),
            shown: shown.to_vec(),
            added: added.collect(),
            exact,
            radius,
            delta: config.delta,
        })
    }

    /// The features the explanation shows.
    pub fn shown(&self) -> &[usize] {
        &self.shown
    }

    /// The features each sample adds to the explanation's, sample by sample.
    pub fn added(&self) -> &[Vec<usize>] {
        &self.added
    }
}

/// How many ways there are to add k of `others` features, k = 0‥radius, in f64 (they can be
/// large; only their ratios and sum matter).
fn sizes(others: usize, radius: usize) -> Vec<f64> {
    let mut sizes = vec![1.0];
    for k in 1..=radius {
        let last = sizes.last().copied().unwrap_or(1.0);
        sizes.push(last * (others + 1 - k) as f64 / k as f64);
    }
    sizes
}

/// Every k-subset of 0‥n, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![];
    let mut pick: Vec<usize> = (0..k).collect();
    if k > n {
        return out;
    }
    loop {
        out.push(pick.clone());
        // The rightmost position that can still move right.
        let Some(i) = (0..k).rev().find(|&i| pick.get(i).is_some_and(|&p| p < n - k + i)) else { break };
        if let Some(p) = pick.get_mut(i) {
            *p += 1;
        }
        for j in i + 1..k {
            let before = pick.get(j - 1).copied().unwrap_or(0);
            if let Some(p) = pick.get_mut(j) {
                *p = before + 1;
            }
        }
    }
    out
}

impl Passes for Stability {
    fn len(&self) -> usize {
        1 + self.added.len()
    }

    /// Pass 0 shows the explanation alone; pass i the explanation and sample i's features.
    fn input(&self, i: usize) -> ArrayD<f32> {
        let mut shown = self.shown.clone();
        if let Some(added) = i.checked_sub(1).and_then(|s| self.added.get(s)) {
            shown.extend(added);
        }
        self.features.show(&self.hidden, self.features.input(), &shown)
    }

    /// The prediction: the top class (the first among equals).
    fn score(&self, row: ArrayView1<'_, f32>) -> Result<f32> {
        Ok(argmax(row) as f32)
    }

    fn finish(&self, scores: &[f32]) -> Result<Scored> {
        let Some((&prediction, samples)) = scores.split_first().filter(|_| scores.len() == self.len()) else {
            return Err(Error::Bug(format!("{} scores for {} passes", scores.len(), self.len())));
        };
        let held = samples.iter().filter(|&&s| s == prediction).count();
        let rate = held as f32 / samples.len().max(1) as f32;
        let bound = if self.exact { 0.0 } else { half_width(samples.len(), self.delta) };
        Ok(Scored::Stability(StabilityRate {
            rate,
            low: (rate - bound).max(0.0),
            high: (rate + bound).min(1.0),
            confidence: if self.exact { 1.0 } else { 1.0 - self.delta },
            samples: samples.len(),
            exact: self.exact,
            prediction: prediction as usize,
            shown: self.shown.len(),
            features: self.features.len(),
            radius: self.radius,
        }))
    }
}

/// The stability rate on one map, with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StabilityRate {
    /// The share of the samples whose prediction is the explanation's.
    pub rate: f32,
    /// The interval that holds τ with probability `confidence`.
    pub low: f32,
    pub high: f32,
    pub confidence: f32,
    pub samples: usize,
    /// Every mask was tried: the rate is τ itself.
    pub exact: bool,
    /// The class the explanation alone is given.
    pub prediction: usize,
    /// How many features the explanation shows, of how many.
    pub shown: usize,
    pub features: usize,
    /// The radius used (at most the features not shown).
    pub radius: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hoeffdings_bound_gives_150_samples_for_a_tenth() {
        assert_eq!(hoeffding(0.1, 0.1), 150);
        assert_eq!(hoeffding(0.05, 0.05), 738);
        assert!(half_width(150, 0.1) <= 0.1 && half_width(149, 0.1) > 0.1);
    }

    #[test]
    fn combinations_are_every_subset_once() {
        assert_eq!(combinations(4, 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
        assert_eq!(combinations(3, 0), [Vec::<usize>::new()]);
        assert!(combinations(2, 3).is_empty());
        assert_eq!(sizes(10, 3), [1.0, 10.0, 45.0, 120.0]);
    }

    fn tokens(n: usize) -> Features {
        Features::Tokens {
            input: ArrayD::from_shape_fn(vec![1, n + 2], |i| (i[1] + 100) as f32),
            players: (1..=n).collect(),
            pad: 0.0,
        }
    }

    #[test]
    fn masks_are_uniform_over_every_superset_within_the_radius() {
        // 40 features, 10 shown, up to 4 of the 30 others: 31,931 masks, more than 9,502 draws.
        let sizes = [1.0, 30.0, 435.0, 4060.0, 27405.0];
        let masks: f64 = sizes.iter().sum();
        let values: Vec<f32> = (0..40).map(|i| i as f32).collect();
        let config = SoftStabilityConfig { radius: 4, epsilon: 0.02, delta: 0.001, ..Default::default() };
        let plan = Stability::new(&tokens(40), &values, &config).unwrap();
        assert_eq!(plan.shown(), (30..40).rev().collect::<Vec<_>>(), "the explanation is the top quarter");
        assert!(!plan.exact);
        let draws = plan.added().len();
        assert_eq!(draws, hoeffding(0.02, 0.001));
        let mut by_size = [0usize; 5];
        let mut by_feature = [0usize; 40];
        for added in plan.added() {
            by_size[added.len()] += 1;
            for &f in added {
                by_feature[f] += 1;
            }
            assert!(added.iter().all(|f| !plan.shown().contains(f)));
        }
        for (k, count) in sizes.iter().enumerate() {
            let p = count / masks;
            let sd = (p * (1.0 - p) / draws as f64).sqrt();
            let seen = by_size[k] as f64 / draws as f64;
            assert!((seen - p).abs() < 4.0 * sd + 1e-9, "size {k}: {seen} against {p}");
        }
        // Each of the 30 others is added as often: E = Σ_k P(k) k / 30 a draw.
        let each =
            sizes.iter().enumerate().map(|(k, c)| k as f64 * c).sum::<f64>() / masks / 30.0 * draws as f64;
        for &count in &by_feature[..30] {
            assert!((count as f64 - each).abs() < 4.0 * each.sqrt(), "{count} against {each}");
        }
        let again = Stability::new(&tokens(40), &values, &config).unwrap();
        assert_eq!(again.added(), plan.added(), "the same seed, the same masks");
    }

    #[test]
    fn few_masks_are_tried_each_once_and_the_rate_is_exact() {
        let values = [0.5, 0.1, 0.9, 0.3];
        let plan = Stability::new(&tokens(4), &values, &SoftStabilityConfig::default()).unwrap();
        assert!(plan.exact);
        assert_eq!(plan.shown(), [2]);
        assert_eq!(plan.len(), 1 + 1 + 3 + 3, "the explanation, then 0, 1 and 2 of the 3 others");
        assert_eq!(plan.input(0).into_raw_vec_and_offset().0, [100.0, 0.0, 0.0, 103.0, 0.0, 105.0]);
        assert_eq!(plan.input(2).into_raw_vec_and_offset().0, [100.0, 101.0, 0.0, 103.0, 0.0, 105.0]);
        assert_eq!(plan.input(7).into_raw_vec_and_offset().0, [100.0, 0.0, 102.0, 103.0, 104.0, 105.0]);
        // The prediction holds on 5 of the 7 masks.
        let Scored::Stability(rate) = plan.finish(&[4.0, 4.0, 4.0, 1.0, 4.0, 4.0, 2.0, 4.0]).unwrap() else {
            panic!("soft stability gives a rate")
        };
        assert_eq!((rate.rate, rate.low, rate.high, rate.confidence), (5.0 / 7.0, 5.0 / 7.0, 5.0 / 7.0, 1.0));
        assert!(plan.finish(&[1.0]).is_err());
    }
}
