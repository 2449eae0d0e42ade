//! KernelSHAP over tokens: the coalitions and Shapley fit of KernelSHAP on superpixels
//! ([`crate::explain::kernel_shap`]), with tokens as the players.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::TokenMethod;
use crate::error::Result;
use crate::explain::kernel_shap::{budget_setting, Design};
use crate::explain::perturbation::Players;
use crate::explain::schema::{Cost, Descriptor, Needs, Setting, Units};
use crate::explain::{Display, Settings};

pub struct KernelShap;

/// KernelSHAP over tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenShapConfig {
    /// `None`: shap's 2M + 2048, which enumerates every coalition of up to 11 tokens.
    pub budget: Option<usize>,
    pub seed: u64,
}

impl TokenMethod for KernelShap {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "kernel-shap",
            "KernelSHAP",
            "Shapley values of the tokens; coalitions: {budget} (every one, up to 11 tokens)",
            Needs::ForwardPasses,
            Cost::Many,
            Display::Signed,
            Units::SegmentShare,
        )
        .completeness("Σφ − (f(x) − f(∅))")
        .settings::<TokenShapConfig>(vec![
            budget_setting(),
            Setting::seed().help("of the sampled coalitions"),
        ])
    }

    fn removals(&self, settings: &Settings, players: usize) -> Result<Arc<dyn Players>> {
        let TokenShapConfig { budget, seed } = settings.config()?;
        Ok(Arc::new(Design::new(players, budget, seed)?))
    }
}
