"""Writes malformed and hostile ONNX files for Glimpse's loader, and a manifest describing them.

Most files are one tiny, valid image classifier with a single thing broken:

    x float32 [1,3,8,8] -> Conv(3->4, 3x3, pads 1) -> Relu -> GlobalAveragePool -> Flatten
      -> Gemm(4->3) -> logits [1,3]            (opset 17, IR version 8)

The valid classifier itself is written as `valid.onnx`, the control. The others are truncated
or non-protobuf bytes, protobufs that are not models, bad attributes, bad shapes, bad
initializers, cycles, unknown operators and opsets, and oversized or deeply nested graphs.
Every node has a distinct, readable name (e.g. `conv_zero_kernel`), so error messages naming
the node at fault can be checked.

`manifest.json` lists every file as
`{"file", "what", "node", "tensor", "onnxruntime"}`: `what` is one sentence on what is
wrong, `node` the name of the node at fault (or null), `tensor` the name of the
initializer, graph input or output at fault (or null), and `onnxruntime` what onnxruntime
(if installed) makes of the file: "refused: ...", "runs", or "loads; ..." when it loads but
cannot be run. That field is informative only and depends on the onnxruntime version; each
file is probed in a child process with a memory limit and a timeout.

Everything is deterministic (weights and random bytes come from seeded generators); the
committed files were made with onnx 1.23.2 and onnxruntime 1.32.0. Run from the repository root:

    python3 tests/data/hostile/make_hostile.py
"""

import dataclasses
import json
import pathlib
import re
import resource
import subprocess
import sys

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent
OPSET = 17
IR_VERSION = 8
MAX_FILE_BYTES = 50_000
MAX_TOTAL_BYTES = 300_000


# ----------------------------------------------------------------------------------------------
# The base classifier, and small edits to it
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Parts:
    """A graph under construction: edit the lists, then `build` a model from it."""

    nodes: list
    inits: list
    inputs: list
    outputs: list
    opsets: dict  # domain -> version


def image_input(name="x", elem_type=TensorProto.FLOAT, shape=(1, 3, 8, 8)):
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def node(op_type, inputs, outputs, name, **attrs):
    """A named node. An attribute may be given as a ready AttributeProto (e.g. an empty list,
    whose type onnx.helper cannot infer)."""
    ready = {k: v for k, v in attrs.items() if isinstance(v, AttributeProto)}
    n = helper.make_node(op_type, inputs, outputs, name=name, **{k: v for k, v in attrs.items() if k not in ready})
    n.attribute.extend(ready.values())
    return n


def classifier():
    """The valid classifier's parts, fresh on every call."""
    rng = np.random.default_rng(17)
    weights = {
        "conv_w": rng.standard_normal((4, 3, 3, 3)) * 0.3,
        "conv_b": rng.standard_normal(4) * 0.1,
        "gemm_w": rng.standard_normal((3, 4)) * 0.5,
        "gemm_b": rng.standard_normal(3) * 0.1,
    }
    nodes = [
        node("Conv", ["x", "conv_w", "conv_b"], ["conv_out"], "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["conv_out"], ["relu_out"], "relu"),
        node("GlobalAveragePool", ["relu_out"], ["gap_out"], "gap"),
        node("Flatten", ["gap_out"], ["flat"], "flatten", axis=1),
        node("Gemm", ["flat", "gemm_w", "gemm_b"], ["logits"], "gemm", transB=1),
    ]
    return Parts(
        nodes=nodes,
        inits=[const(n, v, np.float32) for n, v in weights.items()],
        inputs=[image_input()],
        outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        opsets={"": OPSET},
    )


def build(p, name="glimpse_hostile"):
    graph = helper.make_graph(p.nodes, name, p.inputs, p.outputs, p.inits)
    opsets = [helper.make_opsetid(domain, version) for domain, version in p.opsets.items()]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="make_hostile.py")
    model.ir_version = IR_VERSION
    return model


def node_index(p, name):
    return next(i for i, n in enumerate(p.nodes) if n.name == name)


