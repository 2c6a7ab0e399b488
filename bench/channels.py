"""Channel webhook load over loopback HTTP: acknowledged/s and answered/s, SQLite and PostgreSQL side by side.

    python bench/channels.py [--seconds 60 --concurrency 32 --backends sqlite,postgresql --engine offline
                              --http-workers 1 --answer-workers 1]

The product runs as `skinsage serve` does with SKINSAGE_HTTP_WORKERS / SKINSAGE_ANSWER_WORKERS
(api/channels/topology.py): `--http-workers` uvicorn processes on one socket running the real
`create_app`, and `--answer-workers` worker processes running the real `run_worker` (batch claims,
the real offline engine over the curated graph unless `--engine echo`). `--answer-workers 0` is the
single-process shape: each HTTP process answers what it acknowledged (its dispatcher).
Replies go to a counting sender (Twilio's REST API is not what is measured); the HTTP processes that
only acknowledge hold an echo engine instead of building the real one (it would only serve /v1/chat).

This process is Twilio: it keeps `--concurrency` keep-alive connections busy for `--seconds` with
signed SMS webhooks (5% are provider retries of an earlier MessageSid), built and signed before the
clock starts and written as raw HTTP/1.1, so that the load generator costs little of the 2 cores it
shares with the server. Then it waits until every acknowledged message is answered.
Counted in the store afterwards: lost = acknowledged but not answered; answered twice = an inbound
message with more than one reply. "server CPU ms/msg" = CPU seconds of every server process / acked
(what the machine spends per message, whatever else runs on it), split into the HTTP process and the
answer workers; "PostgreSQL server CPU ms/msg" = CPU of every `postgres` process on the machine / acked
(the database shares the 2 cores; anything else using that server counts too). PostgreSQL: `--pg-url` or
SKINSAGE_TEST_POSTGRES_URL (a schema of this run's own, `skinsage_bench_channels_<pid>`, dropped at the end,
so two runs at once never empty each other's tables); skipped with a note if unreachable.
Targets: >= 500 acknowledged/s, >= 100 answered/s, 0 lost, 0 answered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary

SID, TOKEN = "AC" + "b" * 32, "bench-token"
PG_URL = os.environ.get("SKINSAGE_TEST_POSTGRES_URL",
                        "postgresql+psycopg://skinsage_test:skinsage_test@127.0.0.1:5432/skinsage_test")
QUESTIONS = ["what does niacinamide do?", "can you recommend something for oily skin?", "is retinol ok in pregnancy?",
             "how long does shipping to germany take?", "can I use vitamin c with niacinamide?", "hi"]
TARGET_ACKED, TARGET_ANSWERED = 500.0, 100.0


# --- the server side: processes this script starts ----------------------------------------------

def _settings(inline: bool) -> Any:
    from pydantic import SecretStr

    from skinsage.settings import Settings

    env = os.environ
    return Settings(data_dir=Path(env["BENCH_DATA_DIR"]), load_demo_on_start=False, twilio_account_sid=SID,
                    twilio_auth_token=SecretStr(TOKEN), public_base_url=env["BENCH_BASE"],
                    database_url=env["BENCH_DB"], sqlite_synchronous=env["BENCH_SYNC"],  # type: ignore[arg-type]
                    channel_dispatch_threads=int(env["BENCH_DISPATCH_THREADS"]), channel_sweep_s=1.0,
                    channel_answer_inline=inline, embedded_graph_read_only=True, embedded_worker=False,
                    channel_answer_batch=int(env["BENCH_ANSWER_BATCH"]))


class CountingSender:
    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def send(self, channel: str, recipient: str, payload: dict[str, Any]) -> str:
        with self._lock:
            self.n += 1
            return f"SM{self.n:032x}"


def _engine(settings: Any, kind: str) -> tuple[Any, Any]:
    if kind != "offline":
        from opstore.testing import Directory, EchoEngine

        return Directory({}), EchoEngine()
    import torch

    torch.set_num_threads(1)
    from assistant.types import Turn
    from skinsage.bootstrap import build_engine, build_graph

    graph = build_graph(settings)
    engine: Any = build_engine(settings, graph)
    engine.llm = None
    for q in QUESTIONS:   # warm caches before the clock starts
        engine.handle(Turn(conversation_id="warm", channel="sms", text=q))
    return graph, engine


def bench_app() -> Any:
    """uvicorn factory of one HTTP worker process."""
    from api.app import create_app
    from opstore import open_store

    inline = os.environ["BENCH_INLINE"] == "1"
    settings = _settings(inline)
    if inline:
        graph, engine = _engine(settings, os.environ["BENCH_ENGINE"])
    else:   # acknowledges only; the phone -> customer lookup still goes to the real graph
        from opstore.testing import Directory, EchoEngine
        from skinsage.bootstrap import build_graph

        graph = build_graph(settings) if os.environ["BENCH_ENGINE"] == "offline" else Directory({})
        engine = EchoEngine()
    store = open_store(settings, directory=graph, migrate=False)
    app = create_app(settings, graph=graph, store=store, engine=engine)
    app.state.channel_sender = CountingSender()
    return app


def serve_http(a: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run("bench.channels:bench_app", factory=True, host="127.0.0.1", port=a.port, workers=a.http_workers,
                log_level="warning", access_log=False)


def serve_answers(a: argparse.Namespace) -> None:
    from opstore import open_store
    from opstore.worker import run_worker

    settings = _settings(inline=False)
    graph, engine = _engine(settings, os.environ["BENCH_ENGINE"])
    store = open_store(settings, directory=graph, migrate=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Path(a.ready_file).write_text("ready")
    run_worker(settings, engine, CountingSender(), stop, store=store, idle_s=0.05)


# --- the load: this process is Twilio --------------------------------------------------------------

def build_requests(base: str, n: int, replay: float) -> list[tuple[str, bytes]]:
    """(MessageSid, raw HTTP request) for n deliveries, signed now, before the clock starts."""
    from twilio.request_validator import RequestValidator

    url, validator, rng = f"{base}/v1/twilio/inbound", RequestValidator(TOKEN), random.Random(7)
    host = base.removeprefix("http://")
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        if out and rng.random() < replay:
            out.append(out[rng.randrange(len(out))])
            continue
        sid = f"SM{i + 1:032x}"
        params = {"MessageSid": sid, "AccountSid": SID, "From": f"+4915{i % 2000:08d}", "To": "+15550001111",
                  "Body": QUESTIONS[i % len(QUESTIONS)], "NumMedia": "0"}
        body = urlencode(params).encode()
        head = (f"POST /v1/twilio/inbound HTTP/1.1\r\nHost: {host}\r\nX-Twilio-Signature: "
                f"{validator.compute_signature(url, params)}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        out.append((sid, head.encode() + body))
    return out


async def load(port: int, requests: list[tuple[str, bytes]], seconds: float,
               concurrency: int) -> tuple[float, set[str], list[float], int]:
    acked: set[str] = set()
    latencies: list[float] = []
    errors, next_i = 0, 0
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors, next_i
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and next_i < len(requests):
                sid, raw = requests[next_i]
                next_i += 1
                t = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                latencies.append((time.perf_counter() - t) * 1000)
                if head.startswith(b"HTTP/1.1 200"):
                    acked.add(sid)
                else:
                    errors += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return time.perf_counter() - t0, acked, latencies, errors


def counts(url: str, acked: set[str]) -> dict[str, int]:
    from sqlalchemy import func, select

    from opstore.db import make_engine
    from opstore.models import Message

    engine = make_engine(url, pool_size=1)
    with engine.connect() as c:
        rows = dict(c.execute(select(Message.provider_message_id, Message.status).where(
            Message.direction == "in", Message.channel == "sms")).all())
        per_reply = select(Message.reply_to, func.count().label("n")).where(Message.direction == "out") \
            .group_by(Message.reply_to).subquery()
        twice = c.execute(select(func.count()).select_from(per_reply).where(per_reply.c.n > 1)).scalar_one()
    engine.dispose()
    answered = sum(1 for s in acked if rows.get(s) == "answered")
    return {"answered": answered, "lost": len(acked) - answered, "twice": int(twice)}


def cpu_seconds(roots: list[int], *, named: str | None = None) -> float:
    """CPU (user + system) of these processes and all their descendants, from /proc; with `named`,
    of every process whose command starts with it instead (the PostgreSQL server's backends)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        command, fields = stat[stat.find("(") + 1:stat.rfind(")")], stat.rsplit(")", 1)[1].split()
        if named is not None and not command.startswith(named):
            continue
        parent[int(d)], ticks[int(d)] = int(fields[1]), int(fields[11]) + int(fields[12])
    if named is not None:
        return sum(ticks.values()) / os.sysconf("SC_CLK_TCK")
    total = 0
    for pid, t in ticks.items():
        p = pid
        while p > 1:
            if p in roots:
                total += t
                break
            p = parent.get(p, 0)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    backend: str
    acked: int
    acked_s: float
    p50: float
    p95: float
    answered_s: float
    lost: int
    twice: int
    errors: int
    cpu_ms: float
    http_cpu_ms: float
    answer_cpu_ms: float
    pg_cpu_ms: float | str
    load: str


def run(backend: str, a: argparse.Namespace, tmp: Path) -> Result | str:
    from bench.pipeline import _bench_schema
    from opstore.migrate import upgrade
    from tests.support.channel_stubs import free_port

    if backend == "postgresql":
        try:
            url = _bench_schema(a.pg_url, _SCHEMA)
            upgrade(url)
        except Exception as e:  # noqa: BLE001 - the column is skipped with the reason
            return f"PostgreSQL skipped: unreachable at {a.pg_url.split('@')[-1]} ({type(e).__name__})"
    else:
        url = f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/bench.db"
        upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp / "data"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "BENCH_DATA_DIR": str(data),
           "BENCH_BASE": base, "BENCH_DB": url, "BENCH_SYNC": a.sqlite_synchronous, "BENCH_ENGINE": a.engine,
           "BENCH_DISPATCH_THREADS": str(a.dispatch_threads), "BENCH_INLINE": "0" if a.answer_workers else "1",
           "BENCH_ANSWER_BATCH": str(a.answer_batch),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, __file__, "--serve-http", "--port", str(port),
                               "--http-workers", str(a.http_workers)], env=env)]
    ready = [tmp / f"answer-{backend}-{i}.ready" for i in range(a.answer_workers)]
    procs += [subprocess.Popen([sys.executable, __file__, "--serve-answers", "--ready-file", str(r)], env=env)
              for r in ready]
    requests = build_requests(base, int(a.seconds * 1500) + 1000, a.replay)
    try:
        import httpx

        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a server process exited before the load started")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200 and all(r.exists() for r in ready):
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        roots = [p.pid for p in procs]
        http0, answer0, pg0 = cpu_seconds(roots[:1]), cpu_seconds(roots[1:]), cpu_seconds([], named="postgres")
        cpu0, load0 = cpu_seconds(roots), os.getloadavg()[0]
        secs, acked, lat, errors = asyncio.run(load(port, requests, a.seconds, a.concurrency))
        t_end_load = time.perf_counter()
        load1 = os.getloadavg()[0]
        while True:   # answered/s: from the first webhook until the last acknowledged message is answered
            got = counts(url, acked)
            if got["answered"] >= len(acked) or time.perf_counter() - t_end_load > a.drain_s:
                break
            time.sleep(0.25)
        total = secs + (time.perf_counter() - t_end_load)
        cpu = cpu_seconds(roots) - cpu0
        http, answer = cpu_seconds(roots[:1]) - http0, cpu_seconds(roots[1:]) - answer0
        pg = cpu_seconds([], named="postgres") - pg0
        per = 1000 / max(1, len(acked))
        p50, p95, _ = summary(lat)
        return Result(backend, len(acked), len(acked) / secs, p50, p95, got["answered"] / total, got["lost"],
                      got["twice"], errors, cpu * per, http * per, answer * per,
                      pg * per if backend == "postgresql" else "", f"{load0:.1f} -> {load1:.1f}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if backend == "postgresql":
            _drop_schema(a.pg_url)


_SCHEMA = f"skinsage_bench_channels_{os.getpid()}"


def _drop_schema(pg_url: str) -> None:
    from sqlalchemy import text

    from opstore.db import make_engine

    engine = make_engine(pg_url, pool_size=1)
    with engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE"))
    engine.dispose()


def prepare(a: argparse.Namespace, tmp: Path) -> None:
    """What `skinsage serve` does once before its children start: the graph and the retrieval index."""
    from skinsage.settings import Settings

    data = tmp / "data"
    if a.engine == "offline":
        from api.channels.topology import prepare_shared_state

        prepare_shared_state(Settings(data_dir=data, load_demo_on_start=True,
                                      database_url=f"sqlite:///{tmp / 'unused.db'}"))


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "NOT met"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=32, help="webhooks in flight (keep-alive connections)")
    ap.add_argument("--replay", type=float, default=0.05, help="share of deliveries that are provider retries")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--engine", choices=["offline", "echo"], default="offline")
    ap.add_argument("--http-workers", type=int, default=1, help="HTTP processes (SKINSAGE_HTTP_WORKERS)")
    ap.add_argument("--answer-workers", type=int, default=1,
                    help="answer worker processes (SKINSAGE_ANSWER_WORKERS); 0: HTTP processes answer inline. "
                         "1 HTTP + 1 answer worker measured best on 2 cores (more SQLite writers wait on its "
                         "one write lock; more processes than cores only add switching)")
    ap.add_argument("--answer-batch", type=int, default=8, help="messages per claim (SKINSAGE_CHANNEL_ANSWER_BATCH)")
    ap.add_argument("--dispatch-threads", type=int, default=2, help="inline answer threads per HTTP process")
    ap.add_argument("--sqlite-synchronous", choices=["full", "normal"], default="full")
    ap.add_argument("--drain-s", type=float, default=600.0, help="longest wait for the backlog after the load")
    ap.add_argument("--serve-http", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-answers", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ready-file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_http:
        serve_http(a)
        return
    if a.serve_answers:
        serve_answers(a)
        return
    results: list[Result] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        prepare(a, Path(tmp))
        for backend in a.backends.split(","):
            got = run(backend, a, Path(tmp))
            if isinstance(got, str):
                notes.append(got)
            else:
                results.append(got)
    topology = (f"{a.http_workers} HTTP process(es) + {a.answer_workers} answer worker(s)" if a.answer_workers
                else f"{a.http_workers} HTTP process(es) answering inline ({a.dispatch_threads} threads each)")
    print(f"{a.seconds:g} s of signed Twilio SMS webhooks over loopback, {a.concurrency} in flight, "
          f"{a.replay:.0%} retries, engine={a.engine}, sqlite synchronous={a.sqlite_synchronous}, "
          f"answer batch {a.answer_batch}, {os.cpu_count()} cores")
    print(f"topology: {topology}")
    names = [r.backend for r in results]
    rows: list[list[object]] = [
        ["acknowledged", *[r.acked for r in results], ""],
        ["acknowledged/s", *[r.acked_s for r in results], f">= {TARGET_ACKED:g}: "
         + ", ".join(f"{r.backend} {verdict(r.acked_s, TARGET_ACKED)}" for r in results)],
        ["answered/s", *[r.answered_s for r in results], f">= {TARGET_ANSWERED:g}: "
         + ", ".join(f"{r.backend} {verdict(r.answered_s, TARGET_ANSWERED)}" for r in results)],
        ["ack p50 ms", *[r.p50 for r in results], ""],
        ["ack p95 ms", *[r.p95 for r in results], ""],
        ["lost", *[r.lost for r in results], "0: " + ", ".join(
            f"{r.backend} {'met' if r.lost == 0 else 'NOT met'}" for r in results)],
        ["answered twice", *[r.twice for r in results], "0: " + ", ".join(
            f"{r.backend} {'met' if r.twice == 0 else 'NOT met'}" for r in results)],
        ["HTTP errors", *[r.errors for r in results], ""],
        ["server CPU ms/msg", *[r.cpu_ms for r in results], "all server processes"],
        [" of it HTTP (acknowledging)", *[r.http_cpu_ms for r in results], "per acknowledged message"],
        [" of it answer workers", *[r.answer_cpu_ms for r in results], "per acknowledged message"],
        ["PostgreSQL server CPU ms/msg", *[r.pg_cpu_ms for r in results], "its backends, not counted above"],
        ["load avg 1m (start -> end)", *[r.load for r in results], f"{os.cpu_count()} cores, shared"],
    ]
    print_table(["", *names, "target"], rows)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
