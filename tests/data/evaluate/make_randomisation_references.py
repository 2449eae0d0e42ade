"""Model randomisation references (Adebayo et al. 2018): the randomised models' logits from
onnxruntime, and the similarity measures from SciPy and scikit-image. Run from the repository
root, after `cargo build --bin glimpse`:

    python3 tests/data/evaluate/make_randomisation_references.py [path/to/glimpse]

Needs numpy, scipy, scikit-image and onnxruntime. Writes randomisation.json beside itself.

- Logits: `glimpse randomise` writes each model with some layers re-initialised (seeded; the
  layers by their index from the logits down); onnxruntime runs it on the same input as the
  tests: EfficientNet-Lite0 on tests/data/chelsea_input.npy, and the MiniLM sentiment model on
  "not bad at all" with the ids and mask of tests/data/text/logits.json. The script also checks
  what it can of the draws in the written file: every re-initialised weight and bias lies in
  [-1/sqrt(fan_in), 1/sqrt(fan_in)], and their variance is near bound^2 / 3, as PyTorch's
  kaiming_uniform_(a=sqrt(5)) and its bias rule give.
- Spearman: scipy.stats.spearmanr (ties share their average rank) of two maps with ties, on their
  absolute and their signed values.
- SSIM: skimage.metrics.structural_similarity at its defaults (7x7 uniform window, sample
  covariance) of the two maps' absolute values each divided by its largest, data_range=1.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

ROOT = pathlib.Path(__file__).resolve().parents[3]
HERE = pathlib.Path(__file__).resolve().parent
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path.home() / ".cache/glimpse/target"))
GLIMPSE = sys.argv[1] if len(sys.argv) > 1 else str(pathlib.Path(TARGET_DIR) / "debug/glimpse")
SEED = 3


def randomised(model, layers):
    """The model with these layers re-initialised, written by glimpse, and the layer list."""
    out = pathlib.Path(tempfile.mkdtemp()) / "randomised.onnx"
    listing = subprocess.run(
        [GLIMPSE, "randomise", "--model", str(ROOT / model), "--layers", ",".join(map(str, layers)),
         "--seed", str(SEED), "--out", str(out)],
        check=True, capture_output=True, text=True)
    return out, json.loads(listing.stdout)["layers"]


def check_draws(path, listed):
    """Every new initializer within its layer's bound, with the uniform distribution's variance."""
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    for entry in listed:
        if not entry["randomised"]:
            continue
        bound = 1 / np.sqrt(entry["layer"]["fan_in"])
        for part in ["weight", "bias"]:
            values = inits.get(f"glimpse.randomised.{entry['index']}.{part}")
            assert values is not None or part == "bias", entry
            if values is None:
                continue
            assert np.abs(values).max() <= bound, (entry, part)
            if values.size >= 10000:
                assert abs(values.var() / (bound ** 2 / 3) - 1) < 0.05, (entry, part, values.var())


def image_case(mode, layers):
    path, listed = randomised("models/efficientnet-lite0.onnx", layers)
    check_draws(path, listed)
    x = np.load(ROOT / "tests/data/chelsea_input.npy")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
    return {"mode": mode, "layers": layers, "logits": logits.tolist()}


def text_case(mode, layers):
    path, listed = randomised("models/minilm-sentiment.onnx", layers)
    check_draws(path, listed)
    refs = json.load(open(ROOT / "tests/data/text/logits.json"))
    i = refs["sentences"].index("not bad at all")
    ids = np.array([refs["input_ids"][i]], dtype=np.int64)
    mask = np.array([refs["attention_mask"][i]], dtype=np.int64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = sess.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0][0]
    return {"mode": mode, "layers": layers, "text": "not bad at all", "logits": logits.tolist()}


def similarities():
    """Two 24x30 signed maps with ties, and what SciPy and scikit-image say of them."""
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(size=(24, 30)), 1).astype(np.float32)
    b = np.round(a + rng.normal(scale=0.7, size=a.shape), 1).astype(np.float32)
    abs_a, abs_b = np.abs(a), np.abs(b)
    return {
        "a": a.tolist(), "b": b.tolist(),
        "spearman_abs": float(spearmanr(abs_a.ravel(), abs_b.ravel()).statistic),
        "spearman_signed": float(spearmanr(a.ravel(), b.ravel()).statistic),
        "ssim": float(structural_similarity(abs_a / abs_a.max(), abs_b / abs_b.max(), data_range=1.0)),
    }


def main():
    refs = {
        "seed": SEED,
        "image": [
            image_case("cascading", [0]),
            image_case("cascading", list(range(13))),
            image_case("cascading", list(range(50))),
            image_case("independent", [25]),
        ],
        "text": [
            text_case("cascading", list(range(37))),
            text_case("independent", [5]),
        ],
        "similarity": similarities(),
    }
    (HERE / "randomisation.json").write_text(json.dumps(refs))


if __name__ == "__main__":
    main()
