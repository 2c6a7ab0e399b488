"""The small interfaces vision depends on, so adapters (OpenCV, timm, SQL) can be swapped or faked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from vision.models import SkinAnalysis


@dataclass(frozen=True)
class DetectedFace:
    """A face in working-image pixels; eyes are (x, y) centres when the detector found them."""

    x: int
    y: int
    w: int
    h: int
    right_eye: tuple[float, float] | None = None  # the person's right eye: left in the image
    left_eye: tuple[float, float] | None = None


class FaceDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Every face, largest first. Eyes are filled in for the faces where they were found."""
        ...


class ConcernClassifier(Protocol):
    name: str

    def predict(self, face_rgb: np.ndarray) -> dict[str, float]:
        """Label probabilities for an aligned face crop (H x W x 3 uint8)."""
        ...


class StoredAnalysis(BaseModel):
    customer_id: str
    analysis: SkinAnalysis
    has_photo: bool


class ScorePoint(BaseModel):
    at: datetime
    score: float
    confidence: float
    analysis_id: str


class AnalysisRepository(Protocol):
    """Photo analyses per customer. A photo is only ever passed in when the customer consented."""

    def save(self, customer_id: str, analysis: SkinAnalysis, photo_jpeg: bytes | None = None) -> None: ...

    def list_for(self, customer_id: str, start: datetime | None = None,
                 end: datetime | None = None) -> list[StoredAnalysis]:
        """Oldest first, `start <= created_at <= end`."""
        ...

    def series(self, customer_id: str, metric: str, start: datetime | None = None,
               end: datetime | None = None) -> list[ScorePoint]:
        """One metric's face-level scores over time, oldest first (for trends)."""
        ...

    def photo(self, analysis_id: str) -> bytes | None: ...

    def delete_customer(self, customer_id: str) -> int:
        """Remove every analysis and photo of a customer; returns how many analyses went."""
        ...