def replace_node(p, old, name, op_type=None, inputs=None, domain=None, **attrs):
    """Replaces node `old` by a copy renamed to `name`, with its op type, inputs, domain or
    attributes changed (the attributes given are added or overridden; the others are kept)."""
    i = node_index(p, old)
    n = p.nodes[i]
    merged = {a.name: a for a in n.attribute}
    merged.update((k, v if isinstance(v, AttributeProto) else helper.make_attribute(k, v)) for k, v in attrs.items())
    inputs = list(n.input) if inputs is None else inputs
    p.nodes[i] = node(op_type or n.op_type, inputs, list(n.output), name, **merged)
    if domain or n.domain:
        p.nodes[i].domain = domain or n.domain
    return p


def splice(p, after, nodes, inits=()):
    """Inserts `nodes` right after node `after`. In the inserted nodes, the tensor name "IN"
    stands for `after`'s output and "OUT" for what the rest of the graph consumes."""
    i = node_index(p, after)
    produced = p.nodes[i].output[0]
    raw = f"{produced}_raw"
    p.nodes[i].output[0] = raw
    names = {"IN": raw, "OUT": produced}
    for n in nodes:
        for field in (n.input, n.output):
            field[:] = [names.get(t, t) for t in field]
    p.nodes[i + 1 : i + 1] = nodes
    p.inits.extend(inits)
    return p


def replace_init(p, old, tensor):
    """Replaces initializer `old` by `tensor`, renaming references to it."""
    p.inits = [tensor if t.name == old else t for t in p.inits]
    for n in p.nodes:
        n.input[:] = [tensor.name if t == old else t for t in n.input]
    return p


def patched(old, name, **attrs):
    """The classifier with node `old` replaced by `name` with changed attributes."""
    return build(replace_node(classifier(), old, name, **attrs))


def spliced(after, nodes, inits=()):
    return build(splice(classifier(), after, nodes, inits))


def valid_bytes():
    return build(classifier()).SerializeToString()


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    file: str
    what: str
    node: str | None
    tensor: str | None
    make: object  # () -> ModelProto | bytes


CASES = []


def case(file, what, node=None, tensor=None):
    def register(make):
        CASES.append(Case(file, what, node, tensor, make))
        return make

    return register


# --- the control ---


@case("valid.onnx", "valid control")
def valid():
    return build(classifier())


# --- not a model at all ---


