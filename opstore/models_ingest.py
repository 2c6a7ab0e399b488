"""Tables of the ingest part of the operational store (Ingest); created by migration 0004.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opstore.models import Base, UTCDateTime  # noqa: F401

WEBHOOK_STATUSES = ("processing", "processed", "failed")


class WebhookDelivery(Base):
    """One Shopify webhook delivery, keyed by `X-Shopify-Webhook-Id`: Shopify retries a delivery with
    the same id, so a processed id is acknowledged again without applying it twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (CheckConstraint("status IN ('processing', 'processed', 'failed')", name="status_known"),)

    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(Text)
