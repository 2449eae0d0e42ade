//! The metrics, one line each. A metric is a type in its own file implementing [`Metric`]; the
//! page's faithfulness panel, the CLI's `evaluate` and the tests read this list.

use serde::Serialize;

use super::features::Features;
use super::passes::Passes;
use super::soft_stability::{SoftStabilityConfig, Stability};
use super::sweep::Sweep;
use crate::error::{Error, Result};
use crate::explain::schema::{Entry, Setting};
use crate::explain::{Registered, Registry};
use ndarray::ArrayD;

/// Every metric, in the order the page lists them.
static METRICS: &[&dyn Metric] = &[
    &super::deletion::Deletion,
    &super::insertion::Insertion,
    &super::randomisation::Randomisation,
    &super::sensitivity::Sensitivity,
    &super::soft_stability::SoftStability,
];

/// A metric with its settings. In JSON: `{"metric": "deletion", "steps": 50, "order": "morf"}`.
pub type Measure = Registered<dyn Metric>;

/// What a metric says of itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDescriptor {
    /// The name on the command line and in JSON.
    pub id: &'static str,
    pub title: &'static str,
    /// One line on what the number means.
    pub caption: &'static str,
    /// Whether a higher number is better (insertion) or worse (deletion, randomisation).
    pub higher_is_better: bool,
    pub kind: Kind,
    pub settings: Vec<Setting>,
}

/// How a metric holds a map to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Moves the input's features in the map's order and scores each step: a plan of forward
    /// passes ([`Metric::ends`]).
    Sweep,
    /// Recomputes the map on re-initialised models and compares it with the original.
    Randomisation,
    /// Recomputes the map on inputs moved by noise and measures how far it moves.
    Sensitivity,
    /// Shows the map's top features alone, then with a few more, and counts how often the
    /// prediction holds: a plan of forward passes ([`Measure::lay_out`]).
    Stability,
}

impl Entry for MetricDescriptor {
    fn id(&self) -> &'static str {
        self.id
    }

    fn title(&self) -> &'static str {
        self.title
    }

    fn settings(&self) -> &[Setting] {
        &self.settings
    }
}

/// A metric: what it says of itself and, when it sweeps, the sweep's ends.
pub trait Metric: Sync {
    fn descriptor(&self) -> MetricDescriptor;

    /// A sweep's two ends: the input the first pass sees, and what every feature becomes by
    /// the last.
    fn ends(&self, _features: &Features) -> Result<(ArrayD<f32>, ArrayD<f32>)> {
        Err(Error::Setting(format!("{} does not sweep the input's features", self.descriptor().title)))
    }
}

impl Registry for dyn Metric {
    const NOUN: &'static str = "metric";
    const KEY: &'static str = "metric";
    type About = MetricDescriptor;

    fn list() -> &'static [&'static dyn Metric] {
        METRICS
    }

    fn describe(&self) -> MetricDescriptor {
        self.descriptor()
    }
}

impl Measure {
    /// Lays the metric out on the subject as forward passes, ranking its features by `values`
    /// (the map as displayed: one per pixel or token), for class `target`: a sweep, or soft
    /// stability's samples (an image's pixels grouped into superpixels first).
    pub fn lay_out(&self, features: &Features, values: &[f32], target: usize) -> Result<Box<dyn Passes>> {
        match self.spec().descriptor().kind {
            Kind::Sweep => {
                let (start, end) = self.spec().ends(features)?;
                Ok(Box::new(Sweep::new(features, start, end, values, target, &self.settings().config()?)?))
            }
            Kind::Stability => {
                let config: SoftStabilityConfig = self.settings().config()?;
                let features = features.segmented(&config.superpixels())?;
                Ok(Box::new(Stability::new(&features, &features.pooled(values)?, &config)?))
            }
            Kind::Randomisation | Kind::Sensitivity => {
                Err(Error::Setting(format!("{} is not a plan of forward passes", self.name())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_a_unique_name_and_its_defaults_fit_its_schema() {
        let metrics = Measure::all();
        assert_eq!(metrics.len(), METRICS.len());
        for (i, metric) in metrics.iter().enumerate() {
            assert!(metrics[..i].iter().all(|m| m.name() != metric.name()), "{} twice", metric.name());
            let round_trip: Measure = serde_json::from_str(&serde_json::to_string(metric).unwrap()).unwrap();
            assert_eq!(&round_trip, metric);
            match metric.spec().descriptor().kind {
                Kind::Sweep => assert!(metric.settings().config::<crate::evaluate::SweepConfig>().is_ok()),
                Kind::Randomisation => {
                    assert!(metric.settings().config::<crate::evaluate::RandomisationConfig>().is_ok())
                }
                Kind::Sensitivity => {
                    assert!(metric.settings().config::<crate::evaluate::SensitivityConfig>().is_ok())
                }
                Kind::Stability => {
                    assert!(metric.settings().config::<crate::evaluate::SoftStabilityConfig>().is_ok())
                }
            }
        }
        assert!(Measure::parse(r#"{"metric": "deletion", "steps": 0}"#).is_err());
        assert!(Measure::parse(r#"{"metric": "deletion", "window": 3}"#).is_err());
    }
}