@case("truncated_half.onnx", "valid.onnx cut to half its bytes.")
def truncated_half():
    data = valid_bytes()
    return data[: len(data) // 2]


@case("truncated_10_bytes.onnx", "valid.onnx cut to its first 10 bytes.")
def truncated_10_bytes():
    return valid_bytes()[:10]


@case("random_bytes.onnx", "4096 random bytes (numpy default_rng seed 0), not a protobuf.")
def random_bytes():
    return np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()


@case("empty.onnx", "An empty file (0 bytes), which decodes as a ModelProto with every field unset.")
def empty():
    return b""


@case("tensor_not_model.onnx", "A valid protobuf that is not a model: the conv weight TensorProto serialized alone.")
def tensor_not_model():
    return classifier().inits[0].SerializeToString()


@case("graph_not_model.onnx", "A valid protobuf that is not a model: the classifier's GraphProto serialized without a ModelProto.")
def graph_not_model():
    return build(classifier()).graph.SerializeToString()


@case("no_graph.onnx", "A ModelProto with an IR version and an opset import but no graph.")
def no_graph():
    model = build(classifier())
    model.ClearField("graph")
    return model


# --- bad attributes ---


@case("conv_zero_kernel.onnx", "Conv kernel_shape is [0, 0].", node="conv_zero_kernel")
def conv_zero_kernel():
    return patched("conv", "conv_zero_kernel", kernel_shape=[0, 0])


@case("conv_zero_strides.onnx", "Conv strides are [0, 0].", node="conv_zero_strides")
def conv_zero_strides():
    return patched("conv", "conv_zero_strides", strides=[0, 0])


@case("conv_short_pads.onnx", "Conv pads has 2 values where a 2-D convolution needs 4.", node="conv_short_pads")
def conv_short_pads():
    return patched("conv", "conv_short_pads", pads=[1, 1])


@case("conv_zero_dilation.onnx", "Conv dilations are [0, 1].", node="conv_zero_dilation")
def conv_zero_dilation():
    return patched("conv", "conv_zero_dilation", dilations=[0, 1])


@case("conv_huge_pads.onnx", "Conv pads are 2^62 on every side, so the output size overflows.", node="conv_huge_pads")
def conv_huge_pads():
    return patched("conv", "conv_huge_pads", pads=[1 << 62] * 4)


@case("conv_group_zero.onnx", "Conv group is 0.", node="conv_group_zero")
def conv_group_zero():
    return patched("conv", "conv_group_zero", group=0)


@case("conv_group_2.onnx", "Conv group is 2, which does not divide the 3 input channels.", node="conv_group_2")
def conv_group_2():
    return patched("conv", "conv_group_2", group=2)


@case("conv_kernel_shape_string.onnx", "Conv kernel_shape is a STRING attribute (\"3x3\") instead of INTS.", node="conv_kernel_shape_string")
def conv_kernel_shape_string():
    return patched("conv", "conv_kernel_shape_string", kernel_shape="3x3")


@case("maxpool_empty_kernel.onnx", "MaxPool kernel_shape is an empty list.", node="maxpool_empty_kernel")
def maxpool_empty_kernel():
    empty = helper.make_attribute("kernel_shape", [], attr_type=AttributeProto.INTS)
    return spliced("relu", [node("MaxPool", ["IN"], ["OUT"], "maxpool_empty_kernel", kernel_shape=empty)])


@case("maxpool_negative_kernel.onnx", "MaxPool kernel_shape is [-3, -3].", node="maxpool_negative_kernel")
def maxpool_negative_kernel():
    return spliced("relu", [node("MaxPool", ["IN"], ["OUT"], "maxpool_negative_kernel", kernel_shape=[-3, -3])])


@case("transpose_perm_out_of_range.onnx", "Transpose perm is [0, 5, 1, 2] on a rank-4 tensor.", node="transpose_perm_out_of_range")
def transpose_perm_out_of_range():
    return spliced("relu", [node("Transpose", ["IN"], ["OUT"], "transpose_perm_out_of_range", perm=[0, 5, 1, 2])])


@case("flatten_axis_9.onnx", "Flatten axis is 9 on a rank-4 tensor.", node="flatten_axis_9")
def flatten_axis_9():
    return patched("flatten", "flatten_axis_9", axis=9)


@case("softmax_axis_5.onnx", "Softmax axis is 5 on the rank-2 logits.", node="softmax_axis_5")
def softmax_axis_5():
    return spliced("gemm", [node("Softmax", ["IN"], ["OUT"], "softmax_axis_5", axis=5)])


@case("concat_axis_7.onnx", "Concat axis is 7 on rank-4 tensors.", node="concat_axis_7")
def concat_axis_7():
    return spliced("relu", [node("Concat", ["IN", "IN"], ["OUT"], "concat_axis_7", axis=7)])


# --- bad shapes and constants ---


@case("reshape_impossible.onnx", "Reshape of the 4-element features to the constant shape [7, 5] (35 elements).", node="reshape_impossible")
def reshape_impossible():
    return spliced(
        "flatten",
        [node("Reshape", ["IN", "reshape_shape"], ["OUT"], "reshape_impossible")],
        [const("reshape_shape", [7, 5])],
    )


@case("split_bad_sizes.onnx", "Split of the 4 channels into sizes [1, 2], which sum to 3.", node="split_bad_sizes")
def split_bad_sizes():
    return spliced(
        "relu",
        [
            node("Split", ["IN", "split_sizes"], ["split_a", "split_b"], "split_bad_sizes", axis=1),
            node("Concat", ["split_a", "split_b"], ["OUT"], "concat_split_parts", axis=1),
        ],
        [const("split_sizes", [1, 2])],
    )


@case("slice_step_zero.onnx", "Slice over the channels with step 0.", node="slice_step_zero")
def slice_step_zero():
    return spliced(
        "relu",
        [node("Slice", ["IN", "slice_starts", "slice_ends", "slice_axes", "slice_steps"], ["OUT"], "slice_step_zero")],
        [const("slice_starts", [0]), const("slice_ends", [4]), const("slice_axes", [1]), const("slice_steps", [0])],
    )


@case("gather_index_99.onnx", "Gather on the 4 channels with the constant indices [0, 1, 2, 99].", node="gather_index_99")
def gather_index_99():
    return spliced(
        "relu",
        [node("Gather", ["IN", "gather_indices"], ["OUT"], "gather_index_99", axis=1)],
        [const("gather_indices", [0, 1, 2, 99])],
    )


@case("resize_bad_scales.onnx", "Resize of a rank-4 tensor with 3 scales [1, 1, 2].", node="resize_bad_scales")
def resize_bad_scales():
    return spliced(
        "relu",
        [node("Resize", ["IN", "", "resize_scales"], ["OUT"], "resize_bad_scales")],
        [const("resize_scales", [1, 1, 2], np.float32)],
    )


@case("constant_of_shape_huge.onnx", "ConstantOfShape builds a [2^31, 4, 8, 8] float tensor (2 TB), added to the features.", node="constant_of_shape_huge")
def constant_of_shape_huge():
    return spliced(
        "relu",
        [
            node("ConstantOfShape", ["huge_shape"], ["huge_zeros"], "constant_of_shape_huge"),
            node("Add", ["IN", "huge_zeros"], ["OUT"], "add_huge_zeros"),
        ],
        [const("huge_shape", [1 << 31, 4, 8, 8])],
    )


@case("gemm_wrong_weight.onnx", "Gemm weight B is [5, 7] where the 4-wide features need [3, 4] (transB).", node="gemm_wrong_weight", tensor="gemm_w_5x7")
def gemm_wrong_weight():
    p = replace_init(classifier(), "gemm_w", const("gemm_w_5x7", np.ones((5, 7)), np.float32))
    return build(replace_node(p, "gemm", "gemm_wrong_weight"))


@case("conv_wrong_channels.onnx", "Conv weight is [4, 5, 3, 3] for a 3-channel input.", node="conv_wrong_channels", tensor="conv_w_5ch")
def conv_wrong_channels():
    p = replace_init(classifier(), "conv_w", const("conv_w_5ch", np.ones((4, 5, 3, 3)), np.float32))
    return build(replace_node(p, "conv", "conv_wrong_channels"))


# --- bad graphs ---


@case("cycle.onnx", "Two Add nodes feed each other (add_cycle_a needs add_cycle_b's output and vice versa).", node="add_cycle_a")
def cycle():
    return spliced(
        "relu",
        [
            node("Add", ["IN", "cycle_b_out"], ["OUT"], "add_cycle_a"),
            node("Add", ["OUT", "IN"], ["cycle_b_out"], "add_cycle_b"),
        ],
    )


@case("dangling_input.onnx", "Relu reads the tensor `ghost_tensor`, which no node, input or initializer produces.", node="relu_dangling_input", tensor="ghost_tensor")
def dangling_input():
    return build(replace_node(classifier(), "relu", "relu_dangling_input", inputs=["ghost_tensor"]))


@case("relu_no_inputs.onnx", "Relu has no inputs at all.", node="relu_no_inputs")
def relu_no_inputs():
    return build(replace_node(classifier(), "relu", "relu_no_inputs", inputs=[]))


@case("duplicate_output.onnx", "Two Identity nodes both produce the same tensor.", node="identity_duplicate_output")
def duplicate_output():
    return spliced(
        "relu",
        [
            node("Identity", ["IN"], ["OUT"], "identity_first_output"),
            node("Identity", ["IN"], ["OUT"], "identity_duplicate_output"),
        ],
    )


@case("dangling_output.onnx", "The graph's only output, `phantom`, is produced by no node.", tensor="phantom")
def dangling_output():
    p = classifier()
    p.outputs = [helper.make_tensor_value_info("phantom", TensorProto.FLOAT, [1, 3])]
    return build(p)


@case("no_outputs.onnx", "The graph declares no outputs.")
def no_outputs():
    p = classifier()
    p.outputs = []
    return build(p)


@case("two_inputs.onnx", "Two image inputs x1 and x2, both [1, 3, 8, 8], added before the Conv.", node="add_two_images")
def two_inputs():
    p = classifier()
    p.inputs = [image_input("x1"), image_input("x2")]
    p.nodes.insert(0, node("Add", ["x1", "x2"], ["x"], "add_two_images"))
    return build(p)


@case("string_input.onnx", "The graph input x has element type STRING.", tensor="x")
def string_input():
    p = classifier()
    p.inputs = [image_input(elem_type=TensorProto.STRING)]
    return build(p)


@case("input_dim_2pow31.onnx", "The graph input x is declared [1, 3, 2147483648, 8].", tensor="x")
def input_dim_2pow31():
    p = classifier()
    p.inputs = [image_input(shape=(1, 3, 1 << 31, 8))]
    return build(p)


@case("input_negative_dim.onnx", "The graph input x is declared [1, 3, -8, 8].", tensor="x")
def input_negative_dim():
    p = classifier()
    p.inputs = [image_input(shape=(1, 3, -8, 8))]
    return build(p)


# --- operators and opsets ---


@case("unknown_op.onnx", "An unknown operator, FrobnicateNd, in the default domain.", node="frobnicate")
def unknown_op():
    return patched("relu", "frobnicate", op_type="FrobnicateNd")


@case("custom_domain.onnx", "An operator, SecretSauce, from the unknown custom domain com.example.secret.", node="secret_sauce")
def custom_domain():
    p = replace_node(classifier(), "relu", "secret_sauce", op_type="SecretSauce", domain="com.example.secret")
    p.opsets["com.example.secret"] = 1
    return build(p)


@case("opset_99.onnx", "The default-domain opset is 99, from the future.")
def opset_99():
    p = classifier()
    p.opsets[""] = 99
    return build(p)


@case("opset_1.onnx", "The default-domain opset is 1 (ancient; Gemm-1 and Conv-1 semantics).")
def opset_1():
    p = classifier()
    p.opsets[""] = 1
    return build(p)


@case("no_opset_import.onnx", "The model has no opset_import at all.")
def no_opset_import():
    p = classifier()
    p.opsets = {}
    return build(p)


# --- bad initializers ---


def raw_tensor(name, dims, raw_data=b""):
    """A float32 TensorProto built by hand: onnx.helper refuses raw_data that does not match dims."""
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    if raw_data:
        tensor.raw_data = raw_data
    return tensor


def conv_with_weight(node_name, tensor):
    """The classifier whose Conv, renamed, reads `tensor` as its weight."""
    p = replace_init(classifier(), "conv_w", tensor)
    return build(replace_node(p, "conv", node_name))


@case("huge_initializer.onnx", "The Gemm weight claims dims [2^20, 2^20] (4 TB of float32) but holds no data.", node="gemm_huge_weight", tensor="gemm_w_4tb")
def huge_initializer():
    p = replace_init(classifier(), "gemm_w", raw_tensor("gemm_w_4tb", [1 << 20, 1 << 20]))
    return build(replace_node(p, "gemm", "gemm_huge_weight"))


@case("raw_data_length_mismatch.onnx", "The Conv weight has dims [4, 3, 3, 3] (432 bytes of float32) but 12 bytes of raw_data.", node="conv_short_raw_data", tensor="conv_w_12_bytes")
def raw_data_length_mismatch():
    return conv_with_weight("conv_short_raw_data", raw_tensor("conv_w_12_bytes", [4, 3, 3, 3], bytes(12)))


@case("negative_initializer_dim.onnx", "The Conv bias has dims [-4] (with 16 bytes of raw_data).", node="conv_negative_bias_dim", tensor="conv_b_negative_dim")
def negative_initializer_dim():
    p = replace_init(classifier(), "conv_b", raw_tensor("conv_b_negative_dim", [-4], bytes(16)))
    return build(replace_node(p, "conv", "conv_negative_bias_dim"))


def external_weight(name, location):
    """A [4, 3, 3, 3] float32 tensor whose 432 bytes live at `location` (built by hand:
    onnx.helper wants the data in hand first)."""
    tensor = raw_tensor(name, [4, 3, 3, 3])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * 3 * 3 * 3 * 4))):
        tensor.external_data.add(key=key, value=value)
    return tensor


