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


@eval_app.command("recommend")
def eval_recommend(
    test_days: Annotated[int, typer.Option(help="the last N days before the demo anchor are the test period")] = 270,
    tune_weights: Annotated[bool, typer.Option("--tune", help="re-tune the hybrid on a validation split "
                                               "inside the training period first (slow)")] = False,
) -> None:
    """NDCG@10 and recall@10 for popularity, item-kNN and the hybrid recommender, in one run, on a
    temporal split of the demo purchase histories (first purchases after the cutoff are relevant)."""
    from datetime import timedelta

    from commerce.catalogue import Catalogue
    from commerce.evaluation import evaluate, tune
    from ingest.seed import seed_bundle

    s = get_settings()
    bundle = seed_bundle(s)
    cutoff = s.demo_anchor_date - timedelta(days=test_days)
    weights = tune(bundle, Catalogue.from_bundle(bundle), cutoff) if tune_weights else None
    if weights is not None:
        typer.echo(f"tuned on the validation split before {cutoff}: {weights}")
    totals = evaluate(bundle, cutoff, weights)
    users = next(iter(totals.values())).users
    typer.echo(f"{len(bundle.customers)} demo customers, {len(bundle.orders)} orders; train < {cutoff} <= test "
               f"< {s.demo_anchor_date}; {users} customers with first purchases in the test period")
    rows: list[list[object]] = [[name, t.ndcg_at_10, t.recall_at_10, t.ms_per_user] for name, t in totals.items()]
    typer.echo(format_table(["method", "NDCG@10", "recall@10", "ms/user"], rows))
    base = totals["popularity"].ndcg_at_10
    typer.echo(f"hybrid / popularity NDCG@10: {totals['hybrid'].ndcg_at_10 / base:.2f}x" if base else "no baseline")


@eval_app.command("forecast")
def eval_forecast(
    methods: Annotated[str | None, typer.Option(
        help="candidate models, comma-separated (default: SKINSAGE_FORECAST_METHODS, plus theta for comparison)")] = None,
    public: Annotated[bool, typer.Option(help="also the public series bundled in installed packages")] = True,
) -> None:
    """MASE and WAPE per forecasting method and for the per-SKU selection, in one run, out of sample:
    the demo sales (daily per SKU) and real public series shipped inside installed packages (issue 8)."""
    from commerce.forecast_eval import evaluate_demo, evaluate_public
    from commerce.forecast_service import calendar_from, config_from
    from ingest.seed import seed_bundle

    s = get_settings()
    chosen = ([m.strip() for m in methods.split(",") if m.strip()] if methods
              else list(dict.fromkeys([*s.forecast_methods, "theta"])))
    try:
        cfg = type(base := config_from(s)).model_validate(base.model_dump() | {"methods": tuple(chosen)})
    except ValueError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from e
    tables = [evaluate_demo(seed_bundle(s), s.demo_anchor_date, cfg, calendar_from(s), s.forecast_history_days)]
    if public:
        tables += evaluate_public(cfg)
    for t in tables:
        typer.echo(f"{t.dataset}: {t.series} series, {t.folds} rolling origins x {t.horizon} steps ahead")
        weekly = any(r["weekly_mase"] == r["weekly_mase"] for r in t.rows.values())   # NaN != NaN
        typer.echo(format_table(["method", "MASE", "WAPE", *(["weekly MASE"] if weekly else []), "scored"],
                                [[m, r["mase"], r["wape"], *([r["weekly_mase"]] if weekly else []), int(r["scored"])]
                                 for m, r in t.rows.items()]))
        typer.echo(f"selected vs seasonal naive MASE: {t.improvement():+.1%}"
                   + (f"; on weekly totals of the same daily forecasts: {t.improvement(metric='weekly_mase'):+.1%}"
                      if weekly else "") + "\n")
