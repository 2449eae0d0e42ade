//! SmoothGrad (Smilkov et al. 2017) and its variants: gradients at n noisy copies of the input,
//! x + ε with ε ~ N(0, σ²), σ a fraction of the input's range (max − min). Cost: n forward and
//! backward passes, batched.
//!
//! - `smoothgrad`: the mean gradient, E[g];
//! - `smoothgrad-sq`: E[g²];
//! - `vargrad` (Adebayo et al. 2018): E[g²] − E[g]², the gradients' variance.
//!
//! These are Captum's `NoiseTunnel` over `Saliency(abs=False)`, with the noise drawn from a
//! seeded ChaCha8 stream instead of torch's, so the same seed gives the same map everywhere.

use ndarray::{ArrayD, Zip};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::baseline::{rand_chacha, range};
use super::perturbation::Outcome;
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::{Display, Explainer, ImageMethod, Progress, Settings, Subject};
use crate::error::{Error, Result};
use crate::grad::Mode;

/// SmoothGrad: E[g].
pub struct SmoothGrad;
/// SmoothGrad²: E[g²].
pub struct SmoothGradSq;
/// VarGrad: E[g²] − E[g]².
pub struct VarGrad;

/// The three share one set of passes (see [`Explainer::noise_statistics`]) and one schema.
fn descriptor(id: &'static str, title: &'static str, caption: &'static str, units: Units) -> Descriptor {
    Descriptor::new(id, title, caption, Needs::Gradients, Cost::Many, Display::MaxAbsOverChannels, units)
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

fn statistics(
    explainer: &Explainer,
    subject: &Subject,
    settings: &Settings,
    progress: Progress<'_>,
    statistic: fn(&NoiseStatistics) -> ArrayD<f32>,
) -> Result<Outcome> {
    let stats = explainer.noise_statistics(subject, &settings.config()?, progress)?;
    Ok(statistic(&stats).into())
}

fn samples(settings: &Settings) -> usize {
    settings.config::<NoiseConfig>().map_or(1, |c| c.samples)
}

impl ImageMethod for SmoothGrad {
    fn descriptor(&self) -> Descriptor {
        let caption = "|mean ∇y(x + ε)| over {samples} noisy copies, σ = {sigma}";
        descriptor("smoothgrad", "SmoothGrad", caption, Units::Gradient)
    }

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, p: Progress<'_>) -> Result<Outcome> {
        statistics(e, s, settings, p, NoiseStatistics::mean)
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

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, p: Progress<'_>) -> Result<Outcome> {
        statistics(e, s, settings, p, NoiseStatistics::mean_square)
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

    fn attribute(&self, e: &Explainer, s: &Subject, settings: &Settings, p: Progress<'_>) -> Result<Outcome> {
        statistics(e, s, settings, p, NoiseStatistics::variance)
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

/// The noise of each sample, in order: σ·(max − min) times standard normal draws from the seed.
pub fn noise(input: &ArrayD<f32>, config: &NoiseConfig) -> Result<impl Iterator<Item = ArrayD<f32>>> {
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
    let stdev = config.sigma * (hi - lo);
    let mut rng = rand_chacha(config.seed);
    let shape = input.raw_dim();
    Ok((0..config.samples).map(move |_| {
        ArrayD::from_shape_fn(shape.clone(), |_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            stdev * z as f32
        })
    }))
}

pub(super) fn attribute(
    explainer: &Explainer,
    subject: &Subject,
    config: &NoiseConfig,
    progress: Progress<'_>,
) -> Result<NoiseStatistics> {
    with_noise(explainer, subject, noise(&subject.input, config)?, config.samples, progress)
}

/// The statistics over gradients at input + each given noise.
pub fn with_noise(
    explainer: &Explainer,
    subject: &Subject,
    noise: impl Iterator<Item = ArrayD<f32>>,
    samples: usize,
    progress: Progress<'_>,
) -> Result<NoiseStatistics> {
    let mut sum = ArrayD::<f64>::zeros(subject.input.raw_dim());
    let mut sum_of_squares = sum.clone();
    let mut count = 0;
    let points = noise.map(|eps| eps + &subject.input);
    explainer.for_each_gradient(points, subject.target, Mode::Plain, progress, samples, |_, grad, _| {
        Zip::from(&mut sum).and(&mut sum_of_squares).and(&grad).for_each(|s, q, &g| {
            let g = f64::from(g);
            *s += g;
            *q += g * g;
        });
        count += 1;
        Ok(())
    })?;
    if count == 0 {
        return Err(Error::Explain("SmoothGrad needs at least one sample.".into()));
    }
    Ok(NoiseStatistics { sum, sum_of_squares, samples: count })
}
