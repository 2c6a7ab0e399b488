"""Channel webhook load over loopback HTTP: acknowledged/s and answered/s, SQLite and PostgreSQL.

    python bench/channels.py [--seconds 60 --concurrency 32 --backends sqlite,postgresql --engine offline]

The app runs in its own process (`skinsage`'s real `create_app`, uvicorn, the real offline engine over
the curated graph unless `--engine echo`, the in-process dispatcher answering behind the webhook). This
process is Twilio: for `--seconds` it keeps `--concurrency` signed SMS webhooks in flight (5% are
provider retries of an earlier MessageSid), then waits until every acknowledged message is answered.
Replies go to a counting in-process sender (Twilio's REST API is not what is measured).
Counted in the store afterwards: lost = acknowledged but not stored or not answered; answered twice =
an inbound message with more than one reply or outbox row. PostgreSQL: `--pg-url` or
SKINSAGE_TEST_POSTGRES_URL (own schema `skinsage_bench_channels`); skipped with a note if unreachable.
Targets: >= 500 acknowledged/s, >= 100 answered/s, 0 lost, 0 answered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary

SID, TOKEN = "AC" + "b" * 32, "bench-token"
PG_URL = os.environ.get("SKINSAGE_TEST_POSTGRES_URL",
                        "postgresql+psycopg://skinsage_test:skinsage_test@127.0.0.1:5432/skinsage_test")
QUESTIONS = ["what does niacinamide do?", "can you recommend something for oily skin?", "is retinol ok in pregnancy?",
             "how long does shipping to germany take?", "can I use vitamin c with niacinamide?", "hi"]


def serve(a: argparse.Namespace) -> None:
    """The server process: the product's app with a counting sender."""
    import uvicorn
    from pydantic import SecretStr

    from api.app import create_app
    from opstore import open_store
    from opstore.testing import EchoEngine, RecordingSender
    from skinsage.settings import Settings

    data = Path(a.data_dir)
    settings = Settings(data_dir=data, load_demo_on_start=False, twilio_account_sid=SID,
                        twilio_auth_token=SecretStr(TOKEN), public_base_url=f"http://127.0.0.1:{a.port}",
                        database_url=a.db, sqlite_synchronous=a.sqlite_synchronous,
                        channel_dispatch_threads=a.dispatch_threads, channel_sweep_s=1.0)
    if a.engine == "offline":
        import torch

        torch.set_num_threads(1)
        from graph.embedded import EmbeddedGraphStore
        from ingest.seed import load_seed
        from skinsage.bootstrap import build_engine

        graph: Any = EmbeddedGraphStore(settings.graph_path)
        load_seed(graph, settings)
        engine: Any = build_engine(settings, graph)
        engine.llm = None
        for q in QUESTIONS:   # warm caches before the clock starts
            from assistant.types import Turn

            engine.handle(Turn(conversation_id="warm", channel="sms", text=q))
    else:
        from opstore.testing import Directory

        graph, engine = Directory({}), EchoEngine()
    store = open_store(settings, directory=graph)
    app = create_app(settings, graph=graph, store=store, engine=engine)
    app.state.channel_sender = RecordingSender()
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


async def load(base: str, seconds: float, concurrency: int, replay: float) -> tuple[float, set[str], list[float], int]:
    import httpx
    from twilio.request_validator import RequestValidator

    url, validator = f"{base}/v1/twilio/inbound", RequestValidator(TOKEN)
    acked: set[str] = set()
    latencies: list[float] = []
    errors, counter = 0, 0
    sids: list[str] = []
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            if sids and rng.random() < replay:
                sid = rng.choice(sids)
            else:
                counter += 1
                sid = f"SM{counter:032x}"
                sids.append(sid)
            n = int(sid.removeprefix("SM"), 16)
            params = {"MessageSid": sid, "AccountSid": SID, "From": f"+4915{n % 2000:08d}", "To": "+15550001111",
                      "Body": QUESTIONS[n % len(QUESTIONS)], "NumMedia": "0"}
            t = time.perf_counter()
            try:
                r = await client.post(url, data=params, headers={"X-Twilio-Signature": validator.compute_signature(url, params)})
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code == 200:
                acked.add(sid)
            else:
                errors += 1

    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
    return time.perf_counter() - t0, acked, latencies, errors


