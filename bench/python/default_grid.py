"""The page's default grid (Gradient, Gradient x Input, Integrated Gradients, SmoothGrad, Guided
Backprop, Grad-CAM) made by Captum on PyTorch CPU, on the same model, input and class as
bench/browser/grid.mjs: EfficientNet-Lite0, chelsea, class 282.

    python3 bench/python/default_grid.py [--runs 3]

Each method at Glimpse's settings (IG: Gauss-Legendre, 50 steps, black baseline; SmoothGrad: 50
samples, sigma 15% of the input's range; Grad-CAM: the input of the global pooling, as the
references in tests/data/explain/ were made), with Captum's own batching (all the steps or samples
in one batch) and in batches of 1, on 1 thread and on every core. Prints each method's median
and the grid's total (the sum of the medians); the model is loaded before the clock starts.
"""

import argparse
import statistics
import time

import torch
from captum.attr import (GuidedBackprop, InputXGradient, IntegratedGradients, LayerGradCam, NoiseTunnel,
                         Saliency)

from shared import chelsea, load_model

TARGET = 282


def methods(model, x, batch):
    baseline = torch.full_like(x, (0.0 - 127.0) / 128.0)
    sigma = 0.15 * float(x.max() - x.min())
    return {
        "gradient": lambda: Saliency(model).attribute(x, target=TARGET),
        "grad-x-input": lambda: InputXGradient(model).attribute(x, target=TARGET),
        "integrated-gradients": lambda: IntegratedGradients(model).attribute(
            x, baselines=baseline, target=TARGET, n_steps=50, method="gausslegendre", internal_batch_size=batch),
        "smoothgrad": lambda: NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=50, stdevs=sigma, target=TARGET, nt_samples_batch_size=batch),
        "guided-backprop": lambda: GuidedBackprop(model).attribute(x, target=TARGET),
        "grad-cam": lambda: LayerGradCam(model, model._avg_pooling).attribute(
            x, target=TARGET, attribute_to_layer_input=True),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model = load_model()
    x = chelsea()
    cores = torch.get_num_threads()
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        for batch in (None, 1):
            total = 0.0
            rows = []
            for name, run in methods(model, x, batch).items():
                run()
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - start)
                total += statistics.median(times)
                rows.append(f"{name} {statistics.median(times) * 1000:.0f} ms")
            label = "Captum's batching" if batch is None else "batches of 1"
            print(f"{threads} thread(s), {label}: grid {total:.2f} s ({'; '.join(rows)})")


if __name__ == "__main__":
    main()
