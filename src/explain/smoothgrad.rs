//! SmoothGrad (Smilkov et al. 2017) and its variants: gradients at n noisy copies of the input,
//! x + ε with ε ~ N(0, σ²), σ a fraction of the input's range (max − min). Cost: n forward and
//! backward passes, summed in chunks that the page's workers share (see [`super::summed`]).
//!
//! - `smoothgrad`: the mean gradient, E[g];
//! - `smoothgrad-sq`: E[g²];
//! - `vargrad` (Adebayo et al. 2018): E[g²] − E[g]², the gradients' variance.
//!
//! These are Captum's `NoiseTunnel` over `Saliency(abs=False)`, with the noise drawn from
//! seeded ChaCha8 streams instead of torch's (one per sample, keyed by the seed and the
//! sample's index), so the same seed gives the same map everywhere, on any number of workers.

use std::sync::Arc;

use ndarray::{ArrayD, Zip};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::baseline::{keyed_rng, range};
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::summed::{round_sums, Integrand, LaidOut, Next, Node, Round, Sums, Total};
use super::{Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::{Error, Result};

/// SmoothGrad: E[g].
pub struct SmoothGrad;
/// SmoothGrad²: E[g²].
pub struct SmoothGradSq;
/// VarGrad: E[g²] − E[g]².
pub struct VarGrad;

/// The three share one set of passes (see [`Explainer::noise_statistics`]) and one schema.
fn descriptor(id: &'static str, title: &'static str, caption: &'static str, units: Units) -> Descriptor {
    Descriptor::new(id, title, caption, Needs::Gradients, Cost::Many, Display::MaxAbsOverChannels, units)
        .summed()
        .settings::<NoiseConfig>(vec![
            Setting::integer("samples", "Samples", 1, MAX_SAMPLES as u64)
                .help("noisy copies of the input")
                .source("the paper's n = 50"),
            Setting::number("sigma", "Noise σ", 0.0, 1.0)
                .help("as a fraction of the input’s range")
                .source("the paper's 15%"),
            Setting::seed(),
        ])
}

fn laid_out(
    explainer: &Explainer,
    subject: &Subject,
    settings: &Settings,
    statistic: fn(&NoiseStatistics) -> ArrayD<f32>,
) -> Result<LaidOut> {
    let config: NoiseConfig = settings.config()?;
    let noise = Noise::seeded(&subject.input, &config)?;
    let cached = explainer.noise_statistics(&subject.input, subject.target, &config)?;
    let first = samples_round(if cached.is_some() { 0 } else { config.samples });
    let noisy =
        Noisy { input: subject.input.clone(), target: subject.target, noise, config, cached, statistic };
    Ok((Box::new(noisy), first))
}

/// One round of `samples` noisy samples, each weighted 1.
fn samples_round(samples: usize) -> Round {
    Round::new((0..samples).map(|i| Node { at: i as f64, weight: 1.0 }).collect(), 0, samples)
}

fn samples(settings: &Settings) -> usize {
    settings.config::<NoiseConfig>().map_or(1, |c| c.samples)
}

impl ImageMethod for SmoothGrad {
    fn descriptor(&self) -> Descriptor {
        let caption = "|mean ∇y(x + ε)| over {samples} noisy copies, σ = {sigma}";
        descriptor("smoothgrad", "SmoothGrad", caption, Units::Gradient)
    }

    fn integrand(&self, e: &Explainer, s: &Subject, settings: &Settings) -> Result<LaidOut> {
        laid_out(e, s, settings, NoiseStatistics::mean)
    }

    fn passes(&self, settings: &Settings) -> usize {
        samples(settings)
    }
}

impl ImageMethod for SmoothGradSq {
    fn descriptor(&self) -> Descriptor {
        let caption = "mean ∇y(x + ε)² over {samples} noisy copies, σ = {sigma}";
        descriptor("smoothgrad-sq", "SmoothGrad²", caption, Units::SquaredGradient)
    }

    fn integrand(&self, e: &Explainer, s: &Subject, settings: &Settings) -> Result<LaidOut> {
        laid_out(e, s, settings, NoiseStatistics::mean_square)
    }

    fn passes(&self, settings: &Settings) -> usize {
        samples(settings)
    }
}

impl ImageMethod for VarGrad {
    fn descriptor(&self) -> Descriptor {
        let caption = "variance of ∇y(x + ε) over {samples} noisy copies, σ = {sigma}";
        descriptor("vargrad", "VarGrad", caption, Units::SquaredGradient)
    }

    fn integrand(&self, e: &Explainer, s: &Subject, settings: &Settings) -> Result<LaidOut> {
        laid_out(e, s, settings, NoiseStatistics::variance)
    }

    fn passes(&self, settings: &Settings) -> usize {
        samples(settings)
    }
}

/// Settings of SmoothGrad and its variants; the defaults are the paper's (n = 50, σ = 15%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoiseConfig {
    pub samples: usize,
    /// The noise's standard deviation as a fraction of the input's range.
    pub sigma: f32,
    pub seed: u64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig { samples: 50, sigma: 0.15, seed: 0 }
    }
}

/// The most noisy samples a method accepts.
pub const MAX_SAMPLES: usize = 2000;

