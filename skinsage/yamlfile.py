"""Brand data kept as YAML (handoff rules, trigger rules, vision thresholds, calendars): read and
validated the same way everywhere, so a bad file names itself, the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from skinsage.errors import KnowledgeError

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: Path, model: type[M], what: str) -> M:
    """`path` parsed and validated as `model`; `KnowledgeError(file, field, reason)` otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise KnowledgeError(str(path), None, f"cannot read {what}: {e}") from e
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        raise KnowledgeError(str(path), ".".join(str(p) for p in err["loc"]), err["msg"]) from e
