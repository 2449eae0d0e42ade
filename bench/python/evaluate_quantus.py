"""Deletion, model randomisation and sensitivity on a folder of 20 images: Quantus 0.6 on
PyTorch CPU (PixelFlipping, MPRT, MaxSensitivity), against `glimpse evaluate` on the same
inputs, model and maps' method, on the same machine.

    python3 bench/python/evaluate_quantus.py --make-inputs /tmp/evaluate-inputs
    python3 bench/python/evaluate_quantus.py --time /tmp/evaluate-inputs [--threads 2] \
        [--metric deletion|randomisation|sensitivity]

`--make-inputs` writes 20 input tensors (.npy, 1x3x224x224, normalised as
models/efficientnet-lite0.json says): the four example images of www/examples, each resized so
its short side is 256 and cut at five places (centre and the four corners' 224x224), so that
both sides are fed exactly the same tensors (`glimpse evaluate` feeds a .npy as it is).

`--time` runs, for all 20 inputs in one batch as Quantus does: the gradient map (Captum's
Saliency, |dy/dx| max over channels, as Glimpse draws it, in every channel) for each input's
top class, then Quantus's PixelFlipping replacing 1024 input elements by 0 per step, on the
softmax probability. Quantus checks that the step divides H x W (50176) but steps over the
C x H x W elements (150528), so this is 147 steps of about 341 pixels each (the three channels
of a pixel rank together): the same work as

    glimpse evaluate --model models/efficientnet-lite0.onnx --input DIR --methods gradient \
        --metrics deletion --order morf --steps 147 --no-random --out report.json

(148 passes with the unperturbed one, which Quantus does not run). It prints the wall time and the mean
area (Quantus's AUC is np.trapz over the 49 steps with unit spacing, so its number is not
Glimpse's; the time is what is compared).

`--metric randomisation` runs Quantus's MPRT, cascading from the logits down (layer_order
"top_down"), Spearman of |map| normalised by its max (Quantus's defaults, as Glimpse compares),
on the same gradient maps. Quantus re-initialises every module with `reset_parameters`, and
remakes every map after each: the Linear head, each Conv2d and each BatchNorm2d (whose running
statistics it resets too), where Glimpse re-initialises the Conv and Gemm layers of the ONNX
file, in which the batch norms are folded. So the work compared is the time per remade map (one
re-initialisation step and one gradient map), against

    glimpse evaluate --model models/efficientnet-lite0.onnx --input DIR --methods gradient \
        --metrics randomisation --randomisation-mode cascading --randomisation-steps 50 \
        --no-random --out report.json

(every one of the 50 layers, one a step; 20 original maps and 50 × 20 remade ones).

`--metric sensitivity` runs Quantus's MaxSensitivity with Captum's settings: 10 samples of
U(−0.02, 0.02) noise on every input element, the Frobenius norm of the change over the map's,
the largest, on the raw gradient (signed, every channel: what Glimpse compares); against

    glimpse evaluate --model models/efficientnet-lite0.onnx --input DIR --methods gradient \
        --metrics sensitivity --no-random --out report.json

Deletion and randomisation make each gradient map as Glimpse draws it: |dy/dx|, the largest
over the channels.
"""

import argparse
import json
import pathlib
import time

import numpy as np
import torch
from PIL import Image

from shared import ROOT, load_model