def counts(url: str, acked: set[str]) -> dict[str, int]:
    from sqlalchemy import func, select

    from opstore.db import make_engine
    from opstore.models import Message, OutboxRow

    engine = make_engine(url, pool_size=1)
    with engine.connect() as c:
        rows = dict(c.execute(select(Message.provider_message_id, Message.status).where(
            Message.direction == "in", Message.channel == "sms")).all())
        per_reply = select(Message.reply_to, func.count().label("n")).where(Message.direction == "out") \
            .group_by(Message.reply_to).subquery()
        twice = c.execute(select(func.count()).select_from(per_reply).where(per_reply.c.n > 1)).scalar_one()
        sent = c.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "sent")).scalar_one()
    engine.dispose()
    answered = sum(1 for s in acked if rows.get(s) == "answered")
    return {"stored": sum(1 for s in acked if s in rows), "answered": answered, "lost": len(acked) - answered,
            "twice": int(twice), "sent": int(sent)}


def run(backend: str, a: argparse.Namespace, tmp: Path) -> list[object] | str:
    from bench.pipeline import _bench_schema
    from opstore.migrate import upgrade
    from tests.support.channel_stubs import free_port

    if backend == "postgresql":
        try:
            url = _bench_schema(a.pg_url, "skinsage_bench_channels")
            upgrade(url)
            _truncate(url)
        except Exception as e:  # noqa: BLE001 - the column is skipped with the reason
            return f"PostgreSQL skipped: unreachable at {a.pg_url.split('@')[-1]} ({type(e).__name__})"
    else:
        url = f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/bench.db"
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", "--port", str(port), "--db", url, "--data-dir", str(tmp / "data"),
           "--engine", a.engine, "--dispatch-threads", str(a.dispatch_threads),
           "--sqlite-synchronous", a.sqlite_synchronous]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        secs, acked, lat, errors = asyncio.run(load(base, a.seconds, a.concurrency, a.replay))
        t_end_load = time.perf_counter()
        while True:   # answered/s: from the first webhook until the last acknowledged message is answered
            got = counts(url, acked)
            if got["answered"] >= len(acked) or time.perf_counter() - t_end_load > a.drain_s:
                break
            time.sleep(0.5)
        total = secs + (time.perf_counter() - t_end_load)
        p50, p95, _ = summary(lat)
        return [backend, len(acked), len(acked) / secs, p50, p95, got["answered"] / total, got["lost"],
                got["twice"], errors]
    finally:
        proc.terminate()
        proc.wait(30)


def _truncate(url: str) -> None:
    from sqlalchemy import text

    from opstore.db import make_engine
    from opstore.models import Base

    engine = make_engine(url, pool_size=1)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=32, help="webhooks in flight")
    ap.add_argument("--replay", type=float, default=0.05, help="share of deliveries that are provider retries")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--engine", choices=["offline", "echo"], default="offline")
    ap.add_argument("--dispatch-threads", type=int, default=2)
    ap.add_argument("--sqlite-synchronous", choices=["full", "normal"], default="full")
    ap.add_argument("--drain-s", type=float, default=600.0, help="longest wait for the backlog after the load")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a)
        return
    rows: list[list[object]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in a.backends.split(","):
            got = run(backend, a, Path(tmp))
            if isinstance(got, str):
                notes.append(got)
            else:
                rows.append(got)
    print(f"{a.seconds:g} s of signed Twilio SMS webhooks over loopback, {a.concurrency} in flight, "
          f"{a.replay:.0%} retries, engine={a.engine}, sqlite synchronous={a.sqlite_synchronous}, "
          f"{a.dispatch_threads} dispatch threads, {os.cpu_count()} cores")
    print_table(["backend", "acknowledged", "acked/s", "ack p50 ms", "ack p95 ms", "answered/s", "lost",
                 "answered twice", "errors"], rows)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
