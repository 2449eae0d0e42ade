//! What an ONNX file holds, read before it is loaded: its inputs and outputs with their element
//! types and shapes, its operators, where its weights are, and what kind of classifier it looks
//! like. The page shows this when a person brings a model, and fills the description form's
//! guesses from it.

use std::collections::HashSet;

use serde::Serialize;
use tract_onnx::pb::{
    self, tensor_proto::DataLocation, tensor_proto::DataType, tensor_shape_proto::dimension,
};
use tract_onnx::prelude::Framework;

use super::Dim;
use crate::error::{Error, Result};

/// The operators that compute on quantised integers: a model with them runs forward, but the
/// gradient engine cannot differentiate them.
const QUANTISED: &[&str] = &[
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
];

/// A graph input or output as the file declares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    pub name: String,
    /// `float32`, `int64`, …
    pub element: String,
    pub shape: Vec<Dim>,
}

/// What the file is, as far as can be told without running it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub opset: i64,
    /// The exporter that wrote it, with its version.
    pub producer: String,
    pub inputs: Vec<Slot>,
    pub outputs: Vec<Slot>,
    /// Each operator type with how many nodes use it, in order of first use.
    pub operators: Vec<(String, usize)>,
    /// Weights stored in the file.
    pub parameters: usize,
    /// Files the weights are kept in instead, which the page cannot read.
    pub external_data: Vec<String>,
    /// Quantised operators in the graph.
    pub quantised: Vec<String>,
    /// The operator that makes the first output (a `Softmax` suggests probabilities).
    pub output_operator: Option<String>,
    /// The first output's last axis, when it is fixed: how many classes.
    pub classes: Option<usize>,
    pub kind: Kind,
    /// Why Glimpse cannot explain the model, when it cannot.
    pub refusal: Option<String>,
    /// What the person should know before describing it.
    pub notes: Vec<String>,
}

/// What kind of classifier the inputs suggest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Kind {
    /// A 4-D float input: an image, channels first (N×C×H×W) or last (N×H×W×C). A model with
    /// several float inputs names the likeliest image here and the others that could be in
    /// `others`; whichever the description names, the rest are held at zero.
    Image {
        #[serde(flatten)]
        image: ImageInput,
        others: Vec<ImageInput>,
    },
    /// Integer token ids, perhaps with an attention mask and token type ids.
    Text { ids: String, mask: Option<String>, token_types: Option<String>, length: Option<usize> },
    /// Neither, and why.
    Unknown { reason: String },
}

/// An input that could be the image, and how it would take it. The size is `None` where the
/// file leaves it symbolic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInput {
    pub input: String,
    pub layout: Layout,
    pub channels: usize,
    pub height: Option<usize>,
    pub width: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// Reads what `bytes` holds without loading the model.
pub fn inspect(bytes: &[u8]) -> Result<Inspection> {
    let mut reader = bytes;
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut reader)
        .map_err(|e| Error::NotOnnx(crate::model::root_cause(&e)))?;
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;
    let opset = super::default_opset(&model);
    let inputs = inputs(graph);
    let outputs: Vec<Slot> = graph.output.iter().map(slot).collect();
    let mut operators: Vec<(String, usize)> = vec![];
    for node in &graph.node {
        match operators.iter_mut().find(|(op, _)| *op == node.op_type) {
            Some((_, count)) => *count += 1,
            None => operators.push((node.op_type.clone(), 1)),
        }
    }
    let quantised: Vec<String> =
        operators.iter().map(|(op, _)| op).filter(|op| QUANTISED.contains(&op.as_str())).cloned().collect();
    let output_operator = outputs.first().and_then(|o| {
        graph.node.iter().rev().find(|n| n.output.contains(&o.name)).map(|n| n.op_type.clone())
    });
    let classes = outputs.first().and_then(|o| fixed(o.shape.last()));
    let kind = kind(&inputs);
    let external_data = external_data(graph);
    let refusal = refusal(&kind, &outputs, &external_data);
    Ok(Inspection {
        opset: opset.unwrap_or(0),
        producer: format!("{} {}", model.producer_name, model.producer_version).trim().to_owned(),
        notes: notes(&kind, &inputs, &quantised),
        kind,
        refusal,
        output_operator,
        classes,
        inputs,
        outputs,
        operators,
        parameters: graph.initializer.iter().fold(0usize, |sum, t| {
            // A hostile file can declare any dims: saturate rather than overflow.
            let size = t.dims.iter().fold(1usize, |n, &d| n.saturating_mul(usize::try_from(d).unwrap_or(0)));
            sum.saturating_add(size)
        }),
        external_data,
        quantised,
    })
}

