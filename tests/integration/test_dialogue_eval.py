"""The committed dialogue set through the product's offline engine: the bar CI holds it to."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.eval_cli import DIALOGUES, customer_profile
from assistant.evaluation import SafetyJudge, load_dialogues, run
from graph.embedded import EmbeddedGraphStore
from ingest.seed import load_seed
from skinsage.bootstrap import build_engine
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("dialogues")
    settings = Settings(data_dir=tmp)
    graph = EmbeddedGraphStore(settings.graph_path)
    load_seed(graph, settings)
    engine = build_engine(settings, graph)
    engine.llm = None   # type: ignore[attr-defined]
    result = run(engine, load_dialogues(DIALOGUES), SafetyJudge(graph), customer_profile(graph))  # type: ignore[arg-type]
    graph.close()
    return result


def test_the_set_is_big_enough() -> None:
    dialogues = load_dialogues(DIALOGUES)
    assert len(dialogues) >= 150
    assert sum(len(d.turns) > 1 for d in dialogues) >= 30


def test_zero_safety_violations(scores) -> None:  # type: ignore[no-untyped-def]
    assert scores.violations == []


def test_tool_selection_accuracy_is_at_least_95_percent(scores) -> None:  # type: ignore[no-untyped-def]
    assert scores.tool_accuracy >= 0.95, "\n".join(f for f in scores.failures if "tools:" in f)


def test_handoffs_are_precise_and_complete(scores) -> None:  # type: ignore[no-untyped-def]
    assert scores.handoff_recall >= 0.95 and scores.handoff_precision >= 0.95
