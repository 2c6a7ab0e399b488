"""The on-disk vector index: incremental sync, deterministic rebuilds, recovery. Real FAISS, fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graph.model import KnowledgeBundle
from retrieval.documents import load_chunks, load_documents
from retrieval.embedder import HashingEmbedder
from retrieval.service import source_items, sync_index
from retrieval.vector_index import FaissVectorIndex
from skinsage.errors import KnowledgeError

DOCS = {
    "policies/returns.md": "# Returns\n\nWe love returns.\n\n## How long?\n\n30 days.\n\n## Opened products\n\n"
                           "Yes, within 30 days if it did not suit you.\n",
    "guides/patch.txt": "PATCH TESTING\n=============\n\nTry it small first.\n\nWHERE?\n------\n\nBehind the ear.\n",
    "faq/pao.html": "<h1>Shelf life</h1><h2>What is PAO?</h2><p>Months after opening.</p>",
    "_facts.md": "# Internal\n\nnot for customers\n",
    "notes/.draft.md": "# Draft\n\nhidden\n",
}


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "documents"
    for rel, text in DOCS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def encoded(embedder: HashingEmbedder) -> list[str]:
    return [t for call in embedder.calls for t in call]


def test_loading_a_folder_reads_every_format_and_skips_underscore_and_hidden_files(docs_dir: Path) -> None:
    assert [d.doc for d in load_documents(docs_dir)] == ["faq/pao.html", "guides/patch.txt", "policies/returns.md"]
    assert {c.section for c in load_chunks(docs_dir)} == {"What is PAO?", "Patch testing", "Where?", "Returns",
                                                           "How long?", "Opened products"}


def test_a_missing_documents_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="documents folder not found"):
        load_documents(tmp_path / "nope")


def test_first_sync_embeds_everything_and_a_second_sync_nothing(docs_dir: Path, tmp_path: Path) -> None:
    emb = HashingEmbedder()
    index = FaissVectorIndex(tmp_path / "index")
    first = sync_index(index, emb, docs_dir, None)
    assert (first.added, first.updated, first.deleted, first.unchanged) == (6, 0, 0, 0)
    emb.calls.clear()
    again = sync_index(FaissVectorIndex(tmp_path / "index"), emb, docs_dir, None)   # reopened from disk
    assert (again.added, again.updated, again.deleted, again.unchanged, again.embedded) == (0, 0, 0, 6, 0)
    assert emb.calls == []


def test_changing_adding_and_deleting_documents_re_embeds_only_what_changed(docs_dir: Path, tmp_path: Path) -> None:
    emb = HashingEmbedder()
    index = FaissVectorIndex(tmp_path / "index")
    sync_index(index, emb, docs_dir, None)
    emb.calls.clear()
    (docs_dir / "policies/returns.md").write_text(DOCS["policies/returns.md"].replace("30 days.", "45 days."))
    (docs_dir / "faq/new.md").write_text("# New\n\n## Gift cards?\n\nYes, digital.\n")
    (docs_dir / "faq/pao.html").unlink()
    report = sync_index(index, emb, docs_dir, None)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 4)
    assert len(encoded(emb)) == 2
    assert any("45 days" in t for t in encoded(emb)) and any("digital" in t for t in encoded(emb))
    reopened = FaissVectorIndex(tmp_path / "index")
    ids = {i.id for i in reopened.items()}
    assert "faq/new.md#gift-cards#0" in ids and not any(i.startswith("faq/pao.html") for i in ids)
    top = reopened.search(emb.encode(["Gift cards? Yes, digital."])[0], 1)
    assert top[0][0] == "faq/new.md#gift-cards#0"


def test_a_rebuild_from_the_same_sources_gives_the_same_ids_and_vectors(docs_dir: Path, tmp_path: Path) -> None:
    a = FaissVectorIndex(tmp_path / "a")
    sync_index(a, HashingEmbedder(), docs_dir, None)
    (docs_dir / "faq/pao.html").write_text(DOCS["faq/pao.html"].replace("Months", "Many months"))
    sync_index(a, HashingEmbedder(), docs_dir, None)               # an incremental history ...
    b = FaissVectorIndex(tmp_path / "b")
    sync_index(b, HashingEmbedder(), docs_dir, None)               # ... and a fresh build agree
    c = FaissVectorIndex(tmp_path / "b")
    report = sync_index(c, HashingEmbedder(), docs_dir, None, rebuild=True)
    assert report.added == 6 and report.embedded == 6
    for index in (b, c):
        assert [i.id for i in index.items()] == [i.id for i in a.items()]
        for item in a.items():
            assert np.array_equal(index.vector(item.id), a.vector(item.id))


def test_a_different_embedder_invalidates_every_vector(docs_dir: Path, tmp_path: Path) -> None:
    index = FaissVectorIndex(tmp_path / "index")
    sync_index(index, HashingEmbedder(dim=32), docs_dir, None)
    report = sync_index(index, HashingEmbedder(dim=48), docs_dir, None)
    assert report.added == 6 and report.unchanged == 0


def test_a_sidecar_that_disagrees_with_the_vectors_triggers_a_full_re_embed(docs_dir: Path, tmp_path: Path) -> None:
    sync_index(FaissVectorIndex(tmp_path / "index"), HashingEmbedder(), docs_dir, None)
    (tmp_path / "index" / "items.json").write_text('{"format": 1, "items": []}')
    report = sync_index(FaissVectorIndex(tmp_path / "index"), HashingEmbedder(), docs_dir, None)
    assert report.added == 6


def test_graph_facts_are_indexed_next_to_documents_with_their_graph_path(
        docs_dir: Path, tmp_path: Path, fixture_bundle: KnowledgeBundle) -> None:
    from graph.embedded import EmbeddedGraphStore

    with EmbeddedGraphStore(tmp_path / "g.lbdb") as graph:
        graph.load(fixture_bundle)
        items = source_items(docs_dir, graph)
        assert len([i for i in items if not i.is_document]) == len(graph.facts()) > 0
    facts = [i for i in items if not i.is_document]
    fact = next(i for i in facts if i.kind == "addresses")
    assert fact.citation.kind == "graph" and "-ADDRESSES(" in fact.citation.label
    assert fact.entities and fact.id.startswith("addresses:")
    report = FaissVectorIndex(tmp_path / "index").sync(items, HashingEmbedder())
    assert report.total == len(items)


def test_float16_storage_returns_the_same_neighbours(docs_dir: Path, tmp_path: Path) -> None:
    emb = HashingEmbedder()
    exact, half = FaissVectorIndex(tmp_path / "a"), FaissVectorIndex(tmp_path / "b", storage="float16")
    sync_index(exact, emb, docs_dir, None)
    sync_index(half, emb, docs_dir, None)
    query = emb.encode(["how long to return opened products"])[0]
    assert [i for i, _ in exact.search(query, 3)] == [i for i, _ in half.search(query, 3)]


@pytest.mark.parametrize(("before", "after"), [("float32", "float16"), ("float16", "float32")])
def test_changing_the_storage_converts_the_stored_vectors_without_re_embedding(
        docs_dir: Path, tmp_path: Path, before: str, after: str) -> None:
    emb = HashingEmbedder()
    original = FaissVectorIndex(tmp_path / "index", storage=before)  # type: ignore[arg-type]
    sync_index(original, emb, docs_dir, None)
    some = original.items()[0].id
    emb.calls.clear()
    converted = FaissVectorIndex(tmp_path / "index", storage=after)  # type: ignore[arg-type]
    report = sync_index(converted, emb, docs_dir, None)
    assert report.embedded == 0 and emb.calls == []
    assert len(converted) == len(original)
    assert np.allclose(converted.vector(some), original.vector(some), atol=1e-3)
    query = emb.encode(["how long to return opened products"])[0]
    assert [i for i, _ in converted.search(query, 3)] == [i for i, _ in original.search(query, 3)]
    assert json.loads((tmp_path / "index" / "items.json").read_text())["storage"] == after   # saved converted


def test_a_sync_that_changes_nothing_writes_nothing(docs_dir: Path, tmp_path: Path) -> None:
    """Several processes start together and each syncs: only a real change may touch the files."""
    emb = HashingEmbedder()
    sync_index(FaissVectorIndex(tmp_path / "index"), emb, docs_dir, None)
    files = sorted((tmp_path / "index").iterdir())
    stamps = [f.stat().st_mtime_ns for f in files]
    report = sync_index(FaissVectorIndex(tmp_path / "index"), emb, docs_dir, None)
    assert report.embedded == 0
    assert sorted((tmp_path / "index").iterdir()) == files          # no temporary files left behind
    assert [f.stat().st_mtime_ns for f in files] == stamps
    (docs_dir / "faq-new.md").write_text("# New\n\nA new answer about parcels and returns.\n", encoding="utf-8")
    sync_index(FaissVectorIndex(tmp_path / "index"), emb, docs_dir, None)
    assert [f.stat().st_mtime_ns for f in files] != stamps
