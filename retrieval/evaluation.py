"""Measured retrieval quality: a labelled question set and recall@k, MRR@k, nDCG@k per retriever.

Labels name what answers a question, not which chunk happens to hold it: a document label is
`doc#section` (a heading, or a heading path, of that document; every chunk under it counts), a graph
label is a fact id. So re-chunking a document does not silently invalidate the set, and a label that
no longer matches anything is reported by `unmatched_labels` instead of quietly scoring zero.

Metrics are per label: recall@5 is the share of a question's labels satisfied in the top 5 (capped:
divided by min(5, labels), so a perfect top 5 always scores 1.0), so a question about two
ingredients whose answer needs both the interaction fact and the guide section only scores 1.0 when
both are found. Several chunks of one section count once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from retrieval.hybrid import Retriever
from retrieval.models import SECTION_SEP, Citation, IndexItem
from skinsage.errors import KnowledgeError


class EvalQuestion(BaseModel):
    id: str
    q: str
    relevant: list[str] = Field(min_length=1)
    tags: list[str] = []


class Scores(BaseModel):
    recall_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    hit_at_5: float
    questions: int
    ms_per_query: float


def load_eval_set(path: Path) -> list[EvalQuestion]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise KnowledgeError(str(path), None, f"cannot read the evaluation set: {e}") from e
    rows = raw.get("questions") if isinstance(raw, dict) else raw
    if not isinstance(rows, list):
        raise KnowledgeError(str(path), None, "expected a list of questions under `questions:`")
    out: list[EvalQuestion] = []
    for n, row in enumerate(rows, start=1):
        try:
            out.append(EvalQuestion(**row))
        except (ValidationError, TypeError) as e:
            raise KnowledgeError(str(path), n, str(e)) from e
    ids = [q.id for q in out]
    if len(set(ids)) != len(ids):
        raise KnowledgeError(str(path), None, "question ids must be unique")
    return out


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?.!: ")


def label_matches(label: str, item_id: str, citation: Citation) -> bool:
    """`doc#section` matches a chunk of that doc under that heading; `a|b` matches either; else an id."""
    if "|" in label:
        return any(label_matches(alt, item_id, citation) for alt in label.split("|"))
    if "#" not in label:
        return item_id == label
    doc, section = label.split("#", 1)
    if citation.kind != "document" or citation.doc != doc:
        return False
    wanted = _norm(section)
    path = citation.section or ""
    return wanted == _norm(path) or wanted in {_norm(p) for p in path.split(SECTION_SEP)}


def unmatched_labels(questions: Sequence[EvalQuestion], items: Sequence[IndexItem]) -> list[str]:
    """Labels that match no indexed item: a renamed heading or a fact that no longer exists."""
    by_id = {i.id for i in items}
    docs = [(i.id, i.citation) for i in items if i.is_document]
    missing = []
    for q in questions:
        for label in q.relevant:
            for alt in label.split("|"):
                found = alt in by_id if "#" not in alt else any(label_matches(alt, i, c) for i, c in docs)
                if not found:
                    missing.append(f"{q.id}: {alt}")
    return missing


def score_ranking(ranked: Sequence[tuple[str, Citation]], labels: Sequence[str]) -> dict[str, float]:
    """recall@5, MRR@10, nDCG@10 and hit@5 of one ranked list against one question's labels."""
    satisfied: set[str] = set()
    first: int | None = None
    dcg = 0.0
    recall5 = 0
    for pos, (item_id, citation) in enumerate(ranked[:10], start=1):
        new = [lb for lb in labels if lb not in satisfied and label_matches(lb, item_id, citation)]
        if not new:
            continue
        first = first or pos
        satisfied.update(new)
        dcg += len(new) / math.log2(pos + 1)
        if pos <= 5:
            recall5 += len(new)
    ideal = sum(1 / math.log2(p + 1) for p in range(1, min(len(labels), 10) + 1))
    return {"recall_at_5": recall5 / min(len(labels), 5), "mrr_at_10": 1 / first if first else 0.0,
            "ndcg_at_10": dcg / ideal if ideal else 0.0, "hit_at_5": 1.0 if first and first <= 5 else 0.0}


def evaluate(retrievers: Mapping[str, Retriever], questions: Sequence[EvalQuestion],
             k: int = 10) -> tuple[dict[str, Scores], dict[str, dict[str, dict[str, float]]]]:
    """Scores per retriever, and per-question scores (for `--failures` and per-tag breakdowns)."""
    totals: dict[str, Scores] = {}
    per_question: dict[str, dict[str, dict[str, float]]] = {}
    for name, retriever in retrievers.items():
        sums = {"recall_at_5": 0.0, "mrr_at_10": 0.0, "ndcg_at_10": 0.0, "hit_at_5": 0.0}
        started = time.perf_counter()
        for q in questions:
            hits = retriever.search(q.q, k=k)
            s = score_ranking([(h.id, h.citation) for h in hits], q.relevant)
            per_question.setdefault(q.id, {})[name] = s
            for key in sums:
                sums[key] += s[key]
        n = max(1, len(questions))
        totals[name] = Scores(**{k_: round(v / n, 4) for k_, v in sums.items()}, questions=len(questions),
                              ms_per_query=round((time.perf_counter() - started) * 1000 / n, 2))
    return totals, per_question
