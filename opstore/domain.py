"""Plain rules of the operational store: no I/O, no framework, unit-tested on their own."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Literal

InboundStatus = Literal["received", "processing", "answered", "routed", "failed"]
OutboundStatus = Literal["queued", "sent", "delivered", "read", "failed"]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "dead", "suppressed"]
ConversationStatus = Literal["bot", "waiting_human", "human", "closed"]

INBOUND_STATUSES = ("received", "processing", "answered", "routed", "failed")
OUTBOUND_STATUSES = ("queued", "sent", "delivered", "read", "failed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "dead", "suppressed")
CONVERSATION_STATUSES = ("bot", "waiting_human", "human", "closed")
HUMAN_OWNED = ("waiting_human", "human")

#: Crockford base32 without I, L, O, U: codes read aloud or typed from a screen survive.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_STOP = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "opt-out"}
_START = {"start", "unstop", "subscribe", "yes", "optin", "opt-in"}
_HELP = {"help", "info"}
_LOOKALIKES = str.maketrans("OIL", "011")
_id_lock = threading.Lock()
_last_ms, _seq = 0, 0


def new_id() -> str:
    """32 hex chars: milliseconds, a per-process sequence, then random. Sortable like the rows they
    name (strictly increasing within a process, so ties on a timestamp still order), unguessable."""
    global _last_ms, _seq
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _seq = ms, 0
        else:
            _seq += 1
            if _seq > 0xFFFF:
                _last_ms, _seq = _last_ms + 1, 0
        ms, seq = _last_ms, _seq
    return f"{ms:012x}{seq:04x}{secrets.token_hex(8)}"


def reply_dedupe_key(inbound_message_id: str) -> str:
    """The outbox key of the bot's reply to one inbound message: a re-run can never enqueue a second."""
    return f"reply:{inbound_message_id}"


def backoff(attempts: int, base_s: float, max_s: float) -> timedelta:
    """Wait before retry number `attempts` (1 = after the first failure): base * 2**(n-1), capped."""
    exponent = max(0, min(attempts - 1, 30))
    return timedelta(seconds=min(max_s, base_s * (2 ** exponent)))


def new_link_code(length: int = 10) -> str:
    """About 50 bits: guessing one in its short lifetime is hopeless, typing it is still easy."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def normalise_link_code(code: str) -> str:
    """People type codes with spaces, dashes, lower case and the letters O/I/L for digits."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned.translate(_LOOKALIKES)


def hash_link_code(code: str) -> str:
    """Only the hash is stored, so a database leak does not hand out live codes. A fast hash is fine:
    the codes are random, high-entropy and short-lived (no dictionary to attack)."""
    return hashlib.sha256(normalise_link_code(code).encode()).hexdigest()


def opt_keyword(text: str) -> Literal["stop", "start", "help"] | None:
    """The carrier keywords (STOP/START/HELP) when a message is exactly one of them."""
    word = text.strip().strip(".!").lower()
    if word in _STOP:
        return "stop"
    if word in _START:
        return "start"
    if word in _HELP:
        return "help"
    return None


def lease_expired(claimed_at: datetime | None, now: datetime, lease_s: float) -> bool:
    return claimed_at is None or claimed_at < now - timedelta(seconds=lease_s)
