"""`skinsage backup create|verify|restore`: the embedded defaults in one archive, checked on the way back.

What goes in (each under a role, so a restore lands wherever the *current* settings put that role):
`opstore` and `vision` SQLite files, copied with SQLite's online backup API (consistent while the API
and worker keep writing); `graph` the LadybugDB file and its WAL; `index` the FAISS directory;
`data` everything else under the data directory (photos, uploads), SQLite files found there again
through the online backup API. A manifest lists every member with its size and SHA-256.

Restore verifies the whole archive (checksums, nothing outside the manifest, no absolute or `..`
paths, no links) before it touches anything, stages it next to the target, and moves what was there
aside to `*.pre-restore-<time>` instead of deleting it. Neo4j and PostgreSQL have their own tools
(docs/operations.md); the manifest records when those were configured and so are not in the archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from skinsage import __version__
from skinsage.errors import InvalidInput, SkinSageError
from skinsage.settings import Settings, get_settings

FORMAT = 1
MANIFEST = "manifest.json"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SKIP_SUFFIXES = ("-wal", "-shm", "-journal")

backup_app = typer.Typer(help="Back up and restore the embedded stores (graph, SQLite, index, photos).",
                         no_args_is_help=True)


class BackupError(SkinSageError):
    """An archive is unreadable, tampered with, or would write outside its targets."""


@dataclass(frozen=True)
class Target:
    role: str
    path: Path          # a file (single-file roles) or a directory
    is_dir: bool


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def targets(s: Settings) -> list[Target]:
    """Where each role lives under these settings (roles whose backend is a server are left out)."""
    out: list[Target] = []
    if s.graph_backend == "embedded":
        out.append(Target("graph", s.graph_path, False))
    for role, url in (("opstore", s.store_url), ("vision", s.vision_database_url)):
        path = _sqlite_path(url)
        if path is not None:
            out.append(Target(role, path, False))
    out.append(Target("index", s.vector_index_dir, True))
    out.append(Target("data", s.data_dir, True))
    return out


def _backup_dir(s: Settings) -> Path:
    return s.backup_dir or (s.data_dir / "backups")


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _sqlite_copy(src: Path, dst: Path) -> None:
    """SQLite's online backup: a consistent snapshot even while another process writes."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(t: Target, skip: list[Path]) -> list[tuple[Path, str]]:
    """(file on disk, path inside the role) for one target; `skip`: paths another role covers."""
    if not t.is_dir:
        if t.role == "graph":   # the LadybugDB file and its write-ahead log
            return [(p, p.name.replace(t.path.name, "graph", 1)) for p in sorted(t.path.parent.glob(t.path.name + "*"))
                    if p.is_file()]
        return [(t.path, t.role)] if t.path.is_file() else []
    if not t.path.is_dir():
        return []
    found = []
    for p in sorted(t.path.rglob("*")):
        if not p.is_file() or p.is_symlink() or p.name.endswith(_SKIP_SUFFIXES):
            continue
        rp = p.resolve()
        if any(rp == s or s in rp.parents or (rp.parent == s.parent and rp.name.startswith(s.name)) for s in skip):
            continue   # another role has it (the graph's WAL too), or it is a backup
        found.append((p, p.relative_to(t.path).as_posix()))
    return found


def create_backup(s: Settings, output: Path | None = None) -> tuple[Path, dict[str, Any]]:
    ts = datetime.now(UTC)
    out = output or _backup_dir(s) / f"skinsage-{ts:%Y%m%dT%H%M%SZ}.tar.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    tgts = targets(s)
    tmp_archive = out.with_name(out.name + ".partial")
    covered = [t.path.resolve() for t in tgts if t.role != "data"] + [_backup_dir(s).resolve(), out.resolve(),
                                                                       tmp_archive.resolve()]
    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="skinsage-backup-") as staging:
        stage = Path(staging)
        with tarfile.open(tmp_archive, "w:gz") as tar:
            for t in tgts:
                skip = [c for c in covered if c != t.path.resolve()] if t.is_dir else []
                for src, rel in _files(t, skip):
                    member = f"{t.role}/{rel}"
                    sqlite = _is_sqlite(src)
                    copy = stage / "copy"
                    if sqlite:
                        _sqlite_copy(src, copy)
                    else:
                        shutil.copyfile(src, copy)
                    entries.append({"path": member, "role": t.role, "rel": rel, "bytes": copy.stat().st_size,
                                    "sha256": _sha256(copy), "kind": "sqlite" if sqlite else "file"})
                    tar.add(copy, arcname=member, recursive=False)
                    copy.unlink()
            manifest = {"format": FORMAT, "created_at": ts.isoformat(), "skinsage_version": __version__,
                        "roles": {t.role: {"is_dir": t.is_dir} for t in tgts}, "entries": entries,
                        "not_included": _external(s)}
            raw = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(raw), int(ts.timestamp())
            tar.addfile(info, io.BytesIO(raw))
        os.chmod(tmp_archive, 0o600)   # it holds every customer's conversations
        os.replace(tmp_archive, out)
    return out, manifest


def _external(s: Settings) -> list[str]:
    notes = []
    if s.graph_backend == "neo4j":
        notes.append("graph: Neo4j (neo4j-admin database dump, see docs/operations.md)")
    for role, url in (("opstore", s.store_url), ("vision", s.vision_database_url)):
        if _sqlite_path(url) is None:
            notes.append(f"{role}: {url.split('@')[-1]} (pg_dump, see docs/operations.md)")
    return notes


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and name == p.as_posix() and len(p.parts) >= 2


