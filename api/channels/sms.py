"""SMS segment arithmetic: plain rules, no I/O.

A text that fits the GSM 03.38 alphabet travels as GSM-7: 160 septets in one segment, 153 per segment
once it is concatenated (the rest is the concatenation header); the extension characters (`{}[]~|^\\€`)
take two septets each. Anything else travels as UCS-2: 70 UTF-16 code units alone, 67 per segment,
and an emoji outside the basic plane takes two. Twilio accepts at most 1600 characters per message and
recommends at most 10 segments, so a long reply becomes several messages, each cut at a word boundary.
"""

from __future__ import annotations

import math
from typing import Literal

from api.channels.base import split_words

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
TWILIO_MAX_CHARS = 1600

Encoding = Literal["GSM-7", "UCS-2"]


def encoding(text: str) -> Encoding:
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "UCS-2"


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies."""
    if encoding(text) == "GSM-7":
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def segments(text: str) -> int:
    """How many SMS segments the carrier bills for this text (0 for empty text)."""
    n = units(text)
    single, multi = (160, 153) if encoding(text) == "GSM-7" else (70, 67)
    if n == 0:
        return 0
    return 1 if n <= single else math.ceil(n / multi)


def split_sms(text: str, max_segments: int = 10) -> list[str]:
    """Messages of at most `max_segments` segments and 1600 characters each, cut between words."""
    def fits(chunk: str) -> bool:
        return len(chunk.encode("utf-16-le")) // 2 <= TWILIO_MAX_CHARS and segments(chunk) <= max_segments

    return split_words(text, fits)


def split_chars(text: str, limit: int) -> list[str]:
    """For channels that count plain characters (WhatsApp 1600, Telegram 4096)."""
    return split_words(text, lambda chunk: len(chunk) <= limit)
