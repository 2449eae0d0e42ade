//! How far a map can be trusted: metrics that hold a map to the model it explains. Each metric
//! is a type in its own file implementing [`Metric`], listed in `registry.rs`; a [`Measure`]
//! is one with its settings, read and checked as a method is.
//!
//! Deletion and insertion (Petsiuk et al. 2018, with the RISE repository's `evaluation.py` as
//! the definition) move the features of the input one step at a time, in the order the map
//! ranks them, from one end of a [`Sweep`] to the other, and record the target's softmax
//! probability after each step: a [`Curve`], and its area. The features are the pixels of an
//! image (every channel of a pixel moves together) or the tokens of a sentence other than
//! [CLS] and [SEP] (a removed token is [PAD], so the derived mask drops it). The sweep is a
//! plan of forward passes like a forward-only method's, so the page's workers share it.
//!
//! Model randomisation (Adebayo et al. 2018) re-initialises the model's parameterised layers
//! (`model::randomise`), from the logits down, and compares each map recomputed on the
//! randomised model with the original one (`similarity.rs`): a map that survives the
//! randomisation of the weights it claims to explain does not explain them. Sensitivity
//! (`sensitivity.rs`, as Captum's `sensitivity_max`) remakes the map on inputs moved by small
//! uniform noise and takes the largest relative change. Soft stability (`soft_stability.rs`, Jin
//! et al. 2025) shows the map's top features alone, then with up to r more, and counts how often
//! the prediction holds; its samples are a plan of forward passes ([`Passes`]) as a sweep's are.

mod deletion;
mod features;
mod insertion;
mod passes;
mod randomisation;
mod registry;
mod sensitivity;
mod similarity;
mod soft_stability;
mod sweep;

pub use features::Features;
pub use insertion::{gkern, rise_blur, RISE_KERNEL, RISE_SIGMA};
pub use passes::{Passes, Scored};
pub use randomisation::{compare, Mode, RandomisationConfig, Similarity, Step};
pub use registry::{Kind, Measure, Metric, MetricDescriptor};
pub use sensitivity::{noise, relative_change, Changes, SensitivityConfig};
pub use similarity::{spearman, ssim};
pub use soft_stability::{half_width, hoeffding, SoftStabilityConfig, Stability, StabilityRate};
pub use sweep::{ranking, step_counts, trapezoid, Curve, Order, Sweep, SweepConfig};
