//! RISE (Petsiuk et al. 2018): randomised input sampling. Draw N random binary masks on a coarse
//! s×s grid, each cell kept with probability p; upsample each bilinearly to (s + 1) cells' worth
//! of pixels and crop it at a random shift, so mask edges are soft and fall anywhere; run the
//! model on the masked image x ⊙ M (0 in the model's input space where M is 0); and average the
//! masks weighted by the target's probability: S = Σᵢ P(c | x ⊙ Mᵢ) · Mᵢ / (N · p).
//!
//! Forward passes only, N of them, batched; every mask comes from the seed. The score is the
//! softmax probability of the target, as in the paper. Defaults: s = 7 and p = 0.5 as in the
//! paper; N = 1000 rather than the paper's 4000, so a map takes seconds, not minutes (the map's
//! noise falls as 1/√N).

use ndarray::{Array2, ArrayD, Axis};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::baseline::rand_chacha;
use super::perturbation::{Outcome, Perturbations, Score};
use super::schema::{Cost, Descriptor, Needs, Setting, Units};
use super::{Display, Explainer, ImageMethod, Settings, Subject};
use crate::error::{Error, Result};
use crate::resample::{bilinear, Corners};

pub struct Rise;

impl ImageMethod for Rise {
    fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            "rise",
            "RISE",
            "mean of {masks} random masks weighted by P(class | masked image), above its lowest value",
            Needs::ForwardPasses,
            Cost::Many,
            Display::AboveMinimum,
            Units::Own,
        )
        .settings::<RiseConfig>(vec![
            Setting::integer("masks", "Masks", 1, MAX_MASKS as u64)
                .help("random masks, one forward pass each")
                .source("the paper's 4000, lowered so that a map takes seconds"),
            Setting::integer("grid", "Grid", 1, MAX_GRID as u64)
                .help("cells per side")
                .source("the paper's s = 7"),
            Setting::positive("keep", "Keep", 0.0, 1.0)
                .help("probability that a cell shows the image")
                .source("the paper's p = 0.5"),
            Setting::seed().help("of the masks"),
        ])
    }

    fn plan(&self, _: &Explainer, subject: &Subject, settings: &Settings) -> Result<Box<dyn Perturbations>> {
        Ok(Box::new(Plan::new(subject, &settings.config()?)?))
    }
}

/// Settings of RISE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiseConfig {
    /// How many masks (forward passes).
    pub masks: usize,
    /// The coarse grid's side s.
    pub grid: usize,
    /// The probability p that a grid cell is kept.
    pub keep: f32,
    pub seed: u64,
}

impl Default for RiseConfig {
    fn default() -> Self {
        RiseConfig { masks: 1000, grid: 7, keep: 0.5, seed: 0 }
    }
}

/// The most masks RISE accepts.
pub const MAX_MASKS: usize = 20_000;

/// The finest grid: 64 cells of 3.5 pixels across a 224-pixel image.
pub const MAX_GRID: usize = 64;

/// The most grid cells a plan holds over all its masks (masks × grid²), 4 bytes each: 64 MB.
pub const MAX_CELLS: usize = 16 << 20;

/// One mask's random draws: the grid's cells and the shift of the crop.
#[derive(Debug, Clone)]
struct Draw {
    cells: Array2<f32>,
    shift: (usize, usize),
}

/// A mask at `height`×`width`: the grid upsampled to (s + 1) cells and cropped at the shift.
fn mask(draw: &Draw, grid: usize, height: usize, width: usize) -> Array2<f32> {
    let (cell_h, cell_w) = (height.div_ceil(grid), width.div_ceil(grid));
    let big = bilinear(draw.cells.view(), (grid + 1) * cell_h, (grid + 1) * cell_w, Corners::HalfPixel);
    let (dy, dx) = draw.shift;
    big.slice(ndarray::s![dy..dy + height, dx..dx + width]).to_owned()
}

/// RISE's inputs: one masked image per draw.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    input: ArrayD<f32>,
    draws: Vec<Draw>,
    grid: usize,
    keep: f32,
}

impl Plan {
    pub fn new(subject: &Subject, config: &RiseConfig) -> Result<Plan> {
        let [_, height, width] = subject.image_shape("RISE")?;
        let RiseConfig { masks, grid, keep, seed } = *config;
        let valid =
            (1..=MAX_MASKS).contains(&masks) && (1..=MAX_GRID).contains(&grid) && keep > 0.0 && keep <= 1.0;
        if !valid {
            return Err(Error::Setting(format!(
                "RISE needs 1 to {MAX_MASKS} masks, a grid of 1 to {MAX_GRID} cells and 0 < p ≤ 1; they are {masks}, {grid} and {keep}."
            )));
        }
        if masks * grid * grid > MAX_CELLS {
            return Err(Error::Setting(format!(
                "RISE's {masks} masks of {grid}×{grid} cells would need {} MB; lower the masks or the grid (at most {} million cells in all).",
                (masks * grid * grid * 4) >> 20,
                MAX_CELLS >> 20
            )));
        }
        let mut rng = rand_chacha(seed);
        let (cell_h, cell_w) = (height.div_ceil(grid), width.div_ceil(grid));
        let draws = (0..masks)
            .map(|_| Draw {
                cells: Array2::from_shape_fn((grid, grid), |_| {
                    if rng.random::<f32>() < keep {
                        1.0
                    } else {
                        0.0
                    }
                }),
                shift: (rng.random_range(0..cell_h), rng.random_range(0..cell_w)),
            })
            .collect();
        Ok(Plan { input: subject.input.clone(), draws, grid, keep })
    }

    fn mask(&self, i: usize) -> Array2<f32> {
        mask(&self.draws[i], self.grid, self.input.shape()[2], self.input.shape()[3])
    }
}

impl Perturbations for Plan {
    fn len(&self) -> usize {
        self.draws.len()
    }

    fn score(&self) -> Score {
        Score::Probability
    }

    /// The image times mask i.
    fn input(&self, i: usize) -> ArrayD<f32> {
        let m = self.mask(i);
        let mut input = self.input.clone();
        for mut channel in input.axis_iter_mut(Axis(1)) {
            channel.index_axis_mut(Axis(0), 0).zip_mut_with(&m, |v, &m| *v *= m);
        }
        input
    }

    /// The masks averaged with the target's probabilities as weights.
    fn finish(&self, probabilities: &[f32]) -> Result<Outcome> {
        let [_, channels, height, width] = *self.input.shape() else {
            return Err(Error::Bug("the RISE input is no longer an image".into()));
        };
        let mut saliency = Array2::<f64>::zeros((height, width));
        for (i, &probability) in probabilities.iter().enumerate() {
            saliency.zip_mut_with(&self.mask(i), |s, &m| *s += f64::from(probability) * f64::from(m));
        }
        let scale = 1.0 / (self.draws.len() as f64 * f64::from(self.keep));
        let plane = saliency.mapv(|s| (s * scale) as f32);
        let map = plane.broadcast((1, channels, height, width)).map(|m| m.to_owned().into_dyn().into());
        map.ok_or_else(|| Error::Explain("the RISE map has the wrong shape".into()))
    }
}
