"""Captum's Integrated Gradients (Gauss-Legendre, 50 steps) on PyTorch CPU, on the same model
and input as Glimpse's browser benchmark: EfficientNet-Lite0, chelsea, logit 282, black baseline.

    python3 bench/python/ig50.py [--runs 5]

Prints the median wall time per IG over `--runs` runs after one warm-up, with 1 thread (as
Glimpse's wasm runs) and with every core, each with all 50 steps in one batch (Captum's default)
and in internal batches of 1.
"""

import argparse
import statistics
import time

import torch
from captum.attr import IntegratedGradients

from shared import chelsea, load_model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    model = load_model()
    x = chelsea()
    baseline = torch.full_like(x, (0.0 - 127.0) / 128.0)
    ig = IntegratedGradients(model)
    cores = torch.get_num_threads()
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        for batch in (None, 1):
            run = lambda: ig.attribute(x, baselines=baseline, target=282, n_steps=50,
                                       method="gausslegendre", internal_batch_size=batch)
            run()
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            label = "all 50 in one batch" if batch is None else "batches of 1"
            print(f"captum IG-50, {threads} thread(s), {label}: median {statistics.median(times) * 1000:.0f} ms "
                  f"(min {min(times) * 1000:.0f} ms, {args.runs} runs)")


if __name__ == "__main__":
    main()
