"""The HTTP read API over a real embedded graph, through FastAPI's test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle) -> Iterator[TestClient]:
    store = EmbeddedGraphStore(tmp_path_factory.mktemp("api") / "g.lbdb")
    store.load(fixture_bundle)
    with TestClient(create_app(Settings(load_demo_on_start=False), graph=store, with_chat=False)) as c:
        yield c
    store.close()


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["graph"]["backend"] == "embedded"
    assert body["graph"]["counts"]["Ingredient"] == 14


def test_ready_is_503_until_knowledge_is_loaded(tmp_path: Path) -> None:
    store = EmbeddedGraphStore(tmp_path / "empty.lbdb")
    with TestClient(create_app(Settings(load_demo_on_start=False), graph=store, with_chat=False)) as c:
        r = c.get("/ready")
        assert r.status_code == 503 and r.json()["status"] == "not_loaded"
        assert c.get("/health").status_code == 200
    store.close()


def test_ingredient_by_name_synonym_or_typo(client: TestClient) -> None:
    body = client.get("/v1/ingredients/niacinamide").json()
    assert body["ingredient"]["id"] == "niacinamide"
    assert {a["concern"] for a in body["ingredient"]["addresses"]} == {"enlarged-pores", "dark-spots", "acne"}
    assert client.get("/v1/ingredients/vit c").json()["ingredient"]["id"] == "ascorbic-acid"
    assert client.get("/v1/ingredients/niacinamde").json()["ingredient"]["id"] == "niacinamide"


def test_concern_lists_ingredients_by_evidence(client: TestClient) -> None:
    body = client.get("/v1/concerns/zits", params={"limit": 2}).json()
    assert body["concern"]["id"] == "acne"
    assert [i["id"] for i in body["ingredients"]] == ["benzoyl-peroxide", "salicylic-acid"]


def test_product_by_sku(client: TestClient) -> None:
    body = client.get("/v1/products/FX-NIA-10").json()
    assert body["product"]["name"] == "Niacinamide 10 Serum"
    assert [i["id"] for i in body["ingredients"]][:2] == ["water", "niacinamide"]


def test_products_for_a_profile_with_exclusions(client: TestClient) -> None:
    r = client.get("/v1/products", params={"concerns": ["fine-lines", "acne"], "pregnant_or_breastfeeding": True})
    assert r.status_code == 200
    assert [m["sku"] for m in r.json()] == ["FX-NIA-10"]
    assert r.json()[0]["paths"]


def test_routine_conflicts_endpoint(client: TestClient) -> None:
    r = client.post("/v1/routine/conflicts", json={"skus": ["FX-RET-03", "FX-GLY-07"]})
    assert r.status_code == 200
    assert r.json()[0]["kind"] == "conflict"
    missing = client.post("/v1/routine/conflicts", json={"skus": ["FX-RET-03", "NOPE"]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/v1/ingredients/unobtainium", "/v1/concerns/boredom", "/v1/products/NOPE-1",
                                  "/v1/nowhere"])
def test_unknown_things_are_json_404s(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found" and r.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("get", "/v1/ingredients/" + "x" * 201, {}),
    ("get", "/v1/products", {"params": {"max_price": "cheap"}}),
    ("get", "/v1/products", {"params": {"limit": 0}}),
    ("get", "/v1/concerns/acne", {"params": {"limit": 1000}}),
    ("get", "/v1/resolve", {"params": {"q": ""}}),
    ("post", "/v1/routine/conflicts", {"json": {"skus": []}}),
    ("post", "/v1/routine/conflicts", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
])
def test_bad_input_is_a_json_422(client: TestClient, method: str, path: str, kwargs: dict) -> None:
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_resolve_endpoint(client: TestClient) -> None:
    r = client.get("/v1/resolve", params={"q": "is BHA ok for large pores?"})
    assert {(m["kind"], m["id"]) for m in r.json()} == {("ingredient", "salicylic-acid"),
                                                        ("concern", "enlarged-pores")}
