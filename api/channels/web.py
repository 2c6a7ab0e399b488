"""The website widget channel: visitor sessions, the shop's customer token, and the InboundMessage.

Two tokens, both HMAC-SHA256, both expiring, both checked with constant-time comparison:

**Visitor session token** (issued by us, kept by the widget in localStorage):
``base64url(json{"sid", "iat", "exp", "c"}) "." base64url(HMAC-SHA256(widget_secret, "ws1." + payload))``.
`sid` is the widget conversation's channel user id; `c` binds the session to one verified customer
(a keyed digest of the customer id, empty for a guest). A customer-bound session is only usable
together with a valid customer token for that same customer, so a visitor who logs out (or a
different person logging in on the same browser) never sees the previous customer's conversation:
they get a fresh session instead.

**Storefront customer token** (issued by the shop's backend for the logged-in customer, handed to
the widget as ``data-customer-token="..."`` on the script tag). A compact JWT signed with HS256 and
the shared secret ``SKINSAGE_WIDGET_CUSTOMER_TOKEN_SECRET``::

    header  {"alg": "HS256", "typ": "JWT"}                 (any other alg is refused)
    claims  {"sub": "<customer id as in the graph>",       required, [A-Za-z0-9_.:@-]{1,80}
             "aud": "skinsage-widget",                     required, exactly this
             "exp": <unix seconds>,                        required, at most widget_customer_token_max_ttl_s ahead
             "iat": <unix seconds>}                        optional, not in the future
    token   base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(secret, first two parts))

Any JWT library makes one, e.g. Python ``jwt.encode(claims, secret, "HS256")``, Node
``jsonwebtoken.sign({sub, aud: "skinsage-widget"}, secret, {algorithm: "HS256", expiresIn: "1h"})``,
or ``customer_token(secret, sub, ttl_s)`` below. Only a valid token puts a verified identity
(``customer:<sub>``) on the InboundMessage; anything else is a guest (or refused, for a bound session).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

from assistant.types import InboundMessage, Media
from skinsage.errors import SkinSageError

CHANNEL: Final = "web"
AUDIENCE = "skinsage-widget"
_SUB = re.compile(r"^[A-Za-z0-9_.:@-]{1,80}$")
_SID = re.compile(r"^[a-f0-9]{32}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class WidgetAuthError(SkinSageError):
    """A session or customer token we will not accept. `code` tells the widget what to do next:
    `session_invalid`/`session_expired` -> start a new session; `customer_required` -> the session
    belongs to a signed-in customer whose token is missing or expired; `customer_token_invalid`."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest())


@dataclass(frozen=True)
class VisitorSession:
    session_id: str
    issued_at: int
    expires_at: int
    binding: str  # "" for a guest, else the keyed digest of the customer id

    @property
    def bound(self) -> bool:
        return bool(self.binding)


class SessionSigner:
    """Issues and checks visitor session tokens. `clock` is injectable so expiry is testable."""

    def __init__(self, secret: bytes, ttl_s: int, clock: Any = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the widget secret must be at least 16 bytes")
        self.key, self.ttl_s, self.clock = secret, ttl_s, clock

    def binding_for(self, customer_id: str | None) -> str:
        if not customer_id:
            return ""
        return _b64(hmac.new(self.key, f"customer.{customer_id}".encode(), hashlib.sha256).digest()[:16])

    def issue(self, customer_id: str | None = None, session_id: str | None = None) -> tuple[str, VisitorSession]:
        now = int(self.clock())
        session = VisitorSession(session_id or secrets.token_hex(16), now, now + self.ttl_s,
                                 self.binding_for(customer_id))
        payload = _b64(json.dumps({"sid": session.session_id, "iat": session.issued_at, "exp": session.expires_at,
                                   "c": session.binding}, separators=(",", ":")).encode())
        return f"{payload}.{_sign(self.key, 'ws1.' + payload)}", session

    def verify(self, token: str) -> VisitorSession:
        payload, _, sig = (token or "").strip().partition(".")
        if not payload or not sig or len(token) > 1024:
            raise WidgetAuthError("session_invalid", "the session token is malformed")
        if not hmac.compare_digest(sig.encode(), _sign(self.key, "ws1." + payload).encode()):
            raise WidgetAuthError("session_invalid", "the session token signature is wrong")
        try:
            data = json.loads(_unb64(payload))
            session = VisitorSession(str(data["sid"]), int(data["iat"]), int(data["exp"]), str(data.get("c", "")))
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            raise WidgetAuthError("session_invalid", "the session token is malformed") from e
        if not _SID.match(session.session_id):
            raise WidgetAuthError("session_invalid", "the session token is malformed")
        if session.expires_at <= self.clock():
            raise WidgetAuthError("session_expired", "the session has expired; start a new one")
        return session


def customer_token(secret: bytes, sub: str, ttl_s: int = 3600, *, now: int | None = None,
                   audience: str = AUDIENCE) -> str:
    """What the shop's backend does (here for tests, the demo page and the README example)."""
    iat = int(time.time()) if now is None else now
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps({"sub": sub, "aud": audience, "iat": iat, "exp": iat + ttl_s},
                           separators=(",", ":")).encode())
    return f"{head}.{body}.{_sign(secret, head + '.' + body)}"


