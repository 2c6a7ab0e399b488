"""The multi-channel `OutboundSender` the outbox delivers through (API dispatcher and `skinsage worker`).

`build_sender(settings)` wires an adapter for every channel that has credentials. Channels whose
replies travel in the HTTP response itself (the chat API, the widget, the CLI) are delivered in-band: their rows
are marked sent. A channel with no adapter raises, so its rows retry and end `dead` with a reason
the console shows, instead of disappearing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from api.channels.base import ChannelNotConfigured, OutboundChannel
from opstore.service import StoreService
from skinsage.settings import Settings

IN_BAND = ("api", "cli", "web")   # the widget reads replies from its stream and history (web.py)


class ChannelSender:
    def __init__(self, adapters: Mapping[str, OutboundChannel], in_band: tuple[str, ...] = IN_BAND) -> None:
        self.adapters = dict(adapters)
        self.in_band = in_band

    def send(self, channel: str, recipient: str, payload: dict[str, Any]) -> str:
        adapter = self.adapters.get(channel)
        if adapter is not None:
            return adapter.send(recipient, payload)
        if channel in self.in_band:
            return f"in-band:{channel}"
        raise ChannelNotConfigured(f"no outbound adapter for the {channel} channel (missing credentials?)")


class _Window:
    """WhatsApp's window, read from the store; the worker has no store of its own, so it opens one
    (no migrations) on the first WhatsApp send."""

    def __init__(self, settings: Settings, store: StoreService | None) -> None:
        self.settings, self.store = settings, store

    def __call__(self, recipient: str) -> datetime | None:
        if self.store is None:
            from opstore import open_store

            self.store = open_store(self.settings, migrate=False)
        return self.store.last_inbound_at("whatsapp", recipient)


class _Nudges:
    """Channel `nudge`: a storefront nudge is "sent" by putting it in the visitor's mailbox, which
    the widget's events snippet polls (proactive/nudges.py)."""

    def __init__(self, settings: Settings, store: StoreService | None) -> None:
        self.settings, self.store = settings, store
        self._mailbox: Any = None

    def send(self, recipient: str, payload: dict[str, Any]) -> str:
        if self._mailbox is None:
            from proactive.nudges import NudgeMailbox
            from proactive.repo import ProactiveStore

            if self.store is None:
                from opstore import open_store

                self.store = open_store(self.settings, migrate=False)
            self._mailbox = NudgeMailbox(ProactiveStore(self.store))
        return str(self._mailbox.send("nudge", recipient, payload))


def status_callback_url(settings: Settings) -> str | None:
    base = settings.public_base_url
    return f"{base.rstrip('/')}/v1/twilio/status" if base else None


def build_sender(settings: Settings, store: StoreService | None = None, *,
                 client: httpx.Client | None = None) -> ChannelSender:
    from api.channels.telegram import BotApi, RateLimiter, TelegramSender
    from api.channels.twilio import TwilioSender

    http = client or httpx.Client(timeout=settings.channel_send_timeout_s)
    adapters: dict[str, Any] = {"nudge": _Nudges(settings, store)}
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if sid and token:
        common: dict[str, Any] = {"account_sid": sid, "auth_token": token.get_secret_value(), "client": http,
                                  "base_url": settings.twilio_api_base_url,
                                  "status_callback": status_callback_url(settings)}
        if settings.twilio_sms_from:
            adapters["sms"] = TwilioSender("sms", sender=settings.twilio_sms_from,
                                           max_segments=settings.twilio_sms_max_segments, **common)
        if settings.twilio_whatsapp_from:
            adapters["whatsapp"] = TwilioSender("whatsapp", sender=settings.twilio_whatsapp_from,
                                                window=_Window(settings, store),
                                                window_h=settings.twilio_whatsapp_window_h,
                                                templates=settings.twilio_whatsapp_templates, **common)
    if settings.telegram_bot_token:
        api = BotApi(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url, http)
        adapters["telegram"] = TelegramSender(api, RateLimiter(settings.telegram_chat_interval_s,
                                                               settings.telegram_global_per_s),
                                              max_retry_after_s=settings.telegram_max_retry_after_s)
    return ChannelSender(adapters)
