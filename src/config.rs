//! The model description that travels beside an ONNX file: how to turn an image into the
//! model's input tensor, and what the outputs mean.
//!
//! It is plain JSON so that a user's own model can bring its own (see `models/*.json`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::inspect::{inspect, Kind};
use crate::model::surgery::{operate, Surgery};
use crate::model::Dim;

/// A model's sidecar file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Human-readable name, shown in the page.
    pub name: String,
    /// Which of the model's inputs is the image, for a model with several; the others are held
    /// at zero. Default: the one the inspection guesses (see [`crate::model::inspect::Kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub preprocess: Preprocess,
    /// What the model's output holds.
    #[serde(default)]
    pub output: Output,
    /// One label per output class, in output order; a class without one is called "class i".
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Image preprocessing, applied in one place: [`crate::preprocess`].
///
/// The pipeline is: RGB; resize so the short side is `resize_short_side` (bilinear,
/// antialiased); centre-crop `height`×`width`; grey (ITU-R 601 luma, as PIL's `convert("L")`)
/// when the model takes one channel, or the channels in the model's order; then
/// `(pixel − mean) / std` per channel, with pixels in 0‥255; N×C×H×W, or N×H×W×C for a
/// channels-last model (which Glimpse explains through a `Transpose` at its entrance, so every
/// map is channels first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    pub height: u32,
    pub width: u32,
    pub resize_short_side: u32,
    /// One per channel, in the model's channel order, in 0‥255 pixel units: a model that takes
    /// pixels in 0‥1 normalised by ImageNet's statistics has mean 0.485 × 255 = 123.675, ….
    pub mean: Vec<f32>,
    /// One per channel, as `mean`.
    pub std: Vec<f32>,
    #[serde(default)]
    pub layout: Layout,
    /// 3 (colour) or 1 (grey).
    #[serde(default = "three")]
    pub channels: usize,
    #[serde(default)]
    pub channel_order: ChannelOrder,
}

fn three() -> usize {
    3
}

/// Where the channel axis of the model's image input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Layout {
    /// N×C×H×W (PyTorch).
    #[default]
    #[serde(rename = "NCHW")]
    ChannelsFirst,
    /// N×H×W×C (Keras, through tf2onnx).
    #[serde(rename = "NHWC")]
    ChannelsLast,
}

/// The order of a colour model's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ChannelOrder {
    #[default]
    #[serde(rename = "RGB")]
    Rgb,
    /// Caffe's and OpenCV's.
    #[serde(rename = "BGR")]
    Bgr,
}

/// What a classifier's output row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// Scores a softmax turns into probabilities.
    #[default]
    Logits,
    /// Probabilities already (the graph ends in a softmax). Glimpse explains their logarithm,
    /// which a softmax turns back into the same probabilities: the logits up to a constant.
    Probabilities,
}

impl Preprocess {
    /// An RGB, channels-first description.
    pub fn rgb(height: u32, width: u32, resize_short_side: u32, mean: [f32; 3], std: [f32; 3]) -> Preprocess {
        Preprocess {
            height,
            width,
            resize_short_side,
            mean: mean.to_vec(),
            std: std.to_vec(),
            layout: Layout::default(),
            channels: 3,
            channel_order: ChannelOrder::default(),
        }
    }

    /// The mean and std of the model's channel `c`.
    pub fn affine(&self, c: usize) -> (f32, f32) {
        (self.mean.get(c).copied().unwrap_or(0.0), self.std.get(c).copied().unwrap_or(1.0))
    }

    /// Which RGB component feeds the model's channel `c` (`None`: the grey luma).
    pub fn source(&self, c: usize) -> Option<usize> {
        match (self.channels, self.channel_order) {
            (1, _) => None,
            (_, ChannelOrder::Rgb) => Some(c),
            (_, ChannelOrder::Bgr) => Some(2usize.saturating_sub(c)),
        }
    }
}

