//! Text: tokenising a sentence for a BERT-style model, and what attention says about it.

pub mod anatomy;
pub mod explain;
pub mod model;
pub mod rollout;
pub mod tokenizer;

pub use explain::{Sentence, TextMethod, TokenAttribution, TokenPlan};
pub use model::{Length, Pooling, Reading, TextModel, TextModelConfig};
pub use tokenizer::{Encoding, TextTokenizer};
