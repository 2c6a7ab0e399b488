"""Split an INCI list as printed on a pack (or pasted into a shop) into entries, and match entries to
known ingredients.

Real lists arrive wrapped in marketing copy and HTML, with percentages, `May Contain (+/-)` colour
blocks, footnote asterisks, non-breaking spaces and line breaks. Parsing keeps names that contain
commas (`1,2-Hexanediol`) and slashes that are not synonyms (`Caprylic/Capric Triglyceride`) whole:
a slash is only read as "these are synonyms" when every part names the same known ingredient.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from graph.resolver import normalise

_PERCENT = re.compile(r"\s*\(?\s*(\d+(?:[.,]\d+)?)\s*%\s*\)?")
_MC_WORDS = r"(?:may\s+contain|peut\s+contenir|kann\s+enthalten|puede\s+contener)"
_MC_SIGN = r"(?:\+\s*/\s*-|±)"
_MAY_CONTAIN = re.compile(rf"[\[(]?\s*(?:{_MC_SIGN}\s*[:)\]]?\s*(?:{_MC_WORDS})?|{_MC_WORDS}\s*(?:\(\s*{_MC_SIGN}\s*\)|{_MC_SIGN})?)"
                          r"\s*[:)\]]?\s*", re.IGNORECASE)
#: The words a shop puts in front of the list ("Full ingredients:", "INCI:", "Ingrédients :").
_HEADER = re.compile(r"(?:full\s+)?(?:ingredients?(?:\s+list)?|inci(?:\s+list)?|ingr[ée]dients?|inhaltsstoffe|"
                     r"composition)\s*[:：]", re.IGNORECASE)
_HIGHLIGHT = re.compile(r"\b(?:key|hero|star|active|main)\s*$", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|p|li|div)\b[^>]*>", re.IGNORECASE)
_FOOTNOTE = re.compile(r"^[*°†‡]+")
_SEPARATORS = ",;•·|"


@dataclass(frozen=True)
class InciEntry:
    """One entry of a list: the name as printed (cleaned), a declared %, and whether it is a
    `May Contain` entry (shade colorants that may or may not be in this batch)."""

    name: str
    percent: float | None = None
    may_contain: bool = False


def html_to_text(text: str) -> str:
    """Shop descriptions are HTML: paragraphs and `<br>` become line breaks, entities are decoded."""
    text = _BREAKS.sub("\n", text)
    return html.unescape(_TAGS.sub("", text)).replace("\u00a0", " ").replace("\r\n", "\n").replace("\r", "\n")


def extract_inci(text: str) -> str | None:
    """The ingredient list inside a product description: the paragraph after the last `Ingredients:`
    header, or None when the description has no such header (a description is not a list)."""
    plain = html_to_text(text)
    matches = _headers(plain)
    if not matches:
        return None
    rest = plain[matches[-1].end():].strip()
    # the list ends at the first blank line (the next paragraph: usage, warnings, marketing)
    block = re.split(r"\n\s*\n", rest, maxsplit=1)[0].strip()
    return block or None


def _headers(text: str) -> list[re.Match[str]]:
    """`Ingredients:` headers, without "Key ingredients:" (a highlight, not the list)."""
    return [m for m in _HEADER.finditer(text) if not _HIGHLIGHT.search(text[max(0, m.start() - 12):m.start()])]


def _strip_lead(text: str) -> str:
    """Drop marketing text before the list when it carries an `Ingredients:` header."""
    matches = _headers(text)
    return text[matches[-1].end():] if matches else text


def _split_top(text: str) -> list[str]:
    """Split on separators outside () and []; a comma between digits (`1,2-Hexanediol`) is a name."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch in _SEPARATORS and depth == 0:
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if not (ch == "," and prev.isdigit() and nxt.isdigit()):
                out.append("".join(buf))
                buf = []
                continue
        buf.append(ch)
    out.append("".join(buf))
    return out


def _clean(entry: str) -> str:
    entry = " ".join(entry.split()).strip(" .;:")
    entry = _FOOTNOTE.sub("", entry).rstrip("*°†‡ ").strip()
    # an unbalanced bracket left over from a `[+/- ...]` block
    if entry.count("(") < entry.count(")") or entry.endswith(")") and "(" not in entry:
        entry = entry.rstrip(")").strip()
    if entry.count("[") < entry.count("]") or entry.endswith("]"):
        entry = entry.rstrip("]").strip()
    entry = entry.lstrip("[").strip()
    return entry


