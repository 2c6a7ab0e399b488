"""`POST /v1/vision/analyze` over HTTP and `skinsage vision analyze` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from skinsage.cli import app as cli
from skinsage.settings import Settings
from vision import testing as T

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data_dir = tmp_path_factory.mktemp("vision-api")
    # No lifespan (no `with`): this route needs neither the graph nor the knowledge load.
    return TestClient(create_app(Settings(load_demo_on_start=False, data_dir=data_dir,
                                          vision_max_upload_mb=2)))


def post(client: TestClient, data: bytes, name: str = "selfie.jpg", ctype: str = "image/jpeg") -> object:
    return client.post("/v1/vision/analyze", files={"photo": (name, data, ctype)})


def test_a_selfie_gets_the_analysis(client: TestClient) -> None:
    r = post(client, T.encode(T.sample(), "JPEG", quality=95))
    assert r.status_code == 200  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["quality"]["passed"] and "redness" in body["metrics"] and body["disclaimer"]


def test_a_cat_is_422_with_retake_advice(client: TestClient) -> None:
    r = post(client, T.encode(T.sample("chelsea"), "PNG"), "cat.png", "image/png")
    assert r.status_code == 422  # type: ignore[attr-defined]
    err = r.json()["error"]  # type: ignore[attr-defined]
    assert err["code"] == "no_face" and err["details"]["advice"]


def test_too_large_is_413(client: TestClient) -> None:
    r = post(client, b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"  # type: ignore[attr-defined]


@pytest.mark.parametrize("data,name", [(b"GIF89a" + b"\x00" * 40, "a.gif"), (b"%PDF-1.4 ...", "a.pdf")])
def test_gif_and_pdf_are_415_whatever_they_claim_to_be(client: TestClient, data: bytes, name: str) -> None:
    r = post(client, data, name, "image/jpeg")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"  # type: ignore[attr-defined]


@pytest.mark.parametrize("data,code", [(b"", "empty"), (b"\xff\xd8\xff\xe0garbage", "unreadable")])
def test_empty_and_broken_uploads_are_422(client: TestClient, data: bytes, code: str) -> None:
    r = post(client, data)
    assert r.status_code == 422 and r.json()["error"]["code"] == code  # type: ignore[attr-defined]


def test_a_missing_file_field_is_a_validation_error(client: TestClient) -> None:
    r = client.post("/v1/vision/analyze", data={"nothing": "here"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_the_cli_prints_the_same_result_as_json(tmp_path: Path) -> None:
    photo = tmp_path / "me.png"
    photo.write_bytes(T.encode(T.sample()))
    out = CliRunner().invoke(cli, ["vision", "analyze", str(photo), "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["quality"]["passed"] and body["analyzer_version"]


def test_the_cli_explains_a_rejection(tmp_path: Path) -> None:
    photo = tmp_path / "cat.png"
    photo.write_bytes(T.encode(T.sample("coffee")))
    out = CliRunner().invoke(cli, ["vision", "analyze", str(photo)])
    assert out.exit_code == 1 and "no face" in out.output
