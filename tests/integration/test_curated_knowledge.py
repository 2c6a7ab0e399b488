"""The curated knowledge as shipped: complete, consistent, and right on the facts that keep people safe."""

from __future__ import annotations

import shutil
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from assistant.safety import cosmetic_language
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from ingest.demo import customers_and_orders
from ingest.knowledge import load_knowledge
from ingest.seed import load_seed
from skinsage.errors import KnowledgeError
from skinsage.settings import REPO_ROOT, Settings

KNOWLEDGE = REPO_ROOT / "knowledge"


@pytest.fixture(scope="module")
def bundle() -> KnowledgeBundle:
    return load_knowledge(KNOWLEDGE)


def test_minimum_coverage(bundle: KnowledgeBundle) -> None:
    assert len(bundle.skin_types) == 5
    assert len(bundle.concerns) >= 18
    assert len(bundle.ingredients) >= 150
    assert len(bundle.products) >= 120
    raw = yaml.safe_load((KNOWLEDGE / "interactions.yaml").read_text())
    assert sum(1 for x in raw if x["kind"] in ("conflict", "caution")) >= 40
    assert sum(len(i.common_names) + len(i.synonyms) for i in bundle.ingredients) >= 300


def test_every_product_label_resolves_to_known_ingredients(bundle: KnowledgeBundle) -> None:
    for p in bundle.products:
        assert p.ingredients, p.sku
        assert set(p.actives) <= set(p.key_ingredients), p.sku


def test_retinoids_and_hydroquinone_are_flagged_for_pregnancy(bundle: KnowledgeBundle) -> None:
    by_id = {i.id: i for i in bundle.ingredients}
    retinoids = [i for i in bundle.ingredients if i.family == "retinoid"]
    assert {"retinol", "retinal", "tretinoin", "adapalene"} <= {i.id for i in retinoids}
    assert all(i.pregnancy == "avoid" for i in retinoids)
    assert by_id["hydroquinone"].pregnancy == "avoid"
    assert by_id["retinol"].photosensitising and by_id["glycolic-acid"].photosensitising


def test_demo_products_respect_eu_limits_and_speak_cosmetically(bundle: KnowledgeBundle) -> None:
    by_id = {i.id: i for i in bundle.ingredients}
    for p in bundle.products:
        for active, pct in p.actives.items():
            if by_id[active].family == "retinoid":
                assert pct <= 0.3, f"{p.sku}: EU 2024/996 caps retinol in face products at 0.3%"
        assert "benzoyl-peroxide" not in p.ingredients, f"{p.sku}: benzoyl peroxide is a medicine in the EU"
        assert not cosmetic_language(f"{p.name}. {p.description}")[1], p.sku


def test_demo_orders_repurchase_at_the_pace_of_size_and_dose(bundle: KnowledgeBundle) -> None:
    customers, orders = customers_and_orders(bundle, 300, seed=5, anchor=Settings().demo_anchor_date)
    again, _ = customers_and_orders(bundle, 300, seed=5, anchor=Settings().demo_anchor_date)
    assert [c.model_dump() for c in customers] == [c.model_dump() for c in again]   # deterministic
    days = {p.sku: p.days_per_pack for p in bundle.products}
    buys: dict[tuple[str, str], list] = defaultdict(list)
    for o in orders:
        for line in o.lines:
            buys[(o.customer_id, line.sku)].append((o.placed_at, line.quantity))
    ratios = []
    for (_, sku), items in buys.items():
        items.sort()
        ratios += [(b[0] - a[0]).days / (days[sku] * a[1]) for a, b in zip(items, items[1:], strict=False)]
    assert len(ratios) > 500
    assert 0.85 <= statistics.median(ratios) <= 1.35     # diligence spread 0.8-1.35, noise +-10 %
    avoid = {c.id: {a.ingredient for a in c.avoids} for c in customers}
    contents = {p.sku: set(p.ingredients) for p in bundle.products}
    for o in orders:
        for line in o.lines:
            assert not avoid[o.customer_id] & contents[line.sku], "a demo customer bought their own allergen"


def test_a_malformed_file_names_file_entry_line_and_reason_and_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, broken, ignore=shutil.ignore_patterns("documents"))
    products = yaml.safe_load((broken / "products.yaml").read_text())
    products[4]["inci"] += ", Unobtainium Extract"
    (broken / "products.yaml").write_text(yaml.safe_dump(products, sort_keys=False))
    store = EmbeddedGraphStore(tmp_path / "g.lbdb")
    with pytest.raises(KnowledgeError) as e:
        load_seed(store, Settings(knowledge_dir=broken, demo_customers=10))
    assert e.value.file == "products.yaml" and str(e.value.row).startswith("5 (line ")
    assert "Unobtainium Extract" in e.value.reason
    assert store.stats().counts["Ingredient"] == 0
    store.close()


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d[0].pop("inci"), "inci: Field required"),
    (lambda d: d[1].update(pregnancy="probably"), "pregnancy"),
    (lambda d: d[2]["addresses"].append({"concern": "boredom", "evidence": "strong"}), "unknown concern 'boredom'"),
    (lambda d: d.append(dict(d[0])), "duplicate ingredient id"),
])
def test_bad_ingredient_entries_are_reported(tmp_path: Path, mutate, expected: str) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, broken, ignore=shutil.ignore_patterns("documents"))
    path = broken / "ingredients" / "actives.yaml"
    data = yaml.safe_load(path.read_text())
    data[2].setdefault("addresses", [])
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(broken)
    assert e.value.file == "ingredients/actives.yaml" and expected in str(e.value)


def test_not_yaml_and_not_a_list_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, broken, ignore=shutil.ignore_patterns("documents"))
    (broken / "concerns.yaml").write_text("- id: acne\n  name: [unclosed\n")
    with pytest.raises(KnowledgeError, match="concerns.yaml: not valid YAML"):
        load_knowledge(broken)
    (broken / "concerns.yaml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(KnowledgeError, match="not UTF-8"):
        load_knowledge(broken)
    (broken / "concerns.yaml").write_text("id: acne\n")
    with pytest.raises(KnowledgeError, match="expected a list"):
        load_knowledge(broken)
