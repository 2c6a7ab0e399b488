"""Loading is idempotent, a sync, and all-or-nothing, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from graph import cypher
from graph.cypher_store import CypherGraphStore
from graph.model import KnowledgeBundle
from skinsage.errors import GraphError


def snapshot(store: CypherGraphStore) -> dict[str, Any]:
    """Every node's properties and every relationship with its properties, order-free."""
    snap: dict[str, Any] = {}
    for label, (key, _) in cypher.NODES.items():
        rows = store._read(f"MATCH (n:{label}) RETURN n AS node")
        snap[label] = sorted((repr(sorted(r["node"].items())) for r in rows))
    for rel in cypher.RELS:
        sk, dk = cypher.NODES[rel.src][0], cypher.NODES[rel.dst][0]
        props = ", ".join(f"x.{p} AS {p}" for p in rel.props) or "1 AS one"
        rows = store._read(f"MATCH (a:{rel.src})-[x:{rel.type}]->(b:{rel.dst}) "
                           f"RETURN a.{sk} AS a, b.{dk} AS b, {props}")
        snap[rel.type] = sorted(repr(sorted(r.items())) for r in rows)
    return snap


def test_loading_twice_changes_nothing(empty_store: CypherGraphStore, fixture_bundle: KnowledgeBundle) -> None:
    report = empty_store.load(fixture_bundle)
    first = snapshot(empty_store)
    assert len(first["CONTAINS"]) == 30 and len(first["CONFLICTS_WITH"]) == 3
    assert report.changes["Product"]["created"] == 7 and report.written > 0
    again = empty_store.load(fixture_bundle)
    assert again.written == 0 and again.statements == 0          # the second load writes nothing at all
    assert again.changes["Product"] == {"created": 0, "updated": 0, "unchanged": 7}
    assert snapshot(empty_store) == first


def test_a_reload_syncs_changed_relationships(empty_store: CypherGraphStore,
                                              fixture_bundle: KnowledgeBundle) -> None:
    empty_store.load(fixture_bundle)
    changed = fixture_bundle.model_copy(deep=True)
    nia = next(p for p in changed.products if p.sku == "FX-NIA-10")
    nia.ingredients = ["water", "niacinamide", "glycerin"]            # reformulated: fewer ingredients
    ing = next(i for i in changed.ingredients if i.id == "niacinamide")
    ing.addresses = [a for a in ing.addresses if a.concern != "acne"]   # a curated claim withdrawn
    report = empty_store.load(changed)
    assert report.changes["CONTAINS"] == {"created": 0, "updated": 0, "deleted": 2, "unchanged": 28}
    assert report.changes["Product"]["updated"] == 0     # only the relationships changed
    assert [i.id for i in empty_store.product("FX-NIA-10").ingredients] == ["water", "niacinamide", "glycerin"]
    assert "acne" not in [a.concern for a in empty_store.ingredient("niacinamide").ingredient.addresses]


def test_a_failing_write_leaves_the_graph_as_it_was(empty_store: CypherGraphStore,
                                                    fixture_bundle: KnowledgeBundle) -> None:
    empty_store.load(fixture_bundle)
    before = snapshot(empty_store)
    good = (cypher.create_nodes("Brand", empty_store.cast_rows), [{"id": "half-written", "name": "X", "parent": None,
                                            "description": "", "url": None}])
    broken = ("UNWIND $rows AS r MERGE (n:Brand {id: r.id}) SET n.name = r.name RETURN n.nope(", [{"id": "z"}])
    with pytest.raises(GraphError):
        empty_store._write([good, broken], atomic=True)
    assert snapshot(empty_store) == before


def test_reset_empties_the_graph(empty_store: CypherGraphStore, fixture_bundle: KnowledgeBundle) -> None:
    empty_store.load(fixture_bundle)
    empty_store.reset()
    assert not empty_store.stats().loaded
    assert empty_store.resolve("niacinamide") == []


def test_updating_a_profile_replaces_its_edges(empty_store: CypherGraphStore,
                                               fixture_bundle: KnowledgeBundle) -> None:
    from graph.model import Avoidance

    empty_store.load(fixture_bundle)
    ana = empty_store.customer("cus-ana").customer
    ana.skin_type = "combination"
    ana.concerns = ["dark-spots"]
    ana.avoids = [Avoidance(ingredient="retinol", reason="preference")]
    ana.pregnancy = "breastfeeding"
    empty_store.update_customer(ana)
    after = empty_store.customer("cus-ana")
    assert after.customer.skin_type == "combination" and after.customer.concerns == ["dark-spots"]
    assert [(a.ingredient, a.reason) for a in after.customer.avoids] == [("retinol", "preference")]
    assert len(after.orders) == 2          # orders are untouched by a profile update
    rows = empty_store._read("MATCH (c:Customer {id: 'cus-ana'})-[:HAS_CONCERN]->(k:Concern) RETURN k.id AS id")
    assert [r["id"] for r in rows] == ["dark-spots"]


def test_an_older_embedded_graph_is_migrated_in_place(tmp_path, fixture_bundle: KnowledgeBundle) -> None:  # type: ignore[no-untyped-def]
    """A database created before `status`/`allergen_groups` existed gains the columns on open."""
    import ladybug

    from graph.embedded import EmbeddedGraphStore

    path = tmp_path / "old.lbdb"
    db = ladybug.Database(str(path))
    conn = ladybug.Connection(db)
    conn.execute("CREATE NODE TABLE Ingredient(id STRING, inci STRING, PRIMARY KEY (id))")
    conn.execute("CREATE (:Ingredient {id: 'niacinamide', inci: 'Niacinamide'})")
    conn.close()
    db.close()
    store = EmbeddedGraphStore(path)
    store.load(fixture_bundle)
    assert store.ingredient("retinol").ingredient.status == "cosmetic"
    assert store.ingredient("niacinamide").ingredient.inci == "Niacinamide"
    store.close()


def test_a_dry_run_reports_the_changes_and_writes_nothing(empty_store: CypherGraphStore,
                                                         fixture_bundle: KnowledgeBundle) -> None:
    report = empty_store.load(fixture_bundle, dry_run=True)
    assert report.dry_run and report.changes["Ingredient"]["created"] == 14
    assert empty_store.stats().counts["Ingredient"] == 0
