"""Skin measurements per region: a raw value in a physical-ish unit, a 0-100 score, a confidence.

The formulas, units and score scales are written out in vision/MEASUREMENTS.md; keep the two in
step. Every measurement is relative to the same face where it can be (redness against the face's
own least-red skin, spots against their surroundings) so that skin tone, exposure and camera
matter as little as possible. Scales are set so that ordinary, healthy-looking skin in a good photo
lands in the lower third; they are not clinically calibrated, and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vision.findings import Spot
from vision.models import REGION_GROUPS, REGIONS, Metric, MetricResult, Region, RegionScore
from vision.regions import REGION_BOXES, REGION_MASKS, FaceFrame
from vision.skin import SkinMap, smooth

MIN_PIXELS = 80
MIN_COVERAGE = 0.2  # a region less than a fifth visible skin (a fringe over the forehead) is skipped
FINE: frozenset[Metric] = frozenset({"texture", "spots", "blemishes", "pigmentation"})
TONE_SENSITIVE: frozenset[Metric] = frozenset({"spots", "pigmentation", "tone_unevenness",
                                               "redness", "blemishes"})


@dataclass
class Fields:
    """Per-pixel intermediate images shared by several measurements."""

    Ls: np.ndarray
    a_s: np.ndarray
    texture: np.ndarray
    dark: np.ndarray
    dark_bg16: np.ndarray  # skin lightness around, at a scale wider than a large spot
    red: np.ndarray
    band: np.ndarray
    ita: np.ndarray
    a_base: float


def fields(sm: SkinMap) -> Fields:
    colour = sm.skin & ~sm.highlight
    pigment = np.log(sm.rgb_lin[..., 0] + 1e-4) - np.log(sm.rgb_lin[..., 2] + 1e-4)
    Ls = smooth(sm.L, sm.skin, 1.0)
    a_s = smooth(sm.a, colour, 1.5)
    # Local backgrounds leave out clearly dark pixels, so a spot does not dilute its own contrast.
    background = colour & (sm.L > sm.L_med - 15)
    bg8 = smooth(sm.L, background, 8.0)
    # ITA from lightness with the face's large-scale lighting (cheekbone sheen, jaw shadow) taken
    # out, so the spread reflects skin colour, not the shape of the face under one lamp.
    L_flat = smooth(sm.L, colour, 3.0) - (smooth(sm.L, colour, 24.0) - sm.L_med)
    ita = np.degrees(np.arctan2(L_flat - 50.0, np.maximum(smooth(sm.b, colour, 3.0), 1e-3)))
    return Fields(
        Ls=Ls, a_s=a_s,
        texture=sm.L - smooth(sm.L, colour, 2.5),
        dark=bg8 - Ls,
        dark_bg16=smooth(sm.L, background, 16.0),
        red=a_s - smooth(sm.a, colour, 8.0),
        band=smooth(pigment, colour, 2.0) - smooth(pigment, colour, 10.0),
        ita=ita,
        a_base=_least_red(sm, a_s),
    )


def _least_red(sm: SkinMap, a_s: np.ndarray) -> float:
    """Redness baseline: the median a* of the face's least red main region (its own skin)."""
    meds = [float(np.median(m)) for r in REGION_GROUPS["face"]
            if sm.count(r, True) >= MIN_PIXELS for m in [sm.values(a_s, r)]]
    return min(meds) if meds else sm.a_med


