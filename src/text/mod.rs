//! Text: tokenising a sentence for a BERT-style model, and what attention says about it.

pub mod model;
pub mod rollout;
pub mod tokenizer;

pub use model::{Reading, TextModel, TextModelConfig};
pub use tokenizer::{Encoding, TextTokenizer};
