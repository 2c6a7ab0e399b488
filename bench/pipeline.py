"""Message pipeline throughput on the operational store, SQLite and PostgreSQL side by side.

    python bench/pipeline.py [--messages 3000 --threads 4 --workers 2 --replay 0.1]

receive: concurrent webhook-like `store.receive` calls (a share of them provider retries), i.e.
messages persisted and acknowledged per second. process: `--workers` threads running the worker loop
(`opstore.worker.run_once`: claim, trivial fake engine, record reply + outbox) until the backlog is
empty, then delivering the outbox through a counting fake sender. Afterwards the store itself is
counted: every acknowledged message must be there and answered (lost = 0), no inbound message may
have two replies or two sends (answered twice = 0). PostgreSQL is SKINSAGE_TEST_POSTGRES_URL (start
one with scripts/postgres-test-server.sh start), in a schema of its own (`skinsage_bench`) whose
tables are emptied first.

The functions are reusable: the channels' HTTP/webhook load figure drives `receive_load` through
real HTTP and reuses `drain` and `audit`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.types import InboundMessage, Reply, Turn
from bench._util import print_table, summary
from opstore.migrate import upgrade
from opstore.models import Base, Message, OutboxRow
from opstore.schemas import Received
from opstore.service import StoreService
from opstore.testing import RecordingSender, make_store
from opstore.worker import WorkerStats, run_once

PG_URL = os.environ.get("SKINSAGE_TEST_POSTGRES_URL",
                        "postgresql+psycopg://skinsage_test:skinsage_test@127.0.0.1:5432/skinsage_test")


class TrivialEngine:
    """Costs nothing, so the figure is the store's, not the assistant's."""

    def handle(self, turn: Turn) -> Reply:
        return Reply(text=f"ok: {turn.text}", state={"n": int(turn.state.get("n", 0)) + 1})


def fresh_store(backend: str, tmp: Path) -> StoreService:
    """`sqlite` (synchronous=full, the default), `sqlite-normal`, or `postgresql` (tables emptied)."""
    sqlite = backend.startswith("sqlite")
    url = f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/bench.db" if sqlite else _bench_schema(PG_URL)
    upgrade(url)
    store = make_store(url, sqlite_synchronous="normal" if backend == "sqlite-normal" else "full")
    if not sqlite:
        assert store.database is not None
        with store.database.engine.begin() as c:
            c.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
    return store


def _bench_schema(url: str, schema: str = "skinsage_bench") -> str:
    """The bench's own schema, so it never empties the tables a concurrent test run is using."""
    from opstore.db import make_engine

    engine = make_engine(url, pool_size=1)
    with engine.begin() as c:
        c.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def inbound_stream(n: int, users: int = 500, replay: float = 0.1) -> list[InboundMessage]:
    """n deliveries from `users` people; a `replay` share repeats an earlier provider id (a retry)."""
    out: list[InboundMessage] = []
    step = int(1 / replay) if replay > 0 else 0
    for i in range(n):
        sid = f"SM{(i - 1) if step and i % step == step - 1 else i:08d}"
        out.append(InboundMessage(channel="sms", channel_user_id=f"+4915{int(sid[2:]) % users:08d}",
                                  text=f"question {sid}", provider_message_id=sid))
    return out


def receive_load(deliver: Callable[[InboundMessage], Received], messages: list[InboundMessage],
                 threads: int) -> tuple[float, list[float], list[Received]]:
    """Seconds, per-call latencies (ms) and results of delivering `messages` over `threads`."""
    latencies: list[float] = []

    def one(m: InboundMessage) -> Received:
        t = time.perf_counter()
        got = deliver(m)
        latencies.append((time.perf_counter() - t) * 1000)
        return got

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, messages))
    return time.perf_counter() - t0, latencies, results


def drain(store: StoreService, workers: int, *, engine: object | None = None,
          sender: RecordingSender | None = None) -> tuple[float, WorkerStats]:
    """Run `workers` worker loops until nothing is pending (engine) or due (sender)."""
    stats, lock = WorkerStats(), threading.Lock()

    def loop(n: int) -> None:
        mine = WorkerStats()
        while run_once(store, engine, sender, f"bench-{n}", mine, batch=50):  # type: ignore[arg-type]
            pass
        with lock:
            for k, v in vars(mine).items():
                setattr(stats, k, getattr(stats, k) + v)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, stats


