//! Sensitivity (Yeh et al. 2019, as Captum's `sensitivity_max`): the map is made again on
//! inputs moved by small uniform noise, and the largest change, relative to the map, is the
//! score. A map that swings under noise the model barely notices is hard to trust.
//!
//! As Captum: each draw adds U(−r, r) to every element of the model's input (r = 0.02); the
//! change is the 2-norm of (original map − perturbed map), flattened, over the 2-norm of the
//! original map (1 when that norm is 0); the score is the largest over the draws (10). The
//! draws come from ChaCha8 keyed by the seed and the draw's index. The maps compared are the
//! methods' raw maps, not as displayed.

use ndarray::ArrayD;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::registry::{Kind, Metric, MetricDescriptor};
use crate::error::{Error, Result};
use crate::explain::schema::Setting;
use crate::explain::{Explainer, Method, Progress, Subject};

pub struct Sensitivity;

impl Metric for Sensitivity {
    fn descriptor(&self) -> MetricDescriptor {
        MetricDescriptor {
            id: "sensitivity",
            title: "Sensitivity",
            caption: "the largest relative change of the map when the input moves by small uniform noise; lower is more stable",
            higher_is_better: false,
            kind: Kind::Sensitivity,
            settings: SensitivityConfig::settings(),
        }
    }
}

/// The settings of sensitivity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SensitivityConfig {
    /// The noise's half-width, in the model's input units.
    pub radius: f32,
    /// How many noisy inputs.
    pub samples: usize,
    pub seed: u64,
}

impl Default for SensitivityConfig {
    fn default() -> Self {
        SensitivityConfig { radius: 0.02, samples: 10, seed: 0 }
    }
}

/// The most noisy inputs: each remakes the map.
pub const MAX_SAMPLES: usize = 1000;

impl SensitivityConfig {
    pub fn settings() -> Vec<Setting> {
        Setting::defaults_from::<SensitivityConfig>(vec![
            Setting::number("radius", "Noise radius", 0.0, 10.0)
                .help("each input element moves by up to this much, in the model's input units")
                .source("Captum's sensitivity_max: perturb_radius = 0.02"),
            Setting::integer("samples", "Noisy inputs", 1, MAX_SAMPLES as u64)
                .source("Captum's sensitivity_max: n_perturb_samples = 10"),
            Setting::seed(),
        ])
    }
}

/// Draw `sample` of the noise: U(−radius, radius) for each element of an input of `shape`.
pub fn noise(shape: &[usize], radius: f32, seed: u64, sample: usize) -> ArrayD<f32> {
    let mut rng = crate::explain::baseline::keyed_rng(seed, sample as u64);
    ArrayD::from_shape_simple_fn(shape, || if radius > 0.0 { rng.random_range(-radius..radius) } else { 0.0 })
}

/// The relative change of each perturbed map from the original, and the largest of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    pub changes: Vec<f32>,
    pub max: f32,
}

/// Captum's relative change: ‖original − perturbed‖₂ / ‖original‖₂ (1 when that is 0), the
/// maps flattened (the original may come flat).
pub fn relative_change(original: &ArrayD<f32>, perturbed: &ArrayD<f32>) -> Result<f32> {
    if original.len() != perturbed.len() {
        return Err(Error::Bug(format!(
            "a perturbed map has shape {:?}, the original {:?}",
            perturbed.shape(),
            original.shape()
        )));
    }
    let norm = |values: &mut dyn Iterator<Item = f64>| values.map(|v| v * v).sum::<f64>().sqrt();
    let change = norm(&mut original.iter().zip(perturbed).map(|(a, b)| f64::from(a - b)));
    let base = norm(&mut original.iter().map(|&a| f64::from(a)));
    Ok((change / if base == 0.0 { 1.0 } else { base }) as f32)
}

impl Changes {
    /// Each draw's change, and the largest.
    pub fn new(changes: Vec<f32>) -> Changes {
        let max = changes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Changes { changes, max }
    }
}

impl Explainer {
    /// The relative change of `method`'s map of `subject` (`original`, its raw map, made
    /// already) on each noisy input: `noises` gives the draws, and `progress` counts them.
    pub fn sensitivity(
        &self,
        subject: &Subject,
        method: &Method,
        original: &ArrayD<f32>,
        noises: impl ExactSizeIterator<Item = ArrayD<f32>>,
        progress: Progress<'_>,
    ) -> Result<Vec<f32>> {
        let total = noises.len();
        let mut changes = Vec::with_capacity(total);
        progress(0, total);
        for noise in noises {
            let moved = Subject { input: &subject.input + &noise, ..subject.clone() };
            let again = self.explain(&moved, method, &mut |_, _| {})?;
            changes.push(relative_change(original, &again.map)?);
            progress(changes.len(), total);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_uniform_within_the_radius_and_keyed_by_seed_and_draw() {
        let a = noise(&[1, 3, 50, 50], 0.02, 1, 0);
        assert!(a.iter().all(|v| v.abs() <= 0.02));
        let var = a.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / a.len() as f64;
        assert!((var / (0.0004 / 3.0) - 1.0).abs() < 0.05, "{var}");
        assert_eq!(noise(&[1, 3, 50, 50], 0.02, 1, 0), a);
        assert_ne!(noise(&[1, 3, 50, 50], 0.02, 1, 1), a);
        assert_ne!(noise(&[1, 3, 50, 50], 0.02, 2, 0), a);
    }

    #[test]
    fn a_change_is_relative_to_the_map_and_a_zero_map_divides_by_one() {
        let original = ArrayD::from_shape_vec(vec![2], vec![3.0, 4.0]).unwrap();
        let moved = ArrayD::from_shape_vec(vec![2], vec![3.0, 3.0]).unwrap();
        assert!((relative_change(&original, &moved).unwrap() - 0.2).abs() < 1e-7);
        let zero = ArrayD::zeros(vec![2]);
        assert!((relative_change(&zero, &moved).unwrap() - 18f32.sqrt()).abs() < 1e-6);
    }
}