@case("external_data_missing.onnx", "The Conv weight is external data in `weights.bin`, a file that does not exist.", node="conv_external_weight", tensor="conv_w_external")
def external_data_missing():
    return conv_with_weight("conv_external_weight", external_weight("conv_w_external", "weights.bin"))


@case("external_data_traversal.onnx", "The Conv weight is external data at `../../../../../../../../etc/passwd`, outside the model's directory.", node="conv_traversal_weight", tensor="conv_w_traversal")
def external_data_traversal():
    location = "../../../../../../../../etc/passwd"
    return conv_with_weight("conv_traversal_weight", external_weight("conv_w_traversal", location))


@case("nan_weights.onnx", "The Conv weight holds NaN, +Inf and -Inf; loads; outputs are not finite.", node="conv_nan_weight", tensor="conv_w_nan")
def nan_weights():
    w = numpy_helper.to_array(classifier().inits[0]).copy()
    w.flat[:3] = [np.nan, np.inf, -np.inf]
    return conv_with_weight("conv_nan_weight", const("conv_w_nan", w, np.float32))


# --- big and deep ---

CHAIN_LENGTH = 1000  # ~32 bytes a node: 20000 or 100000 would be far over the 50 KB limit
NESTING_DEPTH = 100  # If levels; each is 3 levels of protobuf messages (node, attribute, graph)