def make_inputs(folder):
    folder.mkdir(parents=True, exist_ok=True)
    spec = json.loads((ROOT / "models/efficientnet-lite0.json").read_text())["preprocess"]
    mean = np.array(spec["mean"], np.float32)[:, None, None]
    std = np.array(spec["std"], np.float32)[:, None, None]
    size = spec["height"]
    for path in sorted((ROOT / "www/examples").glob("*.*g")):
        image = Image.open(path).convert("RGB")
        scale = spec["resize_short_side"] / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
        w, h = image.size
        places = {"centre": ((w - size) // 2, (h - size) // 2), "nw": (0, 0), "ne": (w - size, 0),
                  "sw": (0, h - size), "se": (w - size, h - size)}
        for name, (x, y) in places.items():
            crop = np.asarray(image.crop((x, y, x + size, y + size)), np.float32).transpose(2, 0, 1)
            tensor = ((crop - mean) / std)[None].astype(np.float32)
            np.save(folder / f"{path.stem}_{name}.npy", tensor)
    print(f"{len(list(folder.glob('*.npy')))} inputs in {folder}")


def saliency_max(model, inputs, targets, **_):
    """The gradient map as Glimpse draws it: |dy/dx|, the largest over the channels."""
    from captum.attr import Saliency

    x = torch.as_tensor(inputs).requires_grad_()
    grad = Saliency(model).attribute(x, target=torch.as_tensor(targets), abs=True)
    return grad.detach().numpy().max(axis=1, keepdims=True)


def raw_gradient(model, inputs, targets, **_):
    """The raw gradient dy/dx, signed, every channel: Glimpse's map before display."""
    from captum.attr import Saliency

    x = torch.as_tensor(inputs).requires_grad_()
    return Saliency(model).attribute(x, target=torch.as_tensor(targets), abs=False).detach().numpy()


def maps(folder, threads):
    """The model, the inputs, and (timed from here) their top classes and gradient maps."""
    torch.set_num_threads(threads)
    model = load_model()
    x = np.concatenate([np.load(p) for p in sorted(folder.glob("*.npy"))])
    started = time.perf_counter()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    return model, x, y, saliency_max(model, x, y), started


def time_randomisation(folder, threads):
    import quantus

    model, x, y, a, started = maps(folder, threads)
    layers = sum(1 for _, m in model.named_modules() if hasattr(m, "reset_parameters"))
    metric = quantus.MPRT(layer_order="top_down", seed=0, return_average_correlation=False,
                          disable_warnings=True, display_progressbar=False)
    scores = metric(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", explain_func=saliency_max,
                    batch_size=len(x))
    seconds = time.perf_counter() - started
    last = list(scores.values())[-1]
    print(json.dumps({"tool": "quantus", "metric": "MPRT", "threads": threads, "inputs": len(x), "layers": layers,
                      "seconds": round(seconds, 2), "ms_per_remade_map": round(1000 * seconds / (layers * len(x)), 1),
                      "mean_rho_fully_randomised": float(np.mean(last))}))


def time_sensitivity(folder, threads):
    import quantus

    model, x, y, _, started = maps(folder, threads)
    a = raw_gradient(model, x, y)
    metric = quantus.MaxSensitivity(nr_samples=10, lower_bound=0.02, normalise=False, abs=False,
                                    disable_warnings=True, display_progressbar=False)
    scores = metric(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", explain_func=raw_gradient,
                    batch_size=len(x))
    seconds = time.perf_counter() - started
    print(json.dumps({"tool": "quantus", "metric": "MaxSensitivity", "threads": threads, "inputs": len(x),
                      "seconds": round(seconds, 2), "mean_max_sensitivity": float(np.mean(scores))}))


def time_quantus(folder, threads):
    import quantus
    from captum.attr import Saliency

    # Quantus 0.6 calls np.trapz, which NumPy 2.4 removed; np.trapezoid is the same function.
    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid
    torch.set_num_threads(threads)
    model = load_model()
    x = np.concatenate([np.load(p) for p in sorted(folder.glob("*.npy"))])
    started = time.perf_counter()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    saliency = Saliency(model).attribute(torch.from_numpy(x).requires_grad_(), target=torch.from_numpy(y), abs=True)
    # The map as Glimpse draws it, in every channel: Quantus flips input elements.
    a = np.broadcast_to(saliency.detach().numpy().max(axis=1, keepdims=True), x.shape).copy()
    metric = quantus.PixelFlipping(features_in_step=1024, perturb_baseline=0.0, normalise=False,
                                   return_auc_per_sample=True, disable_warnings=True)
    aucs = metric(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", softmax=True, batch_size=len(x))
    seconds = time.perf_counter() - started
    print(json.dumps({"tool": "quantus", "threads": threads, "inputs": len(x), "seconds": round(seconds, 2),
                      "mean_auc_quantus_units": float(np.mean(aucs))}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--make-inputs", type=pathlib.Path)
    parser.add_argument("--time", type=pathlib.Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metric", choices=["deletion", "randomisation", "sensitivity"], default="deletion")
    args = parser.parse_args()
    if args.make_inputs:
        make_inputs(args.make_inputs)
    if args.time:
        run = {"deletion": time_quantus, "randomisation": time_randomisation, "sensitivity": time_sensitivity}
        run[args.metric](args.time, args.threads)


if __name__ == "__main__":
    main()
