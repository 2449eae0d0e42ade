"""Sensitivity references: Captum's sensitivity_max (captum.metrics) on a small ReLU network,
with the noise drawn here and handed to Captum through `perturb_func`, so that Glimpse can be
given the same draws. Run from the repository root:

    python3 tests/data/evaluate/make_sensitivity_references.py

Needs torch, captum, onnx and numpy. Writes sensitivity_mlp.onnx and sensitivity.json beside
itself.

- The model: flatten(x) -> Linear(48, 16) -> ReLU -> Linear(16, 5), x of shape (1, 3, 4, 4),
  seeded, exported to ONNX (opset 13).
- The noise: 10 draws of U(-0.5, 0.5) for every element (a radius large enough to flip some
  ReLUs, so the maps really move), added to the input as Captum's default_perturb_func adds its
  own.
- The maps: Captum's Saliency(abs=False) (Glimpse's raw gradient) and InputXGradient, for
  target 2. sensitivity_max's default norm ("fro": the 2-norm of the flattened difference, over
  the original map's) and its max over the draws; each draw's relative change too.
"""
import json
import pathlib

import numpy as np
import torch
from captum.attr import InputXGradient, Saliency
from captum.metrics import sensitivity_max
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
TARGET = 2
RADIUS = 0.5
DRAWS = 10


def main():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.ReLU(), nn.Linear(16, 5)).eval()
    x = torch.randn(1, 3, 4, 4)
    torch.onnx.export(model, (x,), str(HERE / "sensitivity_mlp.onnx"), input_names=["input"], output_names=["logits"],
                      opset_version=13, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    rng = np.random.default_rng(0)
    noise = rng.uniform(-RADIUS, RADIUS, size=(DRAWS, 3, 4, 4)).astype(np.float32)

    def perturb(inputs, radius):
        # Captum repeats the one input DRAWS times; draw k moves copy k.
        return inputs + torch.from_numpy(noise)

    runs = {}
    for name, method in [("gradient", Saliency(model)), ("grad-x-input", InputXGradient(model))]:
        if name == "gradient":
            explain = lambda inp, target: method.attribute(inp, target=target, abs=False)  # noqa: E731
        else:
            explain = lambda inp, target: method.attribute(inp, target=target)  # noqa: E731
        score = sensitivity_max(explain, x, perturb_func=perturb, perturb_radius=RADIUS,
                                n_perturb_samples=DRAWS, target=TARGET)
        original = explain(x, TARGET).detach()
        moved = explain(x + torch.from_numpy(noise), TARGET).detach()
        changes = [float(torch.linalg.vector_norm(original[0] - moved[k]) / torch.linalg.vector_norm(original[0]))
                   for k in range(DRAWS)]
        assert abs(max(changes) - float(score[0])) < 1e-6, (changes, score)
        runs[name] = {"max": float(score[0]), "changes": changes}
    refs = {"target": TARGET, "radius": RADIUS, "input": x.numpy().tolist(), "noise": noise.tolist(), "runs": runs}
    (HERE / "sensitivity.json").write_text(json.dumps(refs))


if __name__ == "__main__":
    main()
