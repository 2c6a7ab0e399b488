"""Read a data file the way shops and spreadsheets actually write it, or refuse it before any write.

UTF-8 with or without BOM, Windows or Unix line endings, quoted multi-line HTML cells. A file that is
not what it claims (binary, not UTF-8, missing the columns its kind needs) raises `KnowledgeError`
naming the file and the reason, so nothing is loaded from it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skinsage.errors import KnowledgeError

csv.field_size_limit(16 * 1024 * 1024)   # a product description with inline images can be large


def read_text(path: Path) -> str:
    """The whole file as text; binary and non-UTF-8 files are refused with the offending byte."""
    if not path.is_file():
        raise KnowledgeError(str(path), None, "no such file")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise KnowledgeError(str(path), None, "this is a binary file, not a CSV/JSON text export")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise KnowledgeError(str(path), None, f"line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}); "
                             "export the file as UTF-8 (Shopify exports always are)") from e


@dataclass
class CsvTable:
    file: str
    header: list[str]
    text: str
    delimiter: str = ","
    #: called with the characters read so far (a progress bar's position; the total is len(text))
    progress: Callable[[int], None] | None = None

    def rows(self) -> Iterator[tuple[int, dict[str, str] | str]]:
        """(first line of the record, row as column -> value) or (line, reason) for a malformed row."""
        buf = io.StringIO(self.text, newline="")
        reader = csv.reader(buf, delimiter=self.delimiter)
        try:
            next(reader)
            last = reader.line_num
            for values in reader:
                start, last = last + 1, reader.line_num
                if self.progress is not None and start % 500 == 0:
                    self.progress(buf.tell())
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(self.header):
                    yield start, (f"has {len(values)} fields but the header has {len(self.header)} "
                                  "(an unquoted comma or a broken quote?)")
                    continue
                yield start, dict(zip(self.header, values, strict=True))
        except csv.Error as e:
            raise KnowledgeError(self.file, None, f"line {reader.line_num}: not a readable CSV: {e}") from e
        if self.progress is not None:
            self.progress(len(self.text))


def open_csv(path: Path, required: list[str], kind: str, delimiter: str = ",") -> CsvTable:
    """The table, after checking its header has every column `kind` needs."""
    text = read_text(path)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error as e:
        raise KnowledgeError(str(path), None, f"line 1: not a readable CSV: {e}") from e
    if not header:
        raise KnowledgeError(str(path), None, "the file is empty")
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        hint = guess_kind(header)
        raise KnowledgeError(str(path), None, f"line 1: not a {kind}: missing column(s) {', '.join(map(repr, missing))}"
                             + (f"; it looks like {hint}" if hint and hint != kind else ""))
    return CsvTable(file=str(path), header=header, text=text, delimiter=delimiter)


def guess_kind(header: list[str]) -> str | None:
    cols = set(header)
    if {"Lineitem sku", "Lineitem quantity"} <= cols:
        return "a Shopify orders export"
    if {"Handle", "Variant SKU"} <= cols:
        return "a Shopify products export"
    if "Email" in cols and ("First Name" in cols or "Accepts Email Marketing" in cols):
        return "a Shopify customers export"
    return None


def read_json_records(path: Path, records: str | None) -> list[tuple[int, dict[str, Any]]]:
    """(record number, object) for each object in the list at the dotted path `records`."""
    text = read_text(path)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise KnowledgeError(str(path), None, f"line {e.lineno}: not valid JSON: {e.msg}") from e
    for part in (records or "").split("."):
        if not part:
            continue
        if not isinstance(data, dict) or part not in data:
            raise KnowledgeError(str(path), None, f"no {part!r} in the JSON (mapping says records: {records!r})")
        data = data[part]
    if not isinstance(data, list):
        raise KnowledgeError(str(path), None, "expected a list of records"
                             + (f" at {records!r}" if records else " at the top level"))
    return [(i, item) for i, item in enumerate(data, start=1)]
