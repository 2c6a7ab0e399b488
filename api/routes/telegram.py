"""Telegram webhook (issue 6): `POST /v1/telegram/webhook`, registered with Bot API `setWebhook`
and a `secret_token`.

403 with nothing stored unless `X-Telegram-Bot-Api-Secret-Token` equals the secret; 400
(`invalid_json`) for a body that is not JSON; 422 for JSON that is not an update; 503 when Telegram is
not configured. Otherwise 200 as soon as the update is stored (`{"ok": true, "status": ...}`), or,
for a tapped quick reply, Bot API's webhook-reply `answerCallbackQuery` so the button stops spinning.
A redelivered update (same update_id) is acknowledged again and processed once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.channels import channels_for
from api.channels.base import ChannelNotConfigured, ProviderRequest
from api.channels.telegram import InvalidJson
from api.errors import error_body

router = APIRouter(prefix="/v1/telegram", tags=["channels"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON"},
    403: {"description": "secret token missing or wrong; nothing was stored"},
    422: {"description": "JSON, but not a Telegram update"},
    503: {"description": "Telegram is not configured on this deployment"}}


@router.post("/webhook", responses=ERRORS)
async def webhook(request: Request) -> Any:
    gateway = channels_for(request.app)
    body = await request.body()
    req = ProviderRequest(url=str(request.url), headers={k.lower(): v for k, v in request.headers.items()},
                          body=body)
    try:
        gateway.telegram.verify(req)
        update = gateway.telegram.decode(body)
    except ChannelNotConfigured as e:
        return JSONResponse(error_body("not_configured", str(e)), status_code=503)
    except InvalidJson as e:
        return JSONResponse(error_body("invalid_json", str(e)), status_code=400)
    parsed = await run_in_threadpool(gateway.telegram.parse, update)   # photos are downloaded here
    accepted = await run_in_threadpool(gateway.accept, parsed)   # the store writes
    return parsed.ack or {"ok": True, "status": accepted.status}
