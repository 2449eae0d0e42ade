"""Soft stability references: the stability rate τ_r (Jin et al. 2025) computed exactly, by
trying every mask, with onnxruntime on the small ReLU network of the sensitivity references.
Run from the repository root:

    python3 tests/data/evaluate/make_stability_references.py

Needs onnxruntime, onnx and numpy. Writes stability.json and stability_constant.onnx beside
itself.

- The input: sensitivity.json's (1, 3, 4, 4), written here flat; its 16 pixels are the features, every channel of a
  pixel together; a hidden pixel is 0 in every channel.
- The map: one value per pixel, seeded normal draws. The explanation is the ceil(16 / 4) = 4
  highest (ties in index order; there are none), shown alone; its prediction is the top class.
- τ_r for r = 0..4: the share of the masks that show the explanation and up to r of the 12 other
  pixels (every such mask once: 1 + 12 + 66 + 220 + 495) on which the top class is the
  explanation's.
- stability_constant.onnx: flatten -> Gemm with zero weights and a bias, so no mask can change its
  prediction: τ_r = 1.
"""
import itertools
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
SHARE = 0.25
RADII = range(0, 5)


def main():
    refs = json.loads((HERE / "sensitivity.json").read_text())
    x = np.asarray(refs["input"], dtype=np.float32).reshape(1, 3, 4, 4)
    values = np.random.default_rng(1).normal(size=16).astype(np.float32)
    ranked = sorted(range(16), key=lambda i: (-values[i], i))
    m = int(np.ceil(SHARE * 16))
    shown, others = ranked[:m], ranked[m:]

    session = ort.InferenceSession(str(HERE / "sensitivity_mlp.onnx"))

    def predictions(masks):
        batch = np.zeros((len(masks), 3, 4, 4), dtype=np.float32)
        for b, pixels in enumerate(masks):
            for p in pixels:
                batch[b, :, p // 4, p % 4] = x[0, :, p // 4, p % 4]
        return session.run(None, {"input": batch})[0].argmax(axis=1)

    prediction = int(predictions([shown])[0])
    rates = {}
    for r in RADII:
        masks = [shown + list(extra) for k in range(r + 1) for extra in itertools.combinations(others, k)]
        held = int((predictions(masks) == prediction).sum())
        rates[str(r)] = {"masks": len(masks), "held": held, "rate": held / len(masks)}

    weight = numpy_helper.from_array(np.zeros((5, 48), dtype=np.float32), "weight")
    bias = numpy_helper.from_array(np.array([0.1, 0.7, -0.2, 0.3, 0.0], dtype=np.float32), "bias")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"], axis=1),
         helper.make_node("Gemm", ["flat", "weight", "bias"], ["logits"], transB=1)],
        "constant", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5])], [weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(HERE / "stability_constant.onnx"))

    out = {"input": x.ravel().tolist(), "values": values.tolist(), "share": SHARE, "shown": shown, "prediction": prediction, "rates": rates}
    (HERE / "stability.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"prediction": prediction, "rates": rates}))


if __name__ == "__main__":
    main()