/// The graph's inputs as declared, without the weights older exports list among them.
pub(crate) fn inputs(graph: &pb::GraphProto) -> Vec<Slot> {
    let initialised: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph.input.iter().filter(|i| !initialised.contains(i.name.as_str())).map(slot).collect()
}

/// Why the model cannot be explained as a classifier, if it cannot.
fn refusal(kind: &Kind, outputs: &[Slot], external_data: &[String]) -> Option<String> {
    if !external_data.is_empty() {
        return Some(format!(
            "Its weights are kept in another file ({}), which the page cannot read: save the model \
             as one file (onnx.save(model, path, save_as_external_data=False)).",
            external_data.join(", ")
        ));
    }
    if outputs.is_empty() {
        return Some("It has no output.".into());
    }
    match kind {
        Kind::Unknown { reason } => {
            Some(format!("It does not look like an image or text classifier: {reason}."))
        }
        _ => None,
    }
}

/// What the description must supply, and what will not work.
fn notes(kind: &Kind, inputs: &[Slot], quantised: &[String]) -> Vec<String> {
    let mut notes = vec![];
    if let Kind::Image { image, .. } = kind {
        if image.height.is_none() || image.width.is_none() {
            notes.push(
                "The file leaves the image's height or width open: give the size the model was trained at."
                    .into(),
            );
        }
    }
    if let (Kind::Image { image, others }, [_, _, ..]) = (kind, inputs) {
        let rest: Vec<&str> =
            inputs.iter().map(|i| i.name.as_str()).filter(|name| *name != image.input).collect();
        notes.push(if others.is_empty() {
            format!(
                "Its other inputs ({}) are fed zeros: the image goes into {}.",
                rest.join(", "),
                image.input
            )
        } else {
            format!(
                "It has {} inputs: choose which is the image (the guess is {}); the others are held at zero.",
                inputs.len(),
                image.input
            )
        });
    }
    if let Kind::Text { length: None, .. } = kind {
        notes.push("The file leaves the sentence length open: give the length the model takes.".into());
    }
    if !quantised.is_empty() {
        notes.push(format!(
            "It computes on quantised integers ({}): the forward-only methods work, the gradient methods cannot.",
            quantised.join(", ")
        ));
    }
    notes
}

/// The files a graph's initializers name as where their data is.
pub fn external_data(graph: &pb::GraphProto) -> Vec<String> {
    let mut files: Vec<String> = graph
        .initializer
        .iter()
        .filter(|t| t.data_location == Some(DataLocation::External as i32))
        .map(|t| {
            t.external_data
                .iter()
                .find(|e| e.key == "location")
                .map_or_else(|| t.name.clone(), |e| e.value.clone())
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

fn slot(value: &pb::ValueInfoProto) -> Slot {
    let tensor = value.r#type.as_ref().and_then(|t| match &t.value {
        Some(pb::type_proto::Value::TensorType(tensor)) => Some(tensor),
        _ => None,
    });
    let element = tensor
        .and_then(|t| DataType::try_from(t.elem_type).ok())
        .map_or_else(|| "unknown".to_owned(), element_name);
    let shape = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .enumerate()
                .map(|(i, d)| match &d.value {
                    Some(dimension::Value::DimValue(n)) if *n >= 0 => Dim::Fixed(*n as usize),
                    Some(dimension::Value::DimParam(name)) if !name.is_empty() => Dim::Symbolic(name.clone()),
                    _ => Dim::Symbolic(format!("d{i}")),
                })
                .collect()
        })
        .unwrap_or_default();
    Slot { name: value.name.clone(), element, shape }
}

fn element_name(data_type: DataType) -> String {
    match data_type {
        DataType::Float => "float32",
        DataType::Double => "float64",
        DataType::Float16 => "float16",
        DataType::Bfloat16 => "bfloat16",
        DataType::Int64 => "int64",
        DataType::Int32 => "int32",
        DataType::Int8 => "int8",
        DataType::Uint8 => "uint8",
        DataType::Bool => "bool",
        _ => "other",
    }
    .to_owned()
}

fn fixed(dim: Option<&Dim>) -> Option<usize> {
    match dim {
        Some(Dim::Fixed(n)) => Some(*n),
        _ => None,
    }
}

