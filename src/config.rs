//! The model description that travels beside an ONNX file: how to turn an image into the
//! model's input tensor, and what the outputs mean.
//!
//! It is plain JSON so that a user's own model can bring its own (see `models/*.json`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A model's sidecar file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Human-readable name, shown in the page.
    pub name: String,
    pub preprocess: Preprocess,
    /// One label per output class, in output order.
    pub labels: Vec<String>,
}

/// Image preprocessing, applied in one place: [`crate::preprocess`].
///
/// The pipeline is: RGB; resize so the short side is `resize_short_side` (bilinear,
/// antialiased); centre-crop `height`×`width`; then `(pixel − mean) / std` per channel, with
/// pixels in 0‥255; NCHW.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    pub height: u32,
    pub width: u32,
    pub resize_short_side: u32,
    /// Per channel (R, G, B), in 0‥255 pixel units.
    pub mean: [f32; 3],
    /// Per channel (R, G, B), in 0‥255 pixel units.
    pub std: [f32; 3],
}

impl ModelConfig {
    pub fn from_json(bytes: &[u8]) -> Result<ModelConfig> {
        let config: ModelConfig = serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let p = &self.preprocess;
        if p.height == 0 || p.width == 0 {
            return Err(Error::Config("the crop size must be positive".into()));
        }
        if p.resize_short_side < p.height.min(p.width) {
            return Err(Error::Config(format!(
                "resize_short_side ({}) is smaller than the crop ({}×{})",
                p.resize_short_side, p.height, p.width
            )));
        }
        if p.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return Err(Error::Config("std must be finite and non-zero".into()));
        }
        Ok(())
    }

    /// The label of class `index`, or a placeholder naming the index.
    pub fn label(&self, index: usize) -> String {
        self.labels.get(index).cloned().unwrap_or_else(|| format!("class {index}"))
    }
}
