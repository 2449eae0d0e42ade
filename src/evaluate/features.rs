//! What a metric moves: an image's pixels (every channel of a pixel together), its superpixels,
//! or a sentence's tokens other than [CLS] and [SEP]. A removed pixel is 0 in the model's input
//! space (after normalisation: the mean colour), as RISE's `evaluation.py`; a removed token is
//! [PAD], so the derived mask drops it.

use ndarray::ArrayD;

use crate::config::Preprocess;
use crate::error::{Error, Result};
use crate::explain::superpixels::{slic, SuperpixelConfig};
use crate::explain::Subject;

/// The features of one input.
#[derive(Debug, Clone)]
pub enum Features {
    /// The pixels of an image input (1×C×H×W), with how pixels map to it (SLIC reads colours).
    Pixels { input: ArrayD<f32>, pixels: Option<Preprocess> },
    /// An image's superpixels: each segment's pixels, as row-major indices into one plane.
    Segments { input: ArrayD<f32>, members: Vec<Vec<usize>> },
    /// A sentence's ids (as f32, 1×T), the positions that are players, and [PAD]'s id.
    Tokens { input: ArrayD<f32>, players: Vec<usize>, pad: f32 },
}

impl Features {
    pub fn input(&self) -> &ArrayD<f32> {
        match self {
            Features::Pixels { input, .. }
            | Features::Segments { input, .. }
            | Features::Tokens { input, .. } => input,
        }
    }

    /// How many features.
    pub fn len(&self) -> usize {
        match self {
            Features::Pixels { input, .. } => plane(input),
            Features::Segments { members, .. } => members.len(),
            Features::Tokens { players, .. } => players.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The input with every feature removed: pixels 0 in the model's space, tokens [PAD].
    pub fn removed(&self) -> ArrayD<f32> {
        match self {
            Features::Pixels { input, .. } | Features::Segments { input, .. } => ArrayD::zeros(input.shape()),
            Features::Tokens { input, players, pad } => {
                let mut ids = input.clone();
                for &p in players {
                    if let Some(id) = ids.get_mut([0, p]) {
                        *id = *pad;
                    }
                }
                ids
            }
        }
    }

    /// The image's pixels grouped into SLIC superpixels (as LIME's, with the same settings);
    /// tokens stay tokens.
    pub fn segmented(&self, config: &SuperpixelConfig) -> Result<Features> {
        match self {
            Features::Pixels { input, pixels } => {
                let subject = Subject {
                    input: input.clone(),
                    target: 0,
                    pixels: pixels.clone(),
                    custom_baseline: None,
                };
                let segments = slic(&subject, config)?;
                let width = segments.labels.ncols();
                let mut members = vec![vec![]; segments.count];
                for ((y, x), &label) in segments.labels.indexed_iter() {
                    if let Some(member) = members.get_mut(label as usize) {
                        member.push(y * width + x);
                    }
                }
                Ok(Features::Segments { input: input.clone(), members })
            }
            other => Ok(other.clone()),
        }
    }

    /// A map of one value per pixel (or per token) as one value per feature: a segment's is the
    /// mean of its pixels'.
    pub fn pooled(&self, values: &[f32]) -> Result<Vec<f32>> {
        let Features::Segments { input, members } = self else { return Ok(values.to_vec()) };
        if values.len() != plane(input) {
            return Err(Error::Explain(format!(
                "The map has {} values for the image's {} pixels.",
                values.len(),
                plane(input)
            )));
        }
        Ok(members
            .iter()
            .map(|m| m.iter().filter_map(|&p| values.get(p)).sum::<f32>() / m.len().max(1) as f32)
            .collect())
    }

    /// `base` with the features in `shown` taken from `from` (both the input's shape, standard
    /// layout): every channel of a pixel, every pixel of a segment, a token's id.
    pub(super) fn show(&self, base: &ArrayD<f32>, from: &ArrayD<f32>, shown: &[usize]) -> ArrayD<f32> {
        let mut out = base.as_standard_layout().into_owned();
        let (Some(x), Some(from)) = (out.as_slice_mut(), from.as_slice()) else { return out };
        let mut copy = |e: usize| {
            if let (Some(x), Some(&v)) = (x.get_mut(e), from.get(e)) {
                *x = v;
            }
        };
        match self {
            Features::Pixels { input, .. } => {
                let (plane, channels) = (plane(input), channels(input));
                for &f in shown {
                    (0..channels).for_each(|c| copy(f + c * plane));
                }
            }
            Features::Segments { input, members } => {
                let (plane, channels) = (plane(input), channels(input));
                for member in shown.iter().filter_map(|&f| members.get(f)) {
                    for &p in member {
                        (0..channels).for_each(|c| copy(p + c * plane));
                    }
                }
            }
            Features::Tokens { players, .. } => {
                shown.iter().filter_map(|&f| players.get(f)).for_each(|&p| copy(p))
            }
        }
        out
    }
}

/// Pixels in one channel of an image input.
fn plane(input: &ArrayD<f32>) -> usize {
    input.shape().iter().skip(2).product()
}

fn channels(input: &ArrayD<f32>) -> usize {
    input.shape().get(1).copied().unwrap_or(1)
}
