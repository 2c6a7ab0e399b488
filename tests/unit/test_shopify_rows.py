"""Shopify's CSV layouts: variant/image rows grouped by Handle, line items grouped by order Name, and
a bad row rejecting its whole product or order (never half of one)."""

from __future__ import annotations

import csv
import io
from datetime import date

from ingest.csvfile import CsvTable
from ingest.report import IngestReport
from ingest.shopify import (
    PRODUCT_COLUMNS,
    normal_phone,
    order_drafts,
    order_from_payload,
    order_status,
    product_drafts,
    product_from_payload,
)

P_HEADER = [*PRODUCT_COLUMNS, "Type", "Tags", "Option1 Name", "Option1 Value", "Variant Inventory Qty", "Image Src",
            "Variant Image", "Ingredients (product.metafields.custom.ingredients)"]
O_HEADER = ["Name", "Email", "Financial Status", "Fulfillment Status", "Created at", "Lineitem quantity", "Lineitem name",
            "Lineitem price", "Lineitem sku", "Billing Name", "Cancelled at", "Currency"]


def _table(header: list[str], rows: list[dict[str, str]]) -> CsvTable:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return CsvTable(file="x.csv", header=header, text=buf.getvalue())


def _report() -> IngestReport:
    return IngestReport(source="test", file="x.csv")


def test_variant_and_image_rows_of_a_handle_become_one_product_per_variant() -> None:
    rows = [
        {"Handle": "cream", "Title": "Cream", "Body (HTML)": "<p>Nice.</p>", "Vendor": "Lumen", "Type": "Face Cream",
         "Tags": "Dry Skin, bestseller", "Option1 Name": "Size", "Option1 Value": "30 ml", "Variant SKU": "CR-30",
         "Variant Price": "24.00", "Variant Inventory Qty": "5", "Image Src": "https://cdn/1.jpg",
         "Ingredients (product.metafields.custom.ingredients)": "Aqua, Glycerin"},
        {"Handle": "cream", "Option1 Value": "50 ml", "Variant SKU": "CR-50", "Variant Price": "34.00",
         "Variant Inventory Qty": "-2", "Image Src": "https://cdn/2.jpg", "Variant Image": "https://cdn/2.jpg"},
        {"Handle": "cream", "Image Src": "https://cdn/3.jpg"},
    ]
    report = _report()
    drafts = product_drafts(_table(P_HEADER, rows), report, "https://shop.example")
    assert report.rows_read == 3 and not report.rejected
    assert [(d.sku, d.name, d.price, d.stock, d.size_text) for d in drafts] == [
        ("CR-30", "Cream 30 ml", 24.0, 5, "30 ml"), ("CR-50", "Cream 50 ml", 34.0, -2, "50 ml")]
    # the second variant inherits the product's fields from the first row, and keeps its own image
    assert drafts[1].inci == "Aqua, Glycerin" and drafts[1].brand == "Lumen" and drafts[1].tags == ["Dry Skin", "bestseller"]
    assert drafts[0].image == "https://cdn/1.jpg" and drafts[1].image == "https://cdn/2.jpg"
    assert drafts[0].url == "https://shop.example/products/cream"


def test_a_variant_without_sku_gets_a_stable_one_and_a_note() -> None:
    rows = [{"Handle": "glow-serum", "Title": "Glow", "Body (HTML)": "<p>Ingredients: Aqua</p>", "Vendor": "V",
             "Option1 Name": "Title", "Option1 Value": "Default Title", "Variant Price": "10"}]
    report = _report()
    drafts = product_drafts(_table(P_HEADER, rows), report, "https://s")
    assert [d.sku for d in drafts] == ["glow-serum"] and drafts[0].name == "Glow" and drafts[0].inci == "Aqua"
    assert report.warnings and report.warnings[0].column == "Variant SKU"


def test_a_bad_variant_rejects_the_whole_product_and_nothing_else() -> None:
    rows = [
        {"Handle": "mask", "Title": "Mask", "Vendor": "V", "Variant SKU": "M-1", "Variant Price": "18.00"},
        {"Handle": "mask", "Option1 Value": "150 ml", "Variant SKU": "M-2", "Variant Price": "twelve"},
        {"Handle": "toner", "Title": "Toner", "Vendor": "V", "Variant SKU": "T-1", "Variant Price": "9.50"},
    ]
    report = _report()
    drafts = product_drafts(_table(P_HEADER, rows), report, "https://s")
    assert [d.sku for d in drafts] == ["T-1"]
    assert len(report.rejected) == 1
    bad = report.rejected[0]
    assert (bad.file, bad.line, bad.column) == ("x.csv", 3, "Variant Price") and "'twelve'" in bad.reason


def test_a_row_with_the_wrong_number_of_fields_is_rejected_with_its_line() -> None:
    text = "Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price\r\nok,Ok,,V,OK-1,1\r\nbroken,row, with,too,many,fields,!\r\n"
    table = CsvTable(file="x.csv", header=PRODUCT_COLUMNS, text=text)
    report = _report()
    assert [d.sku for d in product_drafts(table, report, "https://s")] == ["OK-1"]
    assert report.rejected[0].line == 3 and "fields" in report.rejected[0].reason


