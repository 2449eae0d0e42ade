//! A BERT-style text classifier: its description, its tokenizer, and the two single-input
//! models Glimpse makes from its ONNX graph (see [`crate::model::surgery`]):
//!
//! - the *reading* model takes the token ids (as f32) and derives the attention mask from them
//!   (a padding id is not attended to), and gives the logits, every layer's attention and the
//!   embedding layer's output. The forward-only methods replace tokens by padding here. A graph
//!   that leaves the length open reads each sentence at its own length (one plan per length, see
//!   [`crate::model`]), so a 6-token sentence costs 6 tokens; one that fixes it, or that tract
//!   cannot follow with the length open, reads every sentence padded to `max_length`;
//! - the *embedding* model, made per sentence, starts at the embedding layer's output with that
//!   sentence's attention mask fixed: the gradient methods attribute to the embeddings there,
//!   as Captum's `LayerIntegratedGradients` on the embedding layer does.

use ndarray::{Array2, ArrayD, Axis, Ix4};
use serde::{Deserialize, Serialize};

use super::anatomy;
use super::tokenizer::{Encoding, TextTokenizer};
use super::TextMethod;
use crate::error::{Error, Result};
use crate::explain::Explainer;
use crate::model::surgery::{operate, Surgery};
use crate::model::Model;
use crate::tensor::Value;

/// The longest sentence a description may ask for, in tokens.
pub const MAX_LENGTH: usize = 4096;

/// A text model's sidecar file (`models/minilm-sentiment.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextModelConfig {
    pub name: String,
    pub labels: Vec<String>,
    /// The tokenizer file, beside the model.
    pub tokenizer: String,
    /// The most tokens a sentence keeps, special tokens included; a graph that fixes the length
    /// reads every sentence padded to it.
    pub max_length: usize,
    pub inputs: TextInputs,
    pub outputs: TextOutputs,
    pub special_tokens: SpecialTokens,
    /// How the classifier reduces the tokens' final states to one vector.
    #[serde(default)]
    pub pooling: Pooling,
    /// Sentences the page offers.
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInputs {
    pub input_ids: String,
    pub attention_mask: String,
    /// BERT's segment ids, when the graph takes them: all zeros (one sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_ids: Option<String>,
}

/// The tensors Glimpse reads, by name: outputs of the graph, or tensors inside it. Those left
/// out are found in the graph ([`crate::text::anatomy`]), as a model exported with only its
/// logits needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextOutputs {
    pub logits: String,
    /// One per layer, each batch × heads × T × T, first layer first.
    #[serde(default)]
    pub attentions: Vec<String>,
    /// The embedding layer's output, batch × T × hidden.
    #[serde(default)]
    pub embeddings: String,
}

/// How a classifier reads its tokens' final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// The [CLS] token's state (BERT's pooler).
    #[default]
    Cls,
    /// The mean over the real tokens (sentence-transformers).
    Mean,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialTokens {
    pub pad: u32,
    pub cls: u32,
    pub sep: u32,
}

impl TextModelConfig {
    pub fn from_json(bytes: &[u8]) -> Result<TextModelConfig> {
        let config: TextModelConfig =
            serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        if config.max_length < 2 || config.labels.is_empty() {
            return Err(Error::Config("a text model needs max_length ≥ 2 and at least one label".into()));
        }
        if config.max_length > MAX_LENGTH {
            return Err(Error::Config(format!(
                "max_length is {}; Glimpse reads at most {MAX_LENGTH} tokens a sentence",
                config.max_length
            )));
        }
        Ok(config)
    }
}

/// What the model makes of one sentence.
#[derive(Debug, Clone)]
pub struct Reading {
    pub encoding: Encoding,
    pub logits: Vec<f32>,
    /// Per layer, heads × T × T.
    pub attentions: Vec<ndarray::Array3<f32>>,
    /// 1 × T × hidden.
    pub embeddings: ArrayD<f32>,
}

/// How the reading model takes a sentence's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// Each sentence at its own length: the graph leaves it open.
    Own,
    /// Every sentence padded to `max_length`.
    Padded,
}

/// The reading model's surgery: ids fed as f32, the mask derived from them, token types zeros;
/// one symbol left open at most (tract cannot flatten a shape with two in it): the batch fixed
/// to one sentence when the length is the sentence's, the length fixed when it is padded.
fn reading_surgery(config: &TextModelConfig, length: Length) -> Surgery {
    let ids = config.inputs.input_ids.clone();
    Surgery {
        float_input: Some(ids.clone()),
        mask_from_ids: Some((config.inputs.attention_mask.clone(), i64::from(config.special_tokens.pad))),
        zeros_like_ids: config.inputs.token_type_ids.iter().cloned().collect(),
        fixed: vec![match length {
            Length::Own => (ids, 0, 1),
            Length::Padded => (ids, 1, config.max_length),
        }],
        ..Surgery::default()
    }
}

