"""`skinsage db ...` and `skinsage worker`, registered by skinsage/cli.py. Heavy imports stay inside
the commands so the rest of the command line starts fast."""

from __future__ import annotations

import json

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import get_settings

db_app = typer.Typer(help="The operational store (conversations, messages, outbox).", no_args_is_help=True)


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _where(url: str) -> str:
    return url.split("@")[-1]  # never print a password


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the operational store's schema (idempotent; safe while other processes start)."""
    from opstore.migrate import current, upgrade

    url = get_settings().store_url
    try:
        upgrade(url, revision)
        typer.echo(json.dumps({"database": _where(url), "revision": current(url)}))
    except SkinSageError as e:
        _fail(e)


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at (null: never migrated)."""
    from opstore.migrate import current

    url = get_settings().store_url
    try:
        typer.echo(json.dumps({"database": _where(url), "revision": current(url)}))
    except SkinSageError as e:
        _fail(e)


def worker() -> None:
    """Answer pending messages and deliver the outbox until Ctrl-C / SIGTERM."""
    from opstore.worker import serve_worker

    s = get_settings()
    from skinsage.logging import configure_logging

    configure_logging(s)   # JSON, redacted (issue 12)
    try:
        serve_worker(s)
    except SkinSageError as e:
        _fail(e)
