//! LIME over tokens: the sampling and weighted ridge fit of LIME on superpixels
//! ([`crate::explain::lime`]), with tokens as the players.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::TokenMethod;
use crate::error::Result;
use crate::explain::lime::{fit_settings, Samples};
use crate::explain::perturbation::Players;
use crate::explain::schema::{Cost, Descriptor, Needs, Units};
use crate::explain::{Display, Settings};

pub struct Lime;

/// LIME over tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenLimeConfig {
    pub samples: usize,
    /// On the cosine distance (the lime package's text default, 25 on distances × 100).
    pub kernel_width: f32,
    pub ridge: f32,
    pub seed: u64,
}

impl Default for TokenLimeConfig {
    fn default() -> Self {
        TokenLimeConfig { samples: 500, kernel_width: 0.25, ridge: 1.0, seed: 0 }
    }
}

impl TokenMethod for Lime {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "lime",
            "LIME",
            "a weighted linear fit of the score on which tokens are kept, over {samples} samples",
            Needs::ForwardPasses,
            Cost::Many,
            Display::Signed,
            Units::SegmentShare,
        )
        .settings::<TokenLimeConfig>(fit_settings())
    }

    fn removals(&self, settings: &Settings, players: usize) -> Result<Arc<dyn Players>> {
        let TokenLimeConfig { samples, kernel_width, ridge, seed } = settings.config()?;
        Ok(Arc::new(Samples::new(players, samples, kernel_width, ridge, seed)?))
    }
}