def test_line_numbers_count_physical_lines_of_multiline_cells() -> None:
    rows = [{"Handle": "a", "Title": "A", "Body (HTML)": "<p>one</p>\n<p>two</p>\n<p>three</p>", "Vendor": "V",
             "Variant SKU": "A-1", "Variant Price": "1"},
            {"Handle": "b", "Title": "B", "Vendor": "V", "Variant SKU": "B-1", "Variant Price": "x"}]
    report = _report()
    product_drafts(_table(P_HEADER, rows), report, "https://s")
    assert report.rejected[0].line == 5       # header, 3 lines of row a, then row b


def test_line_items_group_into_orders_and_a_bad_line_rejects_its_order() -> None:
    rows = [
        {"Name": "#1001", "Email": "Ana@Example.eu", "Financial Status": "paid", "Fulfillment Status": "fulfilled",
         "Created at": "2026-09-02 10:14:58 +0200", "Lineitem quantity": "1", "Lineitem name": "Cream", "Lineitem price": "34.00",
         "Lineitem sku": "CR-50", "Billing Name": "Ana Keller", "Currency": "EUR"},
        {"Name": "#1001", "Lineitem quantity": "2", "Lineitem name": "Toner", "Lineitem price": "19.50", "Lineitem sku": "T-1"},
        {"Name": "#1001", "Lineitem quantity": "1", "Lineitem name": "Gift Card", "Lineitem price": "25.00", "Lineitem sku": ""},
        {"Name": "#1002", "Email": "ben@example.eu", "Financial Status": "paid", "Created at": "2026-09-03 10:00:00 +0200",
         "Lineitem quantity": "two", "Lineitem name": "Cream", "Lineitem price": "34.00", "Lineitem sku": "CR-50"},
    ]
    report = _report()
    drafts = list(order_drafts(_table(O_HEADER, rows), report))
    assert len(drafts) == 1
    d = drafts[0]
    assert (d.name, d.email, d.placed_at, d.status, d.customer_name) == (
        "#1001", "ana@example.eu", date(2026, 9, 2), "shipped", "Ana Keller")
    assert d.lines == [("CR-50", 1, 34.0), ("T-1", 2, 19.5)]
    assert report.warnings[0].line == 4                       # the gift card line: skipped, noted
    assert [(r.line, r.column) for r in report.rejected] == [(5, "Lineitem quantity")]


def test_shopify_statuses_map_to_ours() -> None:
    assert order_status("paid", "fulfilled", False) == "shipped"
    assert order_status("paid", "", False) == "paid"
    assert order_status("paid", "partial", False) == "processing"
    assert order_status("pending", None, False) == "pending"
    assert order_status("refunded", "fulfilled", False) == "returned"
    assert order_status("voided", "", False) == "cancelled"
    assert order_status("paid", "", True) == "cancelled"


def test_phones_as_shopify_exports_them() -> None:
    assert normal_phone("'+49 151 12345678") == "+4915112345678"
    assert normal_phone("0049 151 1234") == "+491511234"
    assert normal_phone("") is None


def test_order_payload_reads_line_items_customer_and_tracking() -> None:
    payload = {"name": "#1010", "email": "Ana@Example.eu", "created_at": "2026-11-20T09:41:12+01:00",
               "financial_status": "paid", "fulfillment_status": "fulfilled", "cancelled_at": None, "currency": "EUR",
               "customer": {"first_name": "Ana", "last_name": "Keller", "phone": "+4915112345678"},
               "line_items": [{"sku": "CR-50", "quantity": 1, "price": "34.00"}, {"sku": None, "quantity": 1, "price": "5"}],
               "fulfillments": [{"tracking_company": "DHL", "tracking_number": "0034"}]}
    d = order_from_payload(payload)
    assert (d.name, d.email, d.customer_name, d.status, d.carrier, d.tracking) == (
        "#1010", "ana@example.eu", "Ana Keller", "shipped", "DHL", "0034")
    assert d.lines == [("CR-50", 1, 34.0)]


def test_product_payload_gives_one_draft_per_variant_with_inci_from_the_description() -> None:
    payload = {"handle": "toner", "title": "Toner", "vendor": "V", "product_type": "Toner", "tags": "Oily Skin, Acne",
               "body_html": "<p>Fresh.</p><p><strong>Ingredients:</strong> Aqua, Glycerin</p>",
               "variants": [{"id": 1, "sku": "T-100", "price": "21.00", "inventory_quantity": 48, "option1": "100 ml"}],
               "images": [{"id": 9, "src": "https://cdn/t.jpg"}]}
    [d] = product_from_payload(payload, "https://shop")
    assert (d.sku, d.name, d.price, d.stock, d.inci, d.image) == ("T-100", "Toner 100 ml", 21.0, 48, "Aqua, Glycerin", "https://cdn/t.jpg")
