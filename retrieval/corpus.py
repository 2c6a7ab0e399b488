"""Document chunks and graph facts as one list of index items, each with its citation."""

from __future__ import annotations

import re

from graph.facts import GraphFact
from graph.model import EVIDENCE_WEIGHT
from retrieval.models import Chunk, Citation, IndexItem, content_hash

_SEVERITY = {"high": 3.0, "medium": 2.0, "low": 1.0}
_PAIR_KINDS = {"conflict", "caution", "synergy"}
_QUALIFIER = re.compile(r"\((strong|moderate|limited|traditional|conflict|caution)\)")


def chunk_item(chunk: Chunk) -> IndexItem:
    head = chunk.title if chunk.section == chunk.title else f"{chunk.title}: {chunk.section}"
    embed = f"{head}\n{chunk.text}"
    return IndexItem(id=chunk.id, kind="document", text=chunk.text, embed_text=embed,
                     content_hash=content_hash(embed),
                     citation=Citation(kind="document", doc=chunk.doc, title=chunk.title, section=chunk.section))


def _prior(fact: GraphFact) -> float:
    """How much a fact counts among equally matching ones: evidence strength, or severity."""
    rels = " ".join(fact.path.relationships)
    m = _QUALIFIER.search(rels)
    if fact.kind in ("addresses", "may_aggravate") and m:
        return EVIDENCE_WEIGHT.get(m.group(1), 0.0)
    sev = re.search(r"\((high|medium|low) severity\)", fact.text)
    return _SEVERITY.get(sev.group(1), 0.0) if sev else 0.0


def _about(fact: GraphFact) -> str:
    """The fact's entities by their ids ("glycolic acid", "retinol"): the graph's display names are
    sometimes an INCI synonym ("Hydroxyacetic acid"), which neither customers nor BM25 would match."""
    names = [fact.path.nodes[0].name] if fact.kind == "product" else []
    names += [e.replace("-", " ") for e in fact.entities if not (fact.kind == "product" and e == fact.entities[0])]
    return "; ".join(dict.fromkeys(names))


def _group(fact: GraphFact) -> str | None:
    """Family-level interaction rules ("AHAs with retinoids") are stored once per member pair, with
    the same reason and advice: 492 facts from 68 rules. They share a group, so a result list shows
    one of them instead of nine near-copies."""
    if fact.kind not in _PAIR_KINDS or ". " not in fact.text:
        return None
    return f"{fact.kind}:{content_hash(fact.text.split('. ', 1)[1])}"


def fact_item(fact: GraphFact) -> IndexItem:
    embed = f"{fact.text}\nAbout: {_about(fact)}"
    return IndexItem(id=fact.id, kind=fact.kind, text=fact.text, embed_text=embed,  # type: ignore[arg-type]
                     content_hash=content_hash(embed), entities=list(fact.entities), prior=_prior(fact),
                     group=_group(fact),
                     citation=Citation(kind="graph", graph_path=fact.path.text, fact_id=fact.id))


def build_items(chunks: list[Chunk], facts: list[GraphFact]) -> list[IndexItem]:
    return [*(chunk_item(c) for c in chunks), *(fact_item(f) for f in facts)]
