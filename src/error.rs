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
    #[error("The input has shape {}, but the model expects {expected}.", shape(got))]
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

/// A shape as a person reads it: 1×3×224×224 (a scalar's is "scalar").
pub fn shape(dims: &[usize]) -> String {
    if dims.is_empty() {
        return "scalar".into();
    }
    dims.iter().map(ToString::to_string).collect::<Vec<_>>().join("×")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, formatted: a full sentence in the person's words, with no Rust `Debug`
    /// text (`Some(…)`, `[1, 3]`, `0..10`) in it.
    #[test]
    fn every_error_reads_as_a_sentence() {
        let variants = [
            Error::NotOnnx("the file is empty".into()),
            Error::UnsupportedOps(vec!["Det".into(), "Unique".into()]),
            Error::NotDifferentiable(vec!["Cos".into()]),
            Error::ModelPrepare("node n (Conv): strides is [0, 0], and each must be from 1 to 65536.".into()),
            Error::ModelRun("the output is not f32.".into()),
            Error::InputShape { got: vec![1, 3, 2, 2], expected: "1×3×224×224".into() },
            Error::Config("missing field `labels`.".into()),
            Error::Image("The image is empty (0 pixels).".into()),
            Error::Npy("the header is cut short.".into()),
            Error::Explain("Class 5 is outside the model's 3 classes.".into()),
            Error::Text("The sentence is empty.".into()),
            Error::Setting("RISE: “Grid” must be a whole number from 1 to 64; it is 100000.".into()),
            Error::Bug("2 scores for 3 passes".into()),
        ];
        for error in variants {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_uppercase()), "{text}");
            assert!(text.ends_with('.'), "{text}");
            assert!(!text.contains("Some(") && !text.contains("..") && !text.contains("[1, 3"), "{text}");
        }
        assert_eq!(
            Error::InputShape { got: vec![1, 3, 2, 2], expected: "1×3×224×224".into() }.to_string(),
            "The input has shape 1×3×2×2, but the model expects 1×3×224×224."
        );
        assert!(Error::Bug("x".into()).to_string().contains("a bug in Glimpse"));
    }
}
