"""The FastAPI application factory. Tests call `create_app(settings, graph=...)` with their own store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api import errors
from api.routes import chat, console, events, health, knowledge, ops, shopify, telegram, twilio, vision, widget
from graph.store import GraphStore
from skinsage import __version__
from skinsage.bootstrap import build_engine, build_graph
from skinsage.settings import Settings, get_settings

log = logging.getLogger("skinsage.api")


def create_app(settings: Settings | None = None, graph: GraphStore | None = None, *, store: Any = None,
               engine: Any = None, with_chat: bool = True) -> FastAPI:
    """Everything is built from settings unless a test hands in its own graph, store or engine."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = graph is None
        app.state.graph = graph or build_graph(settings)
        if owned and settings.load_demo_on_start:
            from ingest.seed import load_seed

            report = load_seed(app.state.graph, settings)
            log.info("knowledge loaded: %s in %.1fs", report.rows, report.seconds)
        owned_store = store is None and with_chat
        if with_chat:
            from opstore import open_store

            app.state.store = store or open_store(settings, directory=app.state.graph)
            app.state.engine = engine or build_engine(settings, app.state.graph)
        try:
            yield
        finally:
            if owned_store:
                app.state.store.close()
            if owned:
                app.state.graph.close()

    app = FastAPI(title="SkinSage", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    if graph is not None:
        app.state.graph = graph
    errors.install(app)
    app.include_router(health.router)
    app.include_router(knowledge.router)
    app.include_router(vision.router)
    app.include_router(chat.router)
    for part in (twilio, telegram, widget, console, shopify, events, ops):
        app.include_router(part.router)
    return app
