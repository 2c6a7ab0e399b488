"""Shopify exports into the graph, on both adapters: idempotent, incremental, a bad row costs only its
own product or order, and a file that is not what it claims writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.cypher_store import CypherGraphStore
from graph.model import Avoidance, Customer, KnowledgeBundle
from ingest.csvfile import open_csv
from ingest.knowledge import load_knowledge
from ingest.report import IngestReport
from ingest.service import Ingestor
from ingest.shopify import (
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    customer_drafts,
    order_drafts,
    product_drafts,
)
from skinsage.errors import KnowledgeError, NotFound
from skinsage.settings import REPO_ROOT, Settings

SHOPIFY = Path(__file__).parents[1] / "fixtures" / "shopify"
SETTINGS = Settings(knowledge_dir=REPO_ROOT / "knowledge", shop_url="https://shop.example", shopify_order_prefix="SS-")


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBundle:
    return load_knowledge(REPO_ROOT / "knowledge")


@pytest.fixture()
def store(empty_store: CypherGraphStore, knowledge: KnowledgeBundle) -> CypherGraphStore:
    """The curated knowledge without its demo catalogue: a brand's graph before its own data arrives."""
    empty_store.load(knowledge.model_copy(update={"products": []}))
    return empty_store


def products(store: CypherGraphStore, path: Path, dry_run: bool = False) -> IngestReport:
    report = IngestReport(source="shopify products", file=str(path), dry_run=dry_run)
    drafts = product_drafts(open_csv(path, PRODUCT_COLUMNS, "Shopify products export"), report, SETTINGS.shop_url)
    Ingestor(store, SETTINGS).products(drafts, report)
    return report


def customers(store: CypherGraphStore, path: Path) -> IngestReport:
    report = IngestReport(source="shopify customers", file=str(path))
    Ingestor(store, SETTINGS).customers(customer_drafts(open_csv(path, CUSTOMER_COLUMNS, "x"), report), report)
    return report


def orders(store: CypherGraphStore, path: Path) -> IngestReport:
    report = IngestReport(source="shopify orders", file=str(path))
    drafts = list(order_drafts(open_csv(path, ORDER_COLUMNS, "x"), report))
    Ingestor(store, SETTINGS).orders(drafts, report, keep_tracking=True)
    return report


def _writes(report: IngestReport) -> int:
    return sum(c.get("created", 0) + c.get("updated", 0) + c.get("deleted", 0) for c in report.changes.values())


def test_products_export_loads_every_variant_and_a_rerun_changes_nothing(store: CypherGraphStore) -> None:
    first = products(store, SHOPIFY / "products_export.csv")
    assert first.rows_read == 8 and first.summary("Product")["created"] == 7 and not first.rejected
    cream = store.product("LSH-HBC-50")
    assert cream.product.name == "Hydra Barrier Cream 50 ml" and cream.product.price == 34.0
    assert cream.product.size.amount == 50 and cream.product.category == "moisturiser"
    assert cream.product.skin_types == ["dry", "sensitive"] and cream.product.concerns == ["dryness"]
    assert [i.id for i in cream.ingredients][:3] == ["water", "glycerin", "caprylic-capric-triglyceride"]
    assert cream.brand_name == "Lumen Skin House"
    # the INCI list inside the Body HTML (no metafield), with its declared percentage
    toner = store.product("LSH-BHA-100")
    assert "salicylic-acid" in [i.id for i in toner.ingredients] and toner.product.actives == {"salicylic-acid": 2.0}
    # a variant without SKU is loaded under its handle
    assert store.product("glow-vitamin-c-serum").product.price == 39.9
    again = products(store, SHOPIFY / "products_export.csv")
    assert _writes(again) == 0 and again.summary("Product")["unchanged"] == 7


def test_bom_and_windows_line_endings_load_the_same_graph(store: CypherGraphStore) -> None:
    products(store, SHOPIFY / "products_export.csv")
    excel = products(store, SHOPIFY / "products_export_excel.csv")
    assert not excel.rejected and _writes(excel) == 0


def test_a_changed_row_updates_only_its_product(store: CypherGraphStore, tmp_path: Path) -> None:
    products(store, SHOPIFY / "products_export.csv")
    changed = tmp_path / "products_export.csv"
    changed.write_text((SHOPIFY / "products_export.csv").read_text(encoding="utf-8").replace(",27.00,", ",25.00,"),
                       encoding="utf-8")
    report = products(store, changed)
    assert report.summary("Product") == {"created": 0, "updated": 1, "unchanged": 6}
    assert store.product("SOL-MSF-50").product.price == 25.0


def test_unknown_ingredients_become_unreviewed_nodes_and_are_reported(store: CypherGraphStore) -> None:
    report = products(store, SHOPIFY / "products_export.csv")
    assert report.unknown_ingredients == {"Ahnfeltiopsis Concinna Extract": 2}
    assert report.resolution_rate is not None and report.resolution_rate > 0.95
    node = store.ingredient("ahnfeltiopsis-concinna-extract").ingredient
    assert node.reviewed is False and node.inci == "Ahnfeltiopsis Concinna Extract"
    assert "ahnfeltiopsis-concinna-extract" in [i.id for i in store.product("LSH-RTL-30").ingredients]


