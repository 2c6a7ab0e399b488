"""Shopify webhooks: orders/create, orders/updated, products/update (issue 10)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
