"""`skinsage backup`: the embedded stores go into one archive and come back byte for byte; a damaged
or hostile archive is refused before anything on disk is touched."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.types import InboundMessage
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from skinsage.backup import BackupError, create_backup, restore_backup
from skinsage.errors import InvalidInput
from skinsage.settings import Settings, get_settings
from vision.store import SqlAnalysisRepository

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def _settings(root: Path) -> Settings:
    return Settings(data_dir=root, load_demo_on_start=False)  # type: ignore[arg-type]


@pytest.fixture
def populated(tmp_path: Path, fixture_bundle: KnowledgeBundle) -> Settings:
    s = _settings(tmp_path / "var")
    s.data_dir.mkdir()
    with EmbeddedGraphStore(s.graph_path) as graph:
        graph.load(fixture_bundle)
    store = open_store(s)
    got = store.receive(InboundMessage(channel="sms", channel_user_id="+4915112345678", text="is my order late?"))
    store.close()
    SqlAnalysisRepository(s.vision_database_url)
    with sqlite3.connect(s.data_dir / "vision.sqlite3") as db:
        db.execute("INSERT INTO vision_analyses VALUES ('a1', 'cus-ana', '2026-11-01 10:00:00', 'v1', '{}')")
    (s.vector_index_dir).mkdir(parents=True)
    (s.vector_index_dir / "vectors.faiss").write_bytes(b"FAISS" * 1000)
    (s.vector_index_dir / "items.json").write_text('{"embedder": "minilm", "items": []}')
    (s.data_dir / "photos" / "cus-ana").mkdir(parents=True)
    (s.data_dir / "photos" / "cus-ana" / "p1.jpg").write_bytes(PHOTO)
    (s.data_dir / "message_id").write_text(got.message_id)
    return s


def test_backup_then_restore_elsewhere_gives_back_every_store(populated: Settings, tmp_path: Path,
                                                              fixture_bundle: KnowledgeBundle) -> None:
    archive, manifest = create_backup(populated)
    assert archive.parent == populated.data_dir / "backups" and archive.stat().st_mode & 0o077 == 0
    roles = {e["role"] for e in manifest["entries"]}
    assert roles == {"graph", "opstore", "vision", "index", "data"}
    assert {e["path"] for e in manifest["entries"] if e["kind"] == "sqlite"} >= {"opstore/opstore", "vision/vision"}
    assert not [e for e in manifest["entries"] if e["role"] == "data" and ("graph" in e["rel"] or ".db" in e["rel"])]

    fresh = _settings(tmp_path / "elsewhere")
    report = restore_backup(fresh, archive)
    assert report["restored"]["data"] == 2   # the photo and the marker file

    assert (fresh.data_dir / "photos" / "cus-ana" / "p1.jpg").read_bytes() == PHOTO
    assert (fresh.vector_index_dir / "vectors.faiss").read_bytes() == b"FAISS" * 1000
    with EmbeddedGraphStore(fresh.graph_path) as graph:
        assert graph.stats().counts["Product"] == len(fixture_bundle.products)
        assert graph.customer("cus-ana").customer.name == "Ana Keller"
    store = open_store(fresh)
    try:
        assert store.pending_inbound() == [(fresh.data_dir / "message_id").read_text()]
    finally:
        store.close()
    with sqlite3.connect(fresh.data_dir / "vision.sqlite3") as db:
        assert db.execute("SELECT customer_id FROM vision_analyses").fetchall() == [("cus-ana",)]


def test_a_live_store_is_backed_up_consistently(populated: Settings) -> None:
    store = open_store(populated)   # held open, WAL and all, as the running API holds it
    try:
        store.receive(InboundMessage(channel="sms", channel_user_id="+4915100000000", text="second"))
        archive, manifest = create_backup(populated)
    finally:
        store.close()
    entry = next(e for e in manifest["entries"] if e["role"] == "opstore")
    with tarfile.open(archive) as tar:
        raw = tar.extractfile(entry["path"]).read()  # type: ignore[union-attr]
    copy = populated.data_dir.parent / "copy.db"
    copy.write_bytes(raw)
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM messages WHERE direction = 'in'").fetchone() == (2,)


def test_restore_over_existing_data_needs_force_and_keeps_the_old_files(populated: Settings) -> None:
    archive, _ = create_backup(populated)
    photo = populated.data_dir / "photos" / "cus-ana" / "p1.jpg"
    photo.write_bytes(b"newer photo")
    with pytest.raises(InvalidInput, match="--force"):
        restore_backup(populated, archive)
    assert photo.read_bytes() == b"newer photo"
    restore_backup(populated, archive, force=True)
    assert photo.read_bytes() == PHOTO
    assert [p.read_bytes() for p in photo.parent.glob("p1.jpg.pre-restore-*")] == [b"newer photo"]
    assert list(populated.data_dir.glob("skinsage.db.pre-restore-*"))


def _rewrite(archive: Path, out: Path, change: dict[str, bytes | None], extra: dict[str, bytes] | None = None,
             manifest_too: bool = False) -> Path:
    """Copy an archive, replacing (or, with None, dropping) members; optionally list the extras in the manifest."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        manifest = json.loads(src.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for m in src.getmembers():
            data = src.extractfile(m).read()  # type: ignore[union-attr]
            if m.name in change:
                if change[m.name] is None:
                    continue
                data = change[m.name]  # type: ignore[assignment]
            if m.name == "manifest.json" and manifest_too:
                for name, body in (extra or {}).items():
                    manifest["entries"].append({"path": name, "role": "data", "rel": name.split("/", 1)[-1],
                                                "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                                                "kind": "file"})
                data = json.dumps(manifest).encode()
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
        for name, body in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    return out


@pytest.mark.parametrize("case", ["altered_photo", "missing_member", "path_traversal", "absolute_path",
                                  "unlisted_member", "not_an_archive"])
def test_a_damaged_or_hostile_archive_is_refused_before_anything_is_written(populated: Settings, tmp_path: Path,
                                                                           case: str) -> None:
    archive, _ = create_backup(populated)
    bad = tmp_path / f"{case}.tar.gz"
    if case == "altered_photo":
        _rewrite(archive, bad, {"data/photos/cus-ana/p1.jpg": b"\xff\xd8 evil"})
    elif case == "missing_member":
        _rewrite(archive, bad, {"index/vectors.faiss": None})
    elif case == "path_traversal":
        _rewrite(archive, bad, {}, {"data/../../escaped.txt": b"owned"}, manifest_too=True)
    elif case == "absolute_path":
        _rewrite(archive, bad, {}, {"/tmp/escaped.txt": b"owned"}, manifest_too=True)
    elif case == "unlisted_member":
        _rewrite(archive, bad, {}, {"data/planted.sh": b"#!/bin/sh"})
    else:
        bad.write_bytes(b"PK\x03\x04 a zip, not ours")
    target = _settings(tmp_path / "target")
    with pytest.raises(BackupError):
        restore_backup(target, bad)
    assert not target.data_dir.exists() or not any(target.data_dir.rglob("*"))
    assert not (tmp_path / "escaped.txt").exists() and not (populated.data_dir.parent / "escaped.txt").exists()


def test_the_command_line_creates_verifies_and_restores(populated: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from skinsage.cli import app

    runner = CliRunner()
    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(populated.data_dir))
    get_settings.cache_clear()
    out = tmp_path / "b.tar.gz"
    made = runner.invoke(app, ["backup", "create", "--output", str(out)])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["files"] >= 7
    assert runner.invoke(app, ["backup", "verify", str(out)]).exit_code == 0
    refused = runner.invoke(app, ["backup", "restore", str(out)])
    assert refused.exit_code == 1 and "--force" in refused.output
    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path / "restored"))
    get_settings.cache_clear()
    done = runner.invoke(app, ["backup", "restore", str(out)])
    get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert (tmp_path / "restored" / "photos" / "cus-ana" / "p1.jpg").read_bytes() == PHOTO
