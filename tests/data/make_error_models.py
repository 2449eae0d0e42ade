"""Writes small ONNX files that exercise Glimpse's error paths. Run from the repository root:

    python3 tests/data/make_error_models.py
"""

import pathlib

import onnx
from onnx import TensorProto, helper

DATA = pathlib.Path(__file__).resolve().parent


def unsupported_ops():
    """A valid ONNX model whose graph uses Det and Unique, which tract does not implement."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Det", ["r"], ["d"]),
        helper.make_node("Unique", ["d"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "unsupported", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, DATA / "unsupported_ops.onnx")




def no_vjp():
    """A model tract runs but the gradient engine cannot differentiate: Cos has no VJP."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Cos", ["x"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "no_vjp", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, DATA / "no_vjp.onnx")


if __name__ == "__main__":
    unsupported_ops()
    no_vjp()
