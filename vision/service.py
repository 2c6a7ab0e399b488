"""Entry points every caller shares: the CLI, the HTTP route and the assistant's analyze_skin_photo tool.

This is the vision package's composition: it picks the OpenCV detector, the optional timm
classifier and the SQL repository from `Settings`. Heavy modules (cv2, torch) are imported here
lazily, so importing `vision` to read a stored result costs nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from skinsage.settings import Settings, get_settings
from vision.models import SkinAnalysis

if TYPE_CHECKING:
    from vision.analyzer import SkinAnalyzer
    from vision.ports import AnalysisRepository


@lru_cache(maxsize=4)
def _cached_analyzer(thresholds: Path, checkpoint: Path | None, max_bytes: int,
                     max_pixels: int) -> SkinAnalyzer:
    from vision.analyzer import SkinAnalyzer
    from vision.config import load_thresholds
    from vision.faces import HaarFaceDetector
    from vision.intake import IntakeLimits

    classifier = None
    if checkpoint is not None:
        from vision.classifier.model import TimmConcernClassifier

        classifier = TimmConcernClassifier.load(checkpoint)
    return SkinAnalyzer(thresholds=load_thresholds(thresholds), detector=HaarFaceDetector(),
                        limits=IntakeLimits(max_bytes=max_bytes, max_pixels=max_pixels),
                        classifier=classifier)


def build_analyzer(settings: Settings) -> SkinAnalyzer:
    """The analyzer for these settings (built once per distinct configuration: cascades and a
    model checkpoint are worth loading only once)."""
    return _cached_analyzer(settings.vision_thresholds_path, settings.vision_classifier_checkpoint,
                            int(settings.vision_max_upload_mb * 1024 * 1024), settings.vision_max_pixels)


def build_repository(settings: Settings) -> AnalysisRepository:
    from vision.store import SqlAnalysisRepository

    return SqlAnalysisRepository(settings.vision_database_url)


def analyze_photo(data: bytes, content_type: str | None = None, *, settings: Settings | None = None,
                  analyzer: SkinAnalyzer | None = None) -> SkinAnalysis:
    """Analyse one photo. Raises PhotoRejected (with `code` and `advice`) for anything unusable.

    `content_type` is accepted for callers that have one (the assistant's tool passes the
    channel's) and deliberately ignored: the file's own bytes decide what it is."""
    return (analyzer or build_analyzer(settings or get_settings())).analyze(data)


def analyze_and_record(data: bytes, customer_id: str, repository: AnalysisRepository, *,
                       consent_to_store_photo: bool = False, settings: Settings | None = None,
                       analyzer: SkinAnalyzer | None = None) -> SkinAnalysis:
    """Analyse and keep the scores for the customer's progress; the photo itself is kept only with
    explicit consent, and then only as re-encoded pixels (no EXIF, no GPS)."""
    from vision.intake import load_photo, stripped_jpeg

    analyzer = analyzer or build_analyzer(settings or get_settings())
    photo = load_photo(data, analyzer.limits)
    analysis, _ = analyzer.analyze_loaded(photo)
    repository.save(customer_id, analysis, stripped_jpeg(photo) if consent_to_store_photo else None)
    return analysis
