"""Trends over time from stored scores (in-memory fake repository), and the chart image."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from skinsage.errors import InvalidInput
from vision.fakes import InMemoryAnalysisRepository
from vision.models import FaceBox, MetricResult, PhotoInfo, QualityReport, SkinAnalysis, SkinTone
from vision.progress import trend, trend_chart_png

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def analysis(day: int, redness: float, confidence: float = 0.8) -> SkinAnalysis:
    return SkinAnalysis(
        created_at=T0 + timedelta(days=day), analyzer_version="test",
        photo=PhotoInfo(format="JPEG", width=10, height=10, bytes=1),
        quality=QualityReport(passed=True, checks=[]),
        face=FaceBox(x=0, y=0, width=1, height=1, eyes_found=True),
        skin_tone=SkinTone(ita_degrees=40, category="light"),
        metrics={"redness": MetricResult(metric="redness", score=redness, confidence=confidence)})


@pytest.fixture
def repo() -> InMemoryAnalysisRepository:
    r = InMemoryAnalysisRepository()
    for day, score in [(0, 70), (7, 64), (14, 61), (21, 50), (28, 45), (35, 41)]:
        r.save("cus-ana", analysis(day, score))
    r.save("cus-ben", analysis(3, 20))
    return r


def test_falling_redness_over_weeks_is_an_improvement(repo: InMemoryAnalysisRepository) -> None:
    tr = trend(repo, "cus-ana", "redness")
    assert tr.direction == "improving" and tr.change is not None and -35 < tr.change < -25
    assert [p.score for p in tr.points] == [70, 64, 61, 50, 45, 41]


def test_a_window_between_two_dates_uses_only_those_photos(repo: InMemoryAnalysisRepository) -> None:
    tr = trend(repo, "cus-ana", "redness", start=T0 + timedelta(days=6), end=T0 + timedelta(days=15))
    assert [p.score for p in tr.points] == [64, 61] and tr.direction == "steady"


def test_one_photo_is_not_a_trend(repo: InMemoryAnalysisRepository) -> None:
    tr = trend(repo, "cus-ben", "redness")
    assert tr.direction == "not enough photos" and tr.change is None


def test_unknown_metric_or_backwards_window_is_invalid(repo: InMemoryAnalysisRepository) -> None:
    with pytest.raises(InvalidInput):
        trend(repo, "cus-ana", "wrinkliness")
    with pytest.raises(InvalidInput):
        trend(repo, "cus-ana", "redness", start=T0 + timedelta(days=9), end=T0)


def test_the_chart_is_a_png_a_channel_can_send(repo: InMemoryAnalysisRepository) -> None:
    png = trend_chart_png(trend(repo, "cus-ana", "redness"),
                          events=[(T0 + timedelta(days=10), "started Azelaic 10")])
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (800, 450)


def test_deleting_a_customer_removes_only_theirs(repo: InMemoryAnalysisRepository) -> None:
    assert repo.delete_customer("cus-ana") == 6
    assert repo.list_for("cus-ana") == [] and len(repo.list_for("cus-ben")) == 1
