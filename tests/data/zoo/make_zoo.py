"""The model zoo: the image classifiers people export, made small with random weights (no hub is
reachable), exported as their exporters make them, with PyTorch's answers. Run from the
repository root:

    python3 tests/data/zoo/make_zoo.py

Needs torch, torchvision, timm, onnx, onnxscript (the dynamo exporter) and onnxruntime. Writes,
beside itself, for each model NAME: NAME.onnx, NAME_input.npy (one seeded input, batch 1),
NAME_logits.npy (onnxruntime's output on it) and NAME_grad.npy (PyTorch autograd: the gradient
of output TARGET with respect to the input), and zoo.json listing the models with what each
exercises, its input layout and its target; and external.onnx, a small model whose weights are
in a file that is not there; and two_inputs.onnx, a model with three float inputs (a reference
image, the image, a bias row), with its answers when the two besides the image are zeros; and
quantised.onnx, the grey model quantised to 8 bits by onnxruntime's static quantiser (QDQ), with
onnxruntime's logits on grey's input.

The architectures are the real ones from torchvision and timm, at small widths and depths so
that the files stay small (every block type, activation and head is the library's own); the
weights are seeded random, batch norms given random statistics so that they are not identity.
"""
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
import timm
import torch
import torchvision
from torch import nn
from torchvision.models import efficientnet, mobilenetv3, squeezenet

HERE = pathlib.Path(__file__).resolve().parent
CLASSES = 10


def randomise_norms(model):
    """Batch norms with random running statistics and affine parameters, so they matter."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)
    return model


class TinySqueezeNet(nn.Module):
    """SqueezeNet 1.0's layout (its Fire modules, ceil_mode max pools, conv classifier with global
    average pooling) at a sixteenth of its widths."""

    def __init__(self):
        super().__init__()
        fire = squeezenet.Fire
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=7, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            fire(8, 4, 8, 8), fire(16, 4, 8, 8),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            fire(16, 8, 16, 16))
        self.classifier = nn.Sequential(nn.Conv2d(32, CLASSES, kernel_size=1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class Grey(nn.Module):
    """A one-channel classifier (as for MNIST)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(16, CLASSES))

    def forward(self, x):
        return self.body(x)


class ChannelsLast(nn.Module):
    """An NHWC model, as tf2onnx exports a Keras one: the input is N×H×W×C and the graph
    transposes it first."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2),
                                  nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, CLASSES))

    def forward(self, x):
        return self.body(x.permute(0, 3, 1, 2))


class Probabilities(nn.Module):
    """A classifier whose output is softmax probabilities rather than logits."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.softmax(self.inner(x), dim=1)


class TwoInputs(nn.Module):
    """A model with inputs besides the image: a reference image subtracted from it, and a bias
    added to the logits; with both at zero it is a plain classifier of the image."""

    def __init__(self):
        super().__init__()
        self.body = ChannelsLast().body

    def forward(self, reference, image, bias):
        return self.body(image - 0.5 * reference) + bias


def two_inputs():
    torch.manual_seed(50)
    model = TwoInputs().eval()
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(150))
    zeros = (torch.zeros_like(x), torch.zeros(1, CLASSES))
    path = HERE / "two_inputs.onnx"
    names = ["reference", "image", "bias"]
    torch.onnx.export(model, (zeros[0], x, zeros[1]), str(path), dynamo=False, opset_version=13,
                      input_names=names, output_names=["logits"],
                      dynamic_axes={name: {0: "batch"} for name in names + ["logits"]})
    session = ort.InferenceSession(str(path))
    logits = session.run(None, {"reference": zeros[0].numpy(), "image": x.numpy(), "bias": zeros[1].numpy()})[0]
    # The reference as the image, the image held at zero.
    as_reference = session.run(None, {"reference": x.numpy(), "image": zeros[0].numpy(),
                                      "bias": zeros[1].numpy()})[0]
    xg = x.clone().requires_grad_()
    model(zeros[0], xg, zeros[1])[0, int(logits[0].argmax())].backward()
    np.save(HERE / "two_inputs_input.npy", x.numpy())
    np.save(HERE / "two_inputs_logits.npy", logits)
    np.save(HERE / "two_inputs_as_reference.npy", as_reference)
    np.save(HERE / "two_inputs_grad.npy", xg.grad.numpy())
    print(f"two_inputs: {path.stat().st_size} bytes, target {int(logits[0].argmax())}")


