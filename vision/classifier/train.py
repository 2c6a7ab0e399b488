"""`skinsage vision train DIR`: fine-tune a timm backbone on an ImageFolder-style labelled set.

DIR holds one folder per label (`DIR/acne/*.jpg`, `DIR/redness/*.jpg`, `DIR/clear/*.jpg`); labels
that are graph concern ids become concern findings at inference, others (like `clear`) are kept as
classifier output only. Train on aligned face crops, which is what inference sees (the analyzer
passes its canonical face crop). A stratified hold-out gives honest metrics, written into the
checkpoint and next to it as JSON.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from skinsage.errors import InvalidInput
from vision.classifier import model as cm


class TrainConfig(BaseModel):
    data_dir: Path
    out: Path
    arch: str = "mobilenetv3_small_100"
    init: str = Field(default="scratch", pattern="^(scratch|imagenet-lite0)$")
    image_size: int = Field(default=224, ge=16, le=1024)
    epochs: int = Field(default=10, ge=1)
    max_steps: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    val_fraction: float = Field(default=0.2, ge=0, lt=1)
    seed: int = 0


def _split(targets: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified: every class with two or more images gets at least one held out."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, t in enumerate(targets):
        by_class.setdefault(t, []).append(i)
    train, val = [], []
    for idx in by_class.values():
        rng.shuffle(idx)
        k = max(1, round(fraction * len(idx))) if fraction > 0 and len(idx) >= 2 else 0
        val += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(val)


def _metrics(y_true: list[int], y_pred: list[int], labels: list[str]) -> dict[str, Any]:
    n = len(labels)
    confusion = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred, strict=True):
        confusion[t][p] += 1
    per_class, f1s = {}, []
    for c in range(n):
        tp = confusion[c][c]
        fp = sum(confusion[r][c] for r in range(n)) - tp
        fn = sum(confusion[c]) - tp
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[labels[c]] = {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3),
                                "support": tp + fn}
        if tp + fn:
            f1s.append(f1)
    acc = sum(confusion[c][c] for c in range(n)) / max(1, len(y_true))
    return {"accuracy": round(acc, 4), "macro_f1": round(sum(f1s) / max(1, len(f1s)), 4),
            "per_class": per_class, "confusion": confusion}


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train, evaluate on the hold-out, write the checkpoint; returns the metrics."""
    import torch
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    cm.torch_setup()
    torch.manual_seed(cfg.seed)
    if not cfg.data_dir.is_dir():
        raise InvalidInput(f"{cfg.data_dir} is not a folder")
    tf_train = transforms.Compose([
        transforms.Resize((cfg.image_size, cfg.image_size)), transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(brightness=0.1, contrast=0.1), transforms.ToTensor(),
        transforms.Normalize(cm.IMAGENET_MEAN, cm.IMAGENET_STD)])
    tf_eval = cm.eval_transform(cfg.image_size, cm.IMAGENET_MEAN, cm.IMAGENET_STD)
    try:
        base = datasets.ImageFolder(str(cfg.data_dir))
    except (FileNotFoundError, RuntimeError) as e:
        raise InvalidInput(f"{cfg.data_dir}: {e}") from e
    labels = list(base.classes)
    counts = Counter(base.targets)
    if len(labels) < 2 or min(counts.values()) < 2:
        raise InvalidInput("need at least two label folders with at least two images each")
    train_idx, val_idx = _split(base.targets, cfg.val_fraction, cfg.seed)
    train_ds = Subset(datasets.ImageFolder(str(cfg.data_dir), transform=tf_train), train_idx)
    val_ds = Subset(datasets.ImageFolder(str(cfg.data_dir), transform=tf_eval), val_idx)
    net = cm.create(cfg.arch, len(labels))
    if cfg.init == "imagenet-lite0":
        if cfg.arch != "efficientnet_lite0":
            raise InvalidInput("--init imagenet-lite0 needs --arch efficientnet_lite0")
        net.load_state_dict(cm.imagenet_lite0_state(net), strict=False)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    steps, losses, t0 = 0, [], time.perf_counter()
    net.train()
    for _ in range(cfg.epochs):
        for x, y in loader:
            loss = loss_fn(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            losses.append(round(loss.item(), 4))
            if cfg.max_steps and steps >= cfg.max_steps:
                break
        if cfg.max_steps and steps >= cfg.max_steps:
            break
    net.eval()
    y_true, y_pred = [], []
    with torch.inference_mode():
        for x, y in DataLoader(val_ds, batch_size=cfg.batch_size):
            y_true += y.tolist()
            y_pred += net(x).argmax(dim=1).tolist()
    metrics = {**_metrics(y_true, y_pred, labels), "train_images": len(train_idx),
               "val_images": len(val_idx), "steps": steps, "final_loss": losses[-1] if losses else None,
               "seconds": round(time.perf_counter() - t0, 1), "arch": cfg.arch, "init": cfg.init,
               "image_size": cfg.image_size}
    cm.save_checkpoint(cfg.out, net, cfg.arch, labels, cfg.image_size, metrics)
    cfg.out.with_suffix(".metrics.json").write_text(json.dumps(metrics, indent=2))
    cfg.out.with_suffix(".labels.json").write_text(json.dumps(labels, indent=2))
    return metrics