def test_bad_rows_are_reported_with_file_line_column_and_the_rest_loads(store: CypherGraphStore) -> None:
    path = SHOPIFY / "products_bad.csv"
    report = products(store, path)
    assert store.product("LSH-CICA-50").product.name == "Calm Cica Gel 50 ml"
    for sku in ("LSH-MASK-75", "LSH-MASK-150", "LSH-GIFT"):    # never half a product
        with pytest.raises(NotFound):
            store.product(sku)
    where = {(r.line, r.column) for r in report.rejected}
    assert (4, "Variant Price") in where                         # 'twelve'
    assert any(r.line == 6 and "fields" in r.reason for r in report.rejected)
    assert any(r.line == 5 and "no ingredient list" in r.reason for r in report.rejected)
    assert all(r.file == str(path) for r in report.rejected)


def test_dry_run_reports_and_writes_nothing(store: CypherGraphStore) -> None:
    before = store.stats().counts
    report = products(store, SHOPIFY / "products_export.csv", dry_run=True)
    assert report.summary("Product")["created"] == 7
    assert store.stats().counts == before


@pytest.mark.parametrize("name, content, message", [
    ("orders_export.csv", None, "looks like a Shopify orders export"),
    ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("latin1.csv", "Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price\ncr\xe8me,Cr\xe8me,,V,C-1,1\n".encode("latin-1"),
     "not UTF-8"),
])
def test_a_file_that_is_not_a_products_export_fails_clearly_and_writes_nothing(
        store: CypherGraphStore, tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = SHOPIFY / name if content is None else tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = store.stats().counts
    with pytest.raises(KnowledgeError, match=message):
        products(store, path)
    assert store.stats().counts == before


def test_customers_update_contact_and_consent_but_keep_the_profile(store: CypherGraphStore) -> None:
    store.load(KnowledgeBundle(customers=[Customer(
        id="cus-ana", name="Ana K.", email="ana.keller@example.eu", skin_type="dry", concerns=["dryness"],
        avoids=[Avoidance(ingredient="linalool")], identities=["email:ana.keller@example.eu"], consents=["photo_storage"])]))
    report = customers(store, SHOPIFY / "customers_export.csv")
    assert report.summary("Customer") == {"created": 2, "updated": 1, "unchanged": 0}
    assert [(r.line, r.column) for r in report.rejected] == [(5, "Email")]
    ana = store.customer("cus-ana").customer
    assert (ana.name, ana.skin_type, ana.concerns, [a.ingredient for a in ana.avoids]) == (
        "Ana Keller", "dry", ["dryness"], ["linalool"])
    assert ana.phone == "+4915112345678" and "phone:+4915112345678" in ana.identities
    assert set(ana.consents) == {"photo_storage", "email_marketing"}
    assert store.customer_by_identity("phone:+4915112345678") == "cus-ana"
    assert _writes(customers(store, SHOPIFY / "customers_export.csv")) == 0


def test_orders_link_to_customers_by_email_and_a_bad_order_costs_only_itself(store: CypherGraphStore) -> None:
    products(store, SHOPIFY / "products_export.csv")
    customers(store, SHOPIFY / "customers_export.csv")
    report = orders(store, SHOPIFY / "orders_export.csv")
    assert report.rows_read == 10 and report.summary("CustomerOrder")["created"] == 4
    first = store.order("SS-1001")
    assert first.customer_email == "ana.keller@example.eu" and first.order.status == "shipped"
    assert sorted((line.sku, line.quantity) for line in first.order.lines) == [("LSH-BHA-100", 2), ("LSH-HBC-50", 1)]
    assert store.order("SS-1003").order.status == "cancelled"
    # a shop customer the graph had not met is created from the order
    newcomer = store.customer_by_identity("email:new.customer@example.nl")
    assert newcomer and store.customer(newcomer).customer.name == "Femke de Vries"
    assert [line.sku for line in store.order("SS-1004").order.lines] == ["LSH-HBC-30"]   # gift card line skipped
    for missing in ("SS-1005", "SS-1006"):
        with pytest.raises(NotFound):
            store.order(missing)
    reasons = " | ".join(str(r) for r in report.rejected)
    assert "OLD-MASK-1" in reasons and "'two' is not a number" in reasons
    assert _writes(orders(store, SHOPIFY / "orders_export.csv")) == 0


def test_a_csv_reimport_keeps_the_tracking_a_webhook_stored(store: CypherGraphStore) -> None:
    products(store, SHOPIFY / "products_export.csv")
    orders(store, SHOPIFY / "orders_export.csv")
    tracked = store.order("SS-1001").order.model_copy(update={"carrier": "DHL", "tracking": "00340434161234567890"})
    store.load(KnowledgeBundle(orders=[tracked]))        # what orders/updated with a fulfilment writes
    again = orders(store, SHOPIFY / "orders_export.csv")
    assert _writes(again) == 0
    assert (store.order("SS-1001").order.carrier, store.order("SS-1001").order.tracking) == ("DHL", "00340434161234567890")
