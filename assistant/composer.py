"""Turn tool results into the reply text, from versioned templates in prompts/ (no prose in code)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import SandboxedEnvironment

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def excerpt(text: str, limit: int = 420) -> str:
    """Whole sentences up to `limit` characters; headings and list markers removed."""
    text = re.sub(r"^\s*[#>*-]+\s*", "", str(text), flags=re.M)
    text = " ".join(text.split())
    out = ""
    for sentence in _SENTENCE.split(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out if len(out) <= limit + 200 else out[:limit].rsplit(" ", 1)[0] + "..."


def tidy(text: str) -> str:
    """Templates wrap lines for readability; replies are paragraphs, with list items on their own lines.

    Template lines join with a space, blank lines (a false `if`) vanish, a line `~` starts a new paragraph.
    """
    out: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if line == "~":
            if out and out[-1] != "":
                out.append("")
        elif line.startswith("- ") or not out or out[-1] == "" or out[-1].startswith("- "):
            out.append(line)
        else:
            out[-1] = f"{out[-1]} {line}"
    return "\n".join(out).strip()


class Composer:
    def __init__(self, templates_path: Path, brand: str, names: Callable[[str], str]) -> None:
        self._raw: dict[str, str] = yaml.safe_load(templates_path.read_text(encoding="utf-8"))
        self.version = "replies.yaml"
        self._env = SandboxedEnvironment(undefined=Undefined, autoescape=False, trim_blocks=False, lstrip_blocks=True)
        self._env.filters["excerpt"] = excerpt
        self._env.globals.update(
            brand=brand,
            concern_names=lambda ids: _join([names(i).lower() for i in ids]),
            ingredient_names=lambda ids: _join([names(i) for i in ids]),
            photo_summary=photo_summary,
        )
        self._compiled = {k: self._env.from_string(v) for k, v in self._raw.items()}

    def has(self, key: str) -> bool:
        return key in self._compiled

    def render(self, key: str, **ctx: Any) -> str:
        return tidy(self._compiled[key].render(**ctx))


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def photo_summary(x: dict[str, Any]) -> str:
    """A cosmetic summary of a photo analysis result, whatever its exact shape."""
    if not isinstance(x, dict):
        return "I've looked at your photo."
    parts = []
    metrics = x.get("metrics") or x.get("scores") or {}
    items = metrics.items() if isinstance(metrics, dict) else [(m.get("name"), m) for m in metrics if isinstance(m, dict)]
    shown = []
    for name, m in items:
        score = m.get("score") if isinstance(m, dict) else m
        if isinstance(score, (int, float)):
            shown.append(f"{str(name).replace('_', ' ')} {score:.0f}/100")
    if shown:
        parts.append("Here's what I measured (0 = none, 100 = very visible): " + ", ".join(shown[:6]) + ".")
    concerns = x.get("concerns") or x.get("suggested_concerns") or []
    names = [c.get("name") or c.get("concern") if isinstance(c, dict) else str(c) for c in concerns]
    if names:
        parts.append("That suggests focusing on " + _join([str(n).replace("-", " ") for n in names[:3]]) + ".")
    for lim in (x.get("limitations") or x.get("limits") or [])[:1]:
        parts.append(str(lim))
    parts.append("This is a cosmetic check, not a medical diagnosis. Would you like product suggestions based on it?")
    return " ".join(parts)


__all__ = ["Composer", "StrictUndefined", "excerpt", "photo_summary", "tidy"]
