"""Thresholds from vision/thresholds.yaml, validated once, so a typo fails at start, not mid-chat."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from skinsage.yamlfile import load_yaml_model
from vision.models import CONCERN_IDS, METRICS, REGION_GROUPS, REGIONS


class GateLimits(BaseModel):
    min_face_px: int = 80
    min_face_fraction: float = 0.15
    max_roll_degrees: float = 20.0
    max_eye_offset: float = 0.1  # eye midpoint off the face centre, in face widths (turned head)
    min_eye_distance_ratio: float = 0.34  # eye distance / face width (turned head shortens it)
    min_sharpness: float = 40.0  # variance of the Laplacian at <=256 px face width
    min_lightness: float = 30.0
    max_lightness: float = 88.0
    max_clipped: float = 0.1
    max_side_difference: float = 18.0  # L* between the cheeks
    max_cast_ratio: float = 1.8
    min_chroma: float = 3.0
    max_chroma: float = 45.0
    min_skin_texture: float = 0.2  # below this a sharp photo's skin has been smoothed by a filter


class ConcernRule(BaseModel):
    concern: str
    metric: str
    where: str = "face"
    min_score: float = Field(ge=0, le=100)
    min_confidence: float = Field(default=0.4, ge=0, le=1)

    @field_validator("concern", "metric", "where")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        allowed = {"concern": CONCERN_IDS, "metric": set(METRICS),
                   "where": set(REGION_GROUPS) | set(REGIONS)}[str(info.field_name)]
        if v not in allowed:
            raise ValueError(f"unknown {info.field_name} {v!r}; one of {', '.join(sorted(allowed))}")
        return v


class ProfessionalRules(BaseModel):
    spot_min_diameter_mm: float = 5.0
    spot_min_contrast: float = 20.0
    spot_max_solidity: float = 0.85
    spot_min_variegation: float = 6.0
    spot_large_diameter_mm: float = 8.0
    widespread_redness: float = 85.0
    many_blemishes: float = 90.0


class Levels(BaseModel):
    moderate: float = 55.0
    marked: float = 75.0


class ClassifierRules(BaseModel):
    min_probability: float = Field(default=0.5, ge=0, le=1)


class VisionThresholds(BaseModel):
    gate: GateLimits = GateLimits()
    concerns: list[ConcernRule] = []
    levels: Levels = Levels()
    not_assessed: list[str] = []
    professional: ProfessionalRules = ProfessionalRules()
    classifier: ClassifierRules = ClassifierRules()

    @field_validator("not_assessed")
    @classmethod
    def _known_ids(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - CONCERN_IDS)
        if unknown:
            raise ValueError(f"unknown concern ids {unknown}")
        return v


@lru_cache(maxsize=8)
def load_thresholds(path: Path) -> VisionThresholds:
    return load_yaml_model(path, VisionThresholds, "thresholds")