/// The reading model: the graph after its surgery, with the attentions and embeddings that are
/// not already outputs exposed as outputs.
fn reading_model(onnx: &[u8], config: &TextModelConfig, outputs: &[String], length: Length) -> Result<Model> {
    let wanted = config.outputs.attentions.iter().chain(std::iter::once(&config.outputs.embeddings));
    let exposed: Vec<String> =
        wanted.filter(|name| !name.is_empty() && !outputs.contains(name)).cloned().collect();
    Model::from_bytes_exposing(&operate(onnx, &reading_surgery(config, length))?, &exposed)
}

/// The reading model at each sentence's own length, if the graph leaves the length open and
/// tract can plan it so: planned now for the shortest sentence ([CLS] and [SEP]), so that a
/// graph that cannot run at an open length is read padded instead.
fn own_length_model(onnx: &[u8], config: &TextModelConfig, outputs: &[String], open: bool) -> Option<Model> {
    if !open {
        return None;
    }
    let model = reading_model(onnx, config, outputs, Length::Own).ok()?;
    model.prepare(&[1, 2]).ok()?;
    Some(model)
}

/// A text classifier, ready to read sentences.
#[derive(Debug)]
pub struct TextModel {
    pub config: TextModelConfig,
    pub tokenizer: TextTokenizer,
    onnx: Vec<u8>,
    reading: Model,
    length: Length,
    /// The graph's own outputs.
    outputs: Vec<String>,
}

impl TextModel {
    pub fn from_bytes(onnx: &[u8], config_json: &[u8], tokenizer_json: &[u8]) -> Result<TextModel> {
        let mut config = TextModelConfig::from_json(config_json)?;
        let mut tokenizer = TextTokenizer::from_json(tokenizer_json, config.max_length)?;
        tokenizer.pad_with(config.special_tokens.pad);
        let found = anatomy::find(onnx, &config.inputs.input_ids)?;
        if let Some(rows) = found.vocabulary {
            let special = &config.special_tokens;
            let largest = [special.pad, special.cls, special.sep].into_iter().max().unwrap_or(0) as usize;
            if tokenizer.vocabulary() > rows || largest >= rows {
                return Err(Error::Config(format!(
                    "The tokenizer knows {} tokens (special ids up to {largest}), but the model's embedding \
                     table has {rows} rows: it is not this model's tokenizer.",
                    tokenizer.vocabulary()
                )));
            }
        }
        if config.outputs.attentions.is_empty() {
            config.outputs.attentions = found.attentions;
        }
        if config.outputs.embeddings.is_empty() {
            config.outputs.embeddings = found.embeddings.unwrap_or_default();
        }
        let (length, reading) = match own_length_model(onnx, &config, &found.outputs, found.length_open) {
            Some(reading) => (Length::Own, reading),
            None => (Length::Padded, reading_model(onnx, &config, &found.outputs, Length::Padded)?),
        };
        if length == Length::Own {
            tokenizer.no_padding();
        }
        Ok(TextModel { config, tokenizer, onnx: onnx.to_vec(), reading, length, outputs: found.outputs })
    }

    /// Whether sentences are read at their own length or padded.
    pub fn length(&self) -> Length {
        self.length
    }

    /// The methods that cannot run on this model, each with why: the attention methods when
    /// the graph has no attention softmax, the gradient methods when it has no embedding layer
    /// Glimpse can find.
    pub fn unavailable(&self) -> Vec<(&'static str, String)> {
        use crate::explain::schema::Needs;
        TextMethod::all()
            .iter()
            .filter_map(|m| {
                let why = match m.needs() {
                    Needs::Attention if self.config.outputs.attentions.is_empty() => {
                        "Glimpse found no attention softmax in the graph (a Softmax whose output \
                         multiplies the values): name each layer's in the description \
                         (outputs.attentions)."
                    }
                    Needs::Gradients if self.config.outputs.embeddings.is_empty() => {
                        "Glimpse found no embedding layer in the graph (the tensor the first weight \
                         matrix multiplies): name it in the description (outputs.embeddings)."
                    }
                    _ => return None,
                };
                Some((m.descriptor().id, why.to_owned()))
            })
            .collect()
    }

    /// The same description and tokenizer on another ONNX file of the same inputs and outputs
    /// (a randomised copy of this one).
    pub fn with_onnx(&self, onnx: &[u8]) -> Result<TextModel> {
        let reading = reading_model(onnx, &self.config, &self.outputs, self.length)?;
        Ok(TextModel {
            config: self.config.clone(),
            tokenizer: self.tokenizer.clone(),
            onnx: onnx.to_vec(),
            reading,
            length: self.length,
            outputs: self.outputs.clone(),
        })
    }

    /// The ONNX file the model was made from.
    pub fn onnx(&self) -> &[u8] {
        &self.onnx
    }

