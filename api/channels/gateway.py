"""What every provider webhook does after verification and parsing, in one place.

Persist first (`store.receive`; a provider retry is a duplicate and nothing more happens), then either
settle the message here (STOP/START/HELP, `/start CODE`, a photo we could not take and no text) or
hand it to the dispatcher, which answers it with the engine. The webhook acknowledges as soon as
this returns; answering never holds the provider's request open.

STOP and START change the opt-out *before* the message is stored: if the process dies in between,
the customer's wish still holds (repeating it is harmless) and the worker answers the stored text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from api.channels.base import Parsed
from api.channels.dispatcher import Dispatcher
from api.channels.telegram import BotApi, TelegramInbound
from api.channels.twilio import TwilioInbound
from opstore.errors import LinkCodeInvalid
from opstore.schemas import Received
from opstore.service import StoreService
from skinsage.settings import Settings

log = logging.getLogger("skinsage.channels")


def linked_reply(brand: str) -> str:
    return (f"Done: this chat is now linked to your {brand} account, so I can help with your orders, "
            "reminders and profile here too.")


def link_failed_reply() -> str:
    return ("That link code is not valid (it may have expired or been used already). Create a new one in "
            "your account and send /start with the new code.")


@dataclass
class Accepted:
    received: Received | None
    status: str   # queued | settled | duplicate | ignored


class ChannelGateway:
    def __init__(self, settings: Settings, store: StoreService, dispatcher: Dispatcher,
                 media_client: httpx.Client | None = None) -> None:
        self.settings, self.store, self.dispatcher = settings, store, dispatcher
        self.media = media_client or httpx.Client(timeout=settings.channel_media_timeout_s)
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
        self.twilio = TwilioInbound(settings.twilio_account_sid, token, media=self.media,
                                    media_limit_mb=settings.channel_media_max_mb, brand=settings.brand_name,
                                    shop_url=settings.shop_url)
        bot = settings.telegram_bot_token
        api = BotApi(bot.get_secret_value(), settings.telegram_api_base_url, self.media) if bot else None
        secret = settings.telegram_webhook_secret
        self.telegram = TelegramInbound(secret.get_secret_value() if secret else None, api, media=self.media,
                                        media_limit_mb=settings.channel_media_max_mb, brand=settings.brand_name)

    def accept(self, parsed: Parsed) -> Accepted:
        inbound = parsed.inbound
        if inbound is None:
            return Accepted(None, "ignored")
        channel, user = inbound.channel, inbound.channel_user_id
        if parsed.settle in ("stop", "start"):
            self.store.compliance.set_opt_out(channel, user, parsed.settle == "stop", source=f"keyword:{parsed.settle}")
        got = self.store.receive(inbound)
        if got.duplicate:
            return Accepted(got, "duplicate")
        if parsed.settle:
            self._settle(parsed, got)
            return Accepted(got, "settled")
        if parsed.notice:   # said before the answer, which the engine gives to the text
            row = self.store.outbox.enqueue(channel, user, {"text": parsed.notice}, dedupe_key=f"notice:{got.message_id}")
            self.dispatcher.deliver(row.id)
        self.dispatcher.submit(got.message_id)
        return Accepted(got, "queued")

    def _settle(self, parsed: Parsed, got: Received) -> None:
        assert parsed.inbound is not None
        inbound, text = parsed.inbound, parsed.reply
        if parsed.settle == "link":
            try:
                self.store.identity.link_code_redeem(parsed.link_code or "", inbound.channel, inbound.channel_user_id)
                text = linked_reply(self.settings.brand_name)
            except LinkCodeInvalid:
                text = link_failed_reply()
        loud = parsed.settle in ("stop", "help")   # carriers require these answers even to opted-out numbers
        done = self.store.respond(got.message_id, text, ignore_opt_out=loud)
        outbox_id = done.outbox_id
        if done.status == "skipped" and parsed.settle == "stop" and text:
            # a worker answered it with the engine first (its reply is suppressed): confirm anyway, once
            outbox_id = self.store.outbox.enqueue(inbound.channel, inbound.channel_user_id, {"text": text},
                                                  dedupe_key=f"stop:{got.message_id}", ignore_opt_out=True).id
        if outbox_id:
            self.dispatcher.deliver(outbox_id)


def settings_summary(settings: Settings) -> dict[str, Any]:
    """Which channels this deployment can serve (for logs; never secrets)."""
    return {"twilio": bool(settings.twilio_account_sid and settings.twilio_auth_token),
            "sms": bool(settings.twilio_sms_from), "whatsapp": bool(settings.twilio_whatsapp_from),
            "telegram": bool(settings.telegram_bot_token and settings.telegram_webhook_secret)}
