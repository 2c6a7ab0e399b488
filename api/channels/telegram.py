"""Telegram: the bot's webhook (and polling for local development) and the Bot API for replies.

Updates are parsed with python-telegram-bot's own `Update.de_json`; the webhook is trusted only when
the `X-Telegram-Bot-Api-Secret-Token` header equals our secret (constant-time compare). Only private
chats are served. The Telegram user id is proven by Telegram, so it is a verified identity
(`telegram:<id>`); `/start CODE` (a one-time link code made by a logged-in customer) joins the chat to
that customer. Outbound uses plain httpx against the Bot API (sync, on worker threads), paced to
Telegram's limits: about one message a second per chat, 30 a second per bot, and `retry_after` on 429.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from telegram import Message, Update

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
from api.channels.sms import split_chars
from assistant.types import InboundMessage, Media, ProductCard
from skinsage.errors import Forbidden, InvalidInput

TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_PREFIX = 4096, 1024, "qr:"


def welcome(brand: str, name: str | None) -> str:
    hello = f"Hi {name}!" if name else "Hi!"
    return (f"{hello} I'm the {brand} assistant. Ask me about ingredients, products for your skin or your "
            "order, or send a selfie for a skin check. /stop ends messages from me, /help shows this again.")


class BotApi:
    """The few Bot API calls we make, with the token held here and nowhere else."""

    def __init__(self, token: str, base_url: str, client: httpx.Client) -> None:
        self.base = f"{base_url.rstrip('/')}/bot{token}"
        self.files = f"{base_url.rstrip('/')}/file/bot{token}"
        self.client = client

    def call(self, method: str, params: dict[str, Any]) -> httpx.Response:
        try:
            return self.client.post(f"{self.base}/{method}", json=params)
        except httpx.HTTPError as e:
            raise ChannelError(f"telegram unreachable: {type(e).__name__}") from e

    def file_url(self, file_id: str) -> str | None:
        r = self.call("getFile", {"file_id": file_id})
        path = r.json().get("result", {}).get("file_path") if r.status_code == 200 else None
        return f"{self.files}/{path}" if path else None


class TelegramInbound:
    def __init__(self, secret: str | None, api: BotApi | None, *, media: httpx.Client, media_limit_mb: float,
                 brand: str) -> None:
        self.secret, self.api, self.media = secret, api, media
        self.media_limit_mb, self.brand = media_limit_mb, brand

    def verify(self, req: ProviderRequest) -> None:
        if not self.secret:
            raise ChannelNotConfigured("telegram is not configured (SKINSAGE_TELEGRAM_WEBHOOK_SECRET)")
        given = req.headers.get("x-telegram-bot-api-secret-token", "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            raise Forbidden("the X-Telegram-Bot-Api-Secret-Token does not match")

    @staticmethod
    def decode(body: bytes) -> dict[str, Any]:
        """Raises `InvalidJson` (400) for a body that is not JSON, `InvalidInput` (422) for JSON
        that is not an update."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidJson(f"the body is not JSON: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise InvalidInput("not a Telegram update (an object with an integer update_id)")
        return data

    def parse(self, data: dict[str, Any]) -> Parsed:
        try:
            update = Update.de_json(data, None)
        except Exception as e:
            raise InvalidInput(f"not a valid Telegram update: {type(e).__name__}: {e}") from e
        pid = str(update.update_id)
        if update.callback_query is not None:   # a tapped quick reply is a message with the button's text
            q = update.callback_query
            msg = q.message if isinstance(q.message, Message) else None
            if msg is None or msg.chat.type != "private":
                return Parsed(None, settle="ignored", ack={"method": "answerCallbackQuery", "callback_query_id": q.id})
            text = _button_text(msg, q.data or "")
            inbound = InboundMessage(channel="telegram", channel_user_id=str(msg.chat.id), text=text,
                                     provider_message_id=pid, display_name=q.from_user.first_name,
                                     verified_identity=f"telegram:{q.from_user.id}")
            return Parsed(inbound, ack={"method": "answerCallbackQuery", "callback_query_id": q.id})
        msg = update.message
        if msg is None or msg.chat.type != "private" or msg.from_user is None:
            return Parsed(None, settle="ignored")    # edits, channel posts, groups: not a conversation
        text = (msg.text or msg.caption or "")[:4000]
        media, problem = self._media(msg)
        inbound = InboundMessage(channel="telegram", channel_user_id=str(msg.chat.id), text=text, media=media,
                                 provider_message_id=pid, display_name=msg.from_user.first_name,
                                 verified_identity=f"telegram:{msg.from_user.id}")
        command, _, arg = text.strip().partition(" ")
        command = command.split("@")[0].lower()
        if command == "/start" and arg.strip():
            return Parsed(inbound, settle="link", link_code=arg.strip()[:64])
        if command in ("/start", "/help"):
            return Parsed(inbound, settle="start" if command == "/start" else "help",
                          reply=welcome(self.brand, msg.from_user.first_name))
        if command == "/stop":
            return Parsed(inbound, settle="stop", reply=f"You will get no more messages from the {self.brand} "
                                                        "assistant. Send /start to talk again.")
        notice = media_notice(problem, self.media_limit_mb) if problem else None
        if notice and not text.strip():
            return Parsed(inbound, settle="media_only", reply=notice)
        return Parsed(inbound, notice=notice)

    def _media(self, msg: Message) -> tuple[list[Media], MediaProblem | None]:
        """The photo (largest size) or an image sent as a file; anything else is refused with a note."""
        limit = int(self.media_limit_mb * 1024 * 1024)
        if msg.photo:
            file_id, size, ctype = msg.photo[-1].file_id, msg.photo[-1].file_size or 0, "image/jpeg"
        elif msg.document is not None:
            file_id, size = msg.document.file_id, msg.document.file_size or 0
            ctype = msg.document.mime_type or "application/octet-stream"
        elif any((msg.video, msg.voice, msg.audio, msg.sticker, msg.video_note, msg.animation)):
            return [], MediaProblem("unsupported_type", "not a photo")
        else:
            return [], None
        record = Media(content_type=ctype, url=f"telegram-file:{file_id}")   # never the tokenised URL
        if not ctype.startswith("image/"):
            return [record], MediaProblem("unsupported_type", f"{ctype} is not a photo")
        if size > limit:
            return [record], MediaProblem("too_large", f"{size} bytes")
        if self.api is None:
            return [record], MediaProblem("unavailable", "no bot token to download with")
        url = self.api.file_url(file_id)
        got = fetch_media(self.media, url, ctype, limit) if url else MediaProblem("unavailable", "getFile failed")
        if isinstance(got, MediaProblem):
            return [record], got
        return [got.model_copy(update={"url": record.url})], None


