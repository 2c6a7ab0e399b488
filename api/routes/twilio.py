"""Twilio webhooks: WhatsApp and SMS inbound, status callbacks (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
