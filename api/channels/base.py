"""The one channel contract (after Rasa's channel layer, done stricter).

Inbound: an adapter verifies a provider request (signature, secret) and parses it into what the
store persists, an `InboundMessage`, plus what the channel settles itself (STOP, `/start CODE`, a
photo it could not take). Outbound: only `send_text` is required; quick replies, product cards and
images each have a text rendering here, and an adapter overrides the ones its channel can show.

Adapters hold their HTTP client as a field and are synchronous on purpose: they run on the
dispatcher's and the worker's threads, never on the event loop.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from assistant.types import InboundMessage, Media, ProductCard, Reply
from skinsage.errors import SkinSageError

#: What skin analysis accepts (vision/intake.py decides finally; this only spares a useless download).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")


class ChannelError(SkinSageError):
    """A provider refused or failed a call; the outbox retries the message with backoff."""


class ChannelNotConfigured(SkinSageError):
    """A webhook or a send for a channel this deployment has no credentials for."""


class ProviderRejected(ChannelError):
    """The provider will never accept this (bad number, blocked bot): retrying changes nothing."""


@dataclass(frozen=True)
class ProviderRequest:
    """A webhook request, framework-free: what verification and parsing need."""

    url: str
    headers: Mapping[str, str]        # lower-case names
    body: bytes
    form: Mapping[str, str] | None = None   # decoded form fields (Twilio)


SettledKind = Literal["stop", "start", "help", "link", "media_only", "ignored"]


@dataclass
class Parsed:
    """A verified request, normalised. `settle` set: the channel answers `reply` itself (no engine);
    `notice`: something the customer must hear besides the engine's answer (e.g. a photo refused)."""

    inbound: InboundMessage | None
    settle: SettledKind | None = None
    reply: str | None = None
    notice: str | None = None
    link_code: str | None = None
    ack: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaProblem:
    code: Literal["too_large", "unsupported_type", "unavailable"]
    message: str


def media_notice(problem: MediaProblem, limit_mb: float) -> str:
    """What the customer reads when their attachment could not go to skin analysis."""
    if problem.code == "too_large":
        return (f"Your photo is larger than {limit_mb:g} MB, so I could not look at it. "
                "Please send it again at normal size (a regular phone photo is fine).")
    if problem.code == "unsupported_type":
        return ("I can only look at photos (JPEG, PNG or WebP). "
                "Please send a clear, front-facing photo in daylight, or write your question.")
    return "I could not fetch your photo just now. Please send it again in a moment."


def fetch_media(client: httpx.Client, url: str, content_type: str, limit_bytes: int,
                auth: httpx.Auth | tuple[str, str] | None = None) -> Media | MediaProblem:
    """Download an attachment with the provider's auth, never holding more than the limit in memory.
    The declared and the served type must both be a photo type."""
    if content_type.split(";")[0].strip().lower() not in PHOTO_TYPES:
        return MediaProblem("unsupported_type", f"{content_type} is not a photo")
    try:
        with client.stream("GET", url, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                           follow_redirects=True) as r:
            if r.status_code != 200:
                return MediaProblem("unavailable", f"media download answered {r.status_code}")
            served = r.headers.get("content-type", content_type).split(";")[0].strip().lower()
            if served not in PHOTO_TYPES:
                return MediaProblem("unsupported_type", f"{served} is not a photo")
            declared = int(r.headers.get("content-length") or 0)
            if declared > limit_bytes:
                return MediaProblem("too_large", f"{declared} bytes")
            data = bytearray()
            for chunk in r.iter_bytes():
                data += chunk
                if len(data) > limit_bytes:
                    return MediaProblem("too_large", f"over {limit_bytes} bytes")
    except httpx.HTTPError as e:
        return MediaProblem("unavailable", f"{type(e).__name__}: {e}")
    return Media(content_type=served, url=url, data=bytes(data))


# --- outbound: text renderings every channel can fall back to ------------------------------------

