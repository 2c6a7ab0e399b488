"""`skinsage index ...`: the retrieval index on disk (derived data, always rebuildable).

The commands live with the package they drive, like opstore/cli.py and vision/cli.py."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import get_settings

index_app = typer.Typer(help="The retrieval index (documents + graph facts).", no_args_is_help=True)


@index_app.command("build")
def index_build(rebuild: Annotated[bool, typer.Option(help="re-embed everything from the sources")] = False) -> None:
    """Sync the index with the documents folder and the graph; only changed items are re-embedded."""
    from retrieval.service import sync_index
    from retrieval.vector_index import FaissVectorIndex
    from skinsage.bootstrap import build_embedder, build_graph

    s = get_settings()
    try:
        with build_graph(s) as graph:
            index = FaissVectorIndex(s.vector_index_dir, storage=s.vector_storage)
            report = sync_index(index, build_embedder(s), s.documents_dir, graph, rebuild=rebuild)
    except SkinSageError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from e
    typer.echo(json.dumps({"index_dir": str(s.vector_index_dir), **report.model_dump()}, indent=2))
