"""From scores to words: concern findings, referral flags and the limits a reply must state.

Plain functions over plain data (no images), so the rules that decide what a customer is told are
unit-tested on their own. Findings are cosmetic; anything that might be medical is never named,
only routed: `needs_professional` with a reason the assistant's safety path can relay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vision.config import VisionThresholds
from vision.models import REGION_GROUPS, ConcernFinding, MetricResult, Region


@dataclass
class Spot:
    x: float
    y: float
    diameter_mm: float
    contrast: float  # L* darker than its surroundings
    solidity: float  # area / convex hull area: 1 = smooth round outline
    l_spread: float  # std of L* inside: colour variegation
    region: Region | None


LABELS = {"redness": "redness", "shine": "shine", "texture": "texture", "spots": "dark spots",
          "blemishes": "red spots", "pigmentation": "uneven pigmentation",
          "tone_unevenness": "uneven tone", "under_eye_darkness": "under-eye darkness"}


def _score_where(m: MetricResult, where: str) -> tuple[float, float] | None:
    """(score, confidence) of a metric over a region group or a single region."""
    if where == "face":
        return m.score, m.confidence
    names = REGION_GROUPS.get(where, (where,))
    got = [m.regions[r] for r in names if r in m.regions]
    if not got:
        return None
    w = sum(r.pixels for r in got)
    score = sum(r.score * r.pixels for r in got) / w
    conf = sum(r.confidence * r.pixels for r in got) / w * len(got) / len(names)
    return score, conf


def concern_findings(metrics: dict[str, MetricResult], t: VisionThresholds) -> list[ConcernFinding]:
    """One finding per concern id, from the strongest rule that fired, with all supporting evidence."""
    found: dict[str, ConcernFinding] = {}
    for rule in t.concerns:
        m = metrics.get(rule.metric)
        got = _score_where(m, rule.where) if m else None
        if got is None or got[0] < rule.min_score or got[1] < rule.min_confidence:
            continue
        score, conf = round(got[0], 1), round(got[1], 2)
        evidence = f"{LABELS[rule.metric]} {score:.0f}/100 ({rule.where.replace('_', ' ')})"
        level: Literal["mild", "moderate", "marked"] = (
            "marked" if score >= t.levels.marked else "moderate" if score >= t.levels.moderate
            else "mild")
        prev = found.get(rule.concern)
        if prev is None or score > prev.score:
            found[rule.concern] = ConcernFinding(concern=rule.concern, level=level, score=score,
                                                 confidence=conf,
                                                 evidence=(prev.evidence if prev else []) + [evidence])
        else:
            prev.evidence.append(evidence)
    return sorted(found.values(), key=lambda f: -f.score)


def classifier_findings(probabilities: dict[str, float], known: frozenset[str],
                        t: VisionThresholds) -> list[ConcernFinding]:
    out = []
    for label, p in sorted(probabilities.items(), key=lambda kv: -kv[1]):
        if label in known and p >= t.classifier.min_probability:
            out.append(ConcernFinding(concern=label, level="mild", score=round(100 * p, 1),
                                      confidence=round(p, 2), source="classifier",
                                      evidence=[f"learned model p={p:.2f}"]))
    return out


def professional_reasons(metrics: dict[str, MetricResult], spots: Sequence[Spot],
                         t: VisionThresholds) -> list[str]:
    r = t.professional
    reasons = []
    for s in spots:
        irregular = s.solidity <= r.spot_max_solidity or s.l_spread >= r.spot_min_variegation
        if (s.diameter_mm >= r.spot_min_diameter_mm and s.contrast >= r.spot_min_contrast
                and (irregular or s.diameter_mm >= r.spot_large_diameter_mm)):
            where = f" on the {s.region.replace('_', ' ')}" if s.region else ""
            reasons.append(f"A dark spot about {s.diameter_mm:.0f} mm across{where}"
                           f"{' with an irregular outline or uneven colour' if irregular else ''}. "
                           "A photo can't tell what a spot is: please have a dermatologist or "
                           "doctor look at it, especially if it is new or changing.")
            break
    red = metrics.get("redness")
    if red and all(red.regions.get(k) and red.regions[k].score >= r.widespread_redness
                   for k in ("right_cheek", "left_cheek", "nose")):
        reasons.append("Strong redness across the cheeks and nose. If it lasts, burns, stings or comes "
                       "with bumps, a dermatologist can find out why.")
    blem = metrics.get("blemishes")
    if blem and blem.score >= r.many_blemishes:
        reasons.append("Many inflamed spots. Widespread or painful breakouts are worth showing a "
                       "dermatologist; they can prescribe what shops can't.")
    return reasons


def limits(metrics: dict[str, MetricResult], ita: float, detail: float, eyes_found: bool,
           t: VisionThresholds) -> list[str]:
    out = []
    if ita < -30:
        out.append("Spot, pigmentation, tone and redness measures are less reliable on the deepest "
                   "skin tones (contrast is lower and camera processing varies); treat them as rough.")
    elif ita < 10:
        out.append("Redness and pigmentation measures are somewhat less reliable on deeper skin tones.")
    if detail < 0.6:
        out.append("The face is small in the photo, so fine texture and small spots can't be seen; "
                   "those scores are rough. A closer photo gives better numbers.")
    if not eyes_found:
        out.append("The eyes weren't found, so skin areas were placed from the face outline and may "
                   "be slightly off.")
    missing = [k for k in ("forehead", "chin") if not any(k in m.regions for m in metrics.values())]
    if missing:
        out.append(f"Not enough visible skin on the {' and '.join(missing)} (hair, shadow or "
                   "crop) to measure it.")
    if t.not_assessed:
        out.append("Not assessed from a photo: " + ", ".join(t.not_assessed) + ".")
    return out