    /// The reading model: f32 token ids (batch × T) in, every output out.
    pub fn reading_model(&self) -> &Model {
        &self.reading
    }

    /// Token ids as the reading model's input, 1 × T.
    pub fn ids_tensor(ids: &[u32]) -> ArrayD<f32> {
        ArrayD::from_shape_fn(vec![1, ids.len()], |i| ids[i[1]] as f32)
    }

    /// Tokenises and reads one sentence.
    pub fn read(&self, text: &str) -> Result<Reading> {
        let encoding = self.tokenizer.encode(text)?;
        let (logits, attentions, embeddings) = self.run(&encoding.ids)?;
        Ok(Reading { encoding, logits, attentions, embeddings })
    }

    /// The embedding layer's output for these ids, 1 × T × hidden.
    pub fn embeddings(&self, ids: &[u32]) -> Result<ArrayD<f32>> {
        Ok(self.run(ids)?.2)
    }

    #[allow(clippy::type_complexity)]
    fn run(&self, ids: &[u32]) -> Result<(Vec<f32>, Vec<ndarray::Array3<f32>>, ArrayD<f32>)> {
        let outputs = self.reading.run_all(TextModel::ids_tensor(ids))?;
        let named = |name: &str| -> Result<ArrayD<f32>> {
            let index = self
                .reading
                .outputs()
                .iter()
                .position(|o| o.name == name)
                .ok_or_else(|| Error::Config(format!("the model has no output {name}")))?;
            match &outputs[index] {
                Value::F32(v) => Ok(v.clone()),
                _ => Err(Error::ModelRun(format!("output {name} is not f32"))),
            }
        };
        let logits = named(&self.config.outputs.logits)?.iter().copied().collect();
        let attentions = self
            .config
            .outputs
            .attentions
            .iter()
            .map(|name| {
                let a =
                    named(name)?.into_dimensionality::<Ix4>().map_err(|e| Error::ModelRun(e.to_string()))?;
                Ok(a.index_axis(Axis(0), 0).to_owned())
            })
            .collect::<Result<Vec<_>>>()?;
        let embeddings = match self.config.outputs.embeddings.as_str() {
            "" => ArrayD::zeros(vec![0]),
            name => named(name)?,
        };
        Ok((logits, attentions, embeddings))
    }

    /// The embedding model for one sentence's attention mask: 1 × T × hidden embeddings in;
    /// gradients with respect to them out.
    pub fn embedding_explainer(&self, encoding: &Encoding) -> Result<Explainer> {
        Explainer::from_bytes(&self.embedding_onnx(encoding)?)
    }

    /// The ONNX graph of the embedding model for one sentence's attention mask.
    pub(super) fn embedding_onnx(&self, encoding: &Encoding) -> Result<Vec<u8>> {
        let mask = Array2::from_shape_fn((1, encoding.attention_mask.len()), |(_, j)| {
            i64::from(encoding.attention_mask[j])
        });
        let hidden = self.hidden_size()?;
        let surgery = Surgery {
            constants: vec![(self.config.inputs.attention_mask.clone(), mask.into_dyn())],
            cut_at: Some((
                self.config.outputs.embeddings.clone(),
                vec![None, Some(encoding.ids.len()), Some(hidden)],
            )),
            ..Surgery::default()
        };
        operate(&self.onnx, &surgery)
    }

    /// Attention heads per layer, from the first attention output's declared shape; 0 when the
    /// model has no attention Glimpse can read.
    pub fn heads(&self) -> Result<usize> {
        let Some(name) = self.config.outputs.attentions.first() else { return Ok(0) };
        let output = self.reading.outputs().iter().find(|o| &o.name == name);
        match output.map(|o| o.shape.as_slice()) {
            Some([_, crate::model::Dim::Fixed(heads), _, _]) => Ok(*heads),
            _ => Err(Error::Config(format!(
                "output {name} is not batch × a fixed number of heads × tokens × tokens"
            ))),
        }
    }

    /// The width of the embeddings, from the reading model's declared output shape.
    fn hidden_size(&self) -> Result<usize> {
        let name = &self.config.outputs.embeddings;
        let output = self.reading.outputs().iter().find(|o| &o.name == name);
        match output.map(|o| o.shape.as_slice()) {
            Some([_, _, crate::model::Dim::Fixed(hidden)]) => Ok(*hidden),
            _ => Err(Error::Config(format!("output {name} is not batch × tokens × a fixed width"))),
        }
    }

    /// The baseline ids of the gradient methods: every token padding but [CLS] and [SEP], as
    /// Captum's text tutorials do.
    pub fn baseline_ids(&self, encoding: &Encoding) -> Vec<u32> {
        let special = &self.config.special_tokens;
        encoding
            .ids
            .iter()
            .map(|&id| if id == special.cls || id == special.sep { id } else { special.pad })
            .collect()
    }
}