def quick_replies_as_text(options: list[str]) -> str:
    return "Reply with: " + " · ".join(options) if options else ""


def product_as_text(card: ProductCard) -> str:
    line = f"{card.name} - {card.price:.2f} {card.currency}"
    return f"{line}\n{card.url}" if card.url else line


def image_as_text(image: Media) -> str:
    return f"Image: {image.url}" if image.url else ""


@dataclass
class _Progress:
    done: list[str]
    index: int = 0


class OutboundChannel(ABC):
    """One provider's way out. `send` renders a reply payload (`Reply` fields) into provider calls and
    returns the provider id of the main (first) message.

    A reply can take several provider calls (split text, a card per product). When one of them fails,
    the outbox retries the whole row; the parts that already went out are remembered here (in this
    process, bounded) and skipped on the retry, so the customer does not get them twice."""

    channel: str
    _MEMORY = 2000

    def __init__(self) -> None:
        self._progress: OrderedDict[str, list[str]] = OrderedDict()
        self._progress_lock = threading.Lock()
        self._local = threading.local()

    @abstractmethod
    def send_text(self, recipient: str, text: str) -> list[str]:
        """Send text (split where the provider needs it); the provider ids, in order."""

    def send_quick_replies(self, recipient: str, text: str, options: list[str]) -> list[str]:
        return self.send_text(recipient, "\n\n".join(p for p in (text, quick_replies_as_text(options)) if p))

    def send_products(self, recipient: str, products: list[ProductCard]) -> list[str]:
        return self.send_text(recipient, "\n\n".join(product_as_text(p) for p in products))

    def send_image(self, recipient: str, image: Media) -> list[str]:
        text = image_as_text(image)
        return self.send_text(recipient, text) if text else []

    def render(self, recipient: str, reply: Reply) -> list[str]:
        ids = self.send_quick_replies(recipient, reply.text, reply.quick_replies) if reply.quick_replies \
            else self.send_text(recipient, reply.text) if reply.text.strip() else []
        if reply.products:
            ids += self.send_products(recipient, reply.products)
        for image in reply.images:
            ids += self.send_image(recipient, image)
        return ids

    def send(self, recipient: str, payload: dict[str, Any]) -> str:
        reply = Reply.model_validate(payload)
        key = hashlib.sha256(json.dumps([self.channel, recipient, payload], sort_keys=True,
                                        default=str).encode()).hexdigest()
        with self._progress_lock:
            progress = _Progress(self._progress.pop(key, []))
        self._local.progress = progress
        try:
            ids = self.render(recipient, reply)
        except Exception:
            if progress.done:
                with self._progress_lock:
                    self._progress[key] = progress.done
                    while len(self._progress) > self._MEMORY:
                        self._progress.popitem(last=False)
            raise
        finally:
            self._local.progress = None
        if not ids:
            raise ProviderRejected("nothing to send: the payload has no text, products or images")
        return ids[0]

    def once(self, call: Callable[[], str]) -> str:
        """Every provider call of a `send` goes through here (see the class docstring)."""
        progress: _Progress | None = getattr(self._local, "progress", None)
        if progress is None:
            return call()
        if progress.index < len(progress.done):
            provider_id = progress.done[progress.index]
        else:
            provider_id = call()
            progress.done.append(provider_id)
        progress.index += 1
        return provider_id


def split_words(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy split at word boundaries (a word too long on its own is cut by characters), so every
    part satisfies `fits`. Parts keep their inner line breaks."""
    parts: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*", text.strip()):
        if fits(current + token.rstrip()):
            current += token
            continue
        if current.strip():
            parts.append(current.rstrip())
        current = ""
        while token.strip() and not fits(token.rstrip()):
            cut = max(1, _longest_prefix(token, fits))
            parts.append(token[:cut])
            token = token[cut:]
        current = token
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _longest_prefix(token: str, fits: Callable[[str], bool]) -> int:
    lo, hi = 0, len(token)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(token[:mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo
