"""Structured logs: personal data never reaches a handler, and every line carries its request."""

from __future__ import annotations

import io
import json
import logging

import pytest

from skinsage.logging import (
    REDACTED,
    JsonFormatter,
    RedactingFilter,
    Redactor,
    build_handler,
    conversation_context,
    redact_text,
    request_id_var,
)
from skinsage.settings import Settings


@pytest.mark.parametrize("raw", ["+49 151 1234 5678", "+4915112345678", "whatsapp:+4915112345678",
                                 "0151-1234 5678", "(+44) 20 7946 0958", "ana@example.eu", "a.b+tag@shop.co.uk"])
def test_phone_numbers_and_emails_are_redacted(raw: str) -> None:
    out = redact_text(f"message from {raw} about an order")
    assert raw not in out and REDACTED in out


@pytest.mark.parametrize("harmless", ["2026-11-26 05:32:53", "took 12.5 ms", "order SS-1001", "sku FX-NIA-10",
                                      "status 200 in 1500ms", "id 3f2a9c0d8e7b41aa", "telegram user 9001",
                                      "version 0.1.0"])
def test_dates_durations_and_ids_are_kept(harmless: str) -> None:
    assert redact_text(harmless) == harmless


def _emit(logger_name: str, handler: logging.Handler, fn: object) -> None:
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        fn(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)


def test_args_extras_and_exceptions_are_redacted_in_json() -> None:
    stream = io.StringIO()
    handler = build_handler(Settings(log_format="json", log_redact=True), stream)

    def log(lg: logging.Logger) -> None:
        lg.info("sms from %s", "+4915112345678", extra={"display_name": "Ana Keller", "text": "my skin is red",
                                                          "channel": "sms", "meta": {"email": "ana@example.eu"}})
        try:
            raise ValueError("cannot reach ana@example.eu")
        except ValueError:
            lg.exception("send failed")

    _emit("skinsage.test.redact", handler, log)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == f"sms from {REDACTED}"
    assert first["display_name"] == REDACTED and first["text"] == REDACTED and first["channel"] == "sms"
    assert first["meta"] == {"email": REDACTED}
    assert "ana@example.eu" not in second["exc"] and "ValueError" in second["exc"]
    assert "Ana" not in stream.getvalue() and "+49" not in stream.getvalue()


def test_message_text_is_kept_when_not_configured_but_contacts_still_go() -> None:
    stream = io.StringIO()
    handler = build_handler(Settings(log_redact_message_text=False), stream)
    _emit("skinsage.test.text", handler,
          lambda lg: lg.info("turn", extra={"text": "call me on +4915112345678 about niacinamide"}))
    line = json.loads(stream.getvalue())
    assert line["text"] == f"call me on {REDACTED} about niacinamide"


def test_known_names_are_redacted_inside_free_text() -> None:
    f = RedactingFilter(Redactor(names=("Ana Keller",)))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "handoff for ana keller (vip)", None, None)
    f.filter(record)
    assert record.getMessage() == f"handoff for {REDACTED} (vip)"


def test_every_line_carries_the_request_and_conversation_id() -> None:
    stream = io.StringIO()
    handler = build_handler(Settings(), stream)
    token = request_id_var.set("req-123")
    try:
        with conversation_context("conv-9"):
            _emit("skinsage.test.ctx", handler, lambda lg: lg.warning("inside"))
        _emit("skinsage.test.ctx", handler, lambda lg: lg.warning("after"))
    finally:
        request_id_var.reset(token)
    inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "req-123" and inside["conversation_id"] == "conv-9"
    assert after["request_id"] == "req-123" and "conversation_id" not in after


def test_redaction_can_be_switched_off_for_local_debugging() -> None:
    stream = io.StringIO()
    handler = build_handler(Settings(log_redact=False, log_format="text"), stream)
    _emit("skinsage.test.off", handler, lambda lg: lg.info("from ana@example.eu"))
    assert "ana@example.eu" in stream.getvalue() and not stream.getvalue().startswith("{")


def test_a_broken_format_string_still_produces_a_redacted_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items for %s", ("many",), None)
    RedactingFilter().filter(record)
    assert JsonFormatter().format(record)
