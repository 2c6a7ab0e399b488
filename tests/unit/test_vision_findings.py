"""Scores to words: concern mapping, referral flags, limits and the thresholds file. No images."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinsage.errors import KnowledgeError
from skinsage.settings import Settings
from vision.config import VisionThresholds, load_thresholds
from vision.findings import Spot, concern_findings, limits, professional_reasons
from vision.models import CONCERN_IDS, MetricResult, RegionScore


def metric(name: str, score: float, confidence: float = 0.8, **regions: float) -> MetricResult:
    regs = {r: RegionScore(value=s, score=s, confidence=confidence, pixels=1000) for r, s in regions.items()}
    return MetricResult(metric=name, score=score, confidence=confidence, regions=regs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def thresholds() -> VisionThresholds:
    return load_thresholds(Settings().vision_thresholds_path)


def test_the_shipped_thresholds_only_name_graph_concern_ids(thresholds: VisionThresholds) -> None:
    assert {r.concern for r in thresholds.concerns} <= CONCERN_IDS
    assert set(thresholds.not_assessed) <= CONCERN_IDS
    assert not {r.concern for r in thresholds.concerns} & set(thresholds.not_assessed)


def test_a_typo_in_the_thresholds_file_fails_with_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("concerns:\n  - {concern: acnee, metric: blemishes, min_score: 40}\n")
    with pytest.raises(KnowledgeError, match="acnee"):
        load_thresholds(bad)


def test_high_cheek_redness_maps_to_the_redness_concern(thresholds: VisionThresholds) -> None:
    found = concern_findings({"redness": metric("redness", 62, right_cheek=90, left_cheek=85)}, thresholds)
    assert [f.concern for f in found] == ["redness"]
    assert found[0].level == "moderate" and "redness 62/100" in found[0].evidence[0]


def test_low_scores_or_low_confidence_suggest_nothing(thresholds: VisionThresholds) -> None:
    assert concern_findings({"redness": metric("redness", 20)}, thresholds) == []
    assert concern_findings({"redness": metric("redness", 90, confidence=0.1)}, thresholds) == []


def test_shine_counts_on_the_t_zone_not_the_cheeks(thresholds: VisionThresholds) -> None:
    cheeks_only = metric("shine", 40, right_cheek=100, left_cheek=100, forehead=0, nose=0, chin=0)
    assert concern_findings({"shine": cheeks_only}, thresholds) == []
    t_zone = metric("shine", 40, right_cheek=0, left_cheek=0, forehead=80, nose=90, chin=70)
    assert [f.concern for f in concern_findings({"shine": t_zone}, thresholds)] == ["excess-oil"]


def test_two_metrics_pointing_at_one_concern_make_one_finding_with_both(thresholds: VisionThresholds) -> None:
    found = concern_findings({"spots": metric("spots", 70), "pigmentation": metric("pigmentation", 60)},
                             thresholds)
    dark = [f for f in found if f.concern == "dark-spots"]
    assert len(dark) == 1 and dark[0].score == 70 and len(dark[0].evidence) == 2


def test_a_large_dark_irregular_spot_asks_for_a_professional_without_naming_anything(
        thresholds: VisionThresholds) -> None:
    spot = Spot(x=0, y=0, diameter_mm=7, contrast=35, solidity=0.6, l_spread=9, region="left_cheek")
    reasons = professional_reasons({}, [spot], thresholds)
    assert len(reasons) == 1 and "dermatologist" in reasons[0] and "left cheek" in reasons[0]
    assert not any(word in reasons[0].lower() for word in ("melanoma", "cancer", "mole", "malignant"))


def test_small_or_faint_or_round_spots_do_not(thresholds: VisionThresholds) -> None:
    for spot in (Spot(0, 0, 2, 35, 0.6, 9, None), Spot(0, 0, 6, 8, 0.6, 9, None),
                 Spot(0, 0, 6, 35, 0.97, 2, None)):
        assert professional_reasons({}, [spot], thresholds) == []


def test_strong_redness_across_the_central_face_is_routed(thresholds: VisionThresholds) -> None:
    red = metric("redness", 90, right_cheek=95, left_cheek=92, nose=90)
    assert any("redness" in r.lower() for r in professional_reasons({"redness": red}, [], thresholds))


def test_limits_name_deep_skin_tones_small_faces_and_what_a_photo_cannot_assess(
        thresholds: VisionThresholds) -> None:
    out = limits({"redness": metric("redness", 10, forehead=1, chin=1)}, ita=-40, detail=0.3,
                 eyes_found=False, t=thresholds)
    text = " ".join(out)
    assert "deepest skin tones" in text and "small in the photo" in text and "eyes weren't found" in text
    assert "fine-lines" in text and "dehydration" in text
