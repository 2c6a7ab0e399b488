"""Any product catalogue (another platform's CSV or JSON export, a public dataset) loaded through a
YAML mapping file instead of code: which column is the name, brand, price, ingredient list, and
which columns are skin-type or concern flags.

```yaml
format: csv                 # csv | json
delimiter: ","              # csv only
records: data.products      # json only: dotted path to the list of records ("" = top level)
columns:                    # our field -> the source column (json: key, dotted for nested)
  sku: Product ID           # optional: without it the SKU is made from sku_prefix + name
  name: Name                # required
  brand: Brand
  price: Price              # required unless defaults.price
  ingredients: Ingredients  # required
  category: Label           # matched to our categories by words (Moisturizer -> moisturiser)
  size: Size
  stock: Stock
  description: Description
  image: Image URL
  url: Link
  tags: Tags                # a list column (list_separator), read like Shopify tags
  skin_types: Skin Types    # a list column
  concerns: Concerns        # a list column
skin_type_flags:            # a column per skin type, truthy (1, yes, true, x) when it applies
  oily: Oily
concern_flags: {}
list_separator: ";"
sku_prefix: "EXT-"
defaults: {brand: Some Brand, category: serum}
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ingest.catalog import ProductDraft, category_of, clean_sku, slug
from ingest.csvfile import open_csv, read_json_records
from ingest.report import IngestReport
from skinsage.errors import KnowledgeError

FIELDS = ("sku", "name", "brand", "price", "ingredients", "category", "size", "stock", "description", "image",
          "url", "tags", "skin_types", "concerns")
_TRUE = {"1", "1.0", "yes", "y", "true", "x", "✓"}


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "json"] = "csv"
    delimiter: str = ","
    records: str | None = None
    columns: dict[str, str]
    skin_type_flags: dict[str, str] = {}
    concern_flags: dict[str, str] = {}
    list_separator: str = ";"
    sku_prefix: str = "EXT-"
    defaults: dict[str, Any] = {}

    @model_validator(mode="after")
    def _fields(self) -> Mapping:
        bad = [k for k in [*self.columns, *self.defaults] if k not in FIELDS]
        if bad:
            raise ValueError(f"unknown field {bad[0]!r} (known: {', '.join(FIELDS)})")
        for need in ("name", "ingredients"):
            if need not in self.columns:
                raise ValueError(f"columns.{need} is required")
        if "price" not in self.columns and "price" not in self.defaults:
            raise ValueError("columns.price (or defaults.price) is required")
        return self

    def source_columns(self) -> list[str]:
        return [*self.columns.values(), *self.skin_type_flags.values(), *self.concern_flags.values()]


def load_mapping(path: Path) -> Mapping:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise KnowledgeError(str(path), None, f"cannot read the mapping: {e}") from e
    try:
        return Mapping.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "mapping"
        raise KnowledgeError(str(path), None, f"{loc}: {first['msg']}") from e


def _get(record: dict[str, Any], key: str) -> Any:
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def _list(value: Any, sep: str) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(sep) if v.strip()]


def _number(value: Any, column: str, integer: bool = False) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"column {column!r}: {value!r} is not a number")  # noqa: TRY004 - a row rejection
    text = str(value).strip().lstrip("$€£").replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"column {column!r}: {value!r} is not a number") from None
    if number < 0:
        raise ValueError(f"column {column!r}: {value!r} is negative")
    return int(number) if integer else number


def mapped_drafts(path: Path, mapping: Mapping, report: IngestReport,
                  progress: Callable[[int], None] | None = None) -> Iterator[ProductDraft]:
    """Drafts for every record; a bad record is reported (line for CSV, record number for JSON)."""
    if mapping.format == "csv":
        table = open_csv(path, mapping.source_columns(), "file matching this mapping", mapping.delimiter)
        table.progress = progress
        rows: Iterator[tuple[int, dict[str, Any] | str]] = table.rows()
    else:
        records = read_json_records(path, mapping.records)
        rows = iter(records)
    for line, row in rows:
        report.rows_read += 1
        if isinstance(row, str):
            report.reject(str(path), line, row)
            continue
        if not isinstance(row, dict):
            report.reject(str(path), line, "record is not an object")
            continue
        try:
            yield draft_from_record(row, line, mapping)
        except ValueError as e:
            report.reject(str(path), line, str(e))


def draft_from_record(row: dict[str, Any], line: int, m: Mapping) -> ProductDraft:
    def col(field: str) -> Any:
        return _get(row, m.columns[field]) if field in m.columns else m.defaults.get(field)

    name = _text(col("name"))
    if not name:
        raise ValueError(f"column {m.columns['name']!r}: no product name")
    brand = _text(col("brand")) or _text(m.defaults.get("brand"))
    sku = clean_sku(_text(col("sku")) or "") or clean_sku(m.sku_prefix + slug(f"{brand or ''} {name}"))
    price = _number(col("price"), m.columns.get("price", "price"))
    if price is None:
        price = _number(m.defaults.get("price"), "defaults.price")
    skin = _list(col("skin_types"), m.list_separator)
    skin += [st for st, c in m.skin_type_flags.items() if str(_get(row, c) or "").strip().lower() in _TRUE]
    concerns = _list(col("concerns"), m.list_separator)
    concerns += [cn for cn, c in m.concern_flags.items() if str(_get(row, c) or "").strip().lower() in _TRUE]
    raw_category = _text(col("category")) or _text(m.defaults.get("category"))
    return ProductDraft(
        sku=sku, name=name, line=line, brand=brand, kind=raw_category, category=category_of(raw_category),
        price=price, stock=_number(col("stock"), m.columns.get("stock", "stock"), integer=True),
        size_text=_text(col("size")), inci=_text(col("ingredients")), description=_text(col("description")),
        image=_text(col("image")), url=_text(col("url")),
        # skin types and concerns are matched through the knowledge's names, like Shopify tags
        tags=[*_list(col("tags"), m.list_separator), *skin, *concerns])
