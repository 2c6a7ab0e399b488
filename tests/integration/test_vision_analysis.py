"""The whole pipeline on real photos shipped in scikit-image, with metamorphic checks.

A metamorphic test changes one physical thing about a real face and checks that the one matching
measurement moves and the others stay put: without labelled ground truth, that is how a
measurement earns trust.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from skinsage.errors import PhotoRejected
from skinsage.settings import Settings
from vision import testing as T
from vision.analyzer import SkinAnalyzer
from vision.models import SkinAnalysis
from vision.service import build_analyzer

pytest.importorskip("skimage")
OTHERS_TOLERANCE = 10.0  # score points a metric may drift when something else is changed


@pytest.fixture(scope="module")
def analyzer() -> SkinAnalyzer:
    return build_analyzer(Settings())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return T.sample("astronaut")


@pytest.fixture(scope="module")
def base(analyzer: SkinAnalyzer, astronaut: np.ndarray) -> SkinAnalysis:
    return analyzer.analyze(T.encode(astronaut))


@pytest.fixture(scope="module")
def cheeks(astronaut: np.ndarray) -> list[tuple[float, float, float]]:
    frame = T.locate(astronaut)
    return [T.region_in_image(frame, "right_cheek"), T.region_in_image(frame, "left_cheek")]


def scores(a: SkinAnalysis) -> dict[str, float]:
    return {k: m.score for k, m in a.metrics.items()}


def drift(a: SkinAnalysis, b: SkinAnalysis, skip: str = "") -> dict[str, float]:
    sa, sb = scores(a), scores(b)
    return {k: abs(sa[k] - sb[k]) for k in sa.keys() & sb.keys() if k != skip}


def test_a_real_portrait_passes_the_gate_and_is_measured(base: SkinAnalysis) -> None:
    assert base.quality.passed and base.face.eyes_found
    assert {"redness", "shine", "texture", "spots", "pigmentation", "tone_unevenness"} <= base.metrics.keys()
    assert {"right_cheek", "left_cheek", "nose"} <= base.metrics["redness"].regions.keys()
    for m in base.metrics.values():
        assert 0 <= m.score <= 100 and 0 <= m.confidence <= 1
    assert base.skin_tone.category in ("very light", "light")
    assert not base.needs_professional
    assert any("small in the photo" in lim for lim in base.limits)  # a 99 px face, said so


@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_photos_without_a_face_are_rejected_with_advice(analyzer: SkinAnalyzer, name: str) -> None:
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(T.sample(name)))
    assert e.value.code == "no_face" and "camera" in e.value.advice[0]


def test_red_cheeks_raise_redness_and_leave_the_rest(analyzer: SkinAnalyzer, astronaut: np.ndarray,
                                                     base: SkinAnalysis,
                                                     cheeks: list[tuple[float, float, float]]) -> None:
    red = analyzer.analyze(T.encode(T.redden(astronaut, cheeks, delta_a=12)))
    assert red.metrics["redness"].score >= base.metrics["redness"].score + 25
    for cheek in ("right_cheek", "left_cheek"):
        assert red.metrics["redness"].regions[cheek].score > base.metrics["redness"].regions[cheek].score + 30
    assert red.metrics["redness"].regions["nose"].score == pytest.approx(
        base.metrics["redness"].regions["nose"].score, abs=5)
    assert max(drift(base, red, skip="redness").values()) <= OTHERS_TOLERANCE
    assert "redness" in {c.concern for c in red.concerns}


def test_blur_lowers_sharpness_until_the_gate_asks_for_a_retake(analyzer: SkinAnalyzer,
                                                                 astronaut: np.ndarray) -> None:
    sharpness = []
    for sigma in (0.0, 0.6, 1.0):
        img = cv2.GaussianBlur(astronaut, (0, 0), sigma) if sigma else astronaut
        a = analyzer.analyze(T.encode(img))
        sharpness.append(next(c.value for c in a.quality.checks if c.code == "blurry"))
    assert sharpness == sorted(sharpness, reverse=True)
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(cv2.GaussianBlur(astronaut, (0, 0), 2.0)))
    assert "blurry" in e.value.failed and "steady" in " ".join(e.value.advice)


def test_drawn_dark_spots_raise_the_spot_measure(analyzer: SkinAnalyzer, astronaut: np.ndarray,
                                                 base: SkinAnalysis,
                                                 cheeks: list[tuple[float, float, float]]) -> None:
    centres = [(x + dx * r, y + dy * r) for x, y, r in cheeks
               for dx, dy in [(-0.4, -0.35), (0.35, -0.35), (-0.1, -0.05), (0.4, 0.05), (-0.45, 0.1)]]
    spotted = analyzer.analyze(T.encode(T.dark_spots(astronaut, centres, radius=1.6)))
    assert spotted.metrics["spots"].score >= base.metrics["spots"].score + 15
    assert spotted.metrics["redness"].score == pytest.approx(base.metrics["redness"].score, abs=OTHERS_TOLERANCE)
    assert not spotted.needs_professional  # freckle-sized spots are cosmetic


def test_a_large_dark_irregular_spot_sets_the_professional_flag(analyzer: SkinAnalyzer,
                                                                astronaut: np.ndarray,
                                                                cheeks: list[tuple[float, float, float]]) -> None:
    x, y, r = cheeks[0]
    a = analyzer.analyze(T.encode(T.irregular_spot(astronaut, x - 0.15 * r, y - 0.25 * r, 0.45 * r)))
    assert a.needs_professional and "dermatologist" in a.professional_reasons[0]


@pytest.mark.parametrize("orientation,transpose", [(6, Image.Transpose.ROTATE_90),
                                                   (8, Image.Transpose.ROTATE_270),
                                                   (3, Image.Transpose.ROTATE_180)])
def test_rotation_via_exif_gives_the_same_scores(analyzer: SkinAnalyzer, astronaut: np.ndarray,
                                                 base: SkinAnalysis, orientation: int,
                                                 transpose: Image.Transpose) -> None:
    stored = np.asarray(Image.fromarray(astronaut).transpose(transpose))
    exif = Image.Exif()
    exif[0x0112] = orientation
    a = analyzer.analyze(T.encode(stored, "PNG", exif=exif))
    assert a.photo.orientation_applied == orientation
    assert scores(a) == scores(base)


def test_rotation_via_exif_in_a_jpeg_gives_nearly_the_same_scores(analyzer: SkinAnalyzer,
                                                                  astronaut: np.ndarray) -> None:
    upright = analyzer.analyze(T.encode(astronaut, "JPEG", quality=95))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = np.asarray(Image.fromarray(astronaut).transpose(Image.Transpose.ROTATE_90))
    rotated = analyzer.analyze(T.encode(stored, "JPEG", exif=exif, quality=95))
    assert max(drift(upright, rotated).values()) <= OTHERS_TOLERANCE


def test_a_warm_colour_cast_is_normalised_away(analyzer: SkinAnalyzer, astronaut: np.ndarray,
                                               base: SkinAnalysis) -> None:
    warm = analyzer.analyze(T.encode(T.colour_cast(astronaut, (1.0, 0.88, 0.68))))
    cast = next(c.value for c in warm.quality.checks if c.code == "colour_cast")
    assert cast is not None and cast > 1.3  # the light really was warm ...
    assert max(drift(base, warm).values()) <= OTHERS_TOLERANCE  # ... and the skin reads the same
    assert warm.skin_tone.ita_degrees == pytest.approx(base.skin_tone.ita_degrees, abs=4)


def test_a_black_and_white_filter_is_asked_to_be_removed(analyzer: SkinAnalyzer,
                                                         astronaut: np.ndarray) -> None:
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(grey))
    assert "filter" in e.value.failed


def test_a_dark_photo_is_asked_to_be_retaken_in_better_light(analyzer: SkinAnalyzer,
                                                             astronaut: np.ndarray) -> None:
    dark = T.colour_cast(astronaut, (0.08, 0.08, 0.08))
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(dark))
    assert e.value.failed[0] in ("too_dark", "no_face")
    assert "light" in e.value.advice[0] or "camera" in e.value.advice[0]


def test_a_small_face_in_a_large_frame_asks_to_move_closer(analyzer: SkinAnalyzer,
                                                           astronaut: np.ndarray) -> None:
    canvas = np.full((720, 720, 3), 200, np.uint8)
    canvas[104:616, 104:616] = astronaut  # the face is now 14% of the frame (the gate wants 15%)
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(canvas, "JPEG"))
    assert e.value.failed == ["face_too_small"] and "closer" in e.value.advice[0]


def test_webp_and_heic_photos_are_analysed_like_png(analyzer: SkinAnalyzer, astronaut: np.ndarray,
                                                    base: SkinAnalysis) -> None:
    webp = analyzer.analyze(T.encode(astronaut, "WEBP", quality=95))
    assert webp.photo.format == "WEBP" and max(drift(base, webp).values()) <= OTHERS_TOLERANCE
    heif = pytest.importorskip("pillow_heif")
    heif.register_heif_opener()
    heic = analyzer.analyze(T.encode(astronaut, "HEIF", quality=95))
    assert heic.photo.format == "HEIF" and max(drift(base, heic).values()) <= 2 * OTHERS_TOLERANCE


def test_two_faces_are_asked_to_be_one(analyzer: SkinAnalyzer, astronaut: np.ndarray) -> None:
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    with pytest.raises(PhotoRejected) as e:
        analyzer.analyze(T.encode(pair))
    assert e.value.failed == ["several_faces"] and "just your face" in e.value.advice[0]
