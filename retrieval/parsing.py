"""Markdown, HTML and plain text to one shape: a title and (heading level, text) blocks.

One intermediate form means one chunker serves every format, so a FAQ chunks the same way whether
a colleague wrote it in Markdown or exported it as HTML. Standard library only (html.parser): the
documents are our own, well-formed pages, not the open web.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Block:
    """A heading (level 1-6) or a paragraph (level 0) of plain text."""

    level: int
    text: str


_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1")
_STAR = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?!\w)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")


def _inline_md(text: str) -> str:
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) in m.group(2) else f"{m.group(1)} ({m.group(2)})", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _STAR.sub(r"\1", text)


def _flush(lines: list[str], out: list[Block]) -> None:
    text = "\n".join(x.rstrip() for x in lines).strip()
    if text:
        out.append(Block(0, text))
    lines.clear()


def parse_markdown(source: str) -> list[Block]:
    """ATX headings, paragraphs split on blank lines; a list or a table stays one block."""
    out: list[Block] = []
    para: list[str] = []
    in_fence = False
    for raw in source.splitlines():
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence:
            para.append(raw)
            continue
        m = _ATX.match(raw)
        if m:
            _flush(para, out)
            out.append(Block(len(m.group(1)), _inline_md(m.group(2)).strip()))
        elif not raw.strip():
            _flush(para, out)
        elif _TABLE_RULE.match(raw):
            continue
        else:
            line = raw.strip()
            if line.startswith("|"):
                para.append(" | ".join(_inline_md(c.strip()) for c in line.strip("|").split("|")))
            elif _LIST_ITEM.match(raw):
                para.append("- " + _inline_md(_LIST_ITEM.sub("", raw, count=1).strip()))
            elif para and " | " not in para[-1]:    # a hard-wrapped line continues the previous one
                para[-1] += " " + _inline_md(line)
            else:
                para.append(_inline_md(line))
    _flush(para, out)
    return _join_lists(out)


def _join_lists(blocks: list[Block]) -> list[Block]:
    """Loose lists (blank lines between items) become one block, like tight ones."""
    out: list[Block] = []
    for b in blocks:
        if out and b.level == 0 and out[-1].level == 0 and b.text.startswith("- ") \
                and out[-1].text.splitlines()[-1].startswith("- "):
            out[-1] = Block(0, out[-1].text + "\n" + b.text)
        else:
            out.append(b)
    return out


def _sentence_case(line: str) -> str:
    """Plain-text headings are often SHOUTED; citations read better in sentence case."""
    letters = [c for c in line if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        line = line[:1].upper() + line[1:].lower()
        return re.sub(r"\bi\b", "I", line)
    return line


def parse_text(source: str) -> list[Block]:
    """Setext-style headings (a line underlined with === or ---), paragraphs split on blank lines."""
    lines = source.splitlines()
    out: list[Block] = []
    para: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _SETEXT.match(nxt) and len(nxt.strip()) >= max(3, len(line.strip()) // 2):
            _flush(para, out)
            out.append(Block(1 if nxt.strip()[0] == "=" else 2, _sentence_case(line.strip())))
            i += 2
            continue
        stripped = line.strip()
        if not stripped:
            _flush(para, out)
        elif _LIST_ITEM.match(stripped):
            para.append("- " + _LIST_ITEM.sub("", stripped, count=1))
        elif para:                       # a hard-wrapped line continues the previous one
            para[-1] += " " + stripped
        else:
            para.append(stripped)
        i += 1
    _flush(para, out)
    return _join_lists(out)


_BLOCK_TAGS = {"p", "li", "dt", "dd", "blockquote", "pre", "figcaption", "tr", "caption", "div",
               "section", "article", "ul", "ol", "table", "dl", "br", "main", "body"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "form"}


class _HtmlBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title = ""
        self._buf: list[str] = []
        self._heading = 0
        self._skip = 0
        self._in_title = False
        self._list_depth = 0
        self._lines: list[str] = []   # lines of the current list or table, flushed as one block

    def _text(self) -> str:
        return " ".join("".join(self._buf).split())

    def _end_line(self) -> None:
        text = self._text()
        self._buf.clear()
        if not text:
            return
        if self._heading:
            self.blocks.append(Block(self._heading, text))
        elif self._list_depth:
            self._lines.append(text)
        else:
            self.blocks.append(Block(0, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._end_line()
            self._heading = int(tag[1])
        elif tag in ("ul", "ol", "table", "dl"):
            self._end_line()
            self._list_depth += 1
        elif tag in ("li", "tr", "dt", "dd"):
            self._end_line()
            self._buf.append("- " if tag == "li" else "")
        elif tag in ("td", "th") and self._buf and self._text():
            self._buf.append(" | ")
        elif tag in _BLOCK_TAGS:
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self._end_line()
            self._heading = 0
        elif tag in ("ul", "ol", "table", "dl"):
            self._end_line()
            self._list_depth = max(0, self._list_depth - 1)
            if not self._list_depth and self._lines:
                self.blocks.append(Block(0, "\n".join(self._lines)))
                self._lines = []
        elif tag in _BLOCK_TAGS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buf.append(data)


def parse_html(source: str) -> tuple[str, list[Block]]:
    """Headings h1-h6 and block elements; lists and tables become one block of lines."""
    p = _HtmlBlocks()
    p.feed(source)
    p.close()
    p._end_line()
    if p._lines:
        p.blocks.append(Block(0, "\n".join(p._lines)))
    title = " ".join(p.title.split())
    return re.sub(r"\s*[|–-]\s*SkinSage\s*$", "", title), p.blocks
