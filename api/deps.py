"""`Annotated` dependency aliases, so routes declare what they need in one word."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import SecretStr

from graph.store import GraphStore
from skinsage.settings import Settings


def get_graph(request: Request) -> GraphStore:
    return request.app.state.graph  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_store(request: Request) -> Any:
    return request.app.state.store


def get_engine(request: Request) -> Any:
    return request.app.state.engine


GraphDep = Annotated[GraphStore, Depends(get_graph)]
StoreDep = Annotated[Any, Depends(get_store)]
EngineDep = Annotated[Any, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def bearer_matches(authorization: str | bytes | None, secret: SecretStr | None) -> bool:
    """`Authorization: Bearer <secret>`, compared in constant time; never true when no secret is set."""
    expected = secret.get_secret_value().encode() if secret is not None else b""
    raw = authorization.encode() if isinstance(authorization, str) else (authorization or b"")
    given = raw.removeprefix(b"Bearer ").strip()
    return bool(expected) and bool(given) and secrets.compare_digest(given, expected)
