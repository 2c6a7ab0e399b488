"""`skinsage eval ...`: measured quality, printed as tables. Other evaluations join this sub-app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import REPO_ROOT, get_settings

eval_app = typer.Typer(help="Measure quality on the committed evaluation sets.", no_args_is_help=True)

RETRIEVAL_SET = REPO_ROOT / "eval" / "retrieval.yaml"


def format_table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    for j, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if j == 0:
            lines.append(rule)
    return "\n".join([*lines, rule])


@eval_app.command("retrieval")
def eval_retrieval(
    eval_set: Annotated[Path, typer.Option("--set", help="the labelled question set")] = RETRIEVAL_SET,
    by_tag: Annotated[bool, typer.Option(help="also print hybrid recall@5 per question tag")] = False,
    failures: Annotated[bool, typer.Option(help="list questions where hybrid recall@5 < 1")] = False,
) -> None:
    """recall@5, MRR@10 and nDCG@10 for bm25, vectors, graph and hybrid, measured in the same run.

    Uses the configured graph (load it first with `skinsage load`) and syncs the configured index.
    """
    from retrieval.evaluation import evaluate, load_eval_set, unmatched_labels
    from skinsage.bootstrap import build_graph, sync_retrieval_index

    s = get_settings()
    try:
        questions = load_eval_set(eval_set)
        with build_graph(s) as graph:
            if not graph.stats().loaded:
                raise SkinSageError("the graph is empty; run `skinsage load` first")
            _, hybrid = sync_retrieval_index(s, graph)
            missing = unmatched_labels(questions, hybrid.items())
            retrievers = {name: hybrid.single(name) for name in ("bm25", "vectors", "graph")}
            retrievers["hybrid"] = hybrid
            totals, per_q = evaluate(retrievers, questions)
    except SkinSageError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from e
    typer.echo(f"{len(questions)} questions, {sum(len(q.relevant) for q in questions)} labels ({eval_set.name})")
    rows: list[list[object]] = [[name, t.recall_at_5, t.mrr_at_10, t.ndcg_at_10, t.hit_at_5, t.ms_per_query]
                                for name, t in totals.items()]
    typer.echo(format_table(["method", "recall@5", "MRR@10", "nDCG@10", "hit@5", "ms/query"], rows))
    best_single = max(totals[n].recall_at_5 for n in ("bm25", "vectors", "graph"))
    typer.echo(f"hybrid recall@5 - best single method: {totals['hybrid'].recall_at_5 - best_single:+.3f}")
    if missing:
        typer.secho(f"{len(missing)} labels match nothing in the index: {missing[:5]}", fg=typer.colors.YELLOW)
    if by_tag:
        tags = sorted({t for q in questions for t in q.tags})
        tag_rows: list[list[object]] = []
        for tag in tags:
            qs = [q for q in questions if tag in q.tags]
            tag_rows.append([tag, len(qs), *(sum(per_q[q.id][n]["recall_at_5"] for q in qs) / len(qs)
                                            for n in ("bm25", "vectors", "graph", "hybrid"))])
        typer.echo(format_table(["tag", "n", "bm25", "vectors", "graph", "hybrid"], tag_rows))
    if failures:
        for q in questions:
            if per_q[q.id]["hybrid"]["recall_at_5"] < 1:
                typer.echo(f"{per_q[q.id]['hybrid']['recall_at_5']:.2f}  {q.id}: {q.q}")