def verify_backup(archive: Path) -> dict[str, Any]:
    """Every member is in the manifest with its checksum, and nothing else is in the archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            if names.count(MANIFEST) != 1:
                raise BackupError("the archive has no manifest (or more than one)")
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            if manifest.get("format") != FORMAT:
                raise BackupError(f"unsupported backup format {manifest.get('format')!r}")
            expected = {e["path"]: e for e in manifest["entries"]}
            for m in members:
                if m.name == MANIFEST:
                    continue
                if not m.isfile() or not _safe_member(m.name) or m.name not in expected:
                    raise BackupError(f"unexpected member {m.name!r} (not a plain file listed in the manifest)")
                e = expected.pop(m.name)
                if not _safe_member(f"{e['role']}/{e['rel']}") or m.name != f"{e['role']}/{e['rel']}":
                    raise BackupError(f"manifest entry {m.name!r} does not match its role and path")
                h = hashlib.sha256()
                f = tar.extractfile(m)
                assert f is not None
                while block := f.read(1 << 20):
                    h.update(block)
                if h.hexdigest() != e["sha256"] or m.size != e["bytes"]:
                    raise BackupError(f"checksum mismatch for {m.name}: the archive is damaged or was altered")
            if expected:
                raise BackupError(f"members missing from the archive: {sorted(expected)[:5]}")
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise BackupError(f"cannot read the backup {archive}: {e}") from e
    return manifest   # type: ignore[no-any-return]


def restore_backup(s: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Verify, stage, then swap each role into place. Run with the API and worker stopped."""
    manifest = verify_backup(archive)
    by_role = {t.role: t for t in targets(s)}
    roles = sorted({e["role"] for e in manifest["entries"]})
    missing = [r for r in roles if r not in by_role]
    if missing:
        raise InvalidInput(f"the backup holds {missing}, which the current settings keep on a server; "
                           "restore those with their own tools (docs/operations.md)")
    existing = [str(by_role[r].path) for r in roles if _occupied(by_role[r])]
    if existing and not force:
        raise InvalidInput(f"would replace existing data at {existing}; stop the API and worker, then rerun "
                           "with --force (what is there is moved aside, not deleted)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    s.data_dir.mkdir(parents=True, exist_ok=True)
    restored: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=s.data_dir) as staging, \
            tarfile.open(archive, "r:gz") as tar:
        stage = Path(staging)
        for e in manifest["entries"]:
            dst = stage / e["role"] / e["rel"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(e["path"])
            assert src is not None
            with dst.open("wb") as f:
                shutil.copyfileobj(src, f)
            if _sha256(dst) != e["sha256"]:
                raise BackupError(f"{e['path']} changed while restoring")
            restored[e["role"]] = restored.get(e["role"], 0) + 1
        # the data role first: the others may live inside the data directory
        for role in sorted(roles, key=lambda r: r != "data"):
            _swap_in(by_role[role], stage / role, stamp)
    return {"restored": restored, "from": str(archive), "created_at": manifest["created_at"]}


def _occupied(t: Target) -> bool:
    if t.is_dir:
        return t.path.is_dir() and any(p for p in t.path.rglob("*") if p.is_file() and "backups" not in p.parts)
    return t.path.exists()


def _swap_in(t: Target, staged: Path, stamp: str) -> None:
    if t.is_dir:
        t.path.mkdir(parents=True, exist_ok=True)
        for src in sorted(p for p in staged.rglob("*") if p.is_file()):
            dst = t.path / src.relative_to(staged)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                os.replace(dst, dst.with_name(f"{dst.name}.pre-restore-{stamp}"))
            os.replace(src, dst)
        return
    t.path.parent.mkdir(parents=True, exist_ok=True)
    for old in list(t.path.parent.glob(t.path.name + "*")):   # the file and its -wal/-shm/.wal companions
        if old.is_file() and ".pre-restore-" not in old.name:
            os.replace(old, old.with_name(f"{old.name}.pre-restore-{stamp}"))
    for src in staged.iterdir():
        name = t.path.name if src.name in ("graph", t.role) else src.name.replace("graph", t.path.name, 1)
        os.replace(src, t.path.parent / name)


# --- the command line ---------------------------------------------------------------------------

def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@backup_app.command("create")
def create_cmd(output: Annotated[Path | None, typer.Option(help="archive path (default: <backup_dir>/skinsage-<time>.tar.gz)")] = None) -> None:
    """Archive the embedded graph, SQLite stores, vector index and photos, with a checksummed manifest."""
    try:
        path, manifest = create_backup(get_settings(), output)
    except (SkinSageError, OSError, sqlite3.Error) as e:
        _fail(e)
        return
    typer.echo(json.dumps({"archive": str(path), "files": len(manifest["entries"]),
                           "bytes": sum(e["bytes"] for e in manifest["entries"]),
                           "not_included": manifest["not_included"]}, indent=2))


@backup_app.command("verify")
def verify_cmd(archive: Path) -> None:
    """Check an archive's manifest and checksums without restoring anything."""
    try:
        manifest = verify_backup(archive)
    except SkinSageError as e:
        _fail(e)
        return
    typer.echo(json.dumps({"ok": True, "files": len(manifest["entries"]), "created_at": manifest["created_at"]}))


@backup_app.command("restore")
def restore_cmd(archive: Path,
                force: Annotated[bool, typer.Option(help="replace existing data (moved aside, not deleted)")] = False) -> None:
    """Verify an archive, then put its files back where the current settings expect them."""
    try:
        report = restore_backup(get_settings(), archive, force=force)
    except (SkinSageError, OSError) as e:
        _fail(e)
        return
    typer.echo(json.dumps(report, indent=2))
