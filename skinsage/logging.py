"""Structured logs: one JSON object per line, tagged with the request and conversation they belong to,
with personal data redacted before any handler writes it.

Why a filter on the handler and not on loggers: a handler filter sees every record that reaches the
handler, whichever library logged it (uvicorn, SQLAlchemy, httpx), so nothing slips past redaction.
The request id and conversation id travel in contextvars, so code deep in the engine never has to pass
them along; `asyncio.to_thread` and Starlette's threadpool copy the context into worker threads.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skinsage.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("skinsage_request_id", default=None)
conversation_id_var: ContextVar[str | None] = ContextVar("skinsage_conversation_id", default=None)

REDACTED = "[redacted]"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International (+49 151 1234 5678, whatsapp:+4915112345678) or national with a trunk 0 (0151-1234 5678).
# Dates, durations and ids (2026-11-26, 12.5 ms, SS-1001) have no leading + or 0 followed by 8+ digits.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00|0)\d[\d ()./-]{6,20}\d(?!\w)")
#: Extra fields whose values are personal whatever they look like.
PERSONAL_KEYS = frozenset({"name", "display_name", "customer_name", "first_name", "last_name", "full_name",
                           "email", "phone", "address", "recipient", "channel_user_id", "profile_name"})
TEXT_KEYS = frozenset({"text", "message_text", "body", "reply", "reply_text", "content"})
#: LogRecord's own attributes: everything else on a record is an `extra=` field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime",
                                                                                          "taskName"}


def _phone(m: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in m.group(0))
    return REDACTED if 8 <= digits <= 15 else m.group(0)


def redact_text(text: str) -> str:
    """Emails and phone numbers inside free text become `[redacted]`."""
    return _PHONE.sub(_phone, _EMAIL.sub(REDACTED, text))


class Redactor:
    """What gets hidden. `names`: extra literal strings (customer names known to the caller)."""

    def __init__(self, *, message_text: bool = True, names: tuple[str, ...] = ()) -> None:
        self.message_text = message_text
        self.keys = PERSONAL_KEYS | (TEXT_KEYS if message_text else frozenset())
        self._names = re.compile("|".join(re.escape(n) for n in names if n.strip()), re.IGNORECASE) if names else None

    def text(self, value: str) -> str:
        out = redact_text(value)
        return self._names.sub(REDACTED, out) if self._names else out

    def value(self, key: str | None, value: Any) -> Any:
        if key is not None and key.lower() in self.keys and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(None, v) for v in value]
        return value


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message (with its args merged in), extras and exception text."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = f"{record.msg} {record.args}"
        record.msg, record.args = r.text(message), None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS:
                setattr(record, key, r.value(key, value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = r.text(record.exc_text)
            record.exc_info = None   # the formatter must use the redacted text, not format it again
        return True


class ContextFilter(logging.Filter):
    """Stamps the current request and conversation id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        if getattr(record, "conversation_id", None) is None:
            record.conversation_id = conversation_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and value is not None:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_MARK = "_skinsage_handler"


def build_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    """A stream handler with context, redaction (when configured) and the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    if settings.log_redact:
        handler.addFilter(RedactingFilter(Redactor(message_text=settings.log_redact_message_text)))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    setattr(handler, _MARK, True)
    return handler


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """Route every logger through one redacting handler on the root (idempotent: replaces ours only).

    uvicorn's own loggers are made to propagate to the root so they get the same treatment; its
    access log is silenced because api/middleware.py writes one with the request id and route."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False) or type(h) is logging.StreamHandler:  # ours, or basicConfig's
            root.removeHandler(h)
    handler = build_handler(settings, stream)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    return handler


@contextmanager
def conversation_context(conversation_id: str | None) -> Iterator[None]:
    """Tag every log line inside the block with this conversation."""
    token = conversation_id_var.set(conversation_id)
    try:
        yield
    finally:
        conversation_id_var.reset(token)
