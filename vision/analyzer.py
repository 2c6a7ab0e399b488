"""The photo analysis use case: intake -> detect -> gate -> align -> measure -> findings.

Ports in, one result out. The detector and the optional learned classifier are injected, so tests
can run the whole pipeline with fakes and production picks adapters in `vision.service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skinsage.errors import PhotoRejected
from vision import findings
from vision.colour import grey_world_gains, ita_category, ita_degrees
from vision.config import VisionThresholds
from vision.intake import IntakeLimits, Photo, load_photo
from vision.measure import fields, large_dark_spots, measure
from vision.models import (
    CONCERN_IDS,
    ClassifierOutput,
    FaceBox,
    QualityReport,
    SkinAnalysis,
    SkinTone,
)
from vision.ports import ConcernClassifier, FaceDetector
from vision.quality import PROBLEM, face_checks, frame_checks, report
from vision.regions import FaceFrame, align
from vision.skin import build_skin_map

ANALYZER_VERSION = "vision-1"


def _reject(rep: QualityReport) -> PhotoRejected:
    failed = rep.failed
    problems = "; ".join(PROBLEM[c.code] for c in failed)
    return PhotoRejected(failed[0].code, f"Please retake the photo: {problems}.",
                         advice=[c.advice or "" for c in failed], failed=[c.code for c in failed])


@dataclass
class SkinAnalyzer:
    thresholds: VisionThresholds
    detector: FaceDetector
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    classifier: ConcernClassifier | None = None

    def analyze(self, data: bytes) -> SkinAnalysis:
        return self.analyze_loaded(load_photo(data, self.limits))[0]

    def analyze_loaded(self, photo: Photo) -> tuple[SkinAnalysis, FaceFrame]:
        """Analyse a decoded photo; raises PhotoRejected with retake advice when the gate fails."""
        gate = self.thresholds.gate
        faces = self.detector.detect(photo.rgb)
        checks = face_checks(photo.rgb, faces, photo.scale, gate)
        if not all(c.passed for c in checks):
            raise _reject(report(checks))
        face = faces[0]
        frame = align(photo.rgb, face, photo.scale)
        gains = grey_world_gains(photo.rgb)
        sm = build_skin_map(frame, gains)
        fl = fields(sm)
        ita = float(ita_degrees(sm.L_med, sm.b_med))
        metrics = measure(sm, fl, frame, ita)
        tex = metrics.get("texture")
        raw_texture = float(np.median([r.value for r in tex.regions.values()])) if tex else 1.0
        rep = report(checks + frame_checks(photo.rgb, face, frame, sm, gains, raw_texture, gate))
        if not rep.passed:
            raise _reject(rep)
        rules = self.thresholds.professional
        spots = large_dark_spots(sm, fl, frame, rules.spot_min_diameter_mm, rules.spot_min_contrast)
        concerns = findings.concern_findings(metrics, self.thresholds)
        classifier = None
        if self.classifier is not None:
            probs = self.classifier.predict(frame.crop)
            classifier = ClassifierOutput(model=self.classifier.name, probabilities=probs)
            have = {c.concern for c in concerns}
            concerns += [c for c in findings.classifier_findings(probs, CONCERN_IDS, self.thresholds)
                         if c.concern not in have]
        reasons = findings.professional_reasons(metrics, spots, self.thresholds)
        s = 1 / photo.scale
        analysis = SkinAnalysis(
            analyzer_version=ANALYZER_VERSION,
            photo=photo.info,
            quality=rep,
            face=FaceBox(x=round(face.x * s), y=round(face.y * s), width=round(face.w * s),
                         height=round(face.h * s), eyes_found=frame.eyes_found,
                         roll_degrees=round(frame.roll_degrees, 1)),
            skin_tone=SkinTone(ita_degrees=round(ita, 1), category=ita_category(ita)),  # type: ignore[arg-type]
            metrics=metrics,
            concerns=concerns,
            classifier=classifier,
            needs_professional=bool(reasons),
            professional_reasons=reasons,
            limits=findings.limits(metrics, ita, frame.detail, frame.eyes_found, self.thresholds),
        )
        return analysis, frame
