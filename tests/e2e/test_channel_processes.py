"""`skinsage serve` as several processes (2 HTTP + 2 answer workers, and 1 + 1: uvicorn then serves in
serve's own process), for real:
signed Twilio webhooks over HTTP are acknowledged by the HTTP processes and answered, each exactly once,
by the answer worker processes it started, through a local stand-in for Twilio's REST API. Stopping it
stops every child. The real offline engine over the curated graph (embedded, opened read-only by the
children), SQLite on disk."""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from tests.support.channel_stubs import ProviderStub, eventually, free_port, serve
from tests.support.ready import wait_until_ready

SID, TOKEN = "AC" + "3" * 32, "processes-test-token"
CHAT_BURST = 4
RATE_DIRS = "/dev/shm/skinsage-ratelimits-*"


@dataclass
class Server:
    base: str
    stub: ProviderStub
    proc: subprocess.Popen[bytes]
    data: Path
    http_workers: int
    answer_workers: int
    rate_dirs_before: set[str]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        out += [int(k) for k in kids]
    return out + [g for k in out for g in _children(k)]


@pytest.fixture(scope="module", params=[(2, 2), (1, 1)], ids=["2http-2answer", "1http-1answer"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    http_workers, answer_workers = request.param
    data = tmp_path_factory.mktemp("processes")
    stub = ProviderStub((SID, TOKEN), "unused")
    with serve(stub.app) as stub_base:
        port = free_port()
        env = {**os.environ, "SKINSAGE_DATA_DIR": str(data), "SKINSAGE_DEMO_CUSTOMERS": "50",
               "SKINSAGE_HTTP_WORKERS": str(http_workers), "SKINSAGE_ANSWER_WORKERS": str(answer_workers),
               "SKINSAGE_TWILIO_ACCOUNT_SID": SID, "SKINSAGE_TWILIO_AUTH_TOKEN": TOKEN,
               "SKINSAGE_TWILIO_API_BASE_URL": stub_base, "SKINSAGE_TWILIO_SMS_FROM": "+15550001111",
               "SKINSAGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SKINSAGE_LOG_LEVEL": "warning",
               "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               # a small budget per client IP for /v1/chat that barely refills during the test
               "SKINSAGE_RATE_PUBLIC_IP_BURST": str(CHAT_BURST), "SKINSAGE_RATE_PUBLIC_IP_PER_MIN": "1"}
        rate_dirs_before = set(glob.glob(RATE_DIRS))
        log = (data / "serve.log").open("w")
        proc = subprocess.Popen([sys.executable, "-c", "from skinsage.cli import main; main()", "serve",
                                 "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(proc, base, data / "serve.log", 600)
        yield Server(base, stub, proc, data, http_workers, answer_workers, rate_dirs_before)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        log.close()


def _sms(server: Server, sid: str, sender: str, body: str) -> httpx.Response:
    url = f"{server.base}/v1/twilio/inbound"
    params = {"MessageSid": sid, "AccountSid": SID, "From": sender, "To": "+15550001111", "Body": body,
              "NumMedia": "0"}
    return httpx.post(url, data=params, timeout=30,
                      headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)})


def test_serve_runs_http_and_answer_worker_processes(server: Server) -> None:
    # the `skinsage worker`s, and the uvicorn HTTP processes (with one, serve's own process serves)
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in _children(server.proc.pid)]
    assert sum(b" worker" in c for c in commands) == server.answer_workers, commands
    if server.http_workers > 1:
        assert sum(b"multiprocessing" in c for c in commands) >= server.http_workers, commands


def test_webhooks_are_answered_once_each_by_the_answer_workers(server: Server) -> None:
    people = [f"+49170000{p:04d}" for p in range(4)]
    sids = [f"SM{i + 1:032x}" for i in range(12)]
    for i, sid in enumerate(sids):
        r = _sms(server, sid, people[i % 4], "what does niacinamide do?" if i % 2 else "hi")
        assert r.status_code == 200 and r.headers["x-skinsage-status"] == "queued"
    again = _sms(server, sids[0], people[0], "hi")   # Twilio retries a delivery
    assert again.status_code == 200 and again.headers["x-skinsage-status"] == "duplicate"

    engine = create_engine(f"sqlite:///{server.data / 'skinsage.db'}")

    def outbox() -> list[tuple[str, str, str]]:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text("SELECT status, provider_id, claimed_by FROM outbox")).all()]

    done = eventually(lambda: [r for r in outbox() if r[0] == "sent"] if len(outbox()) >= 12 and
                      all(r[0] == "sent" for r in outbox()) else None, timeout=240)
    assert done, f"not all replies were sent: {outbox()}"
    time.sleep(1.0)   # a second answer to anything would have been recorded by now
    with engine.connect() as c:
        statuses: dict[str, str] = dict(c.execute(text(  # type: ignore[arg-type]
            "SELECT provider_message_id, status FROM messages WHERE direction = 'in'")).all())
        replies = c.execute(text("SELECT reply_to, count(*) FROM messages WHERE direction = 'out' GROUP BY reply_to"
                                 )).all()
    rows = outbox()
    engine.dispose()
    assert {s: statuses.get(s) for s in sids} == {s: "answered" for s in sids}
    assert len(replies) == 12 and all(n == 1 for _, n in replies)
    assert len(rows) == 12 and len({provider_id for _, provider_id, _ in rows}) == 12   # each sent once
    assert {m["To"] for m in server.stub.twilio} == set(people)
    # answered and sent by the worker processes, not by the webhooks' processes
    assert "api-dispatch" not in {claimed_by for _, _, claimed_by in rows}


