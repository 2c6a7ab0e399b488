"""`skinsage customer export|erase`: customer data requests from the command line (registered by
skinsage/cli.py). The same use cases as the staff HTTP routes; the audit log names the operating-system
user who ran the command."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from opstore.data_requests import CustomerDataRequests
from skinsage.errors import SkinSageError
from skinsage.settings import get_settings

customer_app = typer.Typer(help="Customer data requests: export (access) and erasure (GDPR/CCPA).",
                           no_args_is_help=True)


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _requests() -> Iterator[CustomerDataRequests]:
    from opstore import open_store
    from skinsage.bootstrap import build_graph
    from vision.service import build_repository

    settings = get_settings()
    with build_graph(settings) as graph:
        store = open_store(settings, directory=graph)
        analyses = build_repository(settings)
        try:
            yield CustomerDataRequests(store, graph, analyses)
        finally:
            analyses.close()  # type: ignore[attr-defined]
            store.close()


@customer_app.command("export")
def export(customer_id: str,
           out: Annotated[Path | None, typer.Option("--out", help="write the JSON here (mode 0600), not stdout")] = None,
           include_media: Annotated[bool, typer.Option(help="photos as base64 too, not only size and hash")] = False,
           ) -> None:
    """Everything held about one customer as one JSON document (format skinsage-export/1)."""
    try:
        with _requests() as requests:
            doc = requests.export(customer_id, requested_by=_operator(), include_media=include_media)
    except SkinSageError as e:
        _fail(e)
        return
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
        return
    # health data: readable by the operator only, from the first byte on
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    typer.echo(json.dumps({"customer": customer_id, "written": str(out)}))


@customer_app.command("erase")
def erase(customer_id: str,
          yes: Annotated[bool, typer.Option("--yes", help="confirm: erasure cannot be undone")] = False,
          reference: Annotated[str | None, typer.Option(help="ticket or case number for the audit log")] = None,
          ) -> None:
    """Delete or anonymise everything about one customer (orders stay, anonymised). Idempotent."""
    if not yes:
        _fail(ValueError(f"erasing {customer_id!r} cannot be undone: add --yes to confirm"))
    try:
        with _requests() as requests:
            report = requests.erase(customer_id, requested_by=_operator(), reference=reference)
    except SkinSageError as e:
        _fail(e)
        return
    typer.echo(report.model_dump_json(indent=2))
