//! Checks a graph's attributes before tract or the gradient engine sees them. Both index by
//! them: a stride or kernel of 0 divides by zero, a short `pads` reads past its end, a `perm`
//! that is not a permutation once asked tract for memory without end, and on wasm a panic
//! cannot be caught. Each error names the node and says what is wrong, for the person who
//! exported the model.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

use crate::error::{Error, Result};

/// The largest kernel side, stride, dilation or block size accepted: far beyond any real model.
const MAX_WINDOW: i64 = 1 << 16;
/// The largest padding accepted on one side.
const MAX_PAD: i64 = 1 << 20;
/// The largest rank an attribute can describe.
const MAX_RANK: usize = 64;

/// The most elements a declared input or a constant shape may ask for (1 GB of f32).
const MAX_ELEMENTS: u64 = 1 << 28;

/// Every node's attributes, in this graph and in the graphs nested in its attributes, and the
/// graph's outputs and declared sizes.
pub(crate) fn attributes(model: &pb::ModelProto) -> Result<()> {
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx("the file holds no graph".into()))?;
    opset(model)?;
    structure(graph)?;
    outputs_made(graph, &HashSet::new())?;
    input_sizes(graph)?;
    weights(graph)?;
    old_resize(graph, model)?;
    graph_attributes(graph, &HashSet::new())
}

/// Before opset 13, Resize's roi is not optional: tract counts the inputs it is given, so one
/// left out by an empty name shifts the scales out of place.
fn old_resize(graph: &pb::GraphProto, model: &pb::ModelProto) -> Result<()> {
    if super::default_opset(model).is_some_and(|v| v >= 13) {
        return Ok(());
    }
    for (index, node) in graph.node.iter().enumerate().filter(|(_, n)| n.op_type == "Resize") {
        let last = node.input.iter().rposition(|i| !i.is_empty()).unwrap_or(0);
        if node.input.iter().take(last).any(String::is_empty) {
            return Check { node, index }.fail(
                "before opset 13 it needs every input up to its scales: give an empty tensor for the roi"
                    .into(),
            );
        }
    }
    Ok(())
}

/// The newest ONNX operator set Glimpse reads (ONNX 1.20's).
const MAX_OPSET: i64 = 25;

fn opset(model: &pb::ModelProto) -> Result<()> {
    match super::default_opset(model).filter(|v| !(1..=MAX_OPSET).contains(v)) {
        Some(version) => Err(Error::ModelPrepare(format!(
            "it declares ONNX opset {version}; Glimpse reads opsets 1 to {MAX_OPSET}: export with an opset in \
             that range (torch.onnx.export(..., opset_version=17))."
        ))),
        None => Ok(()),
    }
}

/// The graph is one: it has an output, each tensor is made once, every node's inputs are made
/// (by a node, or as an input or a weight), and no node depends on itself.
fn structure(graph: &pb::GraphProto) -> Result<()> {
    if graph.output.is_empty() {
        return Err(Error::ModelPrepare("the graph has no output.".into()));
    }
    let given: HashSet<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .collect();
    let mut maker: HashMap<&str, usize> = HashMap::new();
    for (index, node) in graph.node.iter().enumerate() {
        for output in node.output.iter().filter(|o| !o.is_empty()) {
            if maker.insert(output, index).is_some() || given.contains(output.as_str()) {
                return Check { node, index }
                    .fail(format!("its output {output} is also made elsewhere in the graph"));
            }
        }
    }
    for (index, node) in graph.node.iter().enumerate() {
        if let Some(missing) = node
            .input
            .iter()
            .find(|i| !i.is_empty() && !given.contains(i.as_str()) && !maker.contains_key(i.as_str()))
        {
            return Check { node, index }.fail(format!(
                "its input {missing} is made by no node, and is neither an input nor a weight"
            ));
        }
    }
    // Kahn's order: a node is ready once every node that makes its inputs is.
    let mut waiting: Vec<usize> = graph
        .node
        .iter()
        .map(|n| n.input.iter().filter(|i| maker.contains_key(i.as_str())).count())
        .collect();
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, node) in graph.node.iter().enumerate() {
        for input in node.input.iter().filter(|i| maker.contains_key(i.as_str())) {
            readers.entry(input).or_default().push(index);
        }
    }
    let mut ready: Vec<usize> = (0..graph.node.len()).filter(|&i| waiting.get(i) == Some(&0)).collect();
    let mut done = 0;
    while let Some(index) = ready.pop() {
        done += 1;
        let outputs = graph.node.get(index).map(|n| n.output.as_slice()).unwrap_or_default();
        for reader in outputs.iter().flat_map(|o| readers.get(o.as_str())).flatten() {
            if let Some(count) = waiting.get_mut(*reader) {
                *count -= 1;
                if *count == 0 {
                    ready.push(*reader);
                }
            }
        }
    }
    if done < graph.node.len() {
        let stuck = waiting.iter().position(|&w| w > 0).unwrap_or(0);
        if let Some(node) = graph.node.get(stuck) {
            return Check { node, index: stuck }
                .fail("it depends on its own output, through a cycle in the graph".into());
        }
    }
    Ok(())
}

