//! Model randomisation (Adebayo et al. 2018, "Sanity checks for saliency maps"): the model's
//! parameterised layers are re-initialised from the logits down (`model::randomise`), and the
//! map recomputed on each randomised model is compared with the original one. A map that
//! stays the same explains the input more than the model.
//!
//! Cascading: step k re-initialises the top layers down to the k-th chosen depth, each step
//! adding layers to the last. Independent: step k re-initialises the layer at that depth alone.
//! The depths are `steps` evenly spaced from the logits layer (the first step) to the input's
//! (the last), or every layer when there are no more of them than steps.
//!
//! The comparison is the authors': Spearman's rank correlation of the absolute maps and of the
//! signed ones, and the structural similarity (SSIM) of the absolute maps, each scaled to
//! [0, 1] by its largest value (data range 1). Maps are compared as their tiles display them:
//! an image's one value per pixel (SSIM needs a 2-D map; a sentence's token scores have none).

use serde::{Deserialize, Serialize};

use super::registry::{Kind, Metric, MetricDescriptor};
use super::similarity::{spearman, ssim};
use crate::explain::schema::Setting;
use crate::model::randomise::ParamLayer;

pub struct Randomisation;

impl Metric for Randomisation {
    fn descriptor(&self) -> MetricDescriptor {
        MetricDescriptor {
            id: "randomisation",
            title: "Model randomisation",
            caption: "how alike the map stays as the model's layers are re-initialised from the logits down; a map that explains the model should change",
            higher_is_better: false,
            kind: Kind::Randomisation,
            settings: RandomisationConfig::settings(),
        }
    }
}

/// Which layers each step re-initialises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// From the logits down to the step's depth.
    #[default]
    Cascading,
    /// The layer at the step's depth alone.
    Independent,
}

/// The settings of model randomisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RandomisationConfig {
    pub mode: Mode,
    /// How many depths, from the logits to the input.
    pub steps: usize,
    /// Keys the new weights.
    pub seed: u64,
}

impl Default for RandomisationConfig {
    fn default() -> Self {
        RandomisationConfig { mode: Mode::Cascading, steps: 5, seed: 0 }
    }
}

/// The most steps: each one recomputes every map.
pub const MAX_STEPS: usize = 200;

/// One step: which layers are re-initialised (indices into the model's layers, logits first)
/// and the deepest one's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub layers: Vec<usize>,
    pub label: String,
}

impl RandomisationConfig {
    pub fn settings() -> Vec<Setting> {
        Setting::defaults_from::<RandomisationConfig>(vec![
            Setting::variants(
                "mode",
                "Mode",
                &[
                    (Mode::Cascading, "cascading: from the logits down"),
                    (Mode::Independent, "independent: one layer at a time"),
                ],
            )
            .source("Adebayo et al. 2018 show both"),
            Setting::integer("steps", "Steps", 1, MAX_STEPS as u64)
                .help("depths from the logits layer to the first layer (at most one a layer)"),
            Setting::seed(),
        ])
    }

    /// The steps on a model with these layers (logits first).
    pub fn steps(&self, layers: &[ParamLayer]) -> Vec<Step> {
        let n = layers.len();
        let count = self.steps.min(n);
        let depth = |k: usize| if count <= 1 { 0 } else { (k * (n - 1) + (count - 1) / 2) / (count - 1) };
        (0..count)
            .map(|k| {
                let d = depth(k);
                let chosen = match self.mode {
                    Mode::Cascading => (0..=d).collect(),
                    Mode::Independent => vec![d],
                };
                Step { layers: chosen, label: layers.get(d).map(|l| l.name.clone()).unwrap_or_default() }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(n: usize) -> Vec<ParamLayer> {
        (0..n)
            .map(|i| ParamLayer {
                name: format!("l{i}"),
                op: "Conv".into(),
                shape: vec![1, 1, 1, 1],
                fan_in: 1,
                bias: false,
            })
            .collect()
    }

    #[test]
    fn steps_run_from_the_logits_to_the_first_layer_evenly() {
        let cascading = RandomisationConfig { steps: 5, ..Default::default() }.steps(&layers(50));
        let deepest: Vec<usize> = cascading.iter().map(|s| *s.layers.last().unwrap()).collect();
        assert_eq!(deepest, vec![0, 12, 25, 37, 49]);
        assert!(cascading.iter().all(|s| s.layers == (0..s.layers.len()).collect::<Vec<_>>()));
        assert_eq!(cascading[4].label, "l49");
        let independent = RandomisationConfig { steps: 5, mode: Mode::Independent, ..Default::default() }
            .steps(&layers(50));
        assert_eq!(independent[2].layers, vec![25]);
        // No more steps than layers; one step is the logits layer.
        assert_eq!(RandomisationConfig { steps: 9, ..Default::default() }.steps(&layers(3)).len(), 3);
        assert_eq!(
            RandomisationConfig { steps: 1, ..Default::default() }.steps(&layers(3))[0].layers,
            vec![0]
        );
    }
}

/// How alike a recomputed map is to the original.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Similarity {
    /// Spearman's ρ of the absolute values.
    pub spearman_abs: f32,
    /// Spearman's ρ of the signed values.
    pub spearman_signed: f32,
    /// SSIM of the absolute values scaled to [0, 1]; `None` for a map that is not an image.
    pub ssim: Option<f32>,
}

/// `original` and `randomised` compared: one value per feature each, as displayed, with the
/// image's height and width when they are images.
pub fn compare(original: &[f32], randomised: &[f32], image: Option<(usize, usize)>) -> Similarity {
    let absolute = |map: &[f32]| map.iter().map(|v| v.abs()).collect::<Vec<f32>>();
    let (a, b) = (absolute(original), absolute(randomised));
    let unit = |map: &[f32]| {
        let top = map.iter().copied().fold(0.0f32, f32::max);
        map.iter().map(|v| if top > 0.0 { v / top } else { 0.0 }).collect::<Vec<f32>>()
    };
    Similarity {
        spearman_abs: spearman(&a, &b),
        spearman_signed: spearman(original, randomised),
        ssim: image.and_then(|(h, w)| ssim(&unit(&a), &unit(&b), h, w, 1.0)),
    }
}
