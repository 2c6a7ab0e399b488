"""What a photo analysis returns, to the command line, the HTTP API and the assistant alike.

One result model for every entry point, so a reply, a stored analysis and a trend all speak the
same names. Scores are 0-100 where higher means *more of the thing measured* (more redness, more
shine): a score is a cosmetic observation with a confidence, never a diagnosis.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, Field

Region = Literal["forehead", "right_cheek", "left_cheek", "nose", "chin",
                 "right_under_eye", "left_under_eye"]
REGIONS: tuple[Region, ...] = ("forehead", "right_cheek", "left_cheek", "nose", "chin",
                               "right_under_eye", "left_under_eye")
# Named groups a threshold rule may use; "face" is the area-weighted aggregate of every region.
REGION_GROUPS: dict[str, tuple[Region, ...]] = {
    "face": ("forehead", "right_cheek", "left_cheek", "nose", "chin"),
    "cheeks": ("right_cheek", "left_cheek"),
    "t_zone": ("forehead", "nose", "chin"),
    "under_eyes": ("right_under_eye", "left_under_eye"),
}

Metric = Literal["redness", "shine", "texture", "spots", "blemishes", "pigmentation",
                 "tone_unevenness", "under_eye_darkness"]
METRICS: tuple[Metric, ...] = ("redness", "shine", "texture", "spots", "blemishes", "pigmentation",
                               "tone_unevenness", "under_eye_darkness")

# The concern ids of the knowledge graph that a photo finding may point to.
CONCERN_IDS: frozenset[str] = frozenset({
    "acne", "blackheads", "enlarged-pores", "excess-oil", "dryness", "dehydration", "dullness",
    "dark-spots", "melasma", "post-acne-marks", "uneven-texture", "fine-lines", "loss-of-firmness",
    "redness", "rosacea", "sensitivity", "compromised-barrier", "dark-circles", "eczema-prone",
    "sun-damage",
})

DISCLAIMER = ("Cosmetic observations from a photo, not a medical assessment. Lighting, camera and "
              "make-up change these numbers; compare photos taken the same way.")


class PhotoInfo(BaseModel):
    """What arrived, after orientation: enough to explain a result, nothing identifying."""

    format: str
    width: int
    height: int
    bytes: int
    orientation_applied: int = Field(1, description="EXIF orientation tag that was applied (1 = none)")
    metadata_removed: list[str] = Field(default_factory=list,
                                        description="metadata found and not kept, e.g. exif, gps")


class QualityCheck(BaseModel):
    code: str
    passed: bool
    value: float | None = None
    limit: str | None = None
    advice: str | None = None


class QualityReport(BaseModel):
    passed: bool
    checks: list[QualityCheck]

    @property
    def failed(self) -> list[QualityCheck]:
        return [c for c in self.checks if not c.passed]


class FaceBox(BaseModel):
    """The face in the oriented photo's pixel coordinates."""

    x: int
    y: int
    width: int
    height: int
    eyes_found: bool
    roll_degrees: float = 0.0


class SkinTone(BaseModel):
    ita_degrees: float = Field(description="individual typology angle of the face's median skin")
    category: Literal["very light", "light", "intermediate", "tan", "brown", "dark"]


class RegionScore(BaseModel):
    value: float = Field(description="the raw measurement, in the unit MEASUREMENTS.md gives")
    score: float = Field(ge=0, le=100)
    confidence: float = Field(ge=0, le=1)
    pixels: int = Field(description="skin pixels the value was computed from")


class MetricResult(BaseModel):
    metric: Metric
    score: float = Field(ge=0, le=100, description="face-level score (area-weighted over regions)")
    confidence: float = Field(ge=0, le=1)
    regions: dict[str, RegionScore] = Field(default_factory=dict)


class ConcernFinding(BaseModel):
    concern: str = Field(description="a concern id of the knowledge graph")
    level: Literal["mild", "moderate", "marked"]
    score: float = Field(ge=0, le=100)
    confidence: float = Field(ge=0, le=1)
    source: Literal["measurement", "classifier"] = "measurement"
    evidence: list[str] = Field(default_factory=list)


class ClassifierOutput(BaseModel):
    model: str
    probabilities: dict[str, float]


class SkinAnalysis(BaseModel):
    """One photo, analysed. The same shape on the CLI, over HTTP and in the assistant's tool."""

    id: str = Field(default_factory=lambda: uuid4().hex)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    analyzer_version: str
    photo: PhotoInfo
    quality: QualityReport
    face: FaceBox
    skin_tone: SkinTone
    metrics: dict[str, MetricResult]
    concerns: list[ConcernFinding] = Field(default_factory=list)
    classifier: ClassifierOutput | None = None
    needs_professional: bool = False
    professional_reasons: list[str] = Field(default_factory=list)
    limits: list[str] = Field(default_factory=list)
    disclaimer: str = DISCLAIMER

    def score(self, metric: str) -> float | None:
        m = self.metrics.get(metric)
        return None if m is None else m.score
