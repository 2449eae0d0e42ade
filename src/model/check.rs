//! Checks a graph's attributes before tract or the gradient engine sees them. Both index by
//! them: a stride or kernel of 0 divides by zero, a short `pads` reads past its end, a `perm`
//! that is not a permutation once asked tract for memory without end, and on wasm a panic
//! cannot be caught. Each error names the node and says what is wrong, for the person who
//! exported the model.

use tract_onnx::pb;

use crate::error::{Error, Result};

/// The largest kernel side, stride, dilation or block size accepted: far beyond any real model.
const MAX_WINDOW: i64 = 1 << 16;
/// The largest padding accepted on one side.
const MAX_PAD: i64 = 1 << 20;
/// The largest rank an attribute can describe.
const MAX_RANK: usize = 64;

/// Every node's attributes, in this graph and in the graphs nested in its attributes.
pub(crate) fn attributes(model: &pb::ModelProto) -> Result<()> {
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx("the file holds no graph".into()))?;
    graph_attributes(graph)
}

fn graph_attributes(graph: &pb::GraphProto) -> Result<()> {
    for (index, node) in graph.node.iter().enumerate() {
        node_attributes(node, graph, index)?;
        for attribute in &node.attribute {
            for nested in attribute.g.iter().chain(&attribute.graphs) {
                graph_attributes(nested)?;
            }
        }
    }
    Ok(())
}

fn node_attributes(node: &pb::NodeProto, graph: &pb::GraphProto, index: usize) -> Result<()> {
    let check = Check { node, index };
    match node.op_type.as_str() {
        "Conv" | "ConvTranspose" | "ConvInteger" | "QLinearConv" | "MaxPool" | "AveragePool" | "LpPool"
        | "MaxUnpool" => check.window(),
        "Transpose" => check.permutation(),
        "Split" => check.each("split", "a size", |v| v >= 0),
        "DepthToSpace" | "SpaceToDepth" => check.positive("blocksize"),
        "LRN" => check.positive("size"),
        "Slice" => check.slice_steps(graph),
        "Gather" => check.gather_indices(graph),
        _ => Ok(()),
    }
}

struct Check<'a> {
    node: &'a pb::NodeProto,
    index: usize,
}

