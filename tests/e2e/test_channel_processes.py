"""`skinsage serve` as several processes (2 HTTP + 2 answer workers, and 1 + 1: uvicorn then serves in
serve's own process), for real:
signed Twilio webhooks over HTTP are acknowledged by the HTTP processes and answered, each exactly once,
by the answer worker processes it started, through a local stand-in for Twilio's REST API. Stopping it
stops every child. The real offline engine over the curated graph (embedded, opened read-only by the
children), SQLite on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from tests.support.channel_stubs import ProviderStub, eventually, free_port, serve
from tests.support.ready import wait_until_ready

SID, TOKEN = "AC" + "3" * 32, "processes-test-token"


@dataclass
class Server:
    base: str
    stub: ProviderStub
    proc: subprocess.Popen[bytes]
    data: Path
    http_workers: int
    answer_workers: int


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
               "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        log = (data / "serve.log").open("w")
        proc = subprocess.Popen([sys.executable, "-c", "from skinsage.cli import main; main()", "serve",
                                 "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(proc, base, data / "serve.log", 600)
        yield Server(base, stub, proc, data, http_workers, answer_workers)
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
