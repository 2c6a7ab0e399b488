"""Storefront behaviour events and proactive nudges (issue 11).

POST /v1/events              a batch from the storefront snippet (or the shop's backend, with the API key)
GET  /v1/events/nudges       the visitor's waiting widget nudges, each handed out once
POST /v1/events/nudges/opt-out   "don't show me tips": an opt-out the outbox honours from then on
GET  /widget/events.js       the storefront snippet
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from api.deps import GraphDep, SettingsDep, StoreDep, bearer_matches
from api.errors import error_body
from api.ratelimit import RateLimit
from proactive.events import EventBatch, RecordResult, VisitorId, signature_valid, tracking_allowed
from proactive.nudges import Nudge, take_nudges
from proactive.repo import ProactiveStore
from proactive.triggers import Triggers
from skinsage.errors import Forbidden, InvalidInput
from skinsage.settings import Settings

router = APIRouter()
SNIPPET = Path(__file__).resolve().parent.parent / "static" / "events.js"

_PER_VISITOR = RateLimit("events-visitor", per_minute=lambda s: s.proactive_requests_per_minute_visitor,
                         burst=lambda s: s.proactive_requests_per_minute_visitor)
_PER_IP = RateLimit("events-ip", per_minute=lambda s: s.proactive_requests_per_minute_ip,
                    burst=lambda s: s.proactive_requests_per_minute_ip)


class EventsOut(RecordResult):
    nudges_waiting: int = 0


class NudgesOut(BaseModel):
    nudges: list[Nudge]


class OptOutIn(BaseModel):
    visitor_id: VisitorId
    opted_out: bool = True


def _limited(request: Request, visitor_id: str) -> JSONResponse | None:
    """429 with Retry-After, answered here so it never depends on another part's error mapping."""
    for limit, key in ((_PER_IP, request.client.host if request.client else "unknown"), (_PER_VISITOR, visitor_id)):
        wait = limit.limiter(request).acquire(key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return JSONResponse(error_body("rate_limited", f"too many requests ({limit.name})",
                                           {"retry_after_s": seconds}), status_code=429,
                                headers={"Retry-After": str(seconds)})
    return None


def _services(request: Request, store: Any, graph: Any, settings: Settings) -> tuple[ProactiveStore, Triggers]:
    """One repo and rule set per app (the rules file is read once)."""
    state = request.app.state
    cached = getattr(state, "proactive", None)
    if cached is None or cached[0].store is not store:
        repo = ProactiveStore(store)
        cached = (repo, Triggers.from_settings(settings, repo, graph))
        state.proactive = cached
    return cached


def _customer(batch: EventBatch, authorization: str | None, settings: Settings) -> str | None:
    """A customer id only when the shop vouches for it (API key, or the page's HMAC signature)."""
    if batch.customer_id is None:
        return None
    if bearer_matches(authorization, settings.api_key):
        return batch.customer_id
    signing = settings.proactive_identity_secret or settings.api_key
    secret = signing.get_secret_value() if signing else None
    if signature_valid(batch.customer_id, batch.customer_sig, secret):
        return batch.customer_id
    raise Forbidden("customer_id needs customer_sig (HMAC from the shop) or the API key; guests omit it")


@router.post("/v1/events", status_code=202, response_model=EventsOut)
def post_events(batch: EventBatch, request: Request, store: StoreDep, graph: GraphDep, settings: SettingsDep,
                authorization: Annotated[str | None, Header()] = None) -> Any:
    if len(batch.events) > settings.proactive_max_batch:
        raise InvalidInput(f"at most {settings.proactive_max_batch} events per batch, got {len(batch.events)}")
    if (limited := _limited(request, batch.visitor_id)) is not None:
        return limited
    customer_id = _customer(batch, authorization, settings)
    repo, triggers = _services(request, store, graph, settings)
    recorded = repo.recorded_consents(customer_id, ["tracking"]).get("tracking") if customer_id else None
    if not tracking_allowed(batch.consent, settings.proactive_tracking_requires_consent, recorded):
        return EventsOut(dropped=len(batch.events), reason="no tracking consent")
    result = repo.record_events(batch, customer_id)
    waiting = 0
    if any(e.kind == "product_view" for e in batch.events):
        waiting = sum(o.action == "sent" for o in triggers.browse(batch.visitor_id, customer_id, batch.tz))
    return EventsOut(**result.model_dump(), nudges_waiting=waiting)


@router.get("/v1/events/nudges", response_model=NudgesOut)
def get_nudges(request: Request, store: StoreDep, graph: GraphDep, settings: SettingsDep,
               visitor_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{8,64}$")]) -> Any:
    if (limited := _limited(request, visitor_id)) is not None:
        return limited
    repo, _ = _services(request, store, graph, settings)
    return NudgesOut(nudges=take_nudges(repo, visitor_id))


@router.post("/v1/events/nudges/opt-out", status_code=204, response_class=Response, response_model=None)
def nudges_opt_out(body: OptOutIn, request: Request, store: StoreDep, graph: GraphDep,
                   settings: SettingsDep) -> Any:
    if (limited := _limited(request, body.visitor_id)) is not None:
        return limited
    repo, _ = _services(request, store, graph, settings)
    repo.set_opt_out("nudge", body.visitor_id, body.opted_out, source="widget")
    return Response(status_code=204)


@router.get("/widget/events.js", include_in_schema=False)
def events_snippet() -> FileResponse:
    return FileResponse(SNIPPET, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

