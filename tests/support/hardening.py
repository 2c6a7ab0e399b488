"""One app as production wires it, on the fixture graph and a real SQLite store, for the fault and
abuse suites (issue 12). The engine is the real assistant; only the embedder is shared per session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings

API_KEY = "shop-secret-key"
#: Every channel configured (so their real verification runs), every provider pointed at a closed port
#: (so nothing can leave the machine).
CHANNELS_CONFIGURED: dict[str, Any] = {
    "twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "twilio-test-token",
    "twilio_api_base_url": "http://127.0.0.1:9", "twilio_sms_from": "+15550001111",
    "telegram_bot_token": "123:telegram-test", "telegram_webhook_secret": "tg-test-secret",
    "telegram_api_base_url": "http://127.0.0.1:9", "shopify_webhook_secret": "shopify-test-secret",
    "widget_secret": "widget-test-secret", "widget_customer_token_secret": "widget-customer-secret",
}


def hardened_settings(tmp: Path, **overrides: Any) -> Settings:
    # generous per-IP limits: every test client shares one address (test_rate_limits sets its own)
    limits = {"rate_public_ip_per_min": 100_000.0, "rate_public_ip_burst": 10_000}
    return Settings(data_dir=tmp, load_demo_on_start=False, api_key=API_KEY,  # type: ignore[arg-type]
                    **{**limits, **overrides})


@contextmanager
def running_app(tmp: Path, bundle: KnowledgeBundle, encoder: Any, *, graph: Any = None, llm: Any = None,
                photos: Any = None, **overrides: Any) -> Iterator[tuple[TestClient, FastAPI]]:
    settings = hardened_settings(tmp, **overrides)
    own_graph = graph is None
    if graph is None:
        graph = EmbeddedGraphStore(tmp / "g.lbdb")
        graph.load(bundle)
    store = open_store(settings, directory=graph)
    engine = build_assistant(settings, graph, encoder=encoder, reminders=InMemoryReminderStore(), llm=llm,
                             photos=photos)
    app = create_app(settings, graph=graph, store=store, engine=engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, app
    finally:
        store.close()
        if own_graph:
            graph.close()


def wait_until_answered(db: Any, timeout_s: float, poll_s: float = 0.3) -> int:
    """Poll the store until no inbound message is waiting (received, processing, failed) or time runs
    out; returns how many were still waiting (0 = everything acknowledged got its turn)."""
    import time

    from sqlalchemy import text

    deadline = time.monotonic() + timeout_s
    while True:
        with db.connect() as c:
            waiting = int(c.execute(text("SELECT count(*) FROM messages WHERE direction = 'in' AND status IN "
                                         "('received', 'processing', 'failed')")).scalar() or 0)
        if waiting == 0 or time.monotonic() >= deadline:
            return waiting
        time.sleep(poll_s)
