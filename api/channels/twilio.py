"""Twilio: WhatsApp and SMS, inbound webhooks and outbound REST calls.

Inbound is verified with twilio's own `RequestValidator` (HMAC-SHA1 over the public URL and the form
fields) before anything is read or stored. The sender's number is a verified phone identity
(`phone:+49...`): the carrier and Twilio vouch for it, so it resolves to the customer it belongs to.

Outbound uses the REST API with plain httpx (one client held as a field; called from the dispatcher's
and the worker's threads, never from the event loop). WhatsApp's customer-service window is enforced
here, at send time: outside 24 hours since the person last wrote, only an approved template goes out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from api.channels.base import (
    ChannelError,
    ChannelNotConfigured,
    MediaProblem,
    OutboundChannel,
    Parsed,
    ProviderRejected,
    ProviderRequest,
    fetch_media,
    media_notice,
    product_as_text,
)
from api.channels.sms import TWILIO_MAX_CHARS, split_chars, split_sms
from assistant.types import InboundMessage, Media, ProductCard, utcnow
from opstore.domain import opt_keyword
from skinsage.errors import Forbidden, InvalidInput

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SID = re.compile(r"^(SM|MM|IM)[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
WhatsAppWindow = Callable[[str], datetime | None]   # recipient -> when they last wrote to us


class WhatsAppWindowClosed(ChannelError):
    """Free text outside the 24-hour window: WhatsApp forbids it. The outbox retries (the person may
    write again, which reopens the window) and gives up after its attempts; send a template instead."""


def keyword_reply(keyword: str, brand: str, shop_url: str) -> str:
    if keyword == "stop":
        return f"You are unsubscribed from {brand} messages and will get no more. Reply START to subscribe again."
    if keyword == "start":
        return f"You are subscribed to {brand} messages again. Reply HELP for help, STOP to unsubscribe."
    return (f"{brand} assistant: ask about ingredients, products for your skin or your order, or send a "
            f"selfie for a skin check. Reply STOP to unsubscribe. More help: {shop_url}")


class TwilioInbound:
    """Verifies and parses Twilio's messaging webhooks (inbound messages and status callbacks)."""

    def __init__(self, account_sid: str | None, auth_token: str | None, *, media: httpx.Client,
                 media_limit_mb: float, brand: str, shop_url: str) -> None:
        self.account_sid = account_sid
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.auth = (account_sid, auth_token) if account_sid and auth_token else None
        self.media, self.media_limit_mb = media, media_limit_mb
        self.brand, self.shop_url = brand, shop_url

    def verify(self, req: ProviderRequest) -> Mapping[str, str]:
        """The form fields, only if Twilio signed exactly this URL and these fields with our token."""
        if self.validator is None:
            raise ChannelNotConfigured("twilio is not configured (SKINSAGE_TWILIO_AUTH_TOKEN)")
        form = req.form or {}
        signature = req.headers.get("x-twilio-signature", "")
        if not signature or not self.validator.validate(req.url, dict(form), signature):
            raise Forbidden("the X-Twilio-Signature does not match this request")
        if self.account_sid and form.get("AccountSid") not in (None, self.account_sid):
            raise Forbidden("this request is for another Twilio account")
        return form

    def parse(self, form: Mapping[str, str]) -> Parsed:
        sid, sender = form.get("MessageSid") or form.get("SmsMessageSid") or "", form.get("From", "")
        if not _SID.match(sid):
            raise InvalidInput("MessageSid is missing or malformed")
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        phone = sender.removeprefix("whatsapp:")
        if not _E164.match(phone):
            raise InvalidInput("From is not a phone number in E.164 form")
        text = form.get("Body", "")[:4000]
        try:
            count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError as e:
            raise InvalidInput("NumMedia is not a number") from e
        media, problems = self._media(form, count)
        inbound = InboundMessage(channel=channel, channel_user_id=phone, text=text, media=media,  # type: ignore[arg-type]
                                 provider_message_id=sid, display_name=form.get("ProfileName") or None,
                                 verified_identity=f"phone:{phone}")
        keyword = opt_keyword(text) if not count else None
        if keyword:
            return Parsed(inbound, settle=keyword, reply=keyword_reply(keyword, self.brand, self.shop_url))
        notice = media_notice(problems[0], self.media_limit_mb) if problems else None
        if notice and not text.strip() and not any(m.data for m in media):
            return Parsed(inbound, settle="media_only", reply=notice)
        return Parsed(inbound, notice=notice)

    def _media(self, form: Mapping[str, str], count: int) -> tuple[list[Media], list[MediaProblem]]:
        media: list[Media] = []
        problems: list[MediaProblem] = []
        limit = int(self.media_limit_mb * 1024 * 1024)
        for i in range(count):
            url, ctype = form.get(f"MediaUrl{i}", ""), form.get(f"MediaContentType{i}", "application/octet-stream")
            if not url.startswith(("https://", "http://")):
                raise InvalidInput(f"MediaUrl{i} is missing")
            got = fetch_media(self.media, url, ctype, limit, auth=self.auth)
            if isinstance(got, MediaProblem):
                problems.append(got)
                media.append(Media(content_type=ctype, url=url))   # kept: the record says what came
            else:
                media.append(got)
        return media, problems