def audit(store: StoreService, acknowledged: set[str], sends: int | None = None) -> dict[str, int]:
    """Counted in the store: lost = acknowledged but missing or unanswered; twice = >1 reply or send."""
    assert store.database is not None
    with store.database.engine.connect() as c:
        answered = set(c.execute(select(Message.id).where(Message.direction == "in",
                                                          Message.status == "answered")).scalars())
        replies = select(Message.reply_to, func.count().label("n")).where(Message.direction == "out") \
            .group_by(Message.reply_to).subquery()
        twice = c.execute(select(func.count()).select_from(replies).where(replies.c.n > 1)).scalar_one()
        outbox = c.execute(select(func.count()).select_from(OutboxRow)).scalar_one()
        sent = c.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "sent")).scalar_one()
    result = {"acknowledged": len(acknowledged), "answered": len(answered & acknowledged),
              "lost": len(acknowledged - answered), "answered_twice": int(twice), "outbox": int(outbox),
              "sent": int(sent)}
    if sends is not None:
        result["sends_over_rows"] = sends - int(outbox)
    return result


def reply_latencies(store: StoreService) -> list[float]:
    """Milliseconds from an inbound message's persistence to its reply's, from the store's own clocks."""
    assert store.database is not None
    reply = aliased(Message)
    with store.database.engine.connect() as c:
        rows = c.execute(select(Message.created_at, reply.created_at).join(reply, reply.reply_to == Message.id))
        return [(b - a).total_seconds() * 1000 for a, b in rows]


def concurrent(store: StoreService, messages: list[InboundMessage], threads: int,
               workers: int) -> tuple[float, set[str], RecordingSender]:
    """Receivers and workers at once, as in production: until every acknowledged message is sent."""
    sender, stop = RecordingSender(), threading.Event()

    def work(n: int) -> None:
        stats = WorkerStats()
        while not stop.is_set():
            if not run_once(store, TrivialEngine(), sender, f"mixed-{n}", stats, batch=50):
                time.sleep(0.005)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    try:
        _, _, results = receive_load(store.receive, messages, threads)
        acked = {r.message_id for r in results}
        while len(sender.sent) < len(acked) and time.perf_counter() - t0 < 600:  # bounded, always
            time.sleep(0.01)
        return time.perf_counter() - t0, acked, sender
    finally:
        stop.set()
        for t in pool:
            t.join()


def run(backend: str, n: int, threads: int, workers: int, replay: float) -> tuple[list[object], list[object]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = fresh_store(backend, Path(tmp))
        secs, lat, results = receive_load(store.receive, inbound_stream(n, replay=replay), threads)
        acked = {r.message_id for r in results}
        dupes = sum(r.duplicate for r in results)
        p_secs, stats = drain(store, workers, engine=TrivialEngine())
        sender = RecordingSender()
        d_secs, _ = drain(store, workers, sender=sender)
        counts = audit(store, acked, len(sender.sent))
        store.close()
        phases = [backend, n, dupes, n / secs, summary(lat)[0], summary(lat)[1], stats.processed / p_secs,
                  counts["sent"] / d_secs, counts["lost"], counts["answered_twice"], counts["sends_over_rows"]]

        store = fresh_store(backend, Path(tmp))
        m_secs, m_acked, m_sender = concurrent(store, inbound_stream(n, replay=replay), threads, workers)
        m_counts = audit(store, m_acked, len(m_sender.sent))
        e2e = summary(reply_latencies(store))
        store.close()
        mixed = [backend, len(m_acked), len(m_acked) / m_secs, e2e[0], e2e[1], m_counts["lost"],
                 m_counts["answered_twice"], m_counts["sends_over_rows"]]
    return phases, mixed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=4, help="concurrent receivers (webhook handlers)")
    ap.add_argument("--workers", type=int, default=2, help="concurrent worker loops")
    ap.add_argument("--replay", type=float, default=0.1, help="share of deliveries that are provider retries")
    ap.add_argument("--backends", default="sqlite,sqlite-normal,postgresql")
    a = ap.parse_args()
    results = [run(b, a.messages, a.threads, a.workers, a.replay) for b in a.backends.split(",")]
    print(f"{a.messages} deliveries ({a.replay:.0%} replays), {a.threads} receiver threads, "
          f"{a.workers} workers, trivial engine, {os.cpu_count()} cores")
    print("\nOne phase at a time (receive all, then answer all, then send all):")
    print_table(["backend", "deliveries", "replays", "received/s", "recv p50 ms", "recv p95 ms",
                 "answered/s", "sent/s", "lost", "answered twice", "extra sends"], [r[0] for r in results])
    print("\nAll at once (receivers and workers together, until every acknowledged message is sent):")
    print_table(["backend", "acknowledged", "answered+sent/s", "reply p50 ms", "reply p95 ms", "lost",
                 "answered twice", "extra sends"], [r[1] for r in results])


if __name__ == "__main__":
    main()
