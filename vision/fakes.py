"""Hand-written fakes of the vision ports, for unit tests and for callers' tests (the assistant's)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from vision.models import SkinAnalysis
from vision.ports import DetectedFace, ScorePoint, StoredAnalysis


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


class InMemoryAnalysisRepository:
    def __init__(self) -> None:
        self.rows: list[tuple[str, SkinAnalysis, bytes | None]] = []

    def save(self, customer_id: str, analysis: SkinAnalysis, photo_jpeg: bytes | None = None) -> None:
        self.rows.append((customer_id, analysis, photo_jpeg))
        self.rows.sort(key=lambda r: r[1].created_at)

    def list_for(self, customer_id: str, start: datetime | None = None,
                 end: datetime | None = None) -> list[StoredAnalysis]:
        return [StoredAnalysis(customer_id=c, analysis=a, has_photo=p is not None)
                for c, a, p in self.rows if c == customer_id
                and (start is None or a.created_at >= _utc(start)) and (end is None or a.created_at <= _utc(end))]

    def series(self, customer_id: str, metric: str, start: datetime | None = None,
               end: datetime | None = None) -> list[ScorePoint]:
        return [ScorePoint(at=s.analysis.created_at, score=m.score, confidence=m.confidence,
                           analysis_id=s.analysis.id)
                for s in self.list_for(customer_id, start, end)
                if (m := s.analysis.metrics.get(metric)) is not None]

    def photo(self, analysis_id: str) -> bytes | None:
        return next((p for _, a, p in self.rows if a.id == analysis_id), None)

    def delete_customer(self, customer_id: str) -> int:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r[0] != customer_id]
        return before - len(self.rows)


class FixedFaceDetector:
    """Returns the faces it was given, whatever the image: isolates the pipeline from detection."""

    name = "fixed"

    def __init__(self, faces: list[DetectedFace]) -> None:
        self.faces = faces

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        return list(self.faces)
