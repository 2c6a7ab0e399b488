"""`skinsage index build` and `skinsage eval retrieval` wiring, with the hashing embedder standing in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from retrieval.embedder import HashingEmbedder
from skinsage.settings import get_settings


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               fixture_bundle: KnowledgeBundle) -> Iterator[Path]:
    docs = tmp_path / "documents"
    (docs / "faq").mkdir(parents=True)
    (docs / "faq/returns.md").write_text("# Returns\n\n## How long?\n\n30 days from delivery.\n")
    with EmbeddedGraphStore(tmp_path / "graph.lbdb") as graph:
        graph.load(fixture_bundle)
    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKINSAGE_DOCUMENTS_DIR", str(docs))
    monkeypatch.setattr("skinsage.bootstrap.build_embedder", lambda settings: HashingEmbedder())
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_index_build_reports_counts_and_a_second_build_changes_nothing(configured: Path) -> None:
    from skinsage.cli import app

    first = CliRunner().invoke(app, ["index", "build"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["added"] > 1 and report["updated"] == report["deleted"] == 0
    second = json.loads(CliRunner().invoke(app, ["index", "build"]).output)
    assert second["unchanged"] == report["added"] and second["added"] == 0
    rebuilt = json.loads(CliRunner().invoke(app, ["index", "build", "--rebuild"]).output)
    assert rebuilt["added"] == report["added"]


def test_eval_retrieval_prints_one_table_for_all_four_methods(configured: Path) -> None:
    from skinsage.cli import app

    eval_set = configured / "set.yaml"
    eval_set.write_text("questions:\n- id: r1\n  q: how long do I have to return something\n"
                        "  relevant: ['faq/returns.md#How long?']\n  tags: [policy]\n")
    out = CliRunner().invoke(app, ["eval", "retrieval", "--set", str(eval_set), "--by-tag"])
    assert out.exit_code == 0, out.output
    for column in ("recall@5", "MRR@10", "nDCG@10"):
        assert column in out.output
    for method in ("bm25", "vectors", "graph", "hybrid", "policy"):
        assert f"| {method}" in out.output


def test_eval_retrieval_on_an_empty_graph_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skinsage.cli import app

    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["eval", "retrieval"])
        assert out.exit_code == 1 and "skinsage load" in out.output
    finally:
        get_settings.cache_clear()
