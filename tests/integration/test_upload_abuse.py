"""Hostile uploads and paths: decompression bombs, lying content types, traversal in file names and
URLs, compressed request bodies, and a full disk while a photo is being saved."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import event

from graph.model import KnowledgeBundle
from tests.support.hardening import CHANNELS_CONFIGURED, running_app


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 120)).save(buf, "PNG")
    raw = bytearray(buf.getvalue())
    ihdr = raw[16:29]   # after signature(8) + length(4) + b"IHDR"(4)
    ihdr[0:8] = struct.pack(">II", width, height)
    raw[16:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(raw)


def _real_bomb() -> bytes:
    """72 million pixels of one colour: a few kilobytes on the wire, 216 MB once decoded as RGB."""
    buf = io.BytesIO()
    Image.new("1", (9000, 8000), 0).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle,
               minilm: Any) -> Iterator[tuple[TestClient, FastAPI, Path]]:
    tmp = tmp_path_factory.mktemp("uploads")
    from vision import analyze_photo

    with running_app(tmp, fixture_bundle, minilm, photos=analyze_photo, **CHANNELS_CONFIGURED) as (client, app):
        yield client, app, tmp


def _guest(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/widget/session', json={}).json()['session_token']}"}


@pytest.mark.parametrize("bomb", ["header_says_400_megapixels", "real_72_megapixel_png"])
def test_decompression_bombs_are_refused_before_decoding(app_client: tuple[TestClient, FastAPI, Path],
                                                         bomb: str) -> None:
    client, _, _ = app_client
    data = _png(20_000, 20_000) if bomb.startswith("header") else _real_bomb()
    assert len(data) < 2_000_000
    vision = client.post("/v1/vision/analyze", files={"photo": ("me.png", data, "image/png")})
    assert vision.status_code == 413 and vision.json()["error"]["code"] == "too_many_pixels"
    widget = client.post("/widget/photos", headers=_guest(client), data={"client_message_id": f"bomb-{bomb}"[:60]},
                         files={"photo": ("me.png", data, "image/png")})
    # the widget keeps the (small) file as the visitor's message; the analysis refuses it from the header
    assert widget.status_code == 200 and "event: done" in widget.text
    assert "too many pixels" in widget.text or "the limit is 60" in widget.text


@pytest.mark.parametrize(("name", "body", "ctype"), [
    ("me.jpg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/jpeg"),
    ("me.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
    ("me.jpg", b"MZ\x90\x00" + b"\0" * 200, "image/jpeg"),
    ("me.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),   # a PNG signature and nothing behind it
])
def test_files_that_lie_about_their_type_are_refused(app_client: tuple[TestClient, FastAPI, Path], name: str,
                                                      body: bytes, ctype: str) -> None:
    client, _, _ = app_client
    r = client.post("/v1/vision/analyze", files={"photo": (name, body, ctype)})
    assert r.status_code in (415, 422) and r.json()["error"]["code"] != "internal_error"


@pytest.mark.parametrize("filename", ["../../../../tmp/skinsage-owned.jpg", "/etc/passwd", "..\\..\\win.ini",
                                      "a/../../b.jpg", "x" * 4000 + ".jpg", "nul\x00.jpg"])
def test_upload_file_names_never_become_paths(app_client: tuple[TestClient, FastAPI, Path], filename: str) -> None:
    client, _, tmp = app_client
    before = {p for p in tmp.parent.rglob("*")}
    r = client.post("/widget/photos", headers=_guest(client),
                    data={"client_message_id": f"trav-{abs(hash(filename)) % 10**8:08d}"},
                    files={"photo": (filename, _jpeg(), "image/jpeg")})
    assert r.status_code < 500
    assert not Path("/tmp/skinsage-owned.jpg").exists()
    created = {p for p in tmp.parent.rglob("*")} - before
    assert all(tmp in p.parents for p in created), created   # nothing written outside the data directory
    assert not [p for p in created if "owned" in p.name or "passwd" in p.name or "win.ini" in p.name]


@pytest.mark.parametrize("path", ["/console/static/..", "/console/static/..%2F..%2Fskinsage%2Fsettings.py",
                                  "/console/static/%2e%2e%2f%2e%2e%2fpyproject.toml", "/widget.js/../../pyproject.toml",
                                  "/v1/ingredients/..%2F..%2Fetc%2Fpasswd"])
def test_traversal_in_urls_reads_no_file(app_client: tuple[TestClient, FastAPI, Path], path: str) -> None:
    client, _, _ = app_client
    r = client.get(path)
    assert r.status_code in (404, 422) or "[project]" not in r.text
    assert "[project]" not in r.text and "SKINSAGE_" not in r.text and "root:" not in r.text


def test_a_gzip_bomb_request_body_is_not_inflated(app_client: tuple[TestClient, FastAPI, Path]) -> None:
    client, _, _ = app_client
    bomb = gzip.compress(b'{"text": "' + b"a" * 50_000_000 + b'"}', compresslevel=9)
    assert len(bomb) < 100_000
    r = client.post("/v1/chat", content=bomb, headers={"content-type": "application/json",
                                                        "content-encoding": "gzip"})
    assert 400 <= r.status_code < 500


def test_many_tiny_form_parts_are_refused(app_client: tuple[TestClient, FastAPI, Path]) -> None:
    client, _, _ = app_client
    fields = {f"f{i}": "x" for i in range(5000)}
    r = client.post("/widget/photos", headers=_guest(client), data={"client_message_id": "parts-0001", **fields},
                    files={"photo": ("me.jpg", _jpeg(), "image/jpeg")})
    assert 400 <= r.status_code < 500


def test_a_full_disk_during_a_photo_upload_is_507_and_loses_nothing_after(
        tmp_path: Path, fixture_bundle: KnowledgeBundle, minilm: Any) -> None:
    with running_app(tmp_path, fixture_bundle, minilm, **CHANNELS_CONFIGURED) as (client, app):
        engine = app.state.store.database.engine
        guest = _guest(client)
        cap: dict[str, Any] = {"pages": None}

        @event.listens_for(engine, "connect")
        def _cap(dbapi: Any, _: Any) -> None:
            if cap["pages"]:
                dbapi.execute(f"PRAGMA max_page_count = {cap['pages']}")

        with engine.connect() as conn:
            cap["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
        engine.dispose()
        photo = _jpeg() + b"\0" * 300_000   # bigger than the room left
        body = {"client_message_id": "full-disk-0001"}
        r = client.post("/widget/photos", headers=guest, data=body, files={"photo": ("me.jpg", photo, "image/jpeg")})
        assert r.status_code == 507 and r.json()["error"]["code"] == "insufficient_storage"
        assert "not saved" in r.json()["error"]["message"]
        cap["pages"] = None
        engine.dispose()
        again = client.post("/widget/photos", headers=guest, data=body,
                            files={"photo": ("me.jpg", photo, "image/jpeg")})
        assert again.status_code == 200 and "event: received" in again.text
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM message_media").scalar() == 1