@case("identity_chain.onnx", f"{CHAIN_LENGTH} Identity nodes chained after the Relu (100000 would not fit in 50 KB).", node=f"id{CHAIN_LENGTH - 1}")
def identity_chain():
    names = ["IN"] + [f"t{i}" for i in range(1, CHAIN_LENGTH)] + ["OUT"]
    chain = [node("Identity", [names[i]], [names[i + 1]], f"id{i}") for i in range(CHAIN_LENGTH)]
    return spliced("relu", chain)


# Protobuf libraries (Python's included) refuse to build or parse messages nested more than
# 100 deep, so the deep If chain is written as wire-format bytes by hand.


def field_number(message, name):
    return message.DESCRIPTOR.fields_by_name[name].number


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def wire(message, name, payload):
    """Field `name` of `message`, holding the serialized message `payload`."""
    return varint(field_number(message, name) << 3 | 2) + varint(len(payload)) + payload


def graph_bytes(name, node_bytes, output):
    """A GraphProto holding one (serialized) node, whose output is the graph's output."""
    shell = helper.make_graph([], name, [], [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)])
    return shell.SerializeToString() + wire(onnx.GraphProto, "node", node_bytes)


def graph_attribute(name, graph):
    shell = AttributeProto(name=name, type=AttributeProto.GRAPH).SerializeToString()
    return wire(onnx.NodeProto, "attribute", shell + wire(AttributeProto, "g", graph))


