"""Shopify's own formats: the products, customers and orders CSV exports (column names exactly as
Shopify writes them) and the webhook JSON payloads, turned into source-neutral drafts.

Products: one row per variant or extra image, grouped by `Handle`; only the first row of a handle
carries Title/Body/Vendor. Orders: one row per line item, grouped by `Name`; only the first row
carries the order's own fields. A bad row rejects its whole product or order (never half of one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ingest.catalog import ProductDraft, clean_sku, slug
from ingest.csvfile import CsvTable
from ingest.inci import extract_inci, html_to_text
from ingest.report import IngestReport

PRODUCT_COLUMNS = ["Handle", "Title", "Body (HTML)", "Vendor", "Variant SKU", "Variant Price"]
CUSTOMER_COLUMNS = ["First Name", "Last Name", "Email"]
ORDER_COLUMNS = ["Name", "Email", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku"]
_TRUE = {"yes", "true", "1", "y", "subscribed", "x"}


class RowError(ValueError):
    def __init__(self, column: str | None, reason: str) -> None:
        self.column = column
        super().__init__(reason)


def _num(row: dict[str, str], col: str, *, integer: bool = False) -> Any:
    raw = (row.get(col) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw.replace(" ", "").replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw.replace(",", ""))
    except ValueError:
        raise RowError(col, f"{raw!r} is not a number") from None
    if integer:
        if value != int(value):
            raise RowError(col, f"{raw!r} is not a whole number")
        return int(value)
    if value < 0:
        raise RowError(col, f"{raw!r} is negative")
    return value


def ingredients_column(header: list[str]) -> str | None:
    """The ingredients metafield column, as Shopify names it: `Ingredients (product.metafields.custom.ingredients)`."""
    for col in header:
        low = col.lower()
        if "metafields" in low and ("ingredient" in low or "inci" in low):
            return col
    return next((c for c in header if c.lower() in ("ingredients", "inci")), None)


def _tags(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def profile_columns(header: list[str]) -> list[str]:
    """Metafield columns that name skin types or concerns (`Skin type (product.metafields.custom.skin_type)`)."""
    return [c for c in header if "metafields" in c.lower() and any(w in c.lower() for w in ("skin", "concern"))]


def _profile_tags(head: dict[str, str]) -> list[str]:
    return [t.strip() for c in profile_columns(list(head)) for t in re.split(r"[;,|]", head.get(c) or "") if t.strip()]


# --- products ----------------------------------------------------------------------------------
@dataclass
class _Group:
    handle: str
    line: int
    head: dict[str, str] | None = None
    variants: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)


def _rows(table: CsvTable, report: IngestReport, key: str | None = None) -> Iterator[tuple[int, dict[str, str], str]]:
    """Readable rows (counted), with the value of the grouping column `key`; malformed rows and rows
    without that value are rejected with their line."""
    for line, row in table.rows():
        report.rows_read += 1
        if isinstance(row, str):
            report.reject(table.file, line, row)
            continue
        value = row[key].strip() if key else ""
        if key and not value:
            report.reject(table.file, line, f"row has no {key}", key)
            continue
        yield line, row, value


def product_drafts(table: CsvTable, report: IngestReport, shop_url: str) -> list[ProductDraft]:
    """One draft per variant; a handle with any bad row is rejected whole and reported row by row."""
    inci_col = ingredients_column(table.header)
    groups: dict[str, _Group] = {}
    for line, row, handle in _rows(table, report, "Handle"):
        g = groups.setdefault(handle, _Group(handle, line))
        if row["Title"].strip() and g.head is None:
            g.head = row
        elif row["Title"].strip() and g.head is not None and row["Title"].strip() != g.head["Title"].strip():
            g.errors.append((line, "Handle", (f"handle {handle!r} is used by two products "
                                             f"({g.head['Title'].strip()!r} and {row['Title'].strip()!r})")))
        img = (row.get("Image Src") or "").strip()
        if img:
            g.images.append(img)
        is_variant = any((row.get(c) or "").strip() for c in ("Variant SKU", "Variant Price", "Option1 Value"))
        if is_variant:
            try:
                _num(row, "Variant Price")
                _num(row, "Variant Inventory Qty", integer=True)
                if not row["Variant Price"].strip():
                    raise RowError("Variant Price", "variant has no price")
                if row["Variant SKU"].strip() and not clean_sku(row["Variant SKU"]):
                    raise RowError("Variant SKU", f"{row['Variant SKU']!r} is not a usable SKU")
            except RowError as e:
                g.errors.append((line, e.column, str(e)))
            g.variants.append((line, row))
    drafts: list[ProductDraft] = []
    for g in groups.values():
        if g.head is None:
            g.errors.append((g.line, "Title", f"no row of handle {g.handle!r} has a Title (the product's first row is missing)"))
        if not g.variants and not g.errors:
            report.warn(table.file, g.line, f"handle {g.handle!r} has no variant rows; nothing to load")
            continue
        if g.errors:
            for line, col, reason in g.errors:
                report.reject(table.file, line, f"{reason}; product {g.handle!r} not loaded", col)
            continue
        assert g.head is not None
        drafts += _variants(g, inci_col, table.file, report, shop_url)
    return drafts


def _variants(g: _Group, inci_col: str | None, file: str, report: IngestReport, shop_url: str) -> list[ProductDraft]:
    head = g.head or {}
    body = head.get("Body (HTML)") or ""
    inci = (head.get(inci_col) or "").strip() if inci_col else ""
    inci = inci or extract_inci(body) or ""
    description = html_to_text(body)
    description = re.split(r"(?i)\b(?:full\s+)?ingredients\s*:", description)[0]
    description = " ".join(description.split())[:2000]
    out = []
    for line, row in g.variants:
        options = [row.get(f"Option{i} Value", "").strip() for i in (1, 2, 3)]
        options = [o for o in options if o and o != "Default Title"]
        title = head["Title"].strip()
        sku = clean_sku(row["Variant SKU"])
        if not sku:
            sku = clean_sku(g.handle if len(g.variants) == 1 else f"{g.handle}-{slug(' '.join(options) or str(line))}")
            report.warn(file, line, f"variant has no SKU; loaded as {sku!r}", "Variant SKU")
        out.append(ProductDraft(
            sku=sku, line=line, name=f"{title} {' / '.join(options)}".strip() if options else title,
            brand=head.get("Vendor"), kind=head.get("Type") or head.get("Product Category"),
            price=_num(row, "Variant Price"), stock=_num(row, "Variant Inventory Qty", integer=True),
            size_text=" ".join(options), inci=inci or None, description=description,
            image=(row.get("Variant Image") or "").strip() or (g.images[0] if g.images else None),
            url=f"{shop_url.rstrip('/')}/products/{g.handle}", tags=[*_tags(head.get("Tags")), *_profile_tags(head)]))
    return out


# --- customers ---------------------------------------------------------------------------------
@dataclass
class CustomerDraft:
    line: int | None
    name: str
    email: str | None
    phone: str | None
    shopify_id: str | None = None
    accepts_email: bool | None = None
    accepts_sms: bool | None = None


def normal_phone(raw: str | None) -> str | None:
    """Shopify writes phones as `'+49 151 1234567` (a quote so spreadsheets keep the +)."""
    if not raw:
        return None
    text = raw.strip().lstrip("'")
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if text.startswith("00"):
        return f"+{digits[2:]}"
    return f"+{digits}" if text.startswith("+") else digits


def normal_email(raw: str | None) -> str | None:
    text = (raw or "").strip().lower()
    return text if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else None


def _flag(row: dict[str, str], *cols: str) -> bool | None:
    for c in cols:
        if c in row and row[c].strip():
            return row[c].strip().lower() in _TRUE
    return None


def customer_drafts(table: CsvTable, report: IngestReport) -> list[CustomerDraft]:
    out = []
    for line, row, _ in _rows(table, report):
        email = normal_email(row.get("Email"))
        if row.get("Email", "").strip() and email is None:
            report.reject(table.file, line, f"{row['Email'].strip()!r} is not an email address", "Email")
            continue
        phone = normal_phone(row.get("Phone") or row.get("Default Address Phone"))
        if not email and not phone:
            report.reject(table.file, line, "customer has neither email nor phone; cannot identify them", "Email")
            continue
        name = " ".join(x for x in (row.get("First Name", "").strip(), row.get("Last Name", "").strip()) if x)
        out.append(CustomerDraft(line=line, name=name or (email or phone or "").split("@")[0], email=email, phone=phone,
                                 shopify_id=(row.get("Customer ID") or "").strip().lstrip("'") or None,
                                 accepts_email=_flag(row, "Accepts Email Marketing", "Accepts Marketing"),
                                 accepts_sms=_flag(row, "Accepts SMS Marketing")))
    return out


# --- orders ------------------------------------------------------------------------------------
@dataclass
class OrderDraft:
    name: str
    line: int | None
    email: str | None
    phone: str | None
    customer_name: str
    placed_at: date
    status: str
    currency: str
    lines: list[tuple[str, int, float]]
    carrier: str | None = None
    tracking: str | None = None


def _when(raw: str, col: str) -> date:
    text = raw.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise RowError(col, f"{raw!r} is not a date and time") from None


def order_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> str:
    """Shopify's two status fields as one of ours. Shopify exports do not say "delivered"."""
    fin, ful = (financial or "").strip().lower(), (fulfillment or "").strip().lower()
    if cancelled or fin == "voided":
        return "cancelled"
    if fin == "refunded":
        return "returned"
    if ful in ("fulfilled", "shipped"):
        return "shipped"
    if ful in ("partial", "partially_fulfilled", "in_progress"):
        return "processing"
    if fin in ("paid", "partially_paid", "partially_refunded"):
        return "paid"
    return "pending"


