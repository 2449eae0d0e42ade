//! Deletion (Petsiuk et al. 2018): features are removed most relevant first and the target's
//! probability falls; the faster it falls, the smaller the area and the more faithful the map.
//! A removed pixel is 0 in the model's input space (after normalisation: the mean colour), as
//! RISE's `evaluation.py`; a removed token is [PAD].

use ndarray::ArrayD;

use super::features::Features;
use super::registry::{Kind, Metric, MetricDescriptor};
use super::sweep::SweepConfig;
use crate::error::Result;

pub struct Deletion;

impl Metric for Deletion {
    fn descriptor(&self) -> MetricDescriptor {
        MetricDescriptor {
            id: "deletion",
            title: "Deletion",
            caption: "probability as the map's features are removed; a lower area is more faithful",
            higher_is_better: false,
            kind: Kind::Sweep,
            settings: SweepConfig::settings(),
        }
    }

    fn ends(&self, features: &Features) -> Result<(ArrayD<f32>, ArrayD<f32>)> {
        Ok((features.input().clone(), features.removed()))
    }
}