def verify_customer_token(token: str, secret: bytes, *, max_ttl_s: int, clock: Any = time.time,
                          leeway_s: int = 30) -> str:
    """The verified customer id (`sub`) of a shop token, or `WidgetAuthError('customer_token_invalid')`."""
    def bad(why: str) -> WidgetAuthError:
        return WidgetAuthError("customer_token_invalid", f"the customer token is not valid: {why}")

    parts = (token or "").strip().split(".")
    if len(parts) != 3 or len(token) > 2048:
        raise bad("not a compact JWT")
    head, body, sig = parts
    if not hmac.compare_digest(sig.encode(), _sign(secret, f"{head}.{body}").encode()):
        raise bad("signature mismatch")
    try:
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
    except (ValueError, binascii.Error) as e:
        raise bad("unreadable") from e
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise bad("only HS256 is accepted")
    now = clock()
    sub, exp, iat = claims.get("sub"), claims.get("exp"), claims.get("iat", now)
    if claims.get("aud") != AUDIENCE:
        raise bad(f"aud must be {AUDIENCE!r}")
    if not isinstance(sub, str) or not _SUB.match(sub):
        raise bad("sub is missing or not a customer id")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise bad("exp is required (unix seconds)")
    if exp <= now - leeway_s:
        raise bad("expired")
    if exp > now + max_ttl_s + leeway_s or iat > now + leeway_s:
        raise bad("lifetime too long or issued in the future")
    return sub


class WebChannel:
    """Everything the widget routes need to know about identity, as one object built from settings."""

    def __init__(self, signer: SessionSigner, customer_secret: bytes | None, customer_max_ttl_s: int) -> None:
        self.signer = signer
        self.customer_secret = customer_secret
        self.customer_max_ttl_s = customer_max_ttl_s

    def customer(self, token: str | None) -> str | None:
        """The verified customer id, None for no token (or no shared secret configured: all guests)."""
        if not token or self.customer_secret is None:
            return None
        return verify_customer_token(token, self.customer_secret, max_ttl_s=self.customer_max_ttl_s,
                                     clock=self.signer.clock)

    def start(self, session_token: str | None, customer_token: str | None) -> tuple[str, VisitorSession, bool]:
        """Resume the stored session when it still fits who is on the page, else start a new one.
        Returns (token, session, resumed). A guest who signs in keeps the conversation (re-bound);
        a signed-in customer who signs out or is replaced by another gets a fresh one."""
        try:
            customer = self.customer(customer_token)
        except WidgetAuthError:
            customer = None  # an invalid shop token on page load: continue as a guest, never as the customer
        old: VisitorSession | None = None
        if session_token:
            try:
                old = self.signer.verify(session_token)
            except WidgetAuthError:
                old = None
        if old is not None and (not old.bound or old.binding == self.signer.binding_for(customer)):
            token, session = self.signer.issue(customer, old.session_id)  # refreshed expiry
            return token, session, True
        token, session = self.signer.issue(customer)
        return token, session, False

    def authorize(self, session_token: str | None, customer_token: str | None) -> tuple[VisitorSession, str | None]:
        """Every widget request: the session, and the customer only when the session is bound to them
        and their token is valid now. A guest session ignores customer tokens (it re-binds at start)."""
        if not session_token:
            raise WidgetAuthError("session_invalid", "missing session token (Authorization: Bearer ...)")
        session = self.signer.verify(session_token)
        if not session.bound:
            return session, None
        if not customer_token:
            raise WidgetAuthError("customer_required", "this session belongs to a signed-in customer; "
                                  "send their customer token or start a new session")
        customer = self.customer(customer_token)
        if customer is None or self.signer.binding_for(customer) != session.binding:
            raise WidgetAuthError("customer_required", "the customer token does not match this session")
        return session, customer


def valid_client_message_id(value: str) -> bool:
    return bool(_CLIENT_ID.match(value or ""))


def inbound(session_id: str, customer: str | None, text: str, client_message_id: str,
            media: list[Media] | None = None) -> InboundMessage:
    """The widget's message in the channel contract. `client_message_id` makes a retry (after a
    dropped connection or a reload) the same message, so it is answered once."""
    return InboundMessage(channel=CHANNEL, channel_user_id=session_id, text=text, media=media or [],
                          provider_message_id=f"{session_id}:{client_message_id}",
                          verified_identity=f"customer:{customer}" if customer else None)