def order_drafts(table: CsvTable, report: IngestReport) -> Iterator[OrderDraft]:
    """Orders in file order, rows grouped by `Name` (Shopify writes them together; a re-sorted
    spreadsheet still works); an order with any bad line item is rejected whole."""
    orders: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row, name in _rows(table, report, "Name"):
        orders.setdefault(name, []).append((line, row))
    for rows in orders.values():
        yield from _order(rows, table.file, report)


def _order(rows: list[tuple[int, dict[str, str]]], file: str, report: IngestReport) -> Iterator[OrderDraft]:
    # the row carrying the order's own fields (the first one Shopify writes)
    first_line, head = next(((ln, r) for ln, r in rows if r["Created at"].strip()), rows[0])
    name = head["Name"].strip()
    lines: list[tuple[str, int, float]] = []
    errors: list[tuple[int, str | None, str]] = []
    try:
        placed = _when(head["Created at"], "Created at")
    except RowError as e:
        errors.append((first_line, e.column, str(e)))
        placed = date.min
    email = normal_email(head.get("Email"))
    phone = normal_phone(head.get("Phone") or head.get("Billing Phone"))
    if not email and not phone:
        errors.append((first_line, "Email", "order has neither email nor phone; cannot link it to a customer"))
    for line, row in rows:
        try:
            qty = _num(row, "Lineitem quantity", integer=True)
            price = _num(row, "Lineitem price")
            if qty is None or qty < 1:
                raise RowError("Lineitem quantity", f"quantity {row['Lineitem quantity']!r} is not at least 1")
            sku = clean_sku(row["Lineitem sku"])
            if not sku:
                report.warn(file, line, f"line item {row['Lineitem name'].strip()!r} has no SKU (gift card, tip, "
                            "custom item); skipped", "Lineitem sku")
                continue
            lines.append((sku, qty, price or 0.0))
        except RowError as e:
            errors.append((line, e.column, str(e)))
    if not errors and not lines:
        errors.append((first_line, "Lineitem sku", "order has no line item with a SKU"))
    if errors:
        for line, col, reason in errors:
            report.reject(file, line, f"{reason}; order {name} not loaded", col)
        return
    yield OrderDraft(name=name, line=first_line, email=email, phone=phone,
                     customer_name=(head.get("Billing Name") or head.get("Shipping Name") or "").strip(),
                     placed_at=placed, currency=(head.get("Currency") or "EUR").strip() or "EUR",
                     status=order_status(head.get("Financial Status"), head.get("Fulfillment Status"),
                                         bool((head.get("Cancelled at") or "").strip())),
                     lines=lines)


