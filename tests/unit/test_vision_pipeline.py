"""The analysis pipeline with a fake face detector: gate, regions and findings without Haar or files."""

from __future__ import annotations

import numpy as np
import pytest

from skinsage.errors import PhotoRejected
from skinsage.settings import Settings
from vision.analyzer import SkinAnalyzer
from vision.config import load_thresholds
from vision.fakes import FixedFaceDetector
from vision.intake import IntakeLimits, load_photo
from vision.ports import DetectedFace
from vision.testing import encode

FACE = DetectedFace(x=200, y=160, w=200, h=200)  # no eyes: regions come from the box


def skin_photo(seed: int = 1) -> np.ndarray:
    """A grey room with a skin-coloured oval and fine skin-like noise where a face would be."""
    rng = np.random.default_rng(seed)
    img = np.full((600, 600, 3), (128, 128, 128), np.float32)
    yy, xx = np.mgrid[:600, :600]
    oval = ((xx - 300) / 130) ** 2 + ((yy - 270) / 170) ** 2 <= 1
    img[oval] = (205, 160, 140)
    img += rng.normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def analyzer(faces: list[DetectedFace]) -> SkinAnalyzer:
    return SkinAnalyzer(thresholds=load_thresholds(Settings().vision_thresholds_path),
                        detector=FixedFaceDetector(faces), limits=IntakeLimits())


def test_no_face_stops_at_the_gate_with_advice() -> None:
    with pytest.raises(PhotoRejected) as e:
        analyzer([]).analyze(encode(skin_photo()))
    assert e.value.failed == ["no_face"] and e.value.advice


def test_a_face_without_eyes_is_measured_and_says_regions_are_approximate() -> None:
    a, frame = analyzer([FACE]).analyze_loaded(load_photo(encode(skin_photo())))
    assert a.quality.passed and not a.face.eyes_found
    assert any("eyes weren't found" in lim for lim in a.limits)
    assert a.metrics["redness"].score < 30  # an evenly coloured oval has no local redness
    assert a.metrics["redness"].confidence <= 0.8
    assert frame.crop.shape == (390, 324, 3)


def test_the_same_pixels_always_give_the_same_scores() -> None:
    data = encode(skin_photo())
    first, second = analyzer([FACE]).analyze(data), analyzer([FACE]).analyze(data)
    assert first.metrics == second.metrics and first.id != second.id
