"""Twilio webhooks: WhatsApp and SMS inbound messages, and delivery status callbacks (issue 6).

Both answer 403 with nothing stored unless twilio's `RequestValidator` accepts the
`X-Twilio-Signature` for the public URL (`SKINSAGE_PUBLIC_BASE_URL` + path) and the form fields.
An inbound message is acknowledged (200, empty TwiML) as soon as it is stored; the reply follows
through the REST API. A retry of a stored message (same MessageSid) is acknowledged again and
processed once. 422: a signed request without a valid MessageSid/From. 503: Twilio not configured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.channels import channels_for
from api.channels.base import ChannelNotConfigured, ProviderRequest
from api.errors import error_body
from skinsage.errors import InvalidInput

router = APIRouter(prefix="/v1/twilio", tags=["channels"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "signature missing or wrong; nothing was stored"},
    422: {"description": "signed, but not a message Twilio would send (no MessageSid/From)"},
    503: {"description": "Twilio is not configured on this deployment"}}


def public_url(request: Request) -> str:
    """The URL Twilio signed: ours as the world sees it, when a proxy sits in front."""
    base = request.app.state.settings.public_base_url
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}{request.url.path}{query}"


async def _verified_form(request: Request) -> dict[str, str]:
    body = await request.body()
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as e:
        raise InvalidInput("the body is not UTF-8 form data") from e
    req = ProviderRequest(url=public_url(request), headers={k.lower(): v for k, v in request.headers.items()},
                          body=body, form=form)
    return dict(channels_for(request.app).twilio.verify(req))


def _not_configured(e: ChannelNotConfigured) -> JSONResponse:
    return JSONResponse(error_body("not_configured", str(e)), status_code=503)


@router.post("/inbound", responses=ERRORS, response_class=Response)
async def inbound(request: Request) -> Response:
    """An SMS or WhatsApp message (the `whatsapp:` prefix on From decides which)."""
    try:
        form = await _verified_form(request)
    except ChannelNotConfigured as e:
        return _not_configured(e)
    gateway = channels_for(request.app)
    # one hop off the event loop for both: photos are downloaded in parse, the store writes in accept
    accepted = await run_in_threadpool(lambda: gateway.accept(gateway.twilio.parse(form)))
    return Response(EMPTY_TWIML, media_type="text/xml", headers={"X-SkinSage-Status": accepted.status})


@router.post("/status", responses=ERRORS)
async def status(request: Request) -> dict[str, int]:
    """Twilio's delivery status callback: moves the outbound message to sent/delivered/read/failed."""
    try:
        form = await _verified_form(request)
    except ChannelNotConfigured as e:
        return _not_configured(e)  # type: ignore[return-value]
    sid, state = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not state:
        raise InvalidInput("MessageSid and MessageStatus are required")
    error = form.get("ErrorCode") or None
    store = request.app.state.store
    touched = await run_in_threadpool(lambda: store.outbox.update_delivery(
        sid, state, error=f"twilio error {error}" if error else None))
    return {"updated": touched}
