"""Deletion and insertion references: the RISE repository's evaluation.py (Petsiuk et al. 2018,
github.com/eclique/RISE, `CausalMetric.single_run`, `gkern`, `auc`), re-implemented in NumPy with
onnxruntime in place of PyTorch on the GPU. Run from the repository root:

    python3 tests/data/evaluate/make_references.py

Needs numpy, scipy and onnxruntime. Writes references.json beside itself.

Model: models/efficientnet-lite0.onnx, input tests/data/chelsea_input.npy, target 282. The maps
are the Captum / pytorch-grad-cam references in tests/data/explain/, each reduced as Glimpse
displays that method (gradient: max |.| over channels; occlusion: mean over channels; Grad-CAM:
its 7x7 map upsampled bilinearly with half-pixel centres, as torch's align_corners=False), in
float32.

As evaluation.py:
- the model's output goes through a softmax, and the score of a pass is the target's probability;
- deletion starts from the input and replaces pixels (all three channels) with 0 in the model's
  input space; insertion starts from the input convolved channel by channel with gkern(11, 5)
  (zero padding 5) and puts pixels back;
- step i has moved the first `step * i` pixels of the order (capped at H*W);
- the area is (sum - first/2 - last/2) / (steps), the trapezoid rule over [0, 1].
Where Glimpse states a convention evaluation.py leaves to np.argsort:
- most relevant first is a stable sort of -value (equal values in index order), where RISE
  flips an (unstable) ascending argsort; least relevant first is a stable sort of value;
- with a number of steps S instead of a step in pixels, step k has moved floor(k*N/S) pixels and
  the curve's x is that share of N (equal spacing when S divides N).
"""
import json
import pathlib

import numpy as np
import onnxruntime as ort
from scipy.ndimage import gaussian_filter

ROOT = pathlib.Path(__file__).resolve().parents[3]
HERE = pathlib.Path(__file__).resolve().parent
TARGET = 282


def gkern(klen, nsig):
    """evaluation.py's gkern: a delta smoothed by gaussian_filter, one copy per channel."""
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    return gaussian_filter(inp, nsig).astype("float32")


def blur(x):
    """conv2d(x, kern, padding=klen // 2) with kern[c, c] = gkern(11, 5), other pairs 0."""
    k = gkern(11, 5)
    pad = np.pad(x, ((0, 0), (0, 0), (5, 5), (5, 5)))
    out = np.zeros_like(x)
    h, w = x.shape[2:]
    for dy in range(11):
        for dx in range(11):
            out += k[dy, dx] * pad[:, :, dy:dy + h, dx:dx + w]
    return out


def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def bilinear_half_pixel(m, size):
    h, w = m.shape

    def source(out, n_out, n_in):
        x = max((np.float32(out) + np.float32(0.5)) * np.float32(n_in) / np.float32(n_out) - np.float32(0.5), 0.0)
        lo = min(int(np.floor(x)), n_in - 1)
        return lo, min(lo + 1, n_in - 1), np.float32(x - lo)

    out = np.zeros((size, size), np.float32)
    for y in range(size):
        y0, y1, fy = source(y, size, h)
        for x in range(size):
            x0, x1, fx = source(x, size, w)
            top = m[y0, x0] * (1 - fx) + m[y0, x1] * fx
            bottom = m[y1, x0] * (1 - fx) + m[y1, x1] * fx
            out[y, x] = top * (1 - fy) + bottom * fy
    return out


def counts(n, steps=None, step=None):
    if step is not None:
        n_steps = (n + step - 1) // step
        return [min(i * step, n) for i in range(n_steps + 1)]
    s = min(steps, n)
    return [i * n // s for i in range(s + 1)]


def single_run(session, x, values, mode, order, steps=None, step=None):
    n = values.size
    flat = values.reshape(-1)
    ranked = np.argsort(-flat if order == "morf" else flat, kind="stable")
    if mode == "deletion":
        start, finish = x.copy(), np.zeros_like(x)
    else:
        start, finish = blur(x), x.copy()
    c = x.shape[1]
    moved = counts(n, steps, step)
    scores = []
    for k in moved:
        img = start.copy().reshape(1, c, n)
        img[0, :, ranked[:k]] = finish.reshape(1, c, n)[0, :, ranked[:k]]
        logits = session.run(None, {session.get_inputs()[0].name: img.reshape(x.shape)})[0][0]
        scores.append(float(softmax(logits)[TARGET]))
    fractions = [k / n for k in moved]
    area = sum((fractions[i + 1] - fractions[i]) * (scores[i] + scores[i + 1]) / 2 for i in range(len(moved) - 1))
    if step is not None and n % step == 0:
        arr = np.array(scores)
        rise_auc = (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)
        assert abs(rise_auc - area) < 1e-9, (rise_auc, area)
    return {"scores": scores, "fractions": fractions, "auc": area}


def main():
    session = ort.InferenceSession(str(ROOT / "models/efficientnet-lite0.onnx"))
    x = np.load(ROOT / "tests/data/chelsea_input.npy").astype(np.float32)
    explain = ROOT / "tests/data/explain"
    maps = {
        "gradient": np.abs(np.load(explain / "efficientnet_saliency.npy")[0]).max(axis=0),
        "occlusion": np.load(explain / "efficientnet_occlusion_32_16.npy")[0].mean(axis=0),
        "grad-cam": bilinear_half_pixel(np.load(explain / "efficientnet_grad_cam.npy")[0, 0], 224),
    }
    out = {"target": TARGET, "gkern_11_5": gkern(11, 5).tolist(), "runs": []}
    for method, values in maps.items():
        for mode in ["deletion", "insertion"]:
            for order in ["morf", "lerf"]:
                run = single_run(session, x, values, mode, order, steps=10)
                out["runs"].append({"method": method, "metric": mode, "order": order, "steps": 10, **run})
    run = single_run(session, x, maps["gradient"], "deletion", "morf", step=224)
    out["runs"].append({"method": "gradient", "metric": "deletion", "order": "morf", "step_pixels": 224, **run})
    (HERE / "references.json").write_text(json.dumps(out, indent=1))
    for r in out["runs"]:
        print(r["method"], r["metric"], r["order"], r.get("steps", r.get("step_pixels")), round(r["auc"], 5))


if __name__ == "__main__":
    main()