def nested_if(depth, source, output):
    """A serialized If node whose then-branch holds an If node whose then-branch ... `depth`
    deep; the innermost branch, and every else-branch, is an Identity of `source`."""
    body, body_out = node("Identity", [source], ["leaf_out"], "deep_leaf").SerializeToString(), "leaf_out"
    for level in reversed(range(depth)):
        out = output if level == 0 else f"if_out_{level}"
        other = node("Identity", [source], [f"else_out_{level}"], f"else_{level}").SerializeToString()
        body = (
            node("If", ["if_cond"], [out], f"if_depth_{level}").SerializeToString()
            + graph_attribute("then_branch", graph_bytes(f"then_{level}", body, body_out))
            + graph_attribute("else_branch", graph_bytes(f"else_{level}", other, f"else_out_{level}"))
        )
        body_out = out
    return body


def serialize_replacing(model, name, node_bytes):
    """The model's bytes, with node `name` of its graph replaced by `node_bytes`."""
    nodes = b"".join(
        wire(onnx.GraphProto, "node", node_bytes if n.name == name else n.SerializeToString()) for n in model.graph.node
    )
    rest, shell = onnx.GraphProto(), onnx.ModelProto()
    rest.CopyFrom(model.graph)
    rest.ClearField("node")
    shell.CopyFrom(model)
    shell.ClearField("graph")
    return shell.SerializeToString() + wire(onnx.ModelProto, "graph", nodes + rest.SerializeToString())