# --- webhook payloads --------------------------------------------------------------------------
def order_from_payload(p: dict[str, Any]) -> OrderDraft:
    """An `orders/create` / `orders/updated` payload (Shopify's REST order JSON)."""
    try:
        cust = p.get("customer") or {}
        email = normal_email(p.get("email") or p.get("contact_email") or cust.get("email"))
        phone = normal_phone(p.get("phone") or cust.get("phone"))
        addr = p.get("billing_address") or p.get("shipping_address") or {}
        person = " ".join(x for x in (cust.get("first_name"), cust.get("last_name")) if x) or addr.get("name") or ""
        lines = []
        for item in p.get("line_items") or []:
            sku = clean_sku(item.get("sku") or "")
            if sku:
                lines.append((sku, int(item["quantity"]), float(item.get("price") or 0)))
        fulfil: dict[str, Any] = next((f for f in reversed(p.get("fulfillments") or []) if f.get("tracking_number")), {})
        return OrderDraft(
            name=str(p["name"]), line=None, email=email, phone=phone, customer_name=person,
            placed_at=datetime.fromisoformat(str(p["created_at"])).date(),
            status=order_status(p.get("financial_status"), p.get("fulfillment_status"), bool(p.get("cancelled_at"))),
            currency=p.get("currency") or "EUR", lines=lines,
            carrier=fulfil.get("tracking_company"), tracking=fulfil.get("tracking_number"))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a Shopify order payload: {e!r}") from e