def _robust_sd(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def _blobs(mask: np.ndarray, min_area: int, max_area: int) -> int:
    """Roundish blobs in a size range: folds and hair lines are long and thin, spots are not."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA]
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    roundish = (np.maximum(w, h) <= 3 * np.minimum(w, h)) & (area >= 0.3 * w * h)
    return int(((area >= min_area) & (area <= max_area) & roundish).sum())


def _per_cm2(count: int, pixels: int, mm_per_px: float) -> float:
    return count / max(pixels * mm_per_px**2 / 100.0, 1e-6)


def _scale(value: float, zero: float, full: float) -> float:
    return float(np.clip(100.0 * (value - zero) / (full - zero), 0.0, 100.0))


# metric -> (value from (skin map, fields, region, mm per px), score zero point, score full point)
Formula = Callable[[SkinMap, Fields, Region, float], float]


def _redness(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    return float(np.maximum(sm.values(f.a_s, r) - f.a_base, 0).mean())


def _shine(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    return float(sm.values(sm.highlight, r, colour=False).mean())


def _texture(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    m = cv2.erode(sm.local(r, True).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return _robust_sd(f.texture[REGION_BOXES[r]][m])


def _spots(sm: SkinMap, f: Fields, r: Region, mmpp: float) -> float:
    m = sm.local(r, True)
    return _per_cm2(_blobs(m & (f.dark[REGION_BOXES[r]] > 5.0), 4, 200), int(m.sum()), mmpp)


def _blemishes(sm: SkinMap, f: Fields, r: Region, mmpp: float) -> float:
    m = sm.local(r, True)
    return _per_cm2(_blobs(m & (f.red[REGION_BOXES[r]] > 4.0), 4, 200), int(m.sum()), mmpp)


def _pigmentation(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    return _robust_sd(sm.values(f.band, r))


def _tone(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    q75, q25 = np.percentile(sm.values(f.ita, r), [75, 25])
    return float(q75 - q25)


def _under_eye(sm: SkinMap, f: Fields, r: Region, _: float) -> float:
    cheeks = np.concatenate([sm.values(f.Ls, "right_cheek"), sm.values(f.Ls, "left_cheek")])
    ref = float(np.median(cheeks)) if cheeks.size >= MIN_PIXELS else sm.L_med
    return ref - float(np.median(sm.values(f.Ls, r)))


FORMULAS: dict[Metric, tuple[Formula, float, float, tuple[Region, ...]]] = {
    "redness": (_redness, 0.5, 10.0, REGION_GROUPS["face"]),
    "shine": (_shine, 0.0, 0.15, REGION_GROUPS["face"]),
    "texture": (_texture, 0.6, 3.0, REGION_GROUPS["face"]),
    "spots": (_spots, 0.0, 2.0, REGION_GROUPS["face"]),
    "blemishes": (_blemishes, 0.0, 1.5, REGION_GROUPS["face"]),
    "pigmentation": (_pigmentation, 0.04, 0.2, REGION_GROUPS["face"]),
    "tone_unevenness": (_tone, 3.0, 25.0, REGION_GROUPS["face"]),
    "under_eye_darkness": (_under_eye, 2.0, 14.0, REGION_GROUPS["under_eyes"]),
}


def _confidence(metric: Metric, sm: SkinMap, frame: FaceFrame, region: Region, ita: float) -> float:
    area = sm.area(region) or 1
    c = min(1.0, sm.count(region) / area / 0.5)  # hair or shadow over the region
    c *= float(np.clip(frame.detail, 0.3, 1.0)) if metric in FINE else float(np.clip(0.5 + frame.detail, 0.6, 1.0))
    if metric in TONE_SENSITIVE:
        c *= 0.6 if ita < -30 else 0.85 if ita < 10 else 1.0
    c *= 1.0 - min(0.5, 4 * sm.clipped)
    c *= 1.0 if frame.eyes_found else 0.8
    return round(float(np.clip(c, 0.0, 1.0)), 2)


def measure(sm: SkinMap, f: Fields, frame: FaceFrame, ita: float) -> dict[str, MetricResult]:
    out: dict[str, MetricResult] = {}
    mmpp = frame.mm_per_px
    for metric, (formula, zero, full, regions) in FORMULAS.items():
        per: dict[str, RegionScore] = {}
        for r in regions:
            px, covered = sm.count(r, True), sm.count(r)
            if px < MIN_PIXELS or covered < MIN_COVERAGE * sm.area(r):
                continue
            value = formula(sm, f, r, mmpp)
            per[r] = RegionScore(value=round(value, 4), score=round(_scale(value, zero, full), 1),
                                 confidence=_confidence(metric, sm, frame, r, ita), pixels=px)
        if not per:
            continue
        w = np.array([p.pixels for p in per.values()], float)
        score = float(np.average([p.score for p in per.values()], weights=w))
        conf = float(np.average([p.confidence for p in per.values()], weights=w)) * len(per) / len(regions)
        out[metric] = MetricResult(metric=metric, score=round(score, 1), confidence=round(conf, 2),
                                   regions=per)
    return out


def large_dark_spots(sm: SkinMap, f: Fields, frame: FaceFrame, min_diameter_mm: float,
                     min_contrast: float) -> list[Spot]:
    """Dark spots big enough to describe one by one (for the professional-referral rules).

    Looked for in the whole region area, not just the skin mask: a very dark spot is exactly what
    the skin mask may have set aside. Blobs touching a region's outline are hair or brows."""
    mmpp = frame.mm_per_px
    darker = f.dark_bg16 - smooth(sm.L, sm.union, 1.0)
    mask = (sm.union & (darker > 0.75 * min_contrast)).astype(np.uint8)
    # Opening cuts thin bridges, so a spot next to a shadowed fold is judged on its own.
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    touching = set(np.unique(labels[sm.edge & (mask > 0)]).tolist())
    min_area = np.pi * (min_diameter_mm / mmpp / 2) ** 2
    spots = []
    for i in range(1, n):
        area = stats[i, cv2.CC_STAT_AREA]
        if area < min_area or area > 0.2 * sm.union.sum() or i in touching:
            continue
        comp = labels == i
        contrast = float(np.percentile(darker[comp], 75))
        if contrast < min_contrast:
            continue
        contours, _ = cv2.findContours(comp.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outline = max(contours, key=cv2.contourArea)
        (_, _), (rw, rh), _ = cv2.minAreaRect(outline)
        if max(rw, rh) > 3 * max(1.0, min(rw, rh)):  # a fold or a strand of hair, not a spot
            continue
        hull = cv2.convexHull(outline)
        solidity = float(area / max(cv2.contourArea(hull), 1.0))
        cx, cy = cents[i]
        region = next((r for r in REGIONS if REGION_MASKS[r][int(cy), int(cx)]), None)
        spots.append(Spot(x=float(cx), y=float(cy), diameter_mm=float(2 * np.sqrt(area / np.pi) * mmpp),
                          contrast=contrast, solidity=min(solidity, 1.0),
                          l_spread=float(np.std(sm.L[comp])), region=region))
    return spots