def parse_inci(text: str) -> list[InciEntry]:
    """Entries in label order, with % and May Contain flags; footnotes and headers removed."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text and ">" in text:
        text = html_to_text(text)
    text = _strip_lead(text).strip()
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) > 1 and not any(c in text for c in ",;•"):
        text = ", ".join(lines)        # one ingredient per line
    else:
        # footnote lines ("*certified organic") after the list are not ingredients
        lines = [ln for ln in lines if not (ln.startswith("*") and not any(c in ln for c in ",;"))]
        text = " ".join(lines)
    text = text.strip().rstrip(".")
    # some labels separate entries with periods ("AQUA. GLYCERIN. ZINC OXIDE."): only when no commas
    if not any(c in _split_top(text)[0] for c in ",;") and len(_split_top(text)) == 1 \
            and len(re.findall(r"\.\s+[A-Z0-9(\[]", text)) >= 2:
        text = re.sub(r"\.\s+(?=[A-Z0-9(\[])", ", ", text)
    # a trailing sentence-footnote: "..., Tocopherol. *From organic farming."
    text = re.split(r"\.\s+[*°†]", text, maxsplit=1)[0]
    out: list[InciEntry] = []
    may_contain = False
    for raw in _split_top(text):
        m = _MAY_CONTAIN.search(raw)
        if m:
            before, raw = raw[:m.start()], raw[m.end():]
            if _clean(before):
                out.append(_entry(before, may_contain))
            # "[+/- CI 77891, CI 77491]" is a closed block (what follows it is a normal entry);
            # "May Contain: CI 77891, ..." runs to the end of the list
            closed = m.group(0).lstrip()[:1] in "[(" and raw.rstrip().endswith(("]", ")"))
            may_contain = not closed
            for part in _split_top(_unwrap(raw)):
                if _clean(part):
                    out.append(_entry(part, True))
            continue
        if _clean(raw):
            out.append(_entry(raw, may_contain))
    return out


def _unwrap(text: str) -> str:
    """`[CI 77891 (Titanium Dioxide), CI 77499 (Iron Oxides)]` -> its contents, inner () kept."""
    text = text.strip().lstrip("[(").strip()
    while text[-1:] in ("]", ")") and text.count("(") + text.count("[") < text.count(")") + text.count("]"):
        text = text[:-1].rstrip()
    return text


def _entry(raw: str, may_contain: bool) -> InciEntry:
    name = _clean(raw)
    pct = None
    m = _PERCENT.search(name)
    if m:
        pct = float(m.group(1).replace(",", "."))
        name = _clean(_PERCENT.sub(" ", name, count=1))
    return InciEntry(name=name, percent=pct, may_contain=may_contain)


def split_inci(text: str) -> list[str]:
    """The entry names of a list, in order (see `parse_inci` for % and May Contain)."""
    return [e.name for e in parse_inci(text)]


def candidates(entry: str) -> list[str]:
    """Ways an entry may be named, most specific first: whole, without %, outside and inside ()."""
    base = _PERCENT.sub("", entry).strip()
    found = [entry, base]
    outside = re.sub(r"\s*\([^)]*\)", "", base).strip()
    found.append(outside)
    # a trailing parenthesis is another name for the whole ("Parfum (Fragrance)", "Iron Oxides (CI 77491)");
    # one in the middle only names the plant ("Melaleuca Alternifolia (Tea Tree) Leaf Water")
    trailing = re.search(r"\(([^()]*)\)\s*$", base)
    if trailing:
        found.append(trailing.group(1).strip())
    return [c for c in dict.fromkeys(found) if c]


class InciMatcher:
    """Maps INCI entries to canonical ingredient ids through every known name of each ingredient."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self._index: dict[str, str] = {}
        for ing_id, aliases in names.items():
            for alias in aliases:
                key = normalise(alias)
                if key:
                    self._index.setdefault(key, ing_id)

    def _lookup(self, text: str) -> str | None:
        return self._index.get(normalise(text)) if text else None

    def match(self, entry: str) -> str | None:
        for cand in candidates(entry):
            hit = self._lookup(cand)
            if hit:
                return hit
        # a slash separates synonyms (Aqua/Water/Eau, Parfum/Fragrance) only when every part names
        # the same ingredient; Caprylic/Capric Triglyceride and Coco-Caprylate/Caprate stay whole
        for cand in candidates(entry):
            if "/" in cand:
                hits = {self._lookup(p.strip()) for p in cand.split("/") if p.strip()}
                if len(hits) == 1 and None not in hits:
                    return hits.pop()
                # " / " with spaces is the EU dual-language form (OLEA EUROPAEA FRUIT OIL / OLIVE FRUIT
                # OIL): one known part names it, as long as the known parts agree
                known = hits - {None}
                if " / " in cand and len(known) == 1:
                    return known.pop()
        return None
