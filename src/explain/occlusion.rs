//! Occlusion (Zeiler & Fergus 2014): slide a window over the image, replace what it covers with
//! a fill, and record how much the target's score drops. Each pixel gets the average drop of
//! the windows that cover it, as Captum's `Occlusion` with a window spanning every channel.
//!
//! Forward passes only: (⌈(H − k)/s⌉ + 1)·(⌈(W − k)/s⌉ + 1) windows plus one pass for f(x), so
//! it works on any model, even one whose gradients the engine cannot take. As in Captum, the
//! last window on each axis is cut off at the image's edge.

use std::ops::Range;

use ndarray::{s, ArrayD, Axis, Zip};
use serde::{Deserialize, Serialize};

use super::baseline::{blur, BLUR_SIGMA};
use super::perturbation::{Outcome, Perturbations};
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::{Display, Explainer, ImageMethod, Settings, Subject};
use crate::error::{Error, Result};

pub struct Occlusion;

impl ImageMethod for Occlusion {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "occlusion",
            "Occlusion",
            "drop in the score when a {window}×{window} window shows {fill}",
            Needs::ForwardPasses,
            Cost::Many,
            Display::MeanOverChannels,
            Units::Own,
        )
        .settings::<OcclusionConfig>(vec![
            Setting::integer("window", "Window", 1, MAX_WINDOW as u64).help("side, in pixels"),
            Setting::integer("stride", "Stride", 1, MAX_WINDOW as u64).help("at most the window"),
            Setting::variants(
                "fill",
                "Fill",
                &[
                    (Fill::Zero, "zero (after normalisation)"),
                    (Fill::Blur, "the blurred image"),
                    (Fill::Mean, "the image’s mean colour"),
                ],
            )
            .help("what an occluded window shows")
            .source("Captum's baseline of 0"),
        ])
    }

    fn plan(&self, _: &Explainer, subject: &Subject, settings: &Settings) -> Result<Box<dyn Perturbations>> {
        Ok(Box::new(Plan::new(subject, &settings.config()?)?))
    }
}

/// The largest window and stride, in pixels.
pub const MAX_WINDOW: usize = 1024;

/// Settings of occlusion; the defaults suit a 224×224 input (27 × 27 windows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OcclusionConfig {
    /// The window's side, in pixels.
    pub window: usize,
    /// The step between windows, at most the window's side (no pixel left uncovered).
    pub stride: usize,
    pub fill: Fill,
}

impl Default for OcclusionConfig {
    fn default() -> Self {
        OcclusionConfig { window: 16, stride: 8, fill: Fill::Zero }
    }
}

/// What an occluded window shows instead of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fill {
    /// 0 in the model's input space (after normalisation), as Captum's default baseline.
    #[default]
    Zero,
    /// The image under a Gaussian blur of 20 pixels: the window loses its detail, not its colour.
    Blur,
    /// Each channel's mean over the image.
    Mean,
}

/// The window starts along an axis of length `len`, Captum's way.
fn starts(len: usize, window: usize, stride: usize) -> Vec<usize> {
    let count = len.saturating_sub(window).div_ceil(stride) + 1;
    (0..count).map(|i| i * stride).filter(|&start| start < len).collect()
}

/// Occlusion's inputs: the image itself, then one per window.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    input: ArrayD<f32>,
    filler: ArrayD<f32>,
    windows: Vec<(usize, usize)>,
    window: usize,
}

impl Plan {
    pub fn new(subject: &Subject, config: &OcclusionConfig) -> Result<Plan> {
        let x = &subject.input;
        let [_, height, width] = subject.image_shape("Occlusion")?;
        let OcclusionConfig { window, stride, fill } = *config;
        if window == 0 || stride == 0 || stride > window {
            return Err(Error::Explain(format!(
                "Occlusion needs 0 < stride ≤ window, so that every pixel is covered; they are {stride} and {window}."
            )));
        }
        let filler = match fill {
            Fill::Zero => ArrayD::zeros(x.raw_dim()),
            Fill::Blur => blur(x, BLUR_SIGMA)?,
            Fill::Mean => {
                let means: Vec<f32> = x.axis_iter(Axis(1)).map(|c| c.mean().unwrap_or(0.0)).collect();
                ArrayD::from_shape_fn(x.raw_dim(), |i| means[i[1]])
            }
        };
        let windows = starts(height, window, stride)
            .into_iter()
            .flat_map(|y| starts(width, window, stride).into_iter().map(move |x| (y, x)))
            .collect();
        Ok(Plan { input: x.clone(), filler, windows, window })
    }

    /// The rows and columns a window covers, cut off at the image's edge.
    fn covers(&self, (y, x): (usize, usize)) -> (Range<usize>, Range<usize>) {
        let (height, width) = (self.input.shape()[2], self.input.shape()[3]);
        (y..(y + self.window).min(height), x..(x + self.window).min(width))
    }
}

impl Perturbations for Plan {
    fn len(&self) -> usize {
        self.windows.len() + 1
    }

    /// Input 0 is the image; input i > 0 has window i − 1 filled.
    fn input(&self, i: usize) -> ArrayD<f32> {
        let mut input = self.input.clone();
        if let Some(&at) = i.checked_sub(1).and_then(|w| self.windows.get(w)) {
            let (ys, xs) = self.covers(at);
            input.slice_mut(s![.., .., ys.clone(), xs.clone()]).assign(&self.filler.slice(s![
                ..,
                ..,
                ys,
                xs
            ]));
        }
        input
    }

    fn finish(&self, scores: &[f32]) -> Result<Outcome> {
        let [_, channels, height, width] = *self.input.shape() else {
            return Err(Error::Bug("the occlusion input is no longer an image".into()));
        };
        let f_x = scores[0];
        let mut drops = ArrayD::<f64>::zeros(vec![1, 1, height, width]);
        let mut counts = ArrayD::<f64>::zeros(vec![1, 1, height, width]);
        for (&at, &value) in self.windows.iter().zip(&scores[1..]) {
            let drop = f64::from(f_x - value);
            let (ys, xs) = self.covers(at);
            drops.slice_mut(s![.., .., ys.clone(), xs.clone()]).mapv_inplace(|d| d + drop);
            counts.slice_mut(s![.., .., ys, xs]).mapv_inplace(|c| c + 1.0);
        }
        let mut plane = ArrayD::<f32>::zeros(vec![1, 1, height, width]);
        Zip::from(&mut plane).and(&drops).and(&counts).for_each(|p, &d, &c| *p = (d / c) as f32);
        let per_channel = plane.broadcast(vec![1, channels, height, width]);
        per_channel
            .map(|m| m.to_owned().into())
            .ok_or_else(|| Error::Explain("the occlusion map has the wrong shape".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_axis_the_way_captum_counts_them() {
        assert_eq!(starts(224, 16, 8).len(), 27);
        assert_eq!(starts(10, 4, 3), vec![0, 3, 6], "⌈6/3⌉ + 1 windows, the last ending at the edge");
        assert_eq!(starts(11, 4, 3), vec![0, 3, 6, 9], "⌈7/3⌉ + 1 windows, the last cut off at the edge");
        assert_eq!(starts(3, 8, 4), vec![0], "a window larger than the axis covers it once");
        let image = Subject {
            input: ArrayD::zeros(vec![1, 3, 224, 224]),
            target: 0,
            pixels: None,
            custom_baseline: None,
        };
        assert_eq!(Plan::new(&image, &OcclusionConfig::default()).unwrap().len(), 27 * 27 + 1);
    }
}
