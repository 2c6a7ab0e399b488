"""Operations: /metrics and admin endpoints (issue 12)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
