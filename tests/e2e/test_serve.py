"""README command 1, for real: `skinsage serve` in its own process, queried over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ready import wait_until_ready


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "SKINSAGE_DATA_DIR": str(data), "SKINSAGE_DEMO_CUSTOMERS": "50"}
    exe = Path(sys.executable).with_name("skinsage")
    log = (data / "serve.log").open("w")   # a file, not a pipe: nobody drains a pipe, and a full one blocks the server
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(proc, base, data / "serve.log", 120)
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_serve_is_ready_with_the_curated_knowledge(server: str) -> None:
    body = httpx.get(f"{server}/ready").json()
    assert body["status"] == "ok" and body["graph"]["backend"] == "embedded"
    assert body["graph"]["counts"]["Ingredient"] >= 150 and body["graph"]["counts"]["Product"] >= 120


def test_niacinamide_comes_with_its_concerns(server: str) -> None:
    r = httpx.get(f"{server}/v1/ingredients/niacinamide")
    assert r.status_code == 200
    concerns = {a["concern"] for a in r.json()["ingredient"]["addresses"]}
    assert {"enlarged-pores", "excess-oil"} <= concerns


def test_a_pregnant_customer_gets_no_retinoid_over_http(server: str) -> None:
    r = httpx.get(f"{server}/v1/products", params={"concerns": ["fine-lines"], "pregnant_or_breastfeeding": True,
                                                   "limit": 20})
    assert r.status_code == 200 and r.json()
    for match in r.json():
        product = httpx.get(f"{server}/v1/products/{match['sku']}").json()
        for ing in product["ingredients"]:
            detail = httpx.get(f"{server}/v1/ingredients/{ing['id']}").json()["ingredient"]
            assert detail["pregnancy"] not in ("avoid", "caution"), (match["sku"], ing["id"])