impl Check<'_> {
    fn fail<T>(&self, what: String) -> Result<T> {
        let name =
            if self.node.name.is_empty() { format!("#{}", self.index + 1) } else { self.node.name.clone() };
        Err(Error::ModelPrepare(format!("node {name} ({}): {what}.", self.node.op_type)))
    }

    fn ints(&self, name: &str) -> Option<&[i64]> {
        self.node.attribute.iter().find(|a| a.name == name).map(|a| a.ints.as_slice())
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
    }

    /// Every element of the list attribute `name`, if present, satisfies `ok`.
    fn each(&self, name: &str, what: &str, ok: impl Fn(i64) -> bool) -> Result<()> {
        match self.ints(name) {
            Some(values) if values.len() > MAX_RANK => {
                self.fail(format!("{name} has {} entries; at most {MAX_RANK} make sense", values.len()))
            }
            Some(values) if !values.iter().all(|&v| ok(v)) => {
                self.fail(format!("{name} is {values:?}, and each must be {what}"))
            }
            _ => Ok(()),
        }
    }

    fn positive(&self, name: &str) -> Result<()> {
        match self.int(name) {
            Some(v) if !(1..=MAX_WINDOW).contains(&v) => {
                self.fail(format!("{name} is {v}; it must be from 1 to {MAX_WINDOW}"))
            }
            _ => Ok(()),
        }
    }

    /// A convolution's or a pooling's window: kernel, strides and dilations positive, pads
    /// non-negative, two per spatial axis.
    fn window(&self) -> Result<()> {
        let positive = format!("from 1 to {MAX_WINDOW}");
        self.each("kernel_shape", &positive, |v| (1..=MAX_WINDOW).contains(&v))?;
        self.each("strides", &positive, |v| (1..=MAX_WINDOW).contains(&v))?;
        self.each("dilations", &positive, |v| (1..=MAX_WINDOW).contains(&v))?;
        self.each("pads", &format!("from 0 to {MAX_PAD}"), |v| (0..=MAX_PAD).contains(&v))?;
        self.each("output_padding", &format!("from 0 to {MAX_PAD}"), |v| (0..=MAX_PAD).contains(&v))?;
        self.positive("group")?;
        let spatial = ["kernel_shape", "strides", "dilations"]
            .iter()
            .find_map(|name| self.ints(name))
            .map(<[i64]>::len);
        for name in ["kernel_shape", "strides", "dilations"] {
            if let (Some(values), Some(axes)) = (self.ints(name), spatial) {
                if values.len() != axes {
                    return self.fail(format!("{name} has {} entries for {axes} spatial axes", values.len()));
                }
            }
        }
        if let Some(pads) = self.ints("pads") {
            let expected = spatial.map(|axes| 2 * axes);
            if pads.len() % 2 != 0 || expected.is_some_and(|n| pads.len() != n) {
                let axes = spatial.map_or("its".to_owned(), |a| a.to_string());
                return self.fail(format!(
                    "pads has {} entries; it needs two (begin and end) for each of {axes} spatial axes",
                    pads.len()
                ));
            }
        }
        Ok(())
    }

    fn permutation(&self) -> Result<()> {
        let Some(perm) = self.ints("perm") else { return Ok(()) };
        let n = perm.len();
        let mut seen = vec![false; n.min(MAX_RANK)];
        let valid = n <= MAX_RANK
            && perm.iter().all(|&p| {
                usize::try_from(p)
                    .ok()
                    .and_then(|p| seen.get_mut(p))
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
        if valid {
            Ok(())
        } else {
            self.fail(format!("perm is {perm:?}, which is not a permutation of 0 to {}", n.saturating_sub(1)))
        }
    }

    /// Slice's steps (an input since opset 10) must not be 0, when they are a constant.
    fn slice_steps(&self, graph: &pb::GraphProto) -> Result<()> {
        let Some(name) = self.node.input.get(4).filter(|n| !n.is_empty()) else { return Ok(()) };
        let Some(steps) = constant_ints(graph, name) else { return Ok(()) };
        if steps.contains(&0) {
            return self.fail(format!("its steps are {steps:?}, and a step of 0 never ends"));
        }
        Ok(())
    }
}

impl Check<'_> {
    /// Gather's constant indices must fall inside a constant input's axis.
    fn gather_indices(&self, graph: &pb::GraphProto) -> Result<()> {
        let (Some(data), Some(indices)) = (self.node.input.first(), self.node.input.get(1)) else {
            return Ok(());
        };
        let Some(dims) = graph.initializer.iter().find(|t| &t.name == data).map(|t| &t.dims) else {
            return Ok(());
        };
        let Some(indices) = constant_ints(graph, indices) else { return Ok(()) };
        let axis = self.int("axis").unwrap_or(0);
        let rank = dims.len() as i64;
        let Some(&len) =
            usize::try_from(if axis < 0 { axis + rank } else { axis }).ok().and_then(|a| dims.get(a))
        else {
            return self.fail(format!("axis {axis} is outside its data's {rank} axes"));
        };
        if let Some(bad) = indices.iter().find(|&&i| i < -len || i >= len) {
            return self.fail(format!("index {bad} is outside the {len} entries of axis {axis}"));
        }
        Ok(())
    }
}

