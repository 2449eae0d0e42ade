//! LIME on superpixels (Ribeiro et al. 2016), as the lime package's `LimeImageExplainer`: the
//! image is cut into superpixels; each sample hides a random set of them (how many is uniform
//! in 1‥M, which ones uniform given how many), and the first sample hides none; each sample is
//! weighted by an exponential kernel on its cosine distance d to the full image,
//! w = √exp(−d²/width²); and a weighted ridge regression of the target's output on which
//! segments were present gives each segment its coefficient. The fit's weighted R² says how
//! well a linear model describes the model near the image.
//!
//! Differences from the lime package, on purpose: the segmentation is SLIC rather than
//! quickshift, every segment gets a coefficient (the page shows the top k of each sign), the
//! score is the target's output (logit), as Captum's `Lime`, rather than its probability, and
//! everything random comes from the seed (lime#477, lime#767).

use std::borrow::Cow;

use rand::seq::index::sample;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::baseline::rand_chacha;
use super::least_squares::weighted_ridge;
use super::perturbation::{Perturbations, PlayerValues, Players};
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::superpixels::{segment_settings, Coalitions, SegmentFill, SegmentPlan, SuperpixelConfig};
use super::{Display, Explainer, ImageMethod, Settings, Subject};
use crate::error::{Error, Result};

pub struct Lime;

impl ImageMethod for Lime {
    fn descriptor(&self) -> Descriptor {
        let mut settings = segment_settings();
        settings.extend(fit_settings());
        Descriptor::new("lime", "LIME", "a weighted linear fit of the score on which of ~{segments} superpixels show, over {samples} samples", Needs::ForwardPasses, Cost::Many, Display::MeanOverChannels, Units::SegmentShare)
            .segments(Some(5))
            .settings::<LimeConfig>(settings)
    }

    fn plan(&self, _: &Explainer, subject: &Subject, settings: &Settings) -> Result<Box<dyn Perturbations>> {
        let LimeConfig { ref superpixels, fill, samples, kernel_width, ridge, seed } = settings.config()?;
        // The settings are checked before the (slower) segmentation.
        Samples::check(samples, kernel_width, ridge)?;
        let coalitions = Coalitions::new(subject, superpixels, fill)?;
        let samples = Samples::new(coalitions.players(), samples, kernel_width, ridge, seed)?;
        Ok(Box::new(SegmentPlan { coalitions, players: Box::new(samples) }))
    }
}

/// LIME's sampling and fit, shared by LIME on superpixels and on tokens.
pub(crate) fn fit_settings() -> Vec<Setting> {
    vec![
        Setting::integer("samples", "Samples", 2, MAX_SAMPLES as u64)
            .help("perturbed inputs, the first being the whole input")
            .source("lime's num_samples"),
        Setting::positive("kernel_width", "Kernel width", 0.0, 10.0)
            .help("on the cosine distance to the input")
            .source("lime's kernel_width, 25 on distances × 100"),
        Setting::number("ridge", "Ridge α", 0.0, 1000.0)
            .help("the penalty of the weighted ridge fit")
            .source("scikit-learn's Ridge, which lime uses"),
        Setting::seed().help("of the samples"),
    ]
}

/// Settings of LIME.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimeConfig {
    #[serde(flatten)]
    pub superpixels: SuperpixelConfig,
    pub fill: SegmentFill,
    /// How many samples (forward passes), the first being the whole image.
    pub samples: usize,
    /// The kernel's width on the cosine distance (lime's default, 0.25).
    pub kernel_width: f32,
    /// The ridge penalty α (scikit-learn's default, 1, which lime uses).
    pub ridge: f32,
    pub seed: u64,
}

impl Default for LimeConfig {
    fn default() -> Self {
        LimeConfig {
            superpixels: SuperpixelConfig::default(),
            fill: SegmentFill::default(),
            samples: 1000,
            kernel_width: 0.25,
            ridge: 1.0,
            seed: 0,
        }
    }
}

/// The most samples LIME accepts.
pub const MAX_SAMPLES: usize = 20_000;

/// LIME's samples over any players (superpixels, tokens): which players each sample keeps,
/// and the fit of the scores on them.
#[derive(Debug, Clone)]
pub(crate) struct Samples {
    present: Vec<Vec<bool>>,
    kernel_width: f64,
    ridge: f64,
}

impl Samples {
    pub fn new(players: usize, samples: usize, kernel_width: f32, ridge: f32, seed: u64) -> Result<Samples> {
        Samples::check(samples, kernel_width, ridge)?;
        let mut rng = rand_chacha(seed);
        let mut present = vec![vec![true; players]];
        for _ in 1..samples {
            let hidden = rng.random_range(1..=players.max(1));
            let mut row = vec![true; players];
            for player in sample(&mut rng, players, hidden.min(players)) {
                row[player] = false;
            }
            present.push(row);
        }
        Ok(Samples { present, kernel_width: f64::from(kernel_width), ridge: f64::from(ridge) })
    }

    fn check(samples: usize, kernel_width: f32, ridge: f32) -> Result<()> {
        let valid = (2..=MAX_SAMPLES).contains(&samples) && kernel_width > 0.0 && ridge >= 0.0;
        if !valid {
            return Err(Error::Explain(format!(
                "LIME needs 2 to {MAX_SAMPLES} samples, a positive kernel width and a ridge penalty α ≥ 0; they are {samples}, {kernel_width} and {ridge}."
            )));
        }
        Ok(())
    }

    /// The weighted ridge fit of the scores, one per sample in order: each player's
    /// coefficient, and the weighted R².
    pub fn fit(&self, scores: &[f32]) -> Result<(Vec<f32>, f32)> {
        let players = self.present.first().map_or(0, Vec::len) as f64;
        let rows: Vec<Vec<f64>> =
            self.present.iter().map(|row| row.iter().map(|&p| f64::from(u8::from(p))).collect()).collect();
        let weights: Vec<f64> = self
            .present
            .iter()
            .map(|row| {
                let kept = row.iter().filter(|&&p| p).count() as f64;
                // Cosine distance to the all-ones row (1 for the empty row, as scikit-learn).
                let distance = 1.0 - (kept / players).sqrt();
                (-(distance * distance) / (self.kernel_width * self.kernel_width)).exp().sqrt()
            })
            .collect();
        let y: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
        let fit = weighted_ridge(&rows, &y, &weights, self.ridge)?;
        Ok((fit.coefficients.iter().map(|&c| c as f32).collect(), fit.r_squared as f32))
    }
}

impl Players for Samples {
    fn len(&self) -> usize {
        self.present.len()
    }

    fn present(&self, i: usize) -> Cow<'_, [bool]> {
        Cow::Borrowed(self.present.get(i).map_or(&[][..], Vec::as_slice))
    }

    fn values(&self, scores: &[f32]) -> Result<PlayerValues> {
        let (values, r_squared) = self.fit(scores)?;
        Ok(PlayerValues { values, completeness: None, r_squared: Some(r_squared) })
    }
}
