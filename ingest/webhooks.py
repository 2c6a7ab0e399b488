"""Shopify webhooks: verify, deduplicate, apply.

Shopify signs each delivery with the app's secret (`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the
raw body) and retries a delivery with the same `X-Shopify-Webhook-Id` until it gets a 2xx. So: verify
before parsing, record the id before applying, and acknowledge a processed id again without
applying it twice. A delivery that failed is applied again on retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from graph.store import GraphStore
from ingest.report import IngestReport
from ingest.service import Ingestor
from ingest.shopify import order_from_payload, product_from_payload
from opstore.models_ingest import WebhookDelivery
from skinsage.errors import InvalidInput
from skinsage.settings import Settings

TOPICS = ("orders/create", "orders/updated", "products/update", "products/create")


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time comparison of the header with the HMAC of the raw body."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


class DeliveryLedger(Protocol):
    def begin(self, delivery_id: str, topic: str) -> bool:
        """True when this delivery should be applied now; False when it was already processed
        (or is being processed by another request)."""

    def finish(self, delivery_id: str, error: str | None = None) -> None: ...


class SqlDeliveryLedger:
    """The ledger in the operational store's `webhook_deliveries` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(self, delivery_id: str, topic: str) -> bool:
        now = datetime.now(UTC)
        with Session(self.engine) as s, s.begin():
            row = s.get(WebhookDelivery, delivery_id)
            if row is not None:
                if row.status != "failed":
                    return False
                row.status, row.attempts, row.error, row.received_at = "processing", row.attempts + 1, None, now
                return True
            s.add(WebhookDelivery(delivery_id=delivery_id, topic=topic, received_at=now, status="processing",
                                  attempts=1))
            try:
                s.flush()
            except IntegrityError:      # a concurrent delivery of the same id won the insert
                s.rollback()
                return False
        return True

    def finish(self, delivery_id: str, error: str | None = None) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(update(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
                      .values(status="failed" if error else "processed", error=(error or None) and error[:2000]))

    def status(self, delivery_id: str) -> str | None:
        with Session(self.engine) as s:
            return s.scalar(select(WebhookDelivery.status).where(WebhookDelivery.delivery_id == delivery_id))


@dataclass
class Applied:
    topic: str
    report: IngestReport


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(f"webhook body is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidInput("webhook body is not a JSON object")
    return data


def apply(graph: GraphStore, settings: Settings, topic: str, payload: dict[str, Any]) -> Applied:
    """Write one payload to the graph through the same diff load the CSV imports use."""
    report = IngestReport(source=f"shopify webhook {topic}", file=f"webhook:{topic}")
    report.rows_read = 1
    ingest = Ingestor(graph, settings)
    try:
        if topic.startswith("orders/"):
            draft = order_from_payload(payload)
            if not draft.lines:
                raise InvalidInput(f"order {draft.name} has no line item with a SKU")
            ingest.orders([draft], report, keep_tracking=True)
        elif topic.startswith("products/"):
            ingest.products(product_from_payload(payload, settings.shop_url), report)
        else:
            raise InvalidInput(f"unsupported webhook topic {topic!r} (supported: {', '.join(TOPICS)})")
    except ValueError as e:
        raise InvalidInput(str(e)) from e
    if report.rejected:
        raise InvalidInput("; ".join(str(r) for r in report.rejected))
    return Applied(topic=topic, report=report)