/// Every weight holds as many numbers as its shape says, and the float ones are finite.
fn weights(graph: &pb::GraphProto) -> Result<()> {
    use pb::tensor_proto::{DataLocation, DataType};
    let constants = graph.node.iter().flat_map(|n| &n.attribute).flat_map(|a| a.t.iter().chain(&a.tensors));
    for tensor in graph.initializer.iter().chain(constants) {
        if tensor.data_location == Some(DataLocation::External as i32) {
            continue; // refused by the loader, naming the file
        }
        if let Some(bad) = tensor.dims.iter().find(|&&d| d < 0) {
            return Err(Error::ModelPrepare(format!(
                "weight {} declares a dimension of {bad}.",
                tensor.name
            )));
        }
        if tensor.data_type == DataType::String as i32 {
            return Err(Error::ModelPrepare(format!(
                "weight {} holds strings; Glimpse reads models of numbers.",
                tensor.name
            )));
        }
        let declared = elements(&tensor.dims);
        let size = match DataType::try_from(tensor.data_type) {
            Ok(DataType::Float | DataType::Int32 | DataType::Uint32) => 4,
            Ok(DataType::Double | DataType::Int64 | DataType::Uint64) => 8,
            Ok(DataType::Float16 | DataType::Bfloat16 | DataType::Int16 | DataType::Uint16) => 2,
            Ok(DataType::Int8 | DataType::Uint8 | DataType::Bool) => 1,
            _ => continue,
        };
        let held = if tensor.raw_data.is_empty() {
            (tensor.float_data.len()
                + tensor.int32_data.len()
                + tensor.int64_data.len()
                + tensor.double_data.len()
                + tensor.uint64_data.len()) as u64
        } else {
            tensor.raw_data.len() as u64 / size
        };
        if held != declared {
            return Err(Error::ModelPrepare(format!(
                "weight {} is declared as {:?} ({declared} numbers) but holds {held}.",
                tensor.name, tensor.dims
            )));
        }
        if tensor.data_type == DataType::Float as i32 {
            let raw =
                tensor.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])));
            if raw.chain(tensor.float_data.iter().copied()).any(|v| !v.is_finite()) {
                return Err(Error::ModelPrepare(format!(
                    "weight {} holds values that are not numbers (NaN or infinite): the model's outputs would be too.",
                    tensor.name
                )));
            }
        }
    }
    Ok(())
}

/// Every graph output is made by a node, or is an input or a weight.
fn outputs_made(graph: &pb::GraphProto, outer: &HashSet<&str>) -> Result<()> {
    let made = names(graph);
    match graph.output.iter().find(|o| !made.contains(o.name.as_str()) && !outer.contains(o.name.as_str())) {
        Some(output) => Err(Error::ModelPrepare(format!(
            "output {} is made by no node of the graph, nor is it an input or a weight.",
            output.name
        ))),
        None => Ok(()),
    }
}

/// The tensors a graph makes or is given.
fn names(graph: &pb::GraphProto) -> HashSet<&str> {
    graph
        .node
        .iter()
        .flat_map(|n| n.output.iter())
        .chain(graph.input.iter().map(|i| &i.name))
        .chain(graph.initializer.iter().map(|t| &t.name))
        .map(String::as_str)
        .collect()
}

