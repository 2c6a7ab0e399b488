"""Keyword tokens for skincare text: accents, hyphens, percentages and customer shorthand.

Customers write "anti-ageing", "antiageing" and "anti ageing", "10 percent" and "10%", "vit c" and
"vitamin C", "moisturizer" and "moisturiser"; the tokenizer maps each family onto shared tokens so
BM25 can match them. Deliberately no synonym table: linking "HA" to hyaluronic acid is the graph
resolver's job, and keeping keyword search plain keeps the comparison between rankers honest.
"""

from __future__ import annotations

import re
import unicodedata

_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|percent\b|per\s+cent\b)")
_LETTERS_DIGITS = re.compile(r"([a-z]{2,})(\d+)")
_WORD = re.compile(r"\d+\.\d+%?|[a-z0-9%]+(?:[-/'][a-z0-9%]+)*")
_SHORTHAND = {"vit": "vitamin", "vits": "vitamin", "suncream": "sunscreen", "sunblock": "sunscreen"}
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does",
    "did", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "it's", "me", "my", "of", "on", "or", "our", "so", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "to", "too", "us", "was", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "yours", "im",
    "i'm", "am"
})


def _stem(word: str) -> str:
    """Plural and -ize spelling folding only; stronger stemmers merge ingredient names that differ."""
    if word[-1:].isdigit() or "%" in word:
        return word
    if word.endswith(("izer", "izers", "ize", "izes", "ized", "izing")):
        word = word.replace("iz", "is")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ").replace("’", "'")
    return _PERCENT.sub(lambda m: m.group(1).replace(",", ".") + "%", text)


def tokenize(text: str) -> list[str]:
    """Lowercase ASCII tokens without stopwords; "anti-ageing" gives anti, ageing and antiageing."""
    out: list[str] = []
    for word in _WORD.findall(normalise(text)):
        parts = [p for p in re.split(r"[-/']", word) if p]
        if len(parts) > 1 and "-" in word:
            out.append(_stem("".join(parts)))
        letters_digits = _LETTERS_DIGITS.fullmatch(word)
        if letters_digits:                      # "spf50" also matches "spf 50"
            out.append(word)
            parts = list(letters_digits.groups())
        for part in parts:
            if part not in STOPWORDS:
                out.append(_stem(_SHORTHAND.get(part, part)))
    return out