class InvalidJson(InvalidInput):
    """The body is not JSON at all (400, unlike a JSON that is not a valid update: 422)."""


def _button_text(msg: Message, data: str) -> str:
    """Quick replies carry `qr:<index>` (Telegram caps callback data at 64 bytes); the text is the
    button's own label on the message the customer tapped."""
    markup = msg.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return data.removeprefix(CALLBACK_PREFIX)


class RateLimiter:
    """Blocks the sending thread until Telegram's pace allows the next message to this chat."""

    def __init__(self, chat_interval_s: float, global_per_s: float,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.chat_interval_s, self.global_interval_s = chat_interval_s, 1.0 / global_per_s
        self.clock, self.sleep = clock, sleep
        self._next_chat: dict[str, float] = {}
        self._next_global = 0.0
        self._lock = threading.Lock()

    def reserve(self, chat: str) -> float:
        """Books the next slot for this chat; returns how long to wait for it."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next_global)   # a chat waiting for its own slot holds up no other chat
            at = max(slot, self._next_chat.get(chat, 0.0))
            self._next_chat[chat] = at + self.chat_interval_s
            self._next_global = slot + self.global_interval_s
            if len(self._next_chat) > 10_000:   # forget chats whose slot is long past
                self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
            return at - now

    def wait(self, chat: str) -> None:
        delay = self.reserve(chat)
        if delay > 0:
            self.sleep(delay)


class TelegramSender(OutboundChannel):
    channel = "telegram"

    def __init__(self, api: BotApi, limiter: RateLimiter, *, max_retry_after_s: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.api, self.limiter, self.max_retry_after_s, self.sleep = api, limiter, max_retry_after_s, sleep

    def _call(self, chat: str, method: str, params: dict[str, Any]) -> str:
        for _ in range(3):
            self.limiter.wait(chat)
            r = self.api.call(method, {"chat_id": chat, **params})
            body = _json(r)
            if r.status_code == 200 and body.get("ok"):
                return f"{chat}:{body['result']['message_id']}"
            wait = float((body.get("parameters") or {}).get("retry_after") or 0)
            if r.status_code == 429 and wait <= self.max_retry_after_s:
                self.sleep(wait)
                continue
            detail = f"telegram {method} answered {r.status_code}: {body.get('description', r.text[:200])}"
            raise (ProviderRejected if r.status_code in (400, 403) else ChannelError)(detail)
        raise ChannelError(f"telegram {method}: still rate limited")

    def send_text(self, recipient: str, text: str) -> list[str]:
        return [self.once(lambda p=p: self._call(recipient, "sendMessage", {"text": p}))  # type: ignore[misc]
                for p in split_chars(text, TEXT_LIMIT)]

    def send_quick_replies(self, recipient: str, text: str, options: list[str]) -> list[str]:
        """The buttons go on the last part of the text, one button per row (labels stay readable)."""
        parts = split_chars(text or "Choose one:", TEXT_LIMIT)
        keyboard = {"inline_keyboard": [[{"text": o[:64], "callback_data": f"{CALLBACK_PREFIX}{i}"}]
                                        for i, o in enumerate(options[:10])]}
        ids = [self.once(lambda p=p: self._call(recipient, "sendMessage", {"text": p}))  # type: ignore[misc]
               for p in parts[:-1]]
        ids.append(self.once(lambda: self._call(recipient, "sendMessage",
                                                {"text": parts[-1], "reply_markup": keyboard})))
        return ids

    def send_products(self, recipient: str, products: list[ProductCard]) -> list[str]:
        ids = []
        for card in products:
            markup = {"inline_keyboard": [[{"text": "View product", "url": card.url}]]} if card.url else None
            caption = product_as_text(card)[:CAPTION_LIMIT]
            params: dict[str, Any] = {"photo": card.image, "caption": caption} if card.image else {"text": caption}
            if markup:
                params["reply_markup"] = markup
            method = "sendPhoto" if card.image else "sendMessage"
            ids.append(self.once(lambda m=method, p=params: self._call(recipient, m, p)))  # type: ignore[misc]
        return ids

    def send_image(self, recipient: str, image: Media) -> list[str]:
        if not image.url:
            return []
        return [self.once(lambda: self._call(recipient, "sendPhoto", {"photo": image.url}))]


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
