"""`skinsage eval dialogues` and `skinsage chat`: the conversation engine from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from skinsage.errors import SkinSageError
from skinsage.eval_cli import eval_app, format_table
from skinsage.settings import REPO_ROOT, get_settings

DIALOGUES = REPO_ROOT / "eval" / "dialogues.yaml"


def customer_profile(graph: Any) -> Any:
    def profile_of(customer_id: str | None) -> tuple[set[str], bool]:
        if not customer_id:
            return set(), False
        c = graph.customer(customer_id, order_limit=1).customer
        return {a.ingredient for a in c.avoids}, c.pregnancy != "none"
    return profile_of


@eval_app.command("dialogues")
def eval_dialogues(
    dialogue_set: Annotated[Path, typer.Option("--set", help="the scripted dialogue set")] = DIALOGUES,
    show_failures: Annotated[bool, typer.Option("--failures", help="list every miss")] = False,
    llm: Annotated[bool, typer.Option(help="also evaluate the configured LLM planner")] = False,
) -> None:
    """Tool-selection and argument accuracy, required facts, safety violations, handoff precision/recall."""
    from assistant.evaluation import SafetyJudge, load_dialogues, run
    from skinsage.bootstrap import build_engine, build_graph

    s = get_settings()
    try:
        dialogues = load_dialogues(dialogue_set)
        with build_graph(s) as graph:
            if not graph.stats().loaded:
                raise SkinSageError("the graph is empty; run `skinsage load` first")
            engine = build_engine(s, graph)
            runs = {"offline": engine}
            if llm:
                if not s.llm_enabled:
                    raise SkinSageError("no LLM configured (set OPENAI_API_KEY or SKINSAGE_LLM_BASE_URL)")
                runs = {"offline": _without_llm(engine), f"llm:{s.llm_model}": engine}
            else:
                engine.llm = None
            results = {name: run(e, dialogues, SafetyJudge(graph), customer_profile(graph)) for name, e in runs.items()}
    except SkinSageError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from e
    typer.echo(f"{len(dialogues)} dialogues, {sum(len(d.turns) for d in dialogues)} turns ({dialogue_set.name})")
    names = list(results)
    metrics = [m for m, _ in results[names[0]].table()]
    rows = [[m, *(dict(results[n].table())[m] for n in names)] for m in metrics]
    typer.echo(format_table(["metric", *names], rows))
    for name, r in results.items():
        for v in r.violations:
            typer.secho(f"SAFETY [{name}] {v}", fg=typer.colors.RED)
        if show_failures:
            for f in r.failures:
                typer.echo(f"miss [{name}] {f}")


def _without_llm(engine: Any) -> Any:
    import copy

    e = copy.copy(engine)
    e.llm = None
    return e


def chat(customer: Annotated[str | None, typer.Option(help="act as this verified customer id")] = None,
         staff: Annotated[bool, typer.Option(help="talk as staff (stock tools)")] = False) -> None:
    """Talk to the assistant in the terminal (empty line or Ctrl-D to quit)."""
    from assistant.types import Turn
    from skinsage.bootstrap import build_engine, build_graph

    s = get_settings()
    with build_graph(s) as graph:
        if not graph.stats().loaded:
            typer.secho("the graph is empty; run `skinsage load` first", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1)
        engine = build_engine(s, graph)
        state: dict[str, Any] = {}
        typer.echo("SkinSage chat. Empty line to quit.")
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                break
            if not text:
                break
            reply = engine.handle(Turn(conversation_id="cli", channel="cli", text=text, customer_id=customer,
                                       role="staff" if staff else "customer", state=state))
            state = reply.state
            typer.echo(f"bot> {reply.text}")
            for p in reply.products:
                typer.echo(f"     [{p.sku}] {p.name}  EUR {p.price:.2f}  {p.url or ''}")
            if reply.quick_replies:
                typer.echo("     options: " + " | ".join(reply.quick_replies))
            if reply.handoff:
                typer.echo(f"     (handed to a person: {reply.handoff_reason})")
