"""Split an INCI list as printed on a pack into entries, and match entries to known ingredients."""

from __future__ import annotations

import re

from graph.resolver import normalise

_PERCENT = re.compile(r"\s*\(?\s*\d+(?:[.,]\d+)?\s*%\s*\)?")


def split_inci(text: str) -> list[str]:
    """Split on commas outside parentheses; a comma between digits (`1,2-Hexanediol`) is part of a name."""
    text = text.replace("\u00a0", " ").replace("\n", " ").strip().rstrip(".")
    out, depth, buf = [], 0, []
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if not (prev.isdigit() and nxt.isdigit()):
                out.append("".join(buf))
                buf = []
                continue
        buf.append(ch)
    out.append("".join(buf))
    return [e for e in (" ".join(x.split()).strip(" .;") for x in out) if e]


def candidates(entry: str) -> list[str]:
    """Ways an entry may be named, most specific first: whole, without %, outside and inside (), / parts."""
    base = _PERCENT.sub("", entry).strip()
    found = [entry, base]
    outside = re.sub(r"\s*\([^)]*\)", "", base).strip()
    found.append(outside)
    found += re.findall(r"\(([^)]*)\)", base)
    for part in (base, outside):
        if "/" in part:
            found += [p.strip() for p in part.split("/")]
    return [c for c in dict.fromkeys(found) if c]


class InciMatcher:
    """Maps INCI entries to canonical ingredient ids through every known name of each ingredient."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self._index: dict[str, str] = {}
        for ing_id, aliases in names.items():
            for alias in aliases:
                self._index.setdefault(normalise(alias), ing_id)

    def match(self, entry: str) -> str | None:
        for cand in candidates(entry):
            hit = self._index.get(normalise(cand))
            if hit:
                return hit
        return None