/// The values of a small constant integer tensor (an initializer or a `Constant` node), if it
/// is one.
fn constant_ints(graph: &pb::GraphProto, name: &str) -> Option<Vec<i64>> {
    let from_node = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Constant" && n.output.first().is_some_and(|o| o == name))
        .find_map(|n| n.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref()));
    let tensor = graph.initializer.iter().find(|t| t.name == name).or(from_node)?;
    if !tensor.int64_data.is_empty() {
        return Some(tensor.int64_data.clone());
    }
    if !tensor.int32_data.is_empty() {
        return Some(tensor.int32_data.iter().map(|&v| i64::from(v)).collect());
    }
    let bytes = &tensor.raw_data;
    match pb::tensor_proto::DataType::try_from(tensor.data_type) {
        Ok(pb::tensor_proto::DataType::Int64) if bytes.len() % 8 == 0 => {
            Some(bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
        }
        Ok(pb::tensor_proto::DataType::Int32) if bytes.len() % 4 == 0 => Some(
            bytes
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, attributes: &[(&str, Vec<i64>)]) -> pb::NodeProto {
        pb::NodeProto {
            name: "n".into(),
            op_type: op.into(),
            attribute: attributes
                .iter()
                .map(|(name, ints)| pb::AttributeProto {
                    name: (*name).into(),
                    ints: ints.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn check(node: pb::NodeProto) -> Result<()> {
        let graph = pb::GraphProto { node: vec![node], ..Default::default() };
        graph_attributes(&graph)
    }

    #[test]
    fn bad_windows_and_permutations_are_named() {
        let error = |n| check(n).unwrap_err().to_string();
        assert!(check(node(
            "Conv",
            &[("kernel_shape", vec![3, 3]), ("strides", vec![1, 1]), ("pads", vec![1, 1, 1, 1])]
        ))
        .is_ok());
        assert_eq!(
            error(node("Conv", &[("strides", vec![0, 1])])),
            "The model could not be prepared: node n (Conv): strides is [0, 1], and each must be from 1 to 65536."
        );
        assert!(error(node("MaxPool", &[("kernel_shape", vec![0, 2])])).contains("kernel_shape is [0, 2]"));
        assert!(error(node("Conv", &[("kernel_shape", vec![3, 3]), ("pads", vec![1, 1])]))
            .contains("pads has 2 entries"));
        assert!(error(node("AveragePool", &[("kernel_shape", vec![2, 2]), ("strides", vec![2])]))
            .contains("strides has 1 entries"));
        assert!(error(node("Transpose", &[("perm", vec![0, 2, 2])])).contains("not a permutation"));
        assert!(error(node("Transpose", &[("perm", vec![0, 5])])).contains("not a permutation"));
        assert!(error(node("Transpose", &[("perm", vec![-1, 0])])).contains("not a permutation"));
        assert!(check(node("Transpose", &[("perm", vec![0, 2, 1])])).is_ok());
    }

    #[test]
    fn a_constant_gather_index_outside_its_axis_is_refused() {
        let mut gather = node("Gather", &[]);
        gather.input = ["table", "indices"].map(String::from).to_vec();
        let int64 = |name: &str, dims: Vec<i64>, values: Vec<i64>| pb::TensorProto {
            name: name.into(),
            dims,
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            int64_data: values,
            ..Default::default()
        };
        let graph = |index| pb::GraphProto {
            node: vec![gather.clone()],
            initializer: vec![int64("table", vec![3, 2], vec![0; 6]), int64("indices", vec![1], vec![index])],
            ..Default::default()
        };
        assert!(graph_attributes(&graph(2)).is_ok());
        assert!(graph_attributes(&graph(-3)).is_ok());
        let error = graph_attributes(&graph(3)).unwrap_err().to_string();
        assert!(error.contains("index 3 is outside the 3 entries of axis 0"), "{error}");
    }

    #[test]
    fn a_constant_slice_step_of_zero_is_refused() {
        let mut slice = node("Slice", &[]);
        slice.input = ["x", "starts", "ends", "axes", "steps"].map(String::from).to_vec();
        let steps = pb::TensorProto {
            name: "steps".into(),
            dims: vec![1],
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            int64_data: vec![0],
            ..Default::default()
        };
        let graph = pb::GraphProto { node: vec![slice], initializer: vec![steps], ..Default::default() };
        assert!(graph_attributes(&graph).unwrap_err().to_string().contains("a step of 0"));
    }
}
