"""`skinsage report`: containment, CSAT, conversion after conversation, trigger lift against holdout."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer


def report(days: Annotated[int, typer.Option(help="look back this many days")] = 30,
           as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Print the quality and proactive-trigger report from the operational store."""
    from opstore import open_store
    from proactive import quality
    from proactive.repo import ProactiveStore
    from skinsage.bootstrap import build_graph
    from skinsage.settings import get_settings

    settings = get_settings()
    store = open_store(settings)
    try:
        with build_graph(settings) as graph:
            repo = ProactiveStore(store)
            got = quality.build_report(repo, graph, repo.ctx.now() - timedelta(days=days),
                                       settings.proactive_conversion_days)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(quality.as_json(got), indent=2))
    else:
        typer.echo(quality.render(got))