def quantised():
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Calibration(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.batches = iter([{"input": rng.standard_normal((1, 1, 28, 28)).astype(np.float32)}
                                 for _ in range(8)])

        def get_next(self):
            return next(self.batches, None)

    path = HERE / "quantised.onnx"
    quantize_static(str(HERE / "grey.onnx"), str(path), Calibration(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    x = np.load(HERE / "grey_input.npy")
    np.save(HERE / "quantised_logits.npy", ort.InferenceSession(str(path)).run(None, {"input": x})[0])
    print(f"quantised: {path.stat().st_size} bytes")


def effnet():
    setting, last = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.25)
    return efficientnet.EfficientNet(setting, 0.2, num_classes=CLASSES, last_channel=last)


def mobilenet_v3():
    setting, last = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
    return mobilenetv3.MobileNetV3(setting, last, num_classes=CLASSES)


def regnet():
    cfg = timm.models.regnet.RegNetCfg(depth=6, w0=8, wa=8.0, wm=2.0, group_size=8, se_ratio=0.25)
    return timm.models.regnet.RegNet(cfg, num_classes=CLASSES)


# name: (make, input shape, exporter, opset, what it exercises)
MODELS = {
    "resnet": (lambda: timm.models.resnet.ResNet(timm.models.resnet.BasicBlock, [1, 1, 1, 1],
                                                 channels=(8, 16, 32, 64), stem_width=8, num_classes=CLASSES),
               (1, 3, 64, 64), "torchscript", 17, "timm ResNet: residual adds, max pool, global average pool"),
    "mobilenet_v2": (lambda: torchvision.models.MobileNetV2(num_classes=CLASSES, width_mult=0.25),
                     (1, 3, 64, 64), "torchscript", 13, "torchvision MobileNetV2: ReLU6 (Clip), depthwise convolutions"),
    "mobilenet_v3": (mobilenet_v3, (1, 3, 64, 64), "torchscript", 17,
                     "torchvision MobileNetV3-Small: HardSwish, HardSigmoid, squeeze-excite"),
    "efficientnet": (effnet, (1, 3, 64, 64), "torchscript", 15, "torchvision EfficientNet-B0: SiLU, squeeze-excite"),
    "squeezenet": (TinySqueezeNet, (1, 3, 64, 64), "torchscript", 13, "SqueezeNet 1.0's Fire modules: ceil_mode max pools, concatenation"),
    "densenet": (lambda: torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16,
                                                     bn_size=2, num_classes=CLASSES),
                 (1, 3, 64, 64), "torchscript", 14, "torchvision DenseNet: dense concatenation, average pooling"),
    "convnext": (lambda: timm.models.convnext.ConvNeXt(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64), num_classes=CLASSES),
                 (1, 3, 64, 64), "torchscript", 17, "timm ConvNeXt: channel LayerNorm, GELU, layer scale"),
    "regnet": (regnet, (1, 3, 64, 64), "torchscript", 16, "timm RegNet: grouped convolutions, squeeze-excite"),
    "vit": (lambda: timm.models.vision_transformer.VisionTransformer(
                img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=CLASSES),
            (1, 3, 32, 32), "torchscript", 17, "timm ViT: patch embedding, class token, attention, LayerNorm, GELU"),
    "deit": (lambda: timm.models.deit.VisionTransformerDistilled(
                 img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=CLASSES),
             (1, 3, 32, 32), "torchscript", 17, "timm DeiT: class and distillation tokens, two heads averaged"),
    "resnet_dynamo": (lambda: timm.models.resnet.ResNet(timm.models.resnet.BasicBlock, [1, 1, 1, 1],
                                                        channels=(8, 16, 32, 64), stem_width=8, num_classes=CLASSES),
                      (1, 3, 64, 64), "dynamo", 18, "timm ResNet through the dynamo exporter, opset 18"),
    "vit_dynamo": (lambda: timm.models.vision_transformer.VisionTransformer(
                       img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=CLASSES),
                   (1, 3, 32, 32), "dynamo", 18, "timm ViT through the dynamo exporter, opset 18"),
    "grey": (Grey, (1, 1, 28, 28), "torchscript", 13, "one channel (as for MNIST)"),
    "nhwc": (ChannelsLast, (1, 32, 32, 3), "torchscript", 13, "channels last (N×H×W×C), as tf2onnx exports Keras"),
    "batch1": (Grey, (1, 1, 28, 28), "fixed", 13, "a batch fixed at 1 (no dynamic axes)"),
    "probabilities": (lambda: Probabilities(Grey()), (1, 1, 28, 28), "torchscript", 13,
                      "softmax probabilities as the output"),
    "any_size": (Grey, (1, 1, 28, 28), "any-size", 13, "height and width left open (dynamic axes)"),
}


def export(model, x, path, exporter, opset):
    common = dict(input_names=["input"], output_names=["logits"], opset_version=opset)
    if exporter == "dynamo":
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, **common)
    elif exporter == "any-size":
        torch.onnx.export(model, (x,), str(path), dynamo=False,
                          dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
                          **common)
    elif exporter == "fixed":
        torch.onnx.export(model, (x,), str(path), dynamo=False, **common)
    else:
        torch.onnx.export(model, (x,), str(path), dynamo=False,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **common)


def main():
    listed = []
    for i, (name, (make, shape, exporter, opset, exercises)) in enumerate(MODELS.items()):
        torch.manual_seed(i)
        model = randomise_norms(make()).eval()
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(100 + i))
        path = HERE / f"{name}.onnx"
        export(model, x, path, exporter, opset)
        logits = ort.InferenceSession(str(path)).run(None, {"input": x.numpy()})[0]
        target = int(logits[0].argmax())
        xg = x.clone().requires_grad_()
        model(xg)[0, target].backward()
        np.save(HERE / f"{name}_input.npy", x.numpy())
        np.save(HERE / f"{name}_logits.npy", logits)
        np.save(HERE / f"{name}_grad.npy", xg.grad.numpy())
        torch_logits = model(x).detach().numpy()
        gap = float(np.abs(torch_logits - logits).max())
        listed.append({"name": name, "exporter": exporter, "opset": opset, "input": list(shape),
                       "target": target, "exercises": exercises, "bytes": path.stat().st_size})
        print(f"{name}: {path.stat().st_size} bytes, target {target}, |torch - ort| {gap:.2e}")
    (HERE / "zoo.json").write_text(json.dumps({"models": listed}, indent=1) + "\n")

    # A model whose weights are kept in another file, written here and then removed: what a
    # large export looks like when only its .onnx is given.
    torch.manual_seed(0)
    export(Grey().eval(), torch.zeros(1, 1, 28, 28), HERE / "external.onnx", "torchscript", 13)
    model = onnx.load(str(HERE / "external.onnx"))
    onnx.save(model, str(HERE / "external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="external.onnx.data", size_threshold=0)
    (HERE / "external.onnx.data").unlink()

    two_inputs()
    quantised()


if __name__ == "__main__":
    main()
