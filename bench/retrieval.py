"""Retrieval at 50,000 chunks: indexing throughput and query latency, embedding included.

    python bench/retrieval.py [--chunks 50000 --queries 300 --storage float32 --index-dir DIR]

Synthesises chunks by recombining real paragraphs of knowledge/documents (seeded, so every run
indexes the same text), adds the curated graph facts, builds the FAISS index with the real MiniLM
embedder (torch at 1 thread) and times the customer questions of eval/retrieval.yaml against it.
Targets: query p95 < 15 ms after warm-up, embedding included; indexing >= 300 chunks/s.
`--index-dir` keeps the built index, so a second run measures latency without re-embedding.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary, time_calls
from graph.embedded import EmbeddedGraphStore
from ingest.seed import seed_bundle
from retrieval.corpus import build_items, chunk_item
from retrieval.documents import Document, Section, chunk_document, load_documents
from retrieval.embedder import MiniLMEmbedder
from retrieval.evaluation import load_eval_set
from retrieval.models import IndexItem
from retrieval.service import graph_product_lookup, hybrid_retriever
from retrieval.vector_index import FaissVectorIndex
from skinsage.settings import REPO_ROOT, Settings


def synthetic_chunks(documents_dir: Path, n: int, seed: int = 7) -> list[IndexItem]:
    """n chunks cut by the product's own chunker from synthetic documents (seeded, so every run
    indexes the same text).

    Each synthetic document recombines real sections (heading and paragraphs kept together, one
    paragraph swapped for a paragraph from elsewhere so no two chunks are copies), and
    `chunk_document` cuts it exactly as it cuts the brand's files: the chunk length distribution,
    which is what embedding throughput depends on, is the real corpus's, not a guess.
    """
    documents = load_documents(documents_dir)
    sections = [s for d in documents for s in d.sections if s.paragraphs]
    paragraphs = [p for s in sections for p in s.paragraphs]
    rng = random.Random(seed)
    out: list[IndexItem] = []
    i = 0
    while len(out) < n:
        picked = rng.sample(sections, rng.randint(3, 8))
        mixed = []
        for section in picked:
            paras = list(section.paragraphs)
            paras[rng.randrange(len(paras))] = rng.choice(paragraphs)
            mixed.append(Section(path=section.path, paragraphs=paras))
        doc = Document(doc=f"synthetic/{i:05d}.md", title=rng.choice(documents).title, format="markdown",
                       sections=mixed)
        out.extend(chunk_item(c) for c in chunk_document(doc))
        i += 1
    return out[:n]


def faiss_only(index: FaissVectorIndex, queries: np.ndarray, n: int) -> list[list[object]]:
    """Search alone over the same vectors, exact float32 vs float16 codes: what storage would buy."""
    import faiss

    vectors = np.stack([index.vector(i.id) for i in index.items()])
    rows: list[list[object]] = []
    for name, flat in (("FAISS search only, float32", faiss.IndexFlatIP(vectors.shape[1])),
                       ("FAISS search only, float16", faiss.IndexScalarQuantizer(
                           vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT))):
        flat.add(vectors)
        search = flat.search
        p50, p95, mean = summary(time_calls(lambda i, f=search: f(queries[i % len(queries)][None, :], 50), n))
        rows.append([name, n, p50, p95, mean])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--storage", choices=["float32", "float16"], default=Settings().vector_storage)
    ap.add_argument("--index-dir", type=Path, default=None)
    args = ap.parse_args()

    settings = Settings()
    tmp = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    graph = EmbeddedGraphStore(tmp / "g.lbdb")
    graph.load(seed_bundle(settings, demo=False))
    facts = build_items([], graph.facts())
    items = synthetic_chunks(settings.documents_dir, args.chunks - len(facts)) + facts

    t = time.perf_counter()
    embedder = MiniLMEmbedder(cache_size=0)   # no repeat-query cache: every timed query is embedded
    load_s = time.perf_counter() - t
    index = FaissVectorIndex(args.index_dir or tmp / "index", storage=args.storage)
    report = index.sync(items, embedder)
    rows: list[list[object]] = []
    if report.added == len(items):
        rows.append(["index build (embed + FAISS + sidecar)", report.embedded,
                     f"{report.embedded / report.seconds:.0f} chunks/s", f"{report.seconds:.1f} s total"])
    else:
        rows.append(["reused the index in --index-dir", report.embedded, f"{report.seconds:.1f} s",
                     "run without --index-dir to time a build"])
    changed = [*items[:-1], items[-1].model_copy(update={"embed_text": items[-1].embed_text + " (edited)",
                                                         "content_hash": "edited"})]
    t = time.perf_counter()
    inc = index.sync(changed, embedder)
    rows.append(["incremental sync, 1 item changed", inc.embedded, f"{(time.perf_counter() - t) * 1000:.0f} ms",
                 f"{inc.unchanged} unchanged"])

    hybrid = hybrid_retriever(index, embedder, graph.resolve, products=graph_product_lookup(graph),
                              weights=settings.retrieval_weights, rrf_k=settings.retrieval_rrf_k)
    questions = [q.q for q in load_eval_set(REPO_ROOT / "eval" / "retrieval.yaml")]
    del changed
    hybrid.about_warmed(timeout=300)   # start-up work a running server has long finished
    n = args.queries
    vectors, bm25, graph_only = hybrid.single("vectors"), hybrid.single("bm25"), hybrid.single("graph")
    workloads = {
        "embed one query": lambda i: embedder.encode([questions[i % len(questions)]]),
        "vectors (embed + FAISS search)": lambda i: vectors.search(questions[i % len(questions)]),
        "bm25": lambda i: bm25.search(questions[i % len(questions)]),
        "graph (link + rank facts)": lambda i: graph_only.search(questions[i % len(questions)]),
        "hybrid (all three + fusion)": lambda i: hybrid.search(questions[i % len(questions)]),
    }
    lat_rows: list[list[object]] = []
    for name, fn in workloads.items():
        p50, p95, mean = summary(time_calls(fn, n, warmup=20))
        lat_rows.append([name, n, p50, p95, mean])
    lat_rows += faiss_only(index, embedder.encode(questions[:n]), n)
    print(f"\n{len(index):,} items ({len(facts):,} graph facts), model load {load_s:.1f} s, "
          f"torch threads 1 ({embedder.precision}), queries via {embedder.query_runtime}, FAISS {args.storage}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (other processes share these cores)\n")
    print_table(["indexing", "items", "rate / time", "note"], rows)
    print()
    print_table(["query (k=5)", "n", "p50 ms", "p95 ms", "mean ms"], lat_rows)
    graph.close()


if __name__ == "__main__":
    main()
