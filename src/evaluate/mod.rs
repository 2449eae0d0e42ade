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

mod deletion;
mod insertion;
mod registry;
mod sweep;

pub use insertion::{gkern, rise_blur, RISE_KERNEL, RISE_SIGMA};
pub use registry::{Measure, Metric, MetricDescriptor};
pub use sweep::{ranking, step_counts, trapezoid, Curve, Features, Order, Sweep, SweepConfig};