def product_from_payload(p: dict[str, Any], shop_url: str) -> list[ProductDraft]:
    """A `products/update` payload: one draft per variant (metafields are not in the payload, so the
    INCI list comes from the description, or stays as it is in the graph)."""
    try:
        handle, title = str(p["handle"]), str(p["title"])
        body = p.get("body_html") or ""
        images = [i["src"] for i in p.get("images") or [] if i.get("src")]
        image_by_id = {i.get("id"): i["src"] for i in p.get("images") or [] if i.get("src")}
        variants = p.get("variants") or []
        description = " ".join(re.split(r"(?i)\b(?:full\s+)?ingredients\s*:", html_to_text(body))[0].split())[:2000]
        out = []
        for v in variants:
            options = [str(v[k]) for k in ("option1", "option2", "option3") if v.get(k) and v.get(k) != "Default Title"]
            sku = clean_sku(v.get("sku") or "") or clean_sku(
                handle if len(variants) == 1 else f"{handle}-{slug(' '.join(options) or str(v.get('id')))}")
            out.append(ProductDraft(
                sku=sku, name=f"{title} {' / '.join(options)}".strip(), brand=p.get("vendor"),
                kind=p.get("product_type"), price=float(v["price"]),
                stock=int(v["inventory_quantity"]) if v.get("inventory_quantity") is not None else None,
                size_text=" ".join(options), inci=extract_inci(body), description=description,
                image=image_by_id.get(v.get("image_id")) or (images[0] if images else None),
                url=f"{shop_url.rstrip('/')}/products/{handle}", tags=_tags(p.get("tags"))))
        return out
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a Shopify product payload: {e!r}") from e
