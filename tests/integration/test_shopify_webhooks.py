"""Shopify webhooks over HTTP: verified, applied to the graph, deduplicated on the webhook id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from graph.cypher_store import CypherGraphStore
from ingest.csvfile import open_csv
from ingest.knowledge import load_knowledge
from ingest.report import IngestReport
from ingest.service import Ingestor
from ingest.shopify import PRODUCT_COLUMNS, product_drafts
from ingest.webhooks import SqlDeliveryLedger
from opstore.db import make_engine
from skinsage.errors import NotFound
from skinsage.settings import REPO_ROOT, Settings

SECRET = "shpss_test_8f2b1c"
HOOKS = Path(__file__).parents[1] / "fixtures" / "shopify" / "webhooks"
SETTINGS = Settings(knowledge_dir=REPO_ROOT / "knowledge", shop_url="https://shop.example",
                    shopify_webhook_secret=SecretStr(SECRET), load_demo_on_start=False)


@pytest.fixture()
def ledger(sqlite_store_template: Path, tmp_path: Path) -> Iterator[SqlDeliveryLedger]:
    db = tmp_path / "store.db"
    shutil.copy(sqlite_store_template, db)
    engine = make_engine(f"sqlite:///{db}")
    yield SqlDeliveryLedger(engine)
    engine.dispose()


@pytest.fixture()
def client(empty_store: CypherGraphStore, ledger: SqlDeliveryLedger) -> Iterator[TestClient]:
    empty_store.load(load_knowledge(SETTINGS.knowledge_dir).model_copy(update={"products": []}))
    report = IngestReport(source="test", file="products_export.csv")
    table = open_csv(REPO_ROOT / "tests" / "fixtures" / "shopify" / "products_export.csv", PRODUCT_COLUMNS, "x")
    Ingestor(empty_store, SETTINGS).products(product_drafts(table, report, SETTINGS.shop_url), report)
    app = create_app(SETTINGS, graph=empty_store, with_chat=False)
    app.state.shopify_ledger = ledger
    with TestClient(app) as c:
        yield c


def _post(client: TestClient, topic: str, body: bytes, webhook_id: str, secret: str = SECRET,
          signature: str | None = None) -> object:
    sig = signature or base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post("/v1/shopify/webhooks", content=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sig,
        "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Shop-Domain": "lumen-skin-house.myshopify.com"})


def test_signed_order_create_is_applied_and_a_replay_is_processed_once(
        client: TestClient, empty_store: CypherGraphStore, ledger: SqlDeliveryLedger) -> None:
    body = (HOOKS / "orders_create.json").read_bytes()
    r = _post(client, "orders/create", body, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert r.status_code == 200 and r.json()["status"] == "processed"
    order = empty_store.order("SS-1010")
    assert order.order.status == "paid" and order.customer_email == "ana.keller@example.eu"
    assert sorted(line.sku for line in order.order.lines) == ["LSH-BHA-100", "LSH-HBC-50"]
    assert ledger.status("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043") == "processed"
    replay = _post(client, "orders/create", body, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"


def test_order_update_brings_fulfilment_and_tracking(client: TestClient, empty_store: CypherGraphStore) -> None:
    _post(client, "orders/create", (HOOKS / "orders_create.json").read_bytes(), "w-1")
    r = _post(client, "orders/updated", (HOOKS / "orders_updated.json").read_bytes(), "w-2")
    assert r.status_code == 200 and r.json()["changes"]["CustomerOrder"]["updated"] == 1
    order = empty_store.order("SS-1010").order
    assert (order.status, order.carrier, order.tracking) == ("shipped", "DHL", "00340434161234567890")


def test_product_update_changes_price_stock_and_ingredients(client: TestClient, empty_store: CypherGraphStore) -> None:
    r = _post(client, "products/update", (HOOKS / "products_update.json").read_bytes(), "w-3")
    assert r.status_code == 200 and r.json()["changes"]["Product"] == {"created": 0, "updated": 1, "unchanged": 0}
    toner = empty_store.product("LSH-BHA-100")
    assert (toner.product.price, toner.product.stock_on_hand) == (21.0, 48)
    assert "allantoin" in [i.id for i in toner.ingredients]


@pytest.mark.parametrize("signature", ["not-base64-at-all", None])
def test_a_wrong_signature_is_401_and_nothing_is_stored(
        client: TestClient, empty_store: CypherGraphStore, ledger: SqlDeliveryLedger, signature: str | None) -> None:
    body = (HOOKS / "orders_create.json").read_bytes()
    r = _post(client, "orders/create", body, "w-bad", secret="someone-else", signature=signature)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
    with pytest.raises(NotFound):
        empty_store.order("SS-1010")
    assert ledger.status("w-bad") is None


def test_a_body_changed_after_signing_is_rejected(client: TestClient, empty_store: CypherGraphStore) -> None:
    body = (HOOKS / "orders_create.json").read_bytes()
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    tampered = body.replace(b'"quantity": 1', b'"quantity": 9', 1)
    assert _post(client, "orders/create", tampered, "w-t", signature=sig).status_code == 401


def test_malformed_json_is_400(client: TestClient, ledger: SqlDeliveryLedger) -> None:
    r = _post(client, "orders/create", b'{"id": 1, "name": ', "w-json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert ledger.status("w-json") is None


def test_an_order_that_cannot_apply_is_recorded_failed_and_applies_on_retry(
        client: TestClient, empty_store: CypherGraphStore, ledger: SqlDeliveryLedger) -> None:
    payload = json.loads((HOOKS / "orders_create.json").read_text(encoding="utf-8"))
    payload["line_items"][0]["sku"] = "NOT-YET-LOADED"
    body = json.dumps(payload).encode()
    r = _post(client, "orders/create", body, "w-retry")
    assert r.status_code == 422 and "NOT-YET-LOADED" in r.json()["error"]["message"]
    assert ledger.status("w-retry") == "failed"
    payload["line_items"][0]["sku"] = "LSH-HBC-30"       # the retry finds the product
    retry = _post(client, "orders/create", json.dumps(payload).encode(), "w-retry")
    assert retry.status_code == 200 and retry.json()["status"] == "processed"
    assert ledger.status("w-retry") == "processed"


def test_unconfigured_secret_is_503(empty_store: CypherGraphStore) -> None:
    app = create_app(SETTINGS.model_copy(update={"shopify_webhook_secret": None}), graph=empty_store, with_chat=False)
    with TestClient(app) as c:
        assert _post(c, "orders/create", b"{}", "w-x").status_code == 503