/// Guesses the kind of classifier from its inputs.
fn kind(inputs: &[Slot]) -> Kind {
    let floats = inputs.iter().all(|s| s.element == "float32");
    let integers: Vec<&Slot> =
        inputs.iter().filter(|s| s.element == "int64" || s.element == "int32").collect();
    let names = || inputs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    if inputs.is_empty() {
        return Kind::Unknown { reason: "no input".into() };
    }
    if floats {
        let mut images: Vec<ImageInput> = inputs.iter().filter_map(image_input).collect();
        // The likeliest image: one named so, else the first.
        let named =
            |i: &ImageInput| ["image", "pixel", "img"].iter().any(|w| i.input.to_lowercase().contains(w));
        if let Some(at) = images.iter().position(named) {
            images[..=at].rotate_right(1);
        }
        return match (images.is_empty(), inputs) {
            (false, _) => Kind::Image { image: images.remove(0), others: images },
            (true, [one]) if one.shape.len() == 4 => Kind::Unknown {
                reason: format!("input {} has no axis of 1 or 3 channels second or last", one.name),
            },
            (true, _) => Kind::Unknown { reason: format!("none of its inputs ({}) is an image", names()) },
        };
    }
    if integers.is_empty() {
        return Kind::Unknown {
            reason: format!("no float32 image or integer token input among {}", names()),
        };
    }
    if integers.len() != inputs.len() {
        return Kind::Unknown {
            reason: format!("its inputs ({}) mix integer token ids with tensors of other types", names()),
        };
    }
    let find = |words: &[&str]| {
        integers.iter().find(|s| words.iter().any(|w| s.name.contains(w))).map(|s| s.name.clone())
    };
    let ids = find(&["input_ids", "ids"]).unwrap_or_else(|| integers[0].name.clone());
    let length = integers.iter().find(|s| s.name == ids).and_then(|s| fixed(s.shape.get(1)));
    Kind::Text {
        mask: find(&["attention_mask", "mask"]).filter(|m| *m != ids),
        token_types: find(&["token_type"]).filter(|t| *t != ids),
        ids,
        length,
    }
}

/// How a 4-D float input would take an image: channels second (1 or 3 of them), else last.
fn image_input(slot: &Slot) -> Option<ImageInput> {
    if slot.shape.len() != 4 {
        return None;
    }
    let channels = |at: usize| fixed(slot.shape.get(at)).filter(|&c| c == 1 || c == 3);
    let (layout, channels, (h, w)) = match (channels(1), channels(3)) {
        (Some(c), _) => (Layout::Nchw, c, (2, 3)),
        (None, Some(c)) => (Layout::Nhwc, c, (1, 2)),
        (None, None) => return None,
    };
    Some(ImageInput {
        input: slot.name.clone(),
        layout,
        channels,
        height: fixed(slot.shape.get(h)),
        width: fixed(slot.shape.get(w)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &str, element: &str, shape: &[usize]) -> Slot {
        Slot {
            name: name.into(),
            element: element.into(),
            shape: shape.iter().map(|&n| Dim::Fixed(n)).collect(),
        }
    }

    #[test]
    fn inputs_say_what_kind_of_classifier_it_is() {
        let text = [
            slot("input_ids", "int64", &[1, 128]),
            slot("token_type_ids", "int64", &[1, 128]),
            slot("attention_mask", "int64", &[1, 128]),
        ];
        let want = Kind::Text {
            ids: "input_ids".into(),
            mask: Some("attention_mask".into()),
            token_types: Some("token_type_ids".into()),
            length: Some(128),
        };
        assert_eq!(kind(&text), want);
        let image = |input: &str, layout, channels, side| ImageInput {
            input: input.into(),
            layout,
            channels,
            height: Some(side),
            width: Some(side),
        };
        // Several inputs: the one named as an image is the guess, the others could be.
        let three = [
            slot("scale", "float32", &[1, 1]),
            slot("left", "float32", &[1, 3, 8, 8]),
            slot("right_image", "float32", &[1, 8, 8, 3]),
        ];
        let want = Kind::Image {
            image: image("right_image", Layout::Nhwc, 3, 8),
            others: vec![image("left", Layout::Nchw, 3, 8)],
        };
        assert_eq!(kind(&three), want);
        let odd = [slot("x", "float32", &[1, 5, 8, 8])];
        assert!(matches!(kind(&odd), Kind::Unknown { reason } if reason.contains("1 or 3 channels")));
        let grey_nhwc = [slot("x", "float32", &[1, 28, 28, 1])];
        let want = Kind::Image { image: image("x", Layout::Nhwc, 1, 28), others: vec![] };
        assert_eq!(kind(&grey_nhwc), want);
        let mixed = [slot("x", "float32", &[1, 3, 8, 8]), slot("ids", "int64", &[1, 8])];
        assert!(matches!(kind(&mixed), Kind::Unknown { reason } if reason.contains("mix integer token ids")));
        let half = [slot("x", "float16", &[1, 3, 8, 8])];
        assert!(matches!(kind(&half), Kind::Unknown { reason } if reason.contains("no float32 image")));
    }
}