class TwilioSender(OutboundChannel):
    """SMS or WhatsApp through `POST /2010-04-01/Accounts/{sid}/Messages.json`."""

    def __init__(self, channel: str, *, account_sid: str, auth_token: str, sender: str, base_url: str,
                 client: httpx.Client, status_callback: str | None = None, max_segments: int = 10,
                 window: WhatsAppWindow | None = None, window_h: float = 24.0,
                 templates: Mapping[str, str] | None = None, now: Callable[[], datetime] = utcnow) -> None:
        super().__init__()
        if channel not in ("sms", "whatsapp"):
            raise InvalidInput(f"TwilioSender sends sms or whatsapp, not {channel}")
        self.channel, self.client = channel, client
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.sender, self.status_callback, self.max_segments = sender, status_callback, max_segments
        self.window, self.window_h, self.templates, self.now = window, window_h, dict(templates or {}), now

    def _address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.channel == "whatsapp" else number

    def _post(self, to: str, **fields: str) -> str:
        data = {"To": self._address(to), **fields}
        if self.sender.startswith("MG"):
            data["MessagingServiceSid"] = self.sender
        else:
            data["From"] = self._address(self.sender)
        if self.status_callback:
            data["StatusCallback"] = self.status_callback
        try:
            r = self.client.post(self.url, data=data, auth=self.auth)
        except httpx.HTTPError as e:
            raise ChannelError(f"twilio unreachable: {type(e).__name__}: {e}") from e
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {}
            detail = f"twilio answered {r.status_code}: {body.get('code')} {body.get('message', r.text[:200])}"
            raise (ProviderRejected if r.status_code in (400, 403, 404) else ChannelError)(detail)
        return str(r.json()["sid"])

    def send_text(self, recipient: str, text: str) -> list[str]:
        parts = split_sms(text, self.max_segments) if self.channel == "sms" else split_chars(text, TWILIO_MAX_CHARS)
        return [self.once(lambda p=p: self._post(recipient, Body=p)) for p in parts]  # type: ignore[misc]

    def send_image(self, recipient: str, image: Media) -> list[str]:
        if self.channel == "whatsapp" and image.url:
            return [self.once(lambda: self._post(recipient, MediaUrl=image.url or ""))]
        return super().send_image(recipient, image)

    def send_products(self, recipient: str, products: list[ProductCard]) -> list[str]:
        if self.channel != "whatsapp":
            return super().send_products(recipient, products)
        ids = []
        for card in products:   # one picture message per product: image, name, price, link
            fields = {"Body": product_as_text(card)[:TWILIO_MAX_CHARS]}
            if card.image:
                fields["MediaUrl"] = card.image
            ids.append(self.once(lambda f=fields: self._post(recipient, **f)))  # type: ignore[misc]
        return ids

    def send(self, recipient: str, payload: dict[str, Any]) -> str:
        if self.channel == "whatsapp" and not self._window_open(recipient):
            template = payload.get("template")
            if not template:
                raise WhatsAppWindowClosed("outside the 24-hour WhatsApp window only approved templates may be sent")
            return self._send_template(recipient, template)
        if payload.get("text") is None and payload.get("template"):
            return self._send_template(recipient, payload["template"])
        return super().send(recipient, payload)

    def _window_open(self, recipient: str) -> bool:
        last = self.window(recipient) if self.window else None
        return last is not None and self.now() - last < timedelta(hours=self.window_h)

    def _send_template(self, recipient: str, template: dict[str, Any]) -> str:
        """`{"name": "order_update", "variables": {"1": "Ana"}}`: only names in the approved list."""
        sid = self.templates.get(str(template.get("name")))
        if not sid:
            raise ProviderRejected(f"template {template.get('name')!r} is not an approved WhatsApp template")
        variables = json.dumps({str(k): str(v) for k, v in (template.get("variables") or {}).items()})
        return self._post(recipient, ContentSid=sid, ContentVariables=variables)

