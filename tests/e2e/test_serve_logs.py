"""`skinsage serve` as production runs it writes only JSON lines: request ids, routes, statuses, and
no phone number or email a customer typed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_the_served_process_logs_redacted_json_with_request_ids(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"
    env = {**os.environ, "SKINSAGE_DATA_DIR": str(tmp_path / "data"), "SKINSAGE_LOAD_DEMO_ON_START": "false",
           "SKINSAGE_LOG_FORMAT": "json", "SKINSAGE_LOG_LEVEL": "info", "HF_HUB_OFFLINE": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}   # as the Dockerfile sets it: no progress bars in logs
    exe = Path(sys.executable).with_name("skinsage")
    with log.open("w") as out:
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "skinsage serve did not start"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        r = httpx.post(f"{base}/v1/chat", timeout=60, headers={"X-Request-ID": "e2e-req-42"},
                       json={"text": "call me on +49 151 1234 5678 or write to ana@example.eu"})
        assert r.status_code == 200 and r.headers["x-request-id"] == "e2e-req-42"
        httpx.get(f"{base}/no/such/page", timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]   # every line is JSON, uvicorn's included
    access = [r for r in records if r["logger"] == "skinsage.api.access"]
    chat = next(r for r in access if r.get("request_id") == "e2e-req-42")
    assert chat["route"] == "/v1/chat" and chat["status"] == 200 and chat["ms"] > 0
    assert any(r["route"] == "unmatched" and r["status"] == 404 for r in access)
    assert any(r["logger"].startswith("uvicorn") for r in records)   # the server's own lines come through too
    text = log.read_text()
    assert "ana@example.eu" not in text and "1234 5678" not in text
