"""The SQLite analysis history: consent-only photos, trends between dates, deletion per customer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from skinsage.settings import Settings
from vision import testing as T
from vision.progress import trend, trend_chart_png
from vision.service import analyze_and_record, build_analyzer
from vision.store import SqlAnalysisRepository

pytest.importorskip("skimage")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqlAnalysisRepository]:
    r = SqlAnalysisRepository(f"sqlite:///{tmp_path / 'vision.sqlite3'}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def selfie_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)
    return T.encode(T.sample(), "JPEG", exif=exif, quality=95)


def test_the_photo_is_kept_only_with_consent_and_without_metadata(
        repo: SqlAnalysisRepository, selfie_with_gps: bytes) -> None:
    analyzer = build_analyzer(Settings())
    without = analyze_and_record(selfie_with_gps, "cus-ana", repo, analyzer=analyzer)
    with_consent = analyze_and_record(selfie_with_gps, "cus-ana", repo, consent_to_store_photo=True,
                                      analyzer=analyzer)
    assert repo.photo(without.id) is None
    kept = repo.photo(with_consent.id)
    assert kept is not None and b"PhoneMaker" not in kept
    img = Image.open(io.BytesIO(kept))
    assert img.format == "JPEG" and not img.getexif()
    stored = repo.list_for("cus-ana")
    assert [s.has_photo for s in stored] == [False, True]
    assert stored[1].analysis == with_consent  # replays exactly as it was shown


def test_trend_between_two_dates_from_the_store(repo: SqlAnalysisRepository) -> None:
    base = build_analyzer(Settings()).analyze(T.encode(T.sample()))
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    for week, redness in enumerate([60, 55, 48, 40, 35]):
        a = base.model_copy(deep=True, update={"id": f"a{week}", "created_at": t0 + timedelta(weeks=week)})
        a.metrics["redness"].score = redness
        repo.save("cus-ana", a)
    tr = trend(repo, "cus-ana", "redness", start=t0 + timedelta(days=1), end=t0 + timedelta(weeks=4))
    assert [p.score for p in tr.points] == [55, 48, 40, 35] and tr.direction == "improving"
    assert Image.open(io.BytesIO(trend_chart_png(tr))).format == "PNG"


def test_deleting_a_customer_removes_their_photos_and_analyses_only(
        repo: SqlAnalysisRepository, selfie_with_gps: bytes) -> None:
    analyzer = build_analyzer(Settings())
    a = analyze_and_record(selfie_with_gps, "cus-ana", repo, consent_to_store_photo=True, analyzer=analyzer)
    analyze_and_record(selfie_with_gps, "cus-ben", repo, consent_to_store_photo=True, analyzer=analyzer)
    assert repo.delete_customer("cus-ana") == 1
    assert repo.list_for("cus-ana") == [] and repo.photo(a.id) is None
    assert repo.series("cus-ana", "redness") == []
    assert len(repo.list_for("cus-ben")) == 1