def _server_pid_of(server: Server, conn: socket.socket, http_pids: list[int]) -> int | None:
    """Which HTTP process accepted this connection: the process holding the socket whose remote
    port is our local port (/proc/net/tcp gives its inode, /proc/PID/fd who has that inode)."""
    client_port, server_port = conn.getsockname()[1], int(server.base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inode = None
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].split(":")[1], 16) == server_port and int(f[2].split(":")[1], 16) == client_port:
                inode = f[9]
        for pid in http_pids:
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir():
                try:
                    if inode and inode != "0" and os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        time.sleep(0.05)   # not accepted yet
    return None


def _raw_chat(conn: socket.socket, i: int) -> int:
    body = json.dumps({"text": f"hello {i}"}).encode()
    conn.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    status = conn.makefile("rb").readline()
    conn.close()
    return int(status.split()[1])


def test_a_callers_chat_budget_is_one_budget_across_the_http_processes(server: Server) -> None:
    # one address, 12 connections accepted by each HTTP process: with a bucket per process the address
    # would get CHAT_BURST from each of them
    http_pids = [pid for pid in _children(server.proc.pid)
                 if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()] or [server.proc.pid]
    port = int(server.base.rsplit(":", 1)[1])
    per_pid: dict[int, list[socket.socket]] = {pid: [] for pid in http_pids}
    for _ in range(400):
        if all(len(c) >= 12 for c in per_pid.values()):
            break
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        pid = _server_pid_of(server, conn, http_pids)
        if pid is not None and len(per_pid[pid]) < 12:
            per_pid[pid].append(conn)
        else:
            conn.close()
    assert all(len(c) == 12 for c in per_pid.values()), {p: len(c) for p, c in per_pid.items()}
    conns = [c for group in zip(*per_pid.values(), strict=True) for c in group]   # the processes in turn
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(_raw_chat, conns, range(len(conns))))
    assert sorted(set(codes)) == [200, 429], codes
    assert codes.count(200) == CHAT_BURST, codes
    if server.http_workers > 1:
        assert len(set(glob.glob(RATE_DIRS)) - server.rate_dirs_before) == 1   # the buckets serve shares


def test_stopping_serve_stops_every_child(server: Server) -> None:
    children = _children(server.proc.pid)
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(90)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() and
                                              b"Z" not in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[1][:3]
                                              for pid in children):
        time.sleep(0.2)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
             and b"Z" not in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[1][:3]]
    assert alive == []
    assert set(glob.glob(RATE_DIRS)) - server.rate_dirs_before == set()   # serve removed its shared buckets
