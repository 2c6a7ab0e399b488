"""69 real-world INCI lists, hand-checked: every entry resolves to the expected canonical ingredient
(or is expected unknown), and at least 95% of the entries the knowledge base knows resolve.

Measure the rate by hand: `skinsage ingest inci @<file with one list per line>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingest.catalog import Catalogue
from ingest.inci import parse_inci
from ingest.knowledge import load_knowledge
from skinsage.settings import REPO_ROOT

CASES = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "inci" / "real_world.yaml").read_text(encoding="utf-8"))


def _expected(case: dict) -> list[tuple[str, str | None]]:
    exp = case["expect"]
    return list(exp.items()) if isinstance(exp, dict) else [tuple(x) for x in exp]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(load_knowledge(REPO_ROOT / "knowledge"), "house-brand")


def test_there_are_at_least_60_hand_checked_lists() -> None:
    assert len(CASES) >= 60
    assert sum(len(_expected(c)) for c in CASES) >= 1000


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_list_splits_and_resolves_as_hand_checked(case: dict, catalogue: Catalogue) -> None:
    got = [(e.name, catalogue.matcher.match(e.name)) for e in parse_inci(case["inci"])]
    assert got == _expected(case)


def test_resolution_rate_over_entries_the_knowledge_names(catalogue: Catalogue) -> None:
    known = [(name, want) for c in CASES for name, want in _expected(c) if want is not None]
    resolved = sum(1 for name, want in known if catalogue.matcher.match(name) == want)
    everything = [name for c in CASES for name, _ in _expected(c)]
    overall = sum(1 for name in everything if catalogue.matcher.match(name)) / len(everything)
    assert resolved / len(known) >= 0.95
    assert overall >= 0.95        # the knowledge covers the functional ingredients real lists are made of
