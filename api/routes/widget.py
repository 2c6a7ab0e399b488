"""The website chat widget: sessions, messages, history, uploads, static script (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
