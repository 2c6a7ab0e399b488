"""The vector index on disk: FAISS vectors plus a JSON sidecar of item metadata and content hashes.

Derived data: `sync` makes the index equal to a list of items, re-embedding only items that are new
or whose content hash changed, and deleting the rest, so editing one document costs a handful of
embeddings instead of a rebuild. Items are embedded in id order, so a rebuild from the same sources
with the same embedder gives the same ids and the same vectors. A changed embedder (model or
precision) invalidates every vector and triggers a full re-embed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from retrieval.embedder import Embedder
from retrieval.models import IndexItem
from skinsage.errors import InvalidInput, SkinSageError
from skinsage.files import replaced_atomically

log = logging.getLogger(__name__)
Storage = Literal["float32", "float16"]
_FORMAT = 1


class SyncReport(BaseModel):
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    embedded: int = 0
    seconds: float = 0.0
    total: int = 0


def faiss_id(item_id: str) -> int:
    """A stable 63-bit integer for a string id (FAISS ids are int64)."""
    return int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "little") & (2**63 - 1)


class VectorIndex(ABC):
    """Nearest items to a query vector, kept in step with a list of items."""

    @abstractmethod
    def sync(self, items: list[IndexItem], embedder: Embedder, *, rebuild: bool = False) -> SyncReport: ...

    @abstractmethod
    def search(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]: ...

    @abstractmethod
    def items(self) -> list[IndexItem]: ...


class FaissVectorIndex(VectorIndex):
    """IndexIDMap2 over exact inner-product search (vectors are unit length, so IP = cosine).

    `storage="float16"` keeps vectors as fp16 codes (IndexScalarQuantizer): still exhaustive, half the
    memory traffic, which is what a single-query search over tens of thousands of vectors is bound by.
    """

    def __init__(self, directory: Path | None = None, *, storage: Storage = "float32") -> None:
        import faiss  # heavy native import stays inside the adapter

        faiss.omp_set_num_threads(1)
        self._faiss = faiss
        self.directory = Path(directory) if directory else None
        self.storage = storage
        self._items: dict[str, IndexItem] = {}
        self._by_fid: dict[int, str] = {}
        self._embedder_name: str | None = None
        self._index: Any = None
        self._unsaved = False      # in memory differs from disk (a storage conversion not yet written)
        if self.directory and (self.directory / "items.json").exists():
            self._load()

    # --- persistence -----------------------------------------------------------------------------
    @property
    def _paths(self) -> tuple[Path, Path]:
        assert self.directory is not None
        return self.directory / "vectors.faiss", self.directory / "items.json"

    def _load(self) -> None:
        vec_path, meta_path = self._paths
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            index: Any = self._faiss.read_index(str(vec_path))
            items = [IndexItem(**x) for x in meta["items"]]
            stored = set(self._faiss.vector_to_array(index.id_map).tolist())
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
            log.warning("vector index at %s is unreadable (%s); it will be rebuilt", self.directory, e)
            return
        if (meta.get("format") != _FORMAT or stored != {faiss_id(i.id) for i in items}
                or index.ntotal != len(items)):
            log.warning("vector index at %s does not match its sidecar; it will be rebuilt", self.directory)
            return
        if meta.get("storage") != self.storage:
            log.info("vector index at %s: converting %s codes to %s (no re-embedding)",
                     self.directory, meta.get("storage"), self.storage)
            index = self._recode(index)
            self._unsaved = True
        self._index = index
        self._embedder_name = meta["embedder"]
        self._items = {i.id: i for i in items}
        self._by_fid = {faiss_id(i): i for i in self._items}

    def _save(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        vec_path, meta_path = self._paths
        meta = {"format": _FORMAT, "embedder": self._embedder_name, "storage": self.storage,
                "dim": self._index.d, "items": [self._items[k].model_dump() for k in sorted(self._items)]}
        # vectors first, then the sidecar: a crash between the two is caught by _load's id check
        with replaced_atomically(meta_path) as tmp_meta, replaced_atomically(vec_path) as tmp_vec:
            self._faiss.write_index(self._index, str(tmp_vec))
            tmp_meta.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        self._unsaved = False

    def _recode(self, index: Any) -> Any:
        """The same vectors under this index's storage: a storage change costs no embedding."""
        ids = self._faiss.vector_to_array(index.id_map)
        vectors = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), "float32")
        recoded = self._empty(index.d)
        if len(ids):
            recoded.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return recoded

    # --- the port --------------------------------------------------------------------------------
    def _empty(self, dim: int) -> Any:
        f = self._faiss
        inner = (f.IndexFlatIP(dim) if self.storage == "float32"
                 else f.IndexScalarQuantizer(dim, f.ScalarQuantizer.QT_fp16, f.METRIC_INNER_PRODUCT))
        return f.IndexIDMap2(inner)

    def sync(self, items: list[IndexItem], embedder: Embedder, *, rebuild: bool = False) -> SyncReport:
        started = time.perf_counter()
        wanted: dict[str, IndexItem] = {}
        for item in items:
            if item.id in wanted:
                raise InvalidInput(f"duplicate index item id {item.id!r}")
            wanted[item.id] = item
        fids = {faiss_id(i): i for i in wanted}
        if len(fids) != len(wanted):  # pragma: no cover - 63-bit collision
            raise SkinSageError("two index item ids hash to the same FAISS id")
        if rebuild or self._index is None or self._embedder_name != embedder.name or self._index.d != embedder.dim:
            self._index, self._items, self._by_fid = self._empty(embedder.dim), {}, {}
            self._embedder_name = embedder.name
            self._unsaved = True
        old = self._items
        deleted = sorted(set(old) - set(wanted))
        changed = sorted(i for i in wanted if i in old and old[i].content_hash != wanted[i].content_hash)
        added = sorted(set(wanted) - set(old))
        gone = deleted + changed
        if gone:
            self._index.remove_ids(np.asarray([faiss_id(i) for i in gone], dtype=np.int64))
        todo = sorted(added + changed)
        if todo:
            vectors = embedder.encode([wanted[i].embed_text for i in todo])
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray([faiss_id(i) for i in todo], dtype=np.int64))
        # unchanged items may still carry new metadata (a citation)
        unsaved = self._unsaved or bool(gone or todo) or any(old.get(i) != item for i, item in wanted.items())
        self._items = wanted
        self._by_fid = fids
        if unsaved:   # a sync that changes nothing writes nothing: processes starting together share the files
            self._save()
        return SyncReport(added=len(added), updated=len(changed), deleted=len(deleted),
                          unchanged=len(wanted) - len(added) - len(changed), embedded=len(todo),
                          seconds=round(time.perf_counter() - started, 3), total=len(wanted))

    def search(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        if self._index is None or not self._items or n <= 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        scores, labels = self._index.search(query, min(n, len(self._items)))
        return [(self._by_fid[int(fid)], float(s)) for s, fid in zip(scores[0], labels[0], strict=True) if fid >= 0]

    def items(self) -> list[IndexItem]:
        return [self._items[k] for k in sorted(self._items)]

    def vector(self, item_id: str) -> np.ndarray:
        """The stored vector of one item (tests compare rebuilds with it)."""
        return np.asarray(self._index.reconstruct(faiss_id(item_id)), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._items)
