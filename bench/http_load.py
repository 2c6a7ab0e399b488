"""HTTP under load through the production middleware (request id, body limit, access log, metrics),
and what that middleware costs: the same app with and without it, over real HTTP (uvicorn + httpx).

    python -m bench.http_load [--requests 1000] [--concurrency 8]

Fixture knowledge, SQLite store, the offline planner with the real MiniLM embedder.
"""

from __future__ import annotations

import argparse
import logging
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench._util import print_table, summary

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "knowledge"


def _serve(app: Any) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def _measure(base: str, path: str, body: Any, n: int, concurrency: int) -> tuple[list[float], float, int]:
    local = threading.local()

    def one(i: int) -> tuple[float, int]:
        c = getattr(local, "client", None) or httpx.Client(base_url=base, timeout=30)   # keep-alive per thread
        local.client = c
        t = time.perf_counter()
        r = c.post(path, json={**body, "conversation_id": f"bench-{i:06d}"}) if body else c.get(path)
        return (time.perf_counter() - t) * 1000, r.status_code

    for i in range(10):
        one(10**5 + i)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.perf_counter() - started
    return [ms for ms, _ in results], n / wall, sum(1 for _, code in results if code != 200)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    a = ap.parse_args()
    logging.getLogger("skinsage.api.access").setLevel(logging.WARNING)   # measure the work, not the terminal

    from api.app import create_app
    from commerce.reminders import InMemoryReminderStore
    from graph.embedded import EmbeddedGraphStore
    from ingest.knowledge import load_knowledge
    from opstore import open_store
    from retrieval.embedder import MiniLMEmbedder
    from skinsage.bootstrap import build_assistant
    from skinsage.settings import Settings

    encoder = MiniLMEmbedder()
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        graph = EmbeddedGraphStore(Path(tmp) / "g.lbdb")
        graph.load(load_knowledge(FIXTURES))
        for variant in ("with middleware", "without middleware"):
            settings = Settings(data_dir=Path(tmp) / variant.replace(" ", "-"), load_demo_on_start=False,  # type: ignore[arg-type]
                                sqlite_synchronous="normal",   # one client IP here: lift the per-IP limit
                                rate_public_ip_per_min=1e9, rate_public_ip_burst=1_000_000)
            settings.data_dir.mkdir()
            store = open_store(settings, directory=graph)
            engine = build_assistant(settings, graph, encoder=encoder, reminders=InMemoryReminderStore())
            app = create_app(settings, graph=graph, store=store, engine=engine)
            if variant.startswith("without"):
                app.user_middleware.clear()
            server, base = _serve(app)
            try:
                for label, path, body in (("GET /health", "/health", None),
                                          ("POST /v1/chat", "/v1/chat", {"text": "what does niacinamide do?"})):
                    samples, rps, errors = _measure(base, path, body, a.requests, a.concurrency)
                    p50, p95, _ = summary(samples)
                    rows.append([f"{label} ({variant})", a.requests, a.concurrency, p50, p95, round(rps, 1), errors])
                if variant == "with middleware":
                    scrape = httpx.get(f"{base}/metrics", timeout=30)
                    rows.append(["GET /metrics (after the load)", 1, 1, scrape.elapsed.total_seconds() * 1000,
                                 scrape.elapsed.total_seconds() * 1000, "-", int(scrape.status_code != 200)])
            finally:
                server.should_exit = True
                time.sleep(0.3)
                store.close()
        graph.close()
    print_table(["endpoint (variant)", "requests", "concurrency", "p50 ms", "p95 ms", "req/s", "not 200"], rows)


if __name__ == "__main__":
    main()
