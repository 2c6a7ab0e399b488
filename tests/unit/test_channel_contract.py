"""The channel contract: rich replies degrade to text, a retried send skips parts already sent,
WhatsApp's window, Telegram's pacing and quick-reply buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.channels.base import OutboundChannel, ProviderRejected
from api.channels.sender import ChannelSender
from api.channels.telegram import RateLimiter, TelegramInbound
from api.channels.twilio import TwilioInbound, TwilioSender, WhatsAppWindowClosed
from skinsage.errors import InvalidInput

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class TextOnly(OutboundChannel):
    channel = "test"

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.fail_on = fail_on

    def send_text(self, recipient: str, text: str) -> list[str]:
        def post() -> str:
            if self.fail_on is not None and len(self.sent) == self.fail_on:
                self.fail_on = None
                raise ConnectionError("provider hiccup")
            self.sent.append(text)
            return f"id{len(self.sent)}"
        return [self.once(post)]


CARD = {"sku": "FX-NIA-10", "name": "Niacinamide 10%", "price": 20.0, "currency": "EUR",
        "url": "https://shop/p/nia", "image": "https://shop/i/nia.jpg"}


def test_quick_replies_cards_and_images_degrade_to_text() -> None:
    ch = TextOnly()
    first = ch.send("u", {"text": "Try this:", "quick_replies": ["Oily", "Dry"], "products": [CARD],
                          "images": [{"content_type": "image/png", "url": "https://shop/chart.png"}]})
    assert first == "id1"
    assert ch.sent == ["Try this:\n\nReply with: Oily · Dry", "Niacinamide 10% - 20.00 EUR\nhttps://shop/p/nia",
                       "Image: https://shop/chart.png"]


def test_a_retried_send_skips_the_parts_that_already_went_out() -> None:
    ch = TextOnly(fail_on=1)
    payload = {"text": "one", "products": [CARD]}
    with pytest.raises(ConnectionError):
        ch.send("u", payload)
    assert ch.send("u", payload) == "id1"
    assert ch.sent == ["one", "Niacinamide 10% - 20.00 EUR\nhttps://shop/p/nia"]
    ch.send("u", payload)   # a later, separate message with the same content is sent in full
    assert len(ch.sent) == 4


def test_an_empty_payload_is_rejected() -> None:
    with pytest.raises(ProviderRejected):
        TextOnly().send("u", {"text": "  "})


def _twilio(last: datetime | None, calls: list[dict[str, Any]]) -> TwilioSender:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(201, json={"sid": f"SM{len(calls):032x}"})

    return TwilioSender("whatsapp", account_sid="AC1", auth_token="t", sender="+15550002222", base_url="http://x",
                        client=httpx.Client(transport=httpx.MockTransport(handler)), window=lambda _: last,
                        templates={"reengage": "HX1"}, now=lambda: NOW)


def test_whatsapp_free_text_goes_out_only_inside_24_hours() -> None:
    calls: list[dict[str, Any]] = []
    _twilio(NOW - timedelta(hours=23), calls).send("+491", {"text": "hi"})
    with pytest.raises(WhatsAppWindowClosed):
        _twilio(NOW - timedelta(hours=25), calls).send("+491", {"text": "hi"})
    with pytest.raises(WhatsAppWindowClosed):
        _twilio(None, calls).send("+491", {"text": "hi"})
    assert [c["Body"] for c in calls] == ["hi"] and calls[0]["To"] == "whatsapp:+491"


def test_outside_the_window_a_payload_with_a_template_is_converted_and_unknown_templates_refused() -> None:
    calls: list[dict[str, Any]] = []
    sender = _twilio(NOW - timedelta(days=3), calls)
    sender.send("+491", {"text": "back in stock", "template": {"name": "reengage", "variables": {"1": "Ana"}}})
    assert calls[0]["ContentSid"] == "HX1" and calls[0]["ContentVariables"] == '{"1": "Ana"}' and "Body" not in calls[0]
    with pytest.raises(ProviderRejected):
        sender.send("+491", {"text": "x", "template": {"name": "made-up"}})


def test_whatsapp_product_cards_carry_their_image() -> None:
    calls: list[dict[str, Any]] = []
    _twilio(NOW, calls).send("+491", {"text": "For pores:", "products": [CARD]})
    assert calls[1]["MediaUrl"] == CARD["image"] and "20.00 EUR" in calls[1]["Body"]


def test_the_rate_limiter_paces_each_chat_and_the_whole_bot() -> None:
    clock = [0.0]
    limiter = RateLimiter(chat_interval_s=1.0, global_per_s=30, clock=lambda: clock[0])
    assert limiter.reserve("a") == 0
    assert limiter.reserve("a") == pytest.approx(1.0)       # same chat: a second later
    assert limiter.reserve("b") == pytest.approx(2 / 30)  # other chat: only the global pace
    clock[0] = 5.0
    assert limiter.reserve("a") == 0


def test_unknown_channels_raise_and_in_band_ones_are_settled() -> None:
    sender = ChannelSender({})
    assert sender.send("api", "s1", {"text": "hi"}) == "in-band:api"
    with pytest.raises(Exception, match="no outbound adapter"):
        sender.send("sms", "+491", {"text": "hi"})


def test_twilio_parsing_finds_keywords_and_rejects_malformed_fields() -> None:
    inbound = TwilioInbound("AC1", "t", media=httpx.Client(), media_limit_mb=15, brand="B", shop_url="https://s")
    base = {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+4915112345678", "Body": "Stop"}
    parsed = inbound.parse(base)
    assert parsed.settle == "stop" and parsed.inbound is not None
    assert parsed.inbound.channel == "whatsapp" and parsed.inbound.verified_identity == "phone:+4915112345678"
    for bad in ({**base, "MessageSid": "nope"}, {**base, "From": "alice"}, {**base, "NumMedia": "x"}):
        with pytest.raises(InvalidInput):
            inbound.parse(bad)


def test_telegram_group_messages_are_ignored_and_non_updates_refused() -> None:
    tg = TelegramInbound("s", None, media=httpx.Client(), media_limit_mb=15, brand="B")
    group = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi",
                                         "from": {"id": 1, "is_bot": False, "first_name": "A"},
                                         "chat": {"id": -100, "type": "group", "title": "g"}}}
    assert tg.parse(group).inbound is None
    with pytest.raises(InvalidInput):
        tg.decode(b'{"update_id": "1"}')
