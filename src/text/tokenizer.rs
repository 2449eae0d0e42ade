//! A model's own tokenizer, read from its `tokenizer.json` by Hugging Face's `tokenizers` (the
//! implementation the file was written for, built for wasm with `unstable_wasm`), so that a
//! user's BERT-style model brings its own vocabulary and rules. The length is the model's:
//! truncated to `max_length`, whatever the file says (MiniLM's says 128), and padded to it
//! only for a model whose graph fixes the length.

use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{Error, Result};

/// The most characters a sentence may have: far more than fits in any model's length, and
/// little enough that tokenising it is instant.
pub const MAX_CHARS: usize = 100_000;

/// A tokenizer that truncates to the model's length, and pads to it if asked.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_length: usize,
}

/// One sentence, tokenised, truncated to the model's length (and padded to it, if the model
/// reads only that length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// Each token's span in the sentence, in UTF-8 bytes; (0, 0) for special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// 1 for real tokens (special ones included), 0 for padding.
    pub attention_mask: Vec<u32>,
    /// Whether the sentence was longer than the model reads.
    pub truncated: bool,
}

impl Encoding {
    /// Tokens that are not padding.
    pub fn len_unpadded(&self) -> usize {
        self.attention_mask.iter().filter(|&&m| m == 1).count()
    }
}

impl TextTokenizer {
    /// Reads a `tokenizer.json`; at most `max_length` tokens per sentence, special tokens
    /// included, and padded to `max_length`.
    pub fn from_json(bytes: &[u8], max_length: usize) -> Result<TextTokenizer> {
        let mut inner = Tokenizer::from_bytes(bytes)
            .map_err(|e| Error::Text(format!("The tokenizer file cannot be read: {e}")))?;
        let pad_id = inner.get_padding().map_or(0, |p| p.pad_id);
        let pad_token = inner.get_padding().map_or_else(|| "[PAD]".to_owned(), |p| p.pad_token.clone());
        inner
            .with_truncation(Some(TruncationParams { max_length, ..TruncationParams::default() }))
            .map_err(|e| Error::Text(format!("The tokenizer cannot truncate to {max_length} tokens: {e}")))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(max_length),
            direction: PaddingDirection::Right,
            pad_id,
            pad_token,
            ..PaddingParams::default()
        }));
        Ok(TextTokenizer { inner, max_length })
    }

    /// Leaves each sentence at its own length, for a model that reads any length.
    pub fn no_padding(&mut self) {
        self.inner.with_padding(None);
    }

    /// Pads with token `id` (the model's padding id, which the description gives: a tokenizer
    /// file often says none, and RoBERTa's is 1, not 0).
    pub fn pad_with(&mut self, id: u32) {
        let token = self.inner.id_to_token(id).unwrap_or_else(|| "[PAD]".to_owned());
        if let Some(padding) = self.inner.get_padding_mut() {
            padding.pad_id = id;
            padding.pad_token = token;
        }
    }

    /// How many tokens it knows, added tokens included: ids run below this.
    pub fn vocabulary(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Tokenises one sentence. An empty (or all-space) sentence or one of more than
    /// [`MAX_CHARS`] characters is refused with a message for the page.
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        if text.trim().is_empty() {
            return Err(Error::Text("Type a sentence first: this one is empty.".into()));
        }
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return Err(Error::Text(format!(
                "The text has {chars} characters; Glimpse reads up to {MAX_CHARS} (and the model only its first {} tokens).",
                self.max_length
            )));
        }
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Text(format!("The text cannot be tokenised: {e}")))?;
        Ok(Encoding {
            ids: encoding.get_ids().to_vec(),
            tokens: encoding.get_tokens().to_vec(),
            offsets: encoding.get_offsets().to_vec(),
            attention_mask: encoding.get_attention_mask().to_vec(),
            truncated: !encoding.get_overflowing().is_empty(),
        })
    }
}