/// The gradient statistics over the noisy samples, from which all three methods are read.
#[derive(Debug, Clone)]
pub struct NoiseStatistics {
    sum: ArrayD<f64>,
    sum_of_squares: ArrayD<f64>,
    samples: usize,
}

impl NoiseStatistics {
    /// E[g]: SmoothGrad.
    pub fn mean(&self) -> ArrayD<f32> {
        let n = self.samples as f64;
        self.sum.mapv(|s| (s / n) as f32)
    }

    /// E[g²]: SmoothGrad².
    pub fn mean_square(&self) -> ArrayD<f32> {
        let n = self.samples as f64;
        self.sum_of_squares.mapv(|s| (s / n) as f32)
    }

    /// E[g²] − E[g]²: VarGrad.
    pub fn variance(&self) -> ArrayD<f32> {
        let n = self.samples as f64;
        let mut out = ArrayD::zeros(self.sum.raw_dim());
        Zip::from(&mut out).and(&self.sum).and(&self.sum_of_squares).for_each(|o, &s, &q| {
            *o = (q / n - (s / n) * (s / n)) as f32;
        });
        out
    }
}

/// Where the noise comes from.
enum Noise {
    /// Sample i: σ·(max − min) times standard normal draws from ChaCha8 keyed by the seed and i,
    /// so that any worker can make any sample.
    Seeded { stdev: f32, seed: u64 },
    /// Given, one array per sample (Captum's own noise, in the tests).
    Given(Vec<ArrayD<f32>>),
}

impl Noise {
    fn seeded(input: &ArrayD<f32>, config: &NoiseConfig) -> Result<Noise> {
        if !(1..=MAX_SAMPLES).contains(&config.samples) {
            return Err(Error::Explain(format!(
                "The number of samples must be 1 to {MAX_SAMPLES}; it is {}.",
                config.samples
            )));
        }
        if !(config.sigma >= 0.0 && config.sigma.is_finite()) {
            return Err(Error::Explain(format!("σ must be zero or more; it is {}.", config.sigma)));
        }
        let (lo, hi) = range(input);
        Ok(Noise::Seeded { stdev: config.sigma * (hi - lo), seed: config.seed })
    }

    fn sample(&self, shape: &[usize], i: usize) -> ArrayD<f32> {
        match self {
            Noise::Seeded { stdev, seed } => {
                let mut rng = keyed_rng(*seed, i as u64);
                ArrayD::from_shape_simple_fn(shape, || {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    stdev * z as f32
                })
            }
            Noise::Given(noise) => noise.get(i).cloned().unwrap_or_else(|| ArrayD::zeros(shape)),
        }
    }
}

/// The SmoothGrad family laid out on a subject: one round of noisy samples with squares (or
/// none, when the explainer has the statistics already).
struct Noisy {
    input: ArrayD<f32>,
    target: usize,
    noise: Noise,
    config: NoiseConfig,
    cached: Option<Arc<NoiseStatistics>>,
    statistic: fn(&NoiseStatistics) -> ArrayD<f32>,
}

impl NoiseStatistics {
    fn from_total(total: Total) -> Result<NoiseStatistics> {
        let sum_of_squares =
            total.squares.ok_or_else(|| Error::Bug("SmoothGrad's sums have no squares".into()))?;
        if total.values.is_empty() {
            return Err(Error::Explain("SmoothGrad needs at least one sample.".into()));
        }
        Ok(NoiseStatistics { sum: total.sum, sum_of_squares, samples: total.values.len() })
    }
}

impl Integrand for Noisy {
    fn input(&self, at: f64) -> ArrayD<f32> {
        self.noise.sample(self.input.shape(), at as usize) + &self.input
    }

    fn squares(&self) -> bool {
        true
    }

    fn absorb(&mut self, explainer: &Explainer, total: Total) -> Result<Next> {
        let stats = match &self.cached {
            Some(stats) => Arc::clone(stats),
            None => {
                let stats = Arc::new(NoiseStatistics::from_total(total)?);
                explainer.keep_noise_statistics(
                    &self.input,
                    self.target,
                    &self.config,
                    Arc::clone(&stats),
                )?;
                stats
            }
        };
        Ok(Next::Done(Box::new((self.statistic)(&stats).into())))
    }
}

/// The statistics over gradients at input + each given noise, summed as the seeded noise is.
pub fn with_noise(
    explainer: &Explainer,
    subject: &Subject,
    noise: impl Iterator<Item = ArrayD<f32>>,
    progress: Progress<'_>,
) -> Result<NoiseStatistics> {
    let noise: Vec<ArrayD<f32>> = noise.collect();
    let samples = noise.len();
    let noisy = Noisy {
        input: subject.input.clone(),
        target: subject.target,
        noise: Noise::Given(noise),
        config: NoiseConfig { samples, ..NoiseConfig::default() },
        cached: None,
        statistic: NoiseStatistics::mean,
    };
    let round = samples_round(samples);
    let parts = round_sums(explainer, &noisy, subject.target, &round, progress)?;
    NoiseStatistics::from_total(Sums::total(parts, &round, subject.input.shape())?)
}
