"""The FastAPI application factory. Tests call `create_app(settings, graph=...)` with their own store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api import errors, ratelimit
from api.middleware import install_middleware
from api.routes import (
    chat,
    console,
    events,
    forecast,  # issue 8: the staff stock report
    health,
    knowledge,
    ops,
    shopify,
    telegram,
    twilio,
    vision,
    widget,
)
from graph.store import GraphStore
from skinsage import __version__
from skinsage.bootstrap import build_engine, build_graph
from skinsage.settings import Settings, get_settings

log = logging.getLogger("skinsage.api")


def create_app(settings: Settings | None = None, graph: GraphStore | None = None, *, store: Any = None,
               engine: Any = None, with_chat: bool = True, background: bool = False) -> FastAPI:
    """Everything is built from settings unless a test hands in its own graph, store or engine.

    `background=True` (what `skinsage serve` does when `SKINSAGE_EMBEDDED_WORKER` is on, the
    single-process default) also runs the worker's duties in this process: answering what a crash
    left unanswered, draining the outbox, restock reminders and the proactive jobs. With a separate
    `skinsage worker` (docker-compose), leave it off."""
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
            app.state.engine = engine or build_engine(settings, app.state.graph, store=app.state.store)
            from console.wiring import install_console

            install_console(app)  # support console: wraps the engine, listens to store events (issue 7)
        stop_worker = _start_background_worker(app, settings) if background and with_chat else None
        try:
            yield
        finally:
            if stop_worker is not None:
                stop_worker()
            if with_chat:
                from api.channels import stop_channels

                stop_channels(app)
            if owned_store:
                app.state.store.close()
            if owned:
                app.state.graph.close()

    def _start_background_worker(app: FastAPI, settings: Settings) -> Callable[[], None]:
        import threading

        from api.channels import channels_for
        from opstore.worker import run_worker
        from skinsage.bootstrap import build_sender, worker_jobs

        channels_for(app)  # its dispatcher answers pending inbound messages (and sweeps for stranded ones)
        stop = threading.Event()
        thread = threading.Thread(target=run_worker, name="embedded-worker", daemon=True, args=(
            settings, None, build_sender(settings, app.state.store), stop), kwargs={
            "store": app.state.store, "jobs": worker_jobs(settings, app.state.store, app.state.graph), "idle_s": 1.0})
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(timeout=15)

        return halt

    app = FastAPI(title="SkinSage", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    if graph is not None:
        app.state.graph = graph
    errors.install(app)
    ratelimit.install(app)
    install_middleware(app, settings)  # request ids, body limits, access log, metrics (issue 12)
    app.include_router(health.router)
    app.include_router(knowledge.router)
    app.include_router(vision.router)
    app.include_router(chat.router)
    for part in (twilio, telegram, widget, console, shopify, events, ops, forecast):
        app.include_router(part.router)
    from api.routes import privacy  # customer data requests: export and erasure (GDPR/CCPA)

    app.include_router(privacy.router)
    widget.install_cors(app, settings)  # shop-origin CORS, 429/401 error mappings (issue 6)
    return app
