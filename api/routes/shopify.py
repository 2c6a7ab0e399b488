"""Shopify webhooks: orders/create, orders/updated, products/update (issue 10).

One endpoint for every topic (Shopify sends the topic in `X-Shopify-Topic`). Verified before the
body is parsed; deduplicated on `X-Shopify-Webhook-Id`; applied to the graph with the same diff load
as the CSV imports, so the graph stays in step with the shop.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import GraphDep, SettingsDep
from api.errors import error_body
from ingest.webhooks import TOPICS, DeliveryLedger, SqlDeliveryLedger, apply, parse_body, verify
from skinsage.errors import InvalidInput

log = logging.getLogger("skinsage.shopify")
router = APIRouter(prefix="/v1/shopify", tags=["shopify"])


def _ledger(request: Request) -> DeliveryLedger | None:
    state = request.app.state
    ledger = getattr(state, "shopify_ledger", None)
    if ledger is None:
        database = getattr(getattr(state, "store", None), "database", None)
        if database is None:
            return None
        ledger = state.shopify_ledger = SqlDeliveryLedger(database.engine)
    return ledger  # type: ignore[no-any-return]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


@router.post("/webhooks", response_model=None)
async def shopify_webhook(request: Request, graph: GraphDep, settings: SettingsDep) -> dict[str, Any] | JSONResponse:
    secret = settings.shopify_webhook_secret
    if secret is None:
        return _error(503, "not_configured", "Shopify webhooks are not configured (SKINSAGE_SHOPIFY_WEBHOOK_SECRET)")
    body = await request.body()
    if not verify(secret.get_secret_value(), body, request.headers.get("X-Shopify-Hmac-Sha256")):
        log.warning("shopify webhook with a bad signature rejected (topic %s)", request.headers.get("X-Shopify-Topic"))
        return _error(401, "bad_signature", "the X-Shopify-Hmac-Sha256 signature does not match the body")
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    delivery = (request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    if topic not in TOPICS:
        return _error(400, "unsupported_topic", f"unsupported topic {topic!r}; supported: {', '.join(TOPICS)}")
    if not delivery:
        return _error(400, "missing_webhook_id", "X-Shopify-Webhook-Id is required")
    try:
        payload = parse_body(body)
    except InvalidInput as e:
        return _error(400, "malformed_json", str(e))
    ledger = _ledger(request)
    if ledger is None:
        return _error(503, "store_unavailable", "the operational store is not available")
    if not await run_in_threadpool(ledger.begin, delivery, topic):
        return {"status": "duplicate", "webhook_id": delivery}
    try:
        applied = await run_in_threadpool(apply, graph, settings, topic, payload)
    except InvalidInput as e:
        await run_in_threadpool(ledger.finish, delivery, str(e))
        log.warning("shopify webhook %s (%s) not applied: %s", delivery, topic, e)
        return _error(422, "not_applied", str(e))
    except Exception as e:
        await run_in_threadpool(ledger.finish, delivery, repr(e))
        log.exception("shopify webhook %s (%s) failed", delivery, topic)
        raise
    await run_in_threadpool(ledger.finish, delivery, None)
    return {"status": "processed", "webhook_id": delivery, "topic": topic, "changes": applied.report.changes,
            "unknown_ingredients": applied.report.unknown_ingredients}
