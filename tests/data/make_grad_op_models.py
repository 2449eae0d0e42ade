"""Writes one small ONNX model per operator case for the gradient engine's finite-difference
checks (tests/grad_ops.rs): `grad_ops/<case>.onnx` with input `x` and output `y`, and
`grad_ops/<case>.npy`, the point at which to check (chosen away from kinks, where the
finite difference and the gradient both exist). Run from the repository root:

    python3 tests/data/make_grad_op_models.py
"""

import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

OUT = pathlib.Path(__file__).resolve().parent / "grad_ops"
rng = np.random.default_rng(7)


def away_from(values, kinks, margin=0.1):
    """Moves values at least `margin` away from each kink."""
    v = values.copy()
    for k in kinks:
        close = np.abs(v - k) < margin
        v[close] = k + np.where(v[close] >= k, margin, -margin) * 1.5
    return v


def case(name, x, nodes, initializers=(), opset=13, extra_outputs=()):
    """One model: input x (its shape fixed), the nodes, output y."""
    x = x.astype(np.float32)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))]
    inits = [numpy_helper.from_array(np.asarray(v), n) for n, v in initializers]

    def build(y_shape):
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)]
        graph = helper.make_graph(nodes, name, inputs, outputs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model

    # The output's shape, from ONNX's own reference evaluator.
    y = ReferenceEvaluator(build([])).run(None, {"x": x})[0]
    model = build(list(y.shape))
    onnx.checker.check_model(model)
    onnx.save(model, OUT / f"{name}.onnx")
    np.save(OUT / f"{name}.npy", x.astype(np.float32))


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()

    # Convolution: groups, strides, dilations, asymmetric pads, 1-D, depthwise, SAME padding.
    case("conv_grouped_strided_padded", f32(2, 4, 7, 6),
         [node("Conv", ["x", "w", "b"], group=2, strides=[2, 1], pads=[1, 0, 2, 1])],
         [("w", f32(6, 2, 3, 2)), ("b", f32(6))])
    case("conv_dilated", f32(1, 3, 9, 9), [node("Conv", ["x", "w"], dilations=[2, 3], pads=[2, 1, 2, 1])],
         [("w", f32(2, 3, 3, 3))])
    case("conv_depthwise_same", f32(1, 4, 6, 5),
         [node("Conv", ["x", "w"], group=4, strides=[2, 2], auto_pad="SAME_UPPER")], [("w", f32(4, 1, 3, 3))])
    case("conv_1d", f32(2, 3, 10), [node("Conv", ["x", "w"], strides=[3], pads=[1, 2])], [("w", f32(5, 3, 4))])
    case("conv_pointwise", f32(2, 5, 4, 4), [node("Conv", ["x", "w"])], [("w", f32(3, 5, 1, 1))])

    # Activations, away from their kinks.
    smooth = f32(2, 3, 4)
    case("relu", away_from(smooth, [0]), [node("Relu", ["x"])])
    case("leaky_relu", away_from(smooth, [0]), [node("LeakyRelu", ["x"], alpha=0.1)])
    case("clip", away_from(smooth * 4, [0, 6]) , [node("Clip", ["x", "lo", "hi"])],
         [("lo", np.float32(0)), ("hi", np.float32(1.5))], )
    case("sigmoid", smooth, [node("Sigmoid", ["x"])])
    case("hard_sigmoid", away_from(smooth * 3, [-2.5, 2.5]), [node("HardSigmoid", ["x"], alpha=0.2, beta=0.5)])
    case("hard_swish", away_from(smooth * 3, [-3, 3]), [node("HardSwish", ["x"])], opset=14)
    case("tanh", smooth, [node("Tanh", ["x"])])
    case("erf", smooth, [node("Erf", ["x"])])
    case("gelu", smooth, [node("Gelu", ["x"])], opset=20)
    case("gelu_tanh", smooth, [node("Gelu", ["x"], approximate="tanh")], opset=20)
    case("exp", smooth, [node("Exp", ["x"])])
    case("log", np.abs(smooth) + 0.5, [node("Log", ["x"])])
    case("sqrt", np.abs(smooth) + 0.5, [node("Sqrt", ["x"])])
    case("neg", smooth, [node("Neg", ["x"])])
    case("abs", away_from(smooth, [0]), [node("Abs", ["x"])])
    case("reciprocal", np.abs(smooth) + 0.5, [node("Reciprocal", ["x"])])
    case("softplus", smooth, [node("Softplus", ["x"])])
    case("identity_dropout_cast", smooth,
         [node("Identity", ["x"], ["a"]), node("Dropout", ["a"], ["b"]), node("Cast", ["b"], to=TensorProto.FLOAT)])

    # Arithmetic with broadcasting, and with x on both sides.
    c = f32(3, 1)
    case("add_broadcast", smooth, [node("Add", ["c", "x"])], [("c", c)])
    case("sub_broadcast", smooth, [node("Sub", ["c", "x"])], [("c", c)])
    case("mul_broadcast", smooth, [node("Mul", ["x", "c"])], [("c", c)])
    case("div_both", np.abs(smooth) + 0.5, [node("Div", ["c", "x"], ["q"]), node("Div", ["q", "x"])],
         [("c", np.abs(c) + 0.5)])
    case("pow_both", np.abs(smooth) + 0.5, [node("Pow", ["x", "x"])])
    case("pow_const", np.abs(smooth) + 0.5, [node("Pow", ["x", "e"])], [("e", np.float32(2.5))])
    case("mul_self_sum_mean", smooth, [node("Mul", ["x", "x"], ["s"]), node("Sum", ["s", "x", "c"], ["t"]),
                                       node("Mean", ["t", "x"])], [("c", c)])

    # Pooling: overlapping windows, pads, ceil_mode; ties are tested separately in Rust.
    distinct = rng.permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7).astype(np.float32) / 10
    case("max_pool_overlapping_padded", distinct, [node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])])
    case("max_pool_ceil", distinct, [node("MaxPool", ["x"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)])
    case("max_pool_dilated_1d", distinct.reshape(2, 3, 49), [node("MaxPool", ["x"], kernel_shape=[3], dilations=[2], strides=[2])])
    case("average_pool_padded_exclusive", f32(2, 3, 7, 6), [node("AveragePool", ["x"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])])
    case("average_pool_padded_inclusive", f32(2, 3, 7, 6),
         [node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)])
    case("average_pool_ceil", f32(1, 2, 7, 7), [node("AveragePool", ["x"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)])
    case("global_average_pool", f32(2, 3, 5, 4), [node("GlobalAveragePool", ["x"])])

    # Linear algebra.
    case("matmul_batched_broadcast", f32(2, 3, 4), [node("MatMul", ["x", "w"])], [("w", f32(4, 5))])
    case("matmul_left_const", f32(2, 4, 3), [node("MatMul", ["w", "x"])], [("w", f32(5, 4))])
    case("matmul_self", f32(2, 3, 3), [node("Transpose", ["x"], ["t"], perm=[0, 2, 1]), node("MatMul", ["x", "t"])])
    case("gemm_trans", f32(4, 3), [node("Gemm", ["x", "w", "c"], transA=1, transB=1, alpha=0.7, beta=1.3)],
         [("w", f32(5, 4)), ("c", f32(5))])

    # Softmax and normalisation.
    case("softmax_axis1", f32(2, 4, 3), [node("Softmax", ["x"], axis=1)])
    case("softmax_opset11_coerced", f32(2, 3, 4), [node("Softmax", ["x"], axis=1)], opset=11)
    case("log_softmax", f32(2, 5), [node("LogSoftmax", ["x"], axis=-1)])
    case("batch_norm", f32(2, 3, 4, 4), [node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)],
         [("s", f32(3)), ("b", f32(3)), ("m", f32(3)), ("v", np.abs(f32(3)) + 0.5)])
    case("instance_norm", f32(2, 3, 4, 5), [node("InstanceNormalization", ["x", "s", "b"])], [("s", f32(3)), ("b", f32(3))])
    case("layer_norm", f32(2, 3, 6), [node("LayerNormalization", ["x", "s", "b"], axis=-1, epsilon=1e-5)],
         [("s", f32(6)), ("b", f32(6))], opset=17)
    case("reduce_mean_attr", f32(2, 3, 4), [node("ReduceMean", ["x"], axes=[1, 2], keepdims=0)])
    case("reduce_sum_input", f32(2, 3, 4), [node("ReduceSum", ["x", "axes"], keepdims=1)], [("axes", np.array([0, 2], np.int64))])

    # Shapes and indexing.
    case("transpose_reshape_flatten", f32(2, 3, 4),
         [node("Transpose", ["x"], ["t"], perm=[2, 0, 1]), node("Reshape", ["t", "s"], ["r"]),
          node("Flatten", ["r"], axis=1)], [("s", np.array([4, -1, 2], np.int64))])
    case("squeeze_unsqueeze", f32(2, 1, 4),
         [node("Squeeze", ["x", "a"], ["s"]), node("Unsqueeze", ["s", "b"])],
         [("a", np.array([1], np.int64)), ("b", np.array([0, 3], np.int64))])
    case("concat_with_const", f32(2, 3), [node("Concat", ["c", "x", "x"], axis=1)], [("c", f32(2, 2))])
    case("split_sizes", f32(2, 7),
         [node("Split", ["x", "sizes"], ["a", "b", "c"], axis=1), node("Mul", ["a", "a"], ["a2"]),
          node("Concat", ["c", "a2"], axis=1)], [("sizes", np.array([2, 3, 2], np.int64))])
    case("slice_steps", f32(4, 6, 5),
         [node("Slice", ["x", "st", "en", "ax", "sp"])],
         [("st", np.array([1, -1, 0], np.int64)), ("en", np.array([4, -7, 5], np.int64)),
          ("ax", np.array([0, 1, 2], np.int64)), ("sp", np.array([2, -2, 1], np.int64))])
    case("expand", f32(3, 1), [node("Expand", ["x", "s"])], [("s", np.array([2, 3, 4], np.int64))])
    case("where", f32(2, 3), [node("Where", ["cond", "x", "c"])],
         [("cond", np.array([[True, False, True]])), ("c", f32(2, 3))])
    for mode in ["constant", "reflect", "edge"]:
        case(f"pad_{mode}", f32(1, 2, 4, 5), [node("Pad", ["x", "pads"], mode=mode)],
             [("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))])
    case("gather_axis1", f32(3, 5, 2), [node("Gather", ["x", "i"], axis=1)], [("i", np.array([[4, 0], [-1, 4]], np.int64))])
    for mode, transform in [("nearest", "asymmetric"), ("linear", "half_pixel"), ("linear", "align_corners"),
                            ("linear", "pytorch_half_pixel")]:
        case(f"resize_{mode}_{transform}", f32(1, 2, 3, 4),
             [node("Resize", ["x", "", "scales"], mode=mode, coordinate_transformation_mode=transform,
                   nearest_mode="floor")],
             [("scales", np.array([1, 1, 2, 1.5], np.float32))])
    print(f"wrote {len(list(OUT.glob('*.onnx')))} models to {OUT}")


if __name__ == "__main__":
    main()
