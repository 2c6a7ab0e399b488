"""Storefront behaviour events: the validated shape at the edge, and who may say who the shopper is.

A visitor is an anonymous, random id the snippet keeps in the browser. A customer id is accepted
only when the shop vouches for it: a server-to-server call with the API key, or an HMAC the shop's
page template computed with the shared secret. Otherwise anyone could post `checkout_started` for a
stranger and make us message them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

EventKind = Literal["product_view", "add_to_cart", "checkout_started", "order_placed", "widget_opened"]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)]
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=64)]
VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]

#: Client clocks drift; a timestamp further off than this is replaced by the time we received it.
_CLOCK_PAST, _CLOCK_FUTURE = timedelta(hours=24), timedelta(minutes=5)


class StorefrontEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    #: The snippet's id for this event. A product view is re-sent with the same id as its dwell grows
    #: (heartbeat), so a long look is one view whose dwell goes up, not many views.
    id: Token | None = None
    sku: Sku | None = None
    dwell_s: float | None = Field(default=None, ge=0, le=86_400)
    order_id: Token | None = None
    amount: float | None = Field(default=None, ge=0, le=1_000_000)
    skus: list[Sku] = Field(default=[], max_length=100)
    at: datetime | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> StorefrontEvent:
        if self.kind in ("product_view", "add_to_cart") and not self.sku:
            raise ValueError(f"{self.kind} needs the product's sku")
        if self.kind == "order_placed" and not self.order_id:
            raise ValueError("order_placed needs order_id")
        if self.dwell_s is not None and self.kind != "product_view":
            raise ValueError("dwell_s belongs to product_view only")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("at needs a time zone (ISO 8601 with Z or an offset)")
        return self

    def occurred(self, received: datetime) -> datetime:
        if self.at is None or not (received - _CLOCK_PAST <= self.at <= received + _CLOCK_FUTURE):
            return received
        return self.at


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visitor_id: VisitorId
    session_id: Token | None = None
    #: The storefront's consent banner decision for behaviour tracking.
    consent: bool = False
    customer_id: Token | None = None
    customer_sig: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    #: The browser's IANA time zone (quiet hours for visitors we do not know).
    tz: Annotated[str, StringConstraints(max_length=64)] | None = None
    events: list[StorefrontEvent] = Field(min_length=1)


class RecordResult(BaseModel):
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    dropped: int = 0
    reason: str | None = None


def customer_signature(customer_id: str, secret: str) -> str:
    """What the shop's page template puts next to a signed-in customer's id."""
    return hmac.new(secret.encode(), f"customer:{customer_id}".encode(), hashlib.sha256).hexdigest()


def signature_valid(customer_id: str, signature: str | None, secret: str | None) -> bool:
    if not secret or not signature:
        return False
    return hmac.compare_digest(customer_signature(customer_id, secret), signature)


def tracking_allowed(batch_consent: bool, requires_consent: bool, recorded: bool | None) -> bool:
    """A recorded decision of a known customer wins (a withdrawal holds on every device); otherwise
    the page's banner decides where the brand requires consent."""
    if recorded is not None:
        return recorded
    return batch_consent or not requires_consent