/// No declared input asks for more than [`MAX_ELEMENTS`] (the batch counted as 1).
fn input_sizes(graph: &pb::GraphProto) -> Result<()> {
    for input in &graph.input {
        let Some(pb::type_proto::Value::TensorType(tensor)) =
            input.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            continue;
        };
        let dims = tensor.shape.iter().flat_map(|s| &s.dim).map(|d| match &d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(n)) => *n,
            _ => 1,
        });
        let dims: Vec<i64> = dims.collect();
        if let Some(bad) = dims.iter().find(|&&d| d <= 0) {
            return Err(Error::ModelPrepare(format!("input {} declares a dimension of {bad}.", input.name)));
        }
        if elements(&dims) > MAX_ELEMENTS {
            return Err(Error::ModelPrepare(format!(
                "input {} is declared as {dims:?}, more than the {MAX_ELEMENTS} numbers Glimpse can hold.",
                input.name
            )));
        }
    }
    Ok(())
}

/// The number of elements a shape holds, saturating.
fn elements(dims: &[i64]) -> u64 {
    dims.iter().fold(1u64, |n, &d| n.saturating_mul(u64::try_from(d).unwrap_or(0)))
}

fn graph_attributes(graph: &pb::GraphProto, outer: &HashSet<&str>) -> Result<()> {
    let ranks = ranks(graph);
    // A nested graph (an If's branches) may also read what encloses it.
    let mut scope = names(graph);
    scope.extend(outer.iter().copied());
    for (index, node) in graph.node.iter().enumerate() {
        node_attributes(node, graph, index)?;
        let check = Check { node, index };
        check.axis_within(&ranks)?;
        check.axes(graph)?;
        check.input_rank(&ranks, graph)?;
        check.inputs(graph)?;
        if node.op_type == "Gather" {
            check.gather_indices(graph, &ranks)?;
        }
        check.constant_shape(graph)?;
        for attribute in &node.attribute {
            for nested in attribute.g.iter().chain(&attribute.graphs) {
                outputs_made(nested, &scope)?;
                graph_attributes(nested, &scope)?;
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
        "Split" => check.split(graph),
        "DepthToSpace" | "SpaceToDepth" => check.positive("blocksize"),
        "LRN" => check.positive("size"),
        "Slice" => check.slice_steps(graph),
        "Pad" => check.pads(graph),
        "Resize" | "Upsample" => check.scales(graph),
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
        for name in ["kernel_shape", "strides", "dilations", "pads", "output_padding"] {
            self.integer_list(name)?;
        }
        let pool = matches!(self.node.op_type.as_str(), "MaxPool" | "AveragePool" | "LpPool" | "MaxUnpool");
        match self.ints("kernel_shape") {
            Some([]) => return self.fail("kernel_shape is empty; it needs one size per spatial axis".into()),
            None if pool => return self.fail("it has no kernel_shape, which a pooling needs".into()),
            _ => {}
        }
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

    /// The attribute `name`, if present, is a list of integers (not a string, a float, ...).
    fn integer_list(&self, name: &str) -> Result<()> {
        let ints = pb::attribute_proto::AttributeType::Ints as i32;
        let undefined = pb::attribute_proto::AttributeType::Undefined as i32;
        match self.node.attribute.iter().find(|a| a.name == name) {
            Some(a) if a.r#type != ints && a.r#type != undefined => {
                self.fail(format!("{name} is not a list of integers"))
            }
            _ => Ok(()),
        }
    }

    fn permutation(&self) -> Result<()> {
        self.integer_list("perm")?;
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
        for (at, what) in [(1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")] {
            let Some(name) = self.node.input.get(at).filter(|n| !n.is_empty()) else { continue };
            if constant_tensor(graph, name).is_some_and(|t| !is_integer(t)) {
                return self.fail(format!("its {what} are not integers"));
            }
        }
        let Some(name) = self.node.input.get(4).filter(|n| !n.is_empty()) else { return Ok(()) };
        let Some(steps) = constant_ints(graph, name) else { return Ok(()) };
        if steps.contains(&0) {
            return self.fail(format!("its steps are {steps:?}, and a step of 0 never ends"));
        }
        if steps.iter().any(|s| s.abs() > MAX_WINDOW) {
            return self
                .fail(format!("its steps are {steps:?}; each must be at most {MAX_WINDOW} either way"));
        }
        Ok(())
    }
}

/// The rank of every tensor whose rank follows simply from the graph: inputs and weights as
/// declared, then through the operators that keep, broadcast or fix their input's rank. The
/// rest are left out.
fn ranks(graph: &pb::GraphProto) -> HashMap<&str, usize> {
    let mut ranks: HashMap<&str, usize> = HashMap::new();
    for input in &graph.input {
        if let Some(pb::type_proto::Value::TensorType(tensor)) =
            input.r#type.as_ref().and_then(|t| t.value.as_ref())
        {
            if let Some(shape) = &tensor.shape {
                ranks.insert(&input.name, shape.dim.len());
            }
        }
    }
    for tensor in &graph.initializer {
        ranks.insert(&tensor.name, tensor.dims.len());
    }
    for node in &graph.node {
        let rank_of = |i: usize| node.input.get(i).and_then(|name| ranks.get(name.as_str()).copied());
        let rank = match node.op_type.as_str() {
            "Relu"
            | "Sigmoid"
            | "Tanh"
            | "Clip"
            | "LeakyRelu"
            | "HardSigmoid"
            | "HardSwish"
            | "Gelu"
            | "Erf"
            | "Exp"
            | "Log"
            | "Sqrt"
            | "Neg"
            | "Abs"
            | "Cast"
            | "Identity"
            | "Dropout"
            | "Softmax"
            | "LogSoftmax"
            | "Conv"
            | "MaxPool"
            | "AveragePool"
            | "GlobalAveragePool"
            | "GlobalMaxPool"
            | "BatchNormalization"
            | "InstanceNormalization"
            | "LayerNormalization"
            | "Transpose"
            | "Pad"
            | "Resize"
            | "Softplus"
            | "Reciprocal"
            | "Concat" => rank_of(0),
            "Shape" => Some(1),
            "Gather" => {
                rank_of(0).zip(rank_of(1)).and_then(|(data, indices)| (data + indices).checked_sub(1))
            }
            "MatMul" => rank_of(0).zip(rank_of(1)).map(|(a, b)| a.max(b)),
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Where" | "Equal"
            | "Less" | "Greater" => {
                let known: Option<Vec<usize>> = (0..node.input.len()).map(rank_of).collect();
                known.and_then(|k| k.into_iter().max())
            }
            "Flatten" | "Gemm" => Some(2),
            op @ ("Squeeze" | "Unsqueeze") => {
                let axes =
                    node.attribute.iter().find(|a| a.name == "axes").map(|a| a.ints.len()).or_else(|| {
                        node.input.get(1).and_then(|name| constant_ints(graph, name)).map(|a| a.len())
                    });
                // A Squeeze without axes drops every axis of 1, which only a weight's dims tell.
                let weight = || {
                    let input = node.input.first()?;
                    let dims = &graph.initializer.iter().find(|t| &t.name == input)?.dims;
                    Some(dims.iter().filter(|&&d| d != 1).count())
                };
                match (rank_of(0), axes) {
                    (Some(r), Some(n)) if op == "Unsqueeze" => Some(r + n),
                    (Some(r), Some(n)) => r.checked_sub(n),
                    (_, None) if op == "Squeeze" => weight(),
                    _ => None,
                }
            }
            "Reshape" => node.input.get(1).and_then(|shape| constant_ints(graph, shape)).map(|s| s.len()),
            "Constant" => node
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
                .map(|t| t.dims.len()),
            _ => None,
        };
        // Split's outputs all have its input's rank; every other operator here has one output.
        let split = node.op_type == "Split";
        let outputs = if split { node.output.as_slice() } else { node.output.get(..1).unwrap_or_default() };
        if let Some(rank) = if split { rank_of(0) } else { rank } {
            for output in outputs {
                ranks.insert(output, rank);
            }
        }
    }
    ranks
}

impl Check<'_> {
    /// Every `axis` and `axes` a node has, as an attribute or a constant input (Squeeze,
    /// Unsqueeze, the reductions, Slice), is a small number: tract loops to it or indexes by it.
    fn axes(&self, graph: &pb::GraphProto) -> Result<()> {
        let small = |v: i64| (-(MAX_RANK as i64)..=MAX_RANK as i64).contains(&v);
        if let Some(axis) = self.int("axis").filter(|&a| !small(a)) {
            return self.fail(format!("axis is {axis}; at most {MAX_RANK} axes make sense"));
        }
        self.each("axes", &format!("from −{MAX_RANK} to {MAX_RANK}"), small)?;
        let input = match self.node.op_type.as_str() {
            "Squeeze" | "Unsqueeze" | "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin"
            | "ReduceProd" | "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp"
            | "ReduceSumSquare" => 1,
            "Slice" => 3,
            _ => return Ok(()),
        };
        if let Some(name) = self.node.input.get(input).filter(|n| !n.is_empty()) {
            if constant_tensor(graph, name).is_some_and(|t| !is_integer(t)) {
                return self.fail("its axes are not integers (int64)".into());
            }
        }
        let axes = self.node.input.get(input).and_then(|name| constant_ints(graph, name)).unwrap_or_default();
        if let Some(bad) = axes.iter().find(|&&a| !small(a)) {
            return self.fail(format!("its axes include {bad}; at most {MAX_RANK} axes make sense"));
        }
        Ok(())
    }

    /// The first input's rank, where it is known, is one the operator takes: a window over its
    /// spatial axes, a normalisation over its channels.
    fn input_rank(&self, ranks: &HashMap<&str, usize>, graph: &pb::GraphProto) -> Result<()> {
        let Some(&rank) = self.node.input.first().and_then(|i| ranks.get(i.as_str())) else { return Ok(()) };
        match self.node.op_type.as_str() {
            // Squeeze's axes are the input's, Unsqueeze's the output's.
            op @ ("Squeeze" | "Unsqueeze") => {
                let axes = self
                    .ints("axes")
                    .map(<[i64]>::to_vec)
                    .or_else(|| self.node.input.get(1).and_then(|name| constant_ints(graph, name)))
                    .unwrap_or_default();
                let out = if op == "Unsqueeze" { rank + axes.len() } else { rank } as i64;
                if let Some(bad) = axes.iter().find(|&&a| a < -out || a >= out) {
                    return self.fail(format!("axis {bad} is outside the {out} axes it has"));
                }
                let mut seen: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + out } else { a }).collect();
                seen.sort_unstable();
                if seen.windows(2).any(|w| w.first() == w.get(1)) {
                    return self.fail(format!("its axes {axes:?} name an axis twice"));
                }
                Ok(())
            }
            "Conv" | "ConvTranspose" | "MaxPool" | "AveragePool" | "LpPool" => {
                if rank < 3 {
                    return self
                        .fail(format!("its input has {rank} axes; it needs batch, channels and space"));
                }
                let spatial = rank - 2;
                for (name, per_axis) in [("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 2)] {
                    if let Some(values) = self.ints(name).filter(|v| v.len() != per_axis * spatial) {
                        return self.fail(format!(
                            "{name} has {} entries for a {rank}-dimensional input (batch, channels and {spatial} more)",
                            values.len()
                        ));
                    }
                }
                Ok(())
            }
            op if op.starts_with("Reduce") => {
                let axes = self
                    .ints("axes")
                    .map(<[i64]>::to_vec)
                    .or_else(|| self.node.input.get(1).and_then(|name| constant_ints(graph, name)))
                    .unwrap_or_default();
                let r = rank as i64;
                match axes.iter().find(|&&a| a < -r || a >= r) {
                    Some(bad) => self.fail(format!("axis {bad} is outside its {rank}-dimensional input")),
                    None => Ok(()),
                }
            }
            "BatchNormalization" | "InstanceNormalization" | "GlobalAveragePool" | "GlobalMaxPool"
                if rank < 2 =>
            {
                self.fail(format!("its input has {rank} axis; it needs a batch and channels"))
            }
            _ => Ok(()),
        }
    }

    /// The node has the inputs its operator needs (tract indexes them), and a `Pow` does not
    /// raise what a `Cast` made other than floats (tract finds no common type for a shape's
    /// integers and a float exponent).
    fn inputs(&self, graph: &pb::GraphProto) -> Result<()> {
        let needed = match self.node.op_type.as_str() {
            "Constant" | "RandomNormal" | "RandomUniform" | "EyeLike" => 0,
            "Where" => 3,
            "BatchNormalization" => 5,
            "InstanceNormalization" => 3,
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "MatMul" | "Gemm" | "Conv" | "ConvTranspose"
            | "Gather" | "Equal" | "Less" | "Greater" | "And" | "Or" | "PRelu" | "Expand" | "Tile"
            | "Reshape" | "LayerNormalization" => 2,
            _ => 1,
        };
        let present = self.node.input.iter().take(needed).filter(|i| !i.is_empty()).count();
        if present < needed {
            return self.fail(format!("it has {present} of the {needed} inputs it needs"));
        }
        if self.node.op_type == "Pow" {
            use pb::tensor_proto::DataType;
            let floats =
                [DataType::Float, DataType::Double, DataType::Float16, DataType::Bfloat16].map(|t| t as i64);
            let cast_to_other = self.node.input.iter().any(|input| {
                graph.node.iter().any(|n| {
                    n.op_type == "Cast"
                        && n.output.first() == Some(input)
                        && !floats.contains(&n.attribute.iter().find(|a| a.name == "to").map_or(0, |a| a.i))
                })
            });
            if cast_to_other {
                return self.fail(
                    "it raises integers, booleans or strings made by a Cast to a power, which tract cannot"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// Pad's amounts (an attribute before opset 11, then a constant input) are from 0 to
    /// [`MAX_PAD`].
    fn pads(&self, graph: &pb::GraphProto) -> Result<()> {
        self.each("pads", &format!("from 0 to {MAX_PAD}"), |v| (0..=MAX_PAD).contains(&v))?;
        if let Some(name) = self.node.input.get(1).filter(|n| !n.is_empty()) {
            if constant_tensor(graph, name).is_some_and(|t| !is_integer(t)) {
                return self.fail("its pads are not integers (int64)".into());
            }
        }
        let pads = self.node.input.get(1).and_then(|name| constant_ints(graph, name)).unwrap_or_default();
        if pads.len() > 2 * MAX_RANK || pads.iter().any(|v| !(0..=MAX_PAD).contains(v)) {
            return self.fail(format!("its pads are {pads:?}, and each must be from 0 to {MAX_PAD}"));
        }
        Ok(())
    }

    /// Resize's constant scales are positive and finite, its sizes positive.
    fn scales(&self, graph: &pb::GraphProto) -> Result<()> {
        let scales = self.node.input.get(2).and_then(|name| constant_floats(graph, name)).unwrap_or_default();
        if scales.iter().any(|s| !(s.is_finite() && *s > 0.0 && *s <= MAX_WINDOW as f32)) {
            return self.fail(format!(
                "its scales are {scales:?}, and each must be positive and at most {MAX_WINDOW}"
            ));
        }
        let sizes = self.node.input.get(3).and_then(|name| constant_ints(graph, name)).unwrap_or_default();
        if sizes.iter().any(|&s| s <= 0) || elements(&sizes) > MAX_ELEMENTS {
            return self.fail(format!("its sizes are {sizes:?}: each must be positive, and all of them at most {MAX_ELEMENTS} numbers"));
        }
        Ok(())
    }

    /// Split's sizes (an attribute, or a constant input since opset 13) are non-negative, one
    /// per output.
    fn split(&self, graph: &pb::GraphProto) -> Result<()> {
        self.each("split", "a size", |v| v >= 0)?;
        let sizes = self.ints("split").map(<[i64]>::to_vec).or_else(|| {
            self.node.input.get(1).filter(|n| !n.is_empty()).and_then(|name| constant_ints(graph, name))
        });
        match sizes {
            Some(sizes) if sizes.iter().any(|&s| s < 0) => {
                self.fail(format!("its sizes are {sizes:?}, and none may be negative"))
            }
            Some(sizes) if sizes.len() != self.node.output.len() => {
                self.fail(format!("it has {} sizes for {} outputs", sizes.len(), self.node.output.len()))
            }
            _ => Ok(()),
        }
    }

    /// An axis attribute inside its input's rank, where the rank is known: tract indexes by it
    /// before it checks (Flatten's, at least).
    fn axis_within(&self, ranks: &HashMap<&str, usize>) -> Result<()> {
        let (Some(axis), Some(input)) = (self.int("axis"), self.node.input.first()) else { return Ok(()) };
        let Some(&rank) = ranks.get(input.as_str()) else { return Ok(()) };
        let rank = rank as i64;
        // Flatten's axis may be the rank itself (everything in the first factor).
        let top = match self.node.op_type.as_str() {
            "Flatten" => rank,
            "Softmax" | "LogSoftmax" | "Hardmax" | "Concat" | "Gather" | "Split" | "ArgMax" | "ArgMin"
            | "LayerNormalization" => rank - 1,
            _ => return Ok(()),
        };
        if axis < -rank || axis > top {
            return self.fail(format!("axis is {axis}, outside its {rank}-dimensional input"));
        }
        Ok(())
    }

    /// A constant shape given to `ConstantOfShape` or `Expand` asks for at most [`MAX_ELEMENTS`].
    fn constant_shape(&self, graph: &pb::GraphProto) -> Result<()> {
        let at = match self.node.op_type.as_str() {
            "ConstantOfShape" => 0,
            "Expand" => 1,
            _ => return Ok(()),
        };
        let Some(shape) = self.node.input.get(at).and_then(|name| constant_ints(graph, name)) else {
            return Ok(());
        };
        if shape.iter().any(|&d| d < 0) || elements(&shape) > MAX_ELEMENTS {
            return self.fail(format!("it makes a tensor of shape {shape:?}, more than Glimpse can hold"));
        }
        Ok(())
    }

    /// Gather's constant indices must fall inside a constant input's axis.
    fn gather_indices(&self, graph: &pb::GraphProto, ranks: &HashMap<&str, usize>) -> Result<()> {
        let (Some(data), Some(indices)) = (self.node.input.first(), self.node.input.get(1)) else {
            return Ok(());
        };
        // The data's dims: a weight's, or a Shape's output (as many entries as its input's rank).
        let of_shape = graph
            .node
            .iter()
            .find(|n| n.op_type == "Shape" && n.output.first() == Some(data))
            .and_then(|n| n.input.first())
            .and_then(|input| ranks.get(input.as_str()))
            .map(|&rank| vec![rank as i64]);
        let Some(dims) =
            graph.initializer.iter().find(|t| &t.name == data).map(|t| t.dims.clone()).or(of_shape)
        else {
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

/// Whether a constant holds int64 or int32, the integers ONNX gives axes, shapes and indices in.
fn is_integer(tensor: &pb::TensorProto) -> bool {
    [pb::tensor_proto::DataType::Int64 as i32, pb::tensor_proto::DataType::Int32 as i32]
        .contains(&tensor.data_type)
}

/// The tensor named `name` when it is a constant: an initializer or a `Constant` node's value.
fn constant_tensor<'g>(graph: &'g pb::GraphProto, name: &str) -> Option<&'g pb::TensorProto> {
    let from_node = || {
        graph
            .node
            .iter()
            .filter(|n| n.op_type == "Constant" && n.output.first().is_some_and(|o| o == name))
            .find_map(|n| n.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref()))
    };
    graph.initializer.iter().find(|t| t.name == name).or_else(from_node)
}

/// The values of a constant f32 tensor (an initializer or a `Constant` node), if it is one.
fn constant_floats(graph: &pb::GraphProto, name: &str) -> Option<Vec<f32>> {
    let tensor = constant_tensor(graph, name)?;
    if tensor.data_type != pb::tensor_proto::DataType::Float as i32 {
        return None;
    }
    if !tensor.float_data.is_empty() {
        return Some(tensor.float_data.clone());
    }
    Some(
        tensor.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))).collect(),
    )
}

/// The values of a small constant integer tensor (an initializer or a `Constant` node), if it
/// is one.
fn constant_ints(graph: &pb::GraphProto, name: &str) -> Option<Vec<i64>> {
    let tensor = constant_tensor(graph, name)?;
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
            input: vec!["x".into(), "w".into()],
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
        graph_attributes(&graph, &HashSet::new())
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
        assert!(graph_attributes(&graph(2), &HashSet::new()).is_ok());
        assert!(graph_attributes(&graph(-3), &HashSet::new()).is_ok());
        let error = graph_attributes(&graph(3), &HashSet::new()).unwrap_err().to_string();
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
        assert!(graph_attributes(&graph, &HashSet::new()).unwrap_err().to_string().contains("a step of 0"));
    }
}
