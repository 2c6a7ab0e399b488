"""Storefront behaviour events and proactive nudges (issue 11)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
