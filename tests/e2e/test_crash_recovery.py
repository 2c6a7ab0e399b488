"""The process is killed (SIGKILL) under load and started again: every message it acknowledged is
answered exactly once, and so is every message it had saved but not yet acknowledged.

Real processes, real HTTP, SQLite on disk (full fsync). The lease is 2 s so that messages the dead
process had claimed come back quickly; in production it is `SKINSAGE_PROCESSING_LEASE_S`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.support.hardening import wait_until_answered

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 6
KILL_AFTER_ACKS = 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SKINSAGE_PROCESSING_LEASE_S": "2",
           "SKINSAGE_RATE_PUBLIC_IP_PER_MIN": "100000", "SKINSAGE_RATE_PUBLIC_IP_BURST": "10000",
           "SKINSAGE_OUTBOX_BACKOFF_BASE_S": "0.2", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.chaos_app", str(data_dir), str(port)], cwd=ROOT,
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


def _load(port: int, acked: dict[str, str], stop: threading.Event, client_no: int) -> None:
    n = 0
    questions = ["what does niacinamide do?", "hello", "recommend something for oily skin",
                 "can I use retinol with vitamin c?", "thanks"]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        while not stop.is_set():
            n += 1
            conv, cmid = f"chaos-conv-{client_no:02d}", f"m{n:04d}"
            try:
                r = http.post("/v1/chat", json={"conversation_id": conv, "client_message_id": cmid,
                                                "text": questions[n % len(questions)]})
            except httpx.HTTPError:
                return   # the server died: this request was never acknowledged
            if r.status_code == 200:
                acked[f"{conv}:{cmid}"] = r.json()["status"]


def test_killed_under_load_then_restarted_answers_every_message_exactly_once(tmp_path: Path) -> None:
    server_dir = tmp_path
    log = server_dir / "server.log"
    port = _port()
    proc = _start(server_dir, port, log)
    acked: dict[str, str] = {}
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(port, acked, stop, i)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)   # mid-load: requests are in flight, some messages claimed
    proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= KILL_AFTER_ACKS, log.read_text()[-3000:]

    proc = _start(server_dir, port, log)
    db = create_engine(f"sqlite:///{server_dir / 'skinsage.db'}")
    try:
        wait_until_answered(db, 90, poll_s=0.5)
        with db.connect() as c:
            inbound = dict(c.execute(text("SELECT provider_message_id, status FROM messages "
                                          "WHERE direction = 'in'")).all())
            replies = dict(c.execute(text("SELECT m.provider_message_id, count(r.id) FROM messages m "
                                          "LEFT JOIN messages r ON r.reply_to = m.id AND r.direction = 'out' "
                                          "WHERE m.direction = 'in' GROUP BY m.id")).all())
    finally:
        db.dispose()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    lost = sorted(k for k in acked if k not in inbound)
    unanswered = sorted(k for k, n in replies.items() if n == 0)
    twice = sorted(k for k, n in replies.items() if n > 1)
    saved_not_acked = len(inbound) - len(acked)
    print(f"\ncrash test: acknowledged {len(acked)}, saved {len(inbound)} ({saved_not_acked} saved but not "
          f"acknowledged when killed), answered {sum(1 for n in replies.values() if n == 1)}, lost {len(lost)}, "
          f"unanswered {len(unanswered)}, answered twice {len(twice)}")
    assert not lost, f"acknowledged but not in the store: {lost}"
    assert not unanswered, f"never answered: {unanswered}; statuses {[inbound[k] for k in unanswered]}"
    assert not twice, f"answered more than once: {twice}"
    assert all(inbound[k] == "answered" for k in acked)