/// The largest side of a model's input image.
pub const MAX_SIDE: u32 = 2048;

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
        if p.channels != 1 && p.channels != 3 {
            return Err(Error::Config(format!(
                "channels must be 1 (grey) or 3 (colour), not {}",
                p.channels
            )));
        }
        if p.channels == 1 && p.channel_order == ChannelOrder::Bgr {
            return Err(Error::Config("a grey (1-channel) model has no channel order".into()));
        }
        for (name, values) in [("mean", &p.mean), ("std", &p.std)] {
            if values.len() != p.channels {
                return Err(Error::Config(format!(
                    "{name} has {} values for {} channel{}",
                    values.len(),
                    p.channels,
                    if p.channels == 1 { "" } else { "s" }
                )));
            }
        }
        if p.mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::Config("mean must be finite".into()));
        }
        if p.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return Err(Error::Config("std must be finite and non-zero".into()));
        }
        if p.height > MAX_SIDE || p.width > MAX_SIDE {
            return Err(Error::Config(format!(
                "the input is {}×{}; Glimpse takes images of at most {MAX_SIDE} pixels a side",
                p.width, p.height
            )));
        }
        Ok(())
    }

    /// The model as Glimpse explains it: the other inputs of a model with several held at
    /// zero, an image size the file leaves open fixed to the description's, a channels-last
    /// input made to take channels first, an output of probabilities made to give their
    /// logarithm (see [`Output`]); the file itself when none applies.
    pub fn prepare<'a>(&self, onnx: &'a [u8]) -> Result<Cow<'a, [u8]>> {
        let channels_last = self.preprocess.layout == Layout::ChannelsLast;
        let probabilities = self.output == Output::Probabilities;
        let found = inspect(onnx)?;
        let named = match (&self.input, &found.kind) {
            (Some(name), _) => name.as_str(),
            (None, Kind::Image { image, .. }) => image.input.as_str(),
            (None, _) => found.inputs.first().map_or("", |i| i.name.as_str()),
        };
        let input = found.inputs.iter().find(|i| i.name == named).ok_or_else(|| {
            let names: Vec<&str> = found.inputs.iter().map(|i| i.name.as_str()).collect();
            Error::Config(format!("the model has no input {named:?} (its inputs: {})", names.join(", ")))
        })?;
        if input.shape.len() != 4 {
            return Err(Error::Config(format!(
                "input {} is {}-D, not an image (N×C×H×W or N×H×W×C)",
                input.name,
                input.shape.len()
            )));
        }
        let held_at_zero: Vec<String> =
            found.inputs.iter().filter(|i| i.name != input.name).map(|i| i.name.clone()).collect();
        // An image size the file leaves open is the description's.
        let (p, (h, w)) = (&self.preprocess, if channels_last { (1, 2) } else { (2, 3) });
        let fixed: Vec<(String, usize, usize)> = [(h, p.height), (w, p.width)]
            .into_iter()
            .filter(|&(axis, _)| matches!(input.shape.get(axis), Some(Dim::Symbolic(_))))
            .map(|(axis, size)| (input.name.clone(), axis, size as usize))
            .collect();
        if !channels_last && !probabilities && fixed.is_empty() && held_at_zero.is_empty() {
            return Ok(Cow::Borrowed(onnx));
        }
        let output = || {
            found
                .outputs
                .first()
                .map(|s| s.name.clone())
                .ok_or_else(|| Error::NotOnnx("the model has no output".into()))
        };
        let surgery = Surgery {
            held_at_zero,
            fixed,
            channels_first: channels_last.then(|| input.name.clone()),
            log_output: probabilities.then(output).transpose()?,
            ..Surgery::default()
        };
        Ok(Cow::Owned(operate(onnx, &surgery)?))
    }

    /// The label of class `index`, or a placeholder naming the index.
    pub fn label(&self, index: usize) -> String {
        self.labels.get(index).cloned().unwrap_or_else(|| format!("class {index}"))
    }
}
