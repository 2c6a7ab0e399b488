"""`skinsage console ...`: agent accounts from the command line (the first admin has no console to use yet)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import get_settings

console_app = typer.Typer(help="The support agent console.", no_args_is_help=True)


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@console_app.command("create-agent")
def create_agent(username: str,
                 role: Annotated[str, typer.Option(help="agent or admin")] = "agent",
                 display_name: Annotated[str | None, typer.Option(help="shown to colleagues")] = None,
                 capacity: Annotated[int | None, typer.Option(help="conversations held at once")] = None,
                 password: Annotated[str | None, typer.Option(
                     envvar="SKINSAGE_CONSOLE_NEW_PASSWORD",
                     help="prompted for (hidden) when not given; scripts may pass SKINSAGE_CONSOLE_NEW_PASSWORD")] = None,
                 ) -> None:
    """Create an agent account (passwords are stored as scrypt hashes, never in clear)."""
    from console.auth import AuthService, ConsoleConfig
    from opstore import open_store

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    try:
        store = open_store(settings)
        try:
            agent = AuthService(store, ConsoleConfig.from_settings(settings)).create_agent(
                username, password, role, display_name=display_name, capacity=capacity,  # type: ignore[arg-type]
                actor="cli")
        finally:
            store.close()
    except SkinSageError as e:
        _fail(e)
        return
    typer.echo(json.dumps(agent.model_dump()))
