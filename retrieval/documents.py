"""The brand's documents as citable chunks: load a folder, chunk each file by its structure.

Chunks follow headings first (a FAQ answer is one section, so one citation points at one answer),
then paragraphs: tiny paragraphs are packed together, huge ones split at sentence ends. A chunk id
is doc + section + ordinal, so editing one section never renames the chunks of another, and the
index re-embeds only what changed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.models import SECTION_SEP, Chunk, content_hash
from retrieval.parsing import Block, parse_html, parse_markdown, parse_text
from skinsage.errors import KnowledgeError

FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
#: Sized for MiniLM (trained on ~128-token passages, truncates at 256): about 60-180 words a chunk.
MAX_CHARS = 1000
MIN_CHARS = 250
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass
class Section:
    path: tuple[str, ...]
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class Document:
    doc: str
    title: str
    format: str
    sections: list[Section]


def slug(text: str, max_len: int = 80) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:max_len].rstrip("-") or "section"


def _humanise(stem: str) -> str:
    return stem.replace("-", " ").replace("_", " ").strip().capitalize()


def parse_document(doc: str, source: str) -> Document:
    """Turn one file's text into sections; `doc` is its path relative to the documents folder."""
    fmt = FORMATS.get(Path(doc).suffix.lower())
    if fmt is None:
        raise KnowledgeError(doc, None, f"unsupported document format {Path(doc).suffix!r}")
    html_title = ""
    if fmt == "html":
        html_title, blocks = parse_html(source)
    else:
        blocks = parse_markdown(source) if fmt == "markdown" else parse_text(source)
    title = next((b.text for b in blocks if b.level == 1), "") or html_title or _humanise(Path(doc).stem)
    return Document(doc=doc, title=title, format=fmt, sections=_sections(blocks, title))


def _sections(blocks: list[Block], title: str) -> list[Section]:
    """Group paragraphs under their heading path; the first H1 is the title, not a section."""
    sections = [Section(path=())]
    stack: list[tuple[int, str]] = []
    title_seen = False
    for b in blocks:
        if b.level == 0:
            sections[-1].paragraphs.append(b.text)
            continue
        if b.level == 1 and not title_seen and b.text == title:
            title_seen = True
            continue
        stack = [(lvl, t) for lvl, t in stack if lvl < b.level] + [(b.level, b.text)]
        sections.append(Section(path=tuple(t for _, t in stack)))
    return [s for s in sections if s.paragraphs]


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:          # a run-on "sentence": cut at a word boundary
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            head, sentence = sentence[:cut].strip(), sentence[cut:].strip()
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def pack_paragraphs(paragraphs: list[str], max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> list[str]:
    """Greedy packing: consecutive paragraphs share a chunk up to `max_chars`; a small tail merges back."""
    pieces = [p for para in paragraphs for p in _split_long(para, max_chars)]
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    if len(chunks) > 1 and len(chunks[-1]) < min_chars and len(chunks[-2]) + len(chunks[-1]) <= max_chars + min_chars:
        tail = chunks.pop()
        chunks[-1] += "\n\n" + tail
    return chunks


def chunk_document(document: Document, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> list[Chunk]:
    out: list[Chunk] = []
    ordinals: dict[str, int] = {}
    for section in document.sections:
        name = SECTION_SEP.join(section.path) or document.title
        key = slug(name)
        for text in pack_paragraphs(section.paragraphs, max_chars, min_chars):
            n = ordinals.get(key, 0)
            ordinals[key] = n + 1
            out.append(Chunk(id=f"{document.doc}#{key}#{n}", doc=document.doc, title=document.title,
                             section=name, text=text, content_hash=content_hash(f"{document.title}\n{name}\n{text}")))
    return out


def document_files(folder: Path) -> list[Path]:
    """Supported files under `folder`, sorted; anything whose name starts with `_` or `.` is skipped."""
    if not folder.is_dir():
        raise KnowledgeError(str(folder), None, "documents folder not found")
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in FORMATS
                  and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts))


def load_documents(folder: Path) -> list[Document]:
    docs = []
    for path in document_files(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise KnowledgeError(rel, None, f"not UTF-8 text: {e}") from e
        docs.append(parse_document(rel, source))
    return docs


def load_chunks(folder: Path, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> list[Chunk]:
    return [c for d in load_documents(folder) for c in chunk_document(d, max_chars, min_chars)]
