"""Shared fixtures: the fixture knowledge, and a GraphStore per backend.

Backends: `embedded` always; `neo4j` against the real server that scripts/neo4j-test-server.sh
starts. The operational store likewise: SQLite always, PostgreSQL from scripts/postgres-test-server.sh
(SKINSAGE_REQUIRE_POSTGRES=1 makes it required). With SKINSAGE_REQUIRE_NEO4J=1 (set by the README test command and CI) an unreachable Neo4j
fails the run instead of skipping it, so the Neo4j contract tests cannot silently not run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from graph.cypher_store import CypherGraphStore
from graph.model import Avoidance, Customer, KnowledgeBundle, Order, OrderLine
from ingest.knowledge import load_knowledge

FIXTURES = Path(__file__).parent / "fixtures"
NEO4J_URI = os.environ.get("NEO4J_TEST_URI", "bolt://127.0.0.1:7687")
REQUIRE_NEO4J = os.environ.get("SKINSAGE_REQUIRE_NEO4J") == "1"


def fixture_customers() -> tuple[list[Customer], list[Order]]:
    ana = Customer(id="cus-ana", name="Ana Keller", email="ana@example.eu", phone="+4915112345678",
                   skin_type="oily", concerns=["acne", "enlarged-pores"],
                   avoids=[Avoidance(ingredient="linalool", reason="allergy")],
                   identities=["email:ana@example.eu", "phone:+4915112345678"])
    ben = Customer(id="cus-ben", name="Ben Novak", skin_type="dry", concerns=["fine-lines"],
                   pregnancy="pregnant", identities=["telegram:9001"])
    orders = [
        Order(id="SS-1001", customer_id="cus-ana", placed_at=date(2026, 1, 10), status="delivered",
              carrier="DHL", tracking="DH123", lines=[OrderLine(sku="FX-NIA-10", quantity=1, unit_price=20.0),
                                                      OrderLine(sku="FX-BHA-02", quantity=2, unit_price=25.0)]),
        Order(id="SS-1002", customer_id="cus-ana", placed_at=date(2026, 3, 1), status="shipped",
              carrier="DPD", tracking="DP456", lines=[OrderLine(sku="FX-NIA-10", quantity=1, unit_price=20.0)]),
    ]
    return [ana, ben], orders


@pytest.fixture(scope="session")
def fixture_bundle() -> KnowledgeBundle:
    bundle = load_knowledge(FIXTURES / "knowledge")
    customers, orders = fixture_customers()
    return bundle.model_copy(update={"customers": customers, "orders": orders})


def _open(backend: str, tmp: Path) -> CypherGraphStore:
    if backend == "embedded":
        from graph.embedded import EmbeddedGraphStore

        return EmbeddedGraphStore(tmp / "graph.lbdb")
    from graph.neo4j_store import Neo4jGraphStore
    from skinsage.errors import GraphUnavailable

    try:
        store = Neo4jGraphStore(NEO4J_URI, timeout_s=5)
        store.ping()
    except GraphUnavailable as e:
        if REQUIRE_NEO4J:
            pytest.fail(f"Neo4j is required but unreachable at {NEO4J_URI}: {e}")
        pytest.skip(f"no Neo4j at {NEO4J_URI} (start it with scripts/neo4j-test-server.sh start)")
    return store


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CypherGraphStore]:
    """A fresh, empty graph on each backend (function scope: for tests that write)."""
    store = _open(request.param, tmp_path)
    store.reset()
    yield store
    store.close()


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def loaded_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 fixture_bundle: KnowledgeBundle) -> Iterator[CypherGraphStore]:
    """The fixture knowledge loaded once per module and backend, for read-only tests."""
    store = _open(request.param, tmp_path_factory.mktemp(request.param))
    store.reset()
    store.load(fixture_bundle)
    yield store
    store.close()


# --- the operational store (opstore): SQLite always, PostgreSQL from scripts/postgres-test-server.sh ---
POSTGRES_URL = os.environ.get("SKINSAGE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://skinsage_test:skinsage_test@127.0.0.1:5432/skinsage_test")
REQUIRE_POSTGRES = os.environ.get("SKINSAGE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def sqlite_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once, copied per test: an empty store costs a file copy, not a migration."""
    from opstore.migrate import upgrade

    path = tmp_path_factory.mktemp("opstore") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_store_engine() -> Iterator[object]:
    """Migrated once per session; tests that migrate down (the migration tests) end at head again."""
    from opstore.db import make_engine
    from opstore.errors import StoreUnavailable
    from opstore.migrate import upgrade

    try:
        upgrade(POSTGRES_URL)
    except StoreUnavailable as e:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unusable at {POSTGRES_URL.split('@')[-1]}: {e}")
        pytest.skip("no PostgreSQL (start it with scripts/postgres-test-server.sh start)")
    engine = make_engine(POSTGRES_URL, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def opstore_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_store_template: Path) -> str:
    """The URL of an empty, migrated operational store on each backend."""
    if request.param == "postgresql":
        from sqlalchemy import text

        from opstore.models import Base

        with request.getfixturevalue("postgres_store_engine").begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
        return POSTGRES_URL
    shutil.copyfile(sqlite_store_template, tmp_path / "ops.db")
    return f"sqlite:///{tmp_path / 'ops.db'}"


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real embedding model, loaded once per test session (offline, from its PyPI package)."""
    from retrieval.embedder import MiniLMEmbedder

    return MiniLMEmbedder()
