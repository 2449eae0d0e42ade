//! The one error type the core returns. Every message is written for the person using the page.

/// Everything that can go wrong between bytes in and numbers out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("This file is not an ONNX model ({0}).")]
    NotOnnx(String),
    #[error("The model uses operators Glimpse cannot run: {}.", .0.join(", "))]
    UnsupportedOps(Vec<String>),
    #[error("Gradients cannot pass through these operators yet: {}.", .0.join(", "))]
    NotDifferentiable(Vec<String>),
    #[error("The model could not be prepared: {0}")]
    ModelPrepare(String),
    #[error("The model failed while running: {0}")]
    ModelRun(String),
    #[error("The input has shape {got:?}, but the model expects {expected}.")]
    InputShape { got: Vec<usize>, expected: String },
    #[error("The model description (JSON) is invalid: {0}")]
    Config(String),
    #[error("{0}")]
    Image(String),
    #[error("This is not a readable .npy tensor: {0}")]
    Npy(String),
    #[error("{0}")]
    Explain(String),
    #[error("{0}")]
    Text(String),
    /// A setting the method's schema does not allow.
    #[error("{0}")]
    Setting(String),
    /// An internal invariant broke: not the user's doing.
    #[error("This is a bug in Glimpse, not something you did: {0}. Please report it.")]
    Bug(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
