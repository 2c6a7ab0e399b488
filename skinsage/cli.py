"""The `skinsage` command line. Thin: parse, call a service, print, exit with a status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import Settings, get_settings

app = typer.Typer(help="SkinSage: the skincare brand's assistant.", no_args_is_help=True)
knowledge_app = typer.Typer(help="The curated knowledge files.", no_args_is_help=True)
graph_app = typer.Typer(help="The knowledge graph.", no_args_is_help=True)
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(graph_app, name="graph")

from assistant.eval_cli import chat
from retrieval.cli import index_app
from skinsage.eval_cli import eval_app

app.command("chat")(chat)

app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")

# The operational store's commands live with it (opstore/cli.py).
from opstore.cli import db_app, worker

app.add_typer(db_app, name="db")
app.command("worker")(worker)

from vision.cli import app as vision_app

app.add_typer(vision_app, name="vision")
from console.cli import console_app; app.add_typer(console_app, name="console")  # noqa: E402,E702  (issue 7)

from ingest.cli import ingest_app

app.add_typer(ingest_app, name="ingest")
from proactive.cli import report as proactive_report; app.command("report")(proactive_report)  # noqa: E402,E702
from skinsage.backup import backup_app

app.add_typer(backup_app, name="backup")
from commerce.forecast_cli import forecast_app; app.add_typer(forecast_app, name="forecast")  # noqa: E402,E702  (issue 8)
from opstore.data_requests_cli import customer_app; app.add_typer(customer_app, name="customer")  # noqa: E402,E702  (data requests)


def _settings(knowledge_dir: Path | None = None) -> Settings:
    s = get_settings()
    return s.model_copy(update={"knowledge_dir": knowledge_dir}) if knowledge_dir else s


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None,
          port: Annotated[int | None, typer.Option()] = None) -> None:
    """Load the knowledge (idempotent) and serve the API."""
    import uvicorn

    from api.app import create_app

    s = get_settings()
    from skinsage.logging import configure_logging

    configure_logging(s)   # JSON, redacted, with request ids (issue 12); uvicorn logs through it too
    from api.channels.topology import is_multi_process, serve_processes  # SKINSAGE_HTTP_WORKERS (issue 6)

    if is_multi_process(s):
        serve_processes(s, host or s.host, port or s.port, s.log_level)
        return
    uvicorn.run(create_app(s, background=s.embedded_worker), host=host or s.host, port=port or s.port,
                log_level=s.log_level, log_config=None)


@app.command()
def load(knowledge_dir: Annotated[Path | None, typer.Option(help="curated knowledge folder")] = None,
         demo: Annotated[bool, typer.Option(help="also write the generated demo customers")] = True,
         reset: Annotated[bool, typer.Option(help="empty the graph first (loads never delete nodes otherwise)")] = False,
         dry_run: Annotated[bool, typer.Option(help="report what would change, write nothing")] = False) -> None:
    """Validate the knowledge and write it to the configured graph, in one transaction."""
    from ingest.seed import seed_bundle
    from skinsage.bootstrap import build_graph

    s = _settings(knowledge_dir)
    try:
        bundle = seed_bundle(s, demo=demo)      # validated before anything is touched
        with build_graph(s) as graph:
            if reset and not dry_run:
                graph.reset()
            report = graph.load(bundle, atomic=True, dry_run=dry_run)
            typer.echo(json.dumps({"backend": graph.backend, **report.model_dump()}, indent=2))
    except SkinSageError as e:
        _fail(e)


@knowledge_app.command("check")
def knowledge_check(knowledge_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Validate every curated file without writing anything."""
    from ingest.knowledge import load_knowledge

    s = _settings(knowledge_dir)
    try:
        bundle = load_knowledge(s.knowledge_dir)
    except SkinSageError as e:
        _fail(e)
    counts = {k: len(v) for k, v in bundle.model_dump().items()}
    typer.echo(json.dumps({"ok": True, "counts": counts}, indent=2))


@graph_app.command("stats")
def graph_stats() -> None:
    """Node counts per label in the configured graph."""
    from skinsage.bootstrap import build_graph

    try:
        with build_graph(get_settings()) as graph:
            typer.echo(json.dumps({"backend": graph.backend, **graph.stats().model_dump()}, indent=2))
    except SkinSageError as e:
        _fail(e)


@graph_app.command("resolve")
def graph_resolve(text: str) -> None:
    """Show which graph entities a piece of text links to."""
    from skinsage.bootstrap import build_graph

    try:
        with build_graph(get_settings()) as graph:
            for m in graph.resolve(text):
                typer.echo(f"{m.score:.2f}  {m.kind:<10} {m.id:<28} ({m.matched})")
    except SkinSageError as e:
        _fail(e)


def main() -> None:  # pragma: no cover
    sys.exit(app())