def nested_if_model(depth):
    """The classifier with `depth` nested If nodes after the Relu, as bytes."""
    placeholder = node("If", ["if_cond"], ["OUT"], "if_depth_0")
    model = spliced("relu", [placeholder], [const("if_cond", True, np.bool_)])
    return serialize_replacing(model, "if_depth_0", nested_if(depth, "relu_out_raw", "relu_out"))


@case("nested_if.onnx", f"If nodes nested {NESTING_DEPTH} deep through their then-branches ({3 * NESTING_DEPTH + 2} levels of protobuf messages).", node="if_depth_0")
def nested_if_deep():
    return nested_if_model(NESTING_DEPTH)


# ----------------------------------------------------------------------------------------------
# Writing, checking, probing with onnxruntime
# ----------------------------------------------------------------------------------------------


def all_nodes(graph):
    """Every node of a graph, its subgraphs included."""
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                yield from all_nodes(a.g)


def check_names(c, model):
    """Every node is named, the names are distinct, and the manifest's node exists."""
    if not isinstance(model, onnx.ModelProto):
        return
    names = [n.name for n in all_nodes(model.graph)]
    assert all(names), f"{c.file}: a node has no name"
    assert len(names) == len(set(names)), f"{c.file}: node names repeat"
    assert c.node is None or c.node in names, f"{c.file}: no node named {c.node}"


def probe(path):
    """Child process: loads `path` in onnxruntime and runs it on zeros; prints one line."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - any refusal is the answer
        return print(f"refused: {short(e)}")
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        if np.prod(shape, dtype=np.float64) > 1 << 24:
            return print(f"loads; not run: input {i.name} of shape {shape} is too large to feed")
        dtype = np.str_ if i.type == "tensor(string)" else np.float32
        feeds[i.name] = np.zeros(shape, dtype=dtype)
    try:
        outputs = session.run(None, feeds)
    except Exception as e:  # noqa: BLE001
        return print(f"loads; run fails: {short(e)}")
    finite = all(np.isfinite(o).all() for o in outputs)
    print("runs" if finite else "runs; outputs are not finite")


def short(error, limit=200):
    """onnxruntime's message without its prefixes, source location and C++ signature."""
    text = " ".join(str(error).split())
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"^Load model from \S+ failed:", "", text)
    text = re.sub(r"\S+\.(?:cc|h):\d+ (?:(?:[\w:*&<>]+ )?[\w:~<>]+\(.*?\)|\w+) (?=[A-Z])", "", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def onnxruntime_verdict(path):
    """What onnxruntime makes of the file, probed in a child process (a hostile file may
    crash it, exhaust memory or hang)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "not checked: onnxruntime is not installed"
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--probe", str(path)],
            capture_output=True, text=True, timeout=60, preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        return "refused: timed out after 60 s"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"refused: crashed (exit {done.returncode}) {short(done.stderr, 100)}".strip()
    return lines[-1].replace(f"{path.parent}/", "")  # the same wherever the repository lives


def main():
    for old in OUT.glob("*.onnx"):
        old.unlink()
    manifest, total = [], 0
    for c in CASES:
        made = c.make()
        check_names(c, made)
        data = made if isinstance(made, bytes) else made.SerializeToString()
        assert len(data) < MAX_FILE_BYTES, f"{c.file} is {len(data)} bytes"
        path = OUT / c.file
        path.write_bytes(data)
        total += len(data)
        verdict = onnxruntime_verdict(path)
        print(f"{c.file:36} {len(data):6} B  onnxruntime: {verdict}")
        manifest.append(dict(file=c.file, what=c.what, node=c.node, tensor=c.tensor, onnxruntime=verdict))
    assert total < MAX_TOTAL_BYTES, f"{total} bytes in all"
    assert manifest[0]["onnxruntime"] in ("runs", "not checked: onnxruntime is not installed"), "the control must run"
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(manifest)} files, {total} bytes in all")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        probe(pathlib.Path(sys.argv[2]))
    else:
        main()
