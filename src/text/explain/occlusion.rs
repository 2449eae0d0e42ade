//! Occlusion over tokens: the drop in the score when one token is left out (set to [PAD]).

use std::sync::Arc;

use super::TokenMethod;
use crate::error::Result;
use crate::explain::perturbation::{LeaveOneOut, Players};
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Settings};

pub struct Occlusion;

impl TokenMethod for Occlusion {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "occlusion",
            "Occlusion",
            "drop in the score when the token is left out",
            Needs::ForwardPasses,
            Cost::PerFeature,
            Display::Signed,
            Units::Own,
        )
    }

    fn removals(&self, _: &Settings, players: usize) -> Result<Arc<dyn Players>> {
        Ok(Arc::new(LeaveOneOut { players }))
    }
}
