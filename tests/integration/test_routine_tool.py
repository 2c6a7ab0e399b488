"""`build_routine` from chat on the demo graph: only safe products, conflicts kept apart, the budget
held, and every product's price and step as the catalogue says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from assistant.profile import Profile
from assistant.tools.base import ToolContext, ToolResult, run_tool
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import PREGNANCY_EXCLUDED
from ingest.seed import load_seed
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedGraphStore]:
    tmp: Path = tmp_path_factory.mktemp("routine")
    settings = Settings(data_dir=tmp)
    store = EmbeddedGraphStore(settings.graph_path)
    load_seed(store, settings)
    yield store
    store.close()


def routine(graph: EmbeddedGraphStore, profile: Profile, **args: object) -> ToolResult:
    ctx = ToolContext(graph=graph, profile=profile, reminders=InMemoryReminderStore(), today=date(2026, 11, 1))
    call, res = run_tool(ctx, "build_routine", dict(args))
    assert call.ok and res is not None, call.error
    return res


def skus(res: ToolResult) -> set[str]:
    return {s["sku"] for s in res.data["am"] + res.data["pm"]}


def test_routine_covers_the_essentials_in_order_with_sunscreen_last_in_the_morning(graph: EmbeddedGraphStore) -> None:
    res = routine(graph, Profile(), skin_type="oily", concerns=["breakouts"])
    am, pm = res.data["am"], res.data["pm"]
    assert am[0]["step"] == "cleanse" and am[-1]["step"] == "protect"
    assert "protect" not in [s["step"] for s in pm] and {"cleanse", "moisturise"} <= {s["step"] for s in pm}
    assert res.data["concerns"] == ["acne"] and res.data["missing"] == []
    assert {c.sku for c in res.products} == skus(res)
    assert res.data["total"] == pytest.approx(sum({s["sku"]: s["price"] for s in am + pm}.values()))


def test_pregnant_and_allergic_customers_get_only_safe_products(graph: EmbeddedGraphStore) -> None:
    profile = Profile(skin_type="dry", concerns=["fine-lines", "dark-spots"], avoid=["linalool", "limonene"],
                      pregnancy="pregnant")
    res = routine(graph, profile)
    labels = graph.ingredient_safety(sorted(skus(res)))
    assert skus(res) and set(labels) == skus(res)
    for sku, label in labels.items():
        assert not {"linalool", "limonene"} & set(label), sku
        assert not {i for i, rating in label.items() if rating in PREGNANCY_EXCLUDED}, sku
    # the same profile without the exclusions would have picked retinoids for fine lines
    free = routine(graph, Profile(skin_type="dry", concerns=["fine-lines", "dark-spots"]))
    assert skus(free) != skus(res)


def test_the_budget_holds_for_the_whole_routine(graph: EmbeddedGraphStore) -> None:
    full = routine(graph, Profile(), skin_type="combination", concerns=["dark spots"])
    assert full.data["total"] > 60
    res = routine(graph, Profile(), skin_type="combination", concerns=["dark spots"], budget=60)
    assert 0 < res.data["total"] <= 60 and res.data["budget"] == 60
    assert {"cleanse", "protect"} <= {s["step"] for s in res.data["am"] + res.data["pm"]}


def test_conflicting_actives_never_share_an_evening(graph: EmbeddedGraphStore) -> None:
    for concerns in (["fine-lines", "acne"], ["dark-spots", "fine-lines"], ["blackheads", "dullness"]):
        res = routine(graph, Profile(), skin_type="normal", concerns=concerns)
        chosen = sorted(skus(res))
        pm = {s["sku"] for s in res.data["pm"] if "alternate nights" not in (s.get("note") or "")}
        for c in graph.routine_conflicts(chosen):
            if c.kind in ("conflict", "caution"):
                assert not {c.product_a, c.product_b} <= pm, (concerns, c)


def test_unknown_skin_words_fall_back_to_the_profile_and_bad_budgets_are_refused(graph: EmbeddedGraphStore) -> None:
    res = routine(graph, Profile(skin_type="sensitive"), skin_type="blorp")
    assert res.data["skin_type"] == "sensitive"
    ctx = ToolContext(graph=graph, profile=Profile(), reminders=InMemoryReminderStore())
    call, out = run_tool(ctx, "build_routine", {"budget": -5})
    assert out is None and not call.ok and "invalid arguments" in (call.error or "")
