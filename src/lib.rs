//! Glimpse's core: bytes in, numbers out. It knows nothing of the browser or the file system;
//! the page (`web`), the CLI (`src/bin`) and the tests decide where bytes come from.

// A panic in the page's worker kills the engine: errors are values here.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod classify;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod grad;
pub mod labels;
pub mod model;
pub mod preprocess;
pub mod render;
pub mod resample;
pub mod session;
pub mod tensor;
pub mod text;

#[cfg(target_arch = "wasm32")]
mod web;

pub use classify::{Classification, ImageClassifier, Prediction};
pub use config::ModelConfig;
pub use error::{Error, Result};
pub use model::Model;
pub use preprocess::RgbaPixels;
