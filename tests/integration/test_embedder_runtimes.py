"""The embedder's two runtimes agree: customer messages through ONNX Runtime, bulk through torch.

Real model, real export (into a temporary cache), real ONNX Runtime session.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedder import MiniLMEmbedder
from skinsage.errors import SkinSageError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGES = ["is retinol safe during pregnancy", "hi", "can I use vit c with niacinamide?",
            "my parcel arrived crushed and the bottle leaked everywhere " * 20]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(query_runtime="onnx", query_precision="float32", cache_dir=cache_dir, precision="float32")


@pytest.fixture(scope="module")
def torch_embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(query_runtime="torch", precision="float32")


def test_messages_embedded_by_onnx_match_torch(onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder) -> None:
    assert onnx_embedder.query_runtime == "onnx float32" and torch_embedder.query_runtime == "torch"
    singles = np.concatenate([onnx_embedder.encode([m]) for m in MESSAGES])
    batch = onnx_embedder.encode(MESSAGES)            # a small batch, padded: same vectors
    reference = torch_embedder.encode(MESSAGES)
    assert singles.shape == (len(MESSAGES), onnx_embedder.dim) and singles.dtype == np.float32
    assert np.allclose(np.linalg.norm(singles, axis=1), 1.0, atol=1e-5)
    assert (singles * reference).sum(axis=1).min() > 0.9999
    assert (batch * reference).sum(axis=1).min() > 0.9999


def test_the_export_is_made_once_and_reused(cache_dir: Path, onnx_embedder: MiniLMEmbedder) -> None:
    exports = [p for p in cache_dir.glob("*.onnx") if not p.stem.endswith("-int8")]
    assert len(exports) == 1 and not list(cache_dir.glob("*.part"))
    before = exports[0].stat().st_mtime_ns
    again = MiniLMEmbedder(query_runtime="onnx", query_precision="float32", cache_dir=cache_dir, precision="float32")
    assert again.query_runtime == "onnx float32"
    assert exports[0].stat().st_mtime_ns == before


def test_int8_weights_stay_close_to_float32_and_reuse_the_export(
        cache_dir: Path, onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder) -> None:
    base = next(p for p in cache_dir.glob("*.onnx") if not p.stem.endswith("-int8"))
    before = base.stat().st_mtime_ns
    int8 = MiniLMEmbedder(query_runtime="onnx", query_precision="int8", cache_dir=cache_dir, precision="float32")
    assert int8.query_runtime == "onnx int8"
    quantized = next(cache_dir.glob("*-int8.onnx"))
    assert quantized.stat().st_size < base.stat().st_size * 0.7    # int8 weights, not a copy
    assert base.stat().st_mtime_ns == before                        # quantized from the cached export
    singles = np.concatenate([int8.encode([m]) for m in MESSAGES])
    reference = torch_embedder.encode(MESSAGES)
    cosines = (singles * reference).sum(axis=1)
    assert cosines.min() > 0.97 and cosines.max() < 0.99999        # close, and really quantized


def test_a_corrupt_cached_export_is_rebuilt(tmp_path: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    export = next(p for p in cache_dir.glob("*.onnx") if not p.stem.endswith("-int8"))
    broken = tmp_path / export.name
    broken.write_bytes(b"not an onnx model")
    with caplog.at_level(logging.WARNING, logger="retrieval.onnx_query"):
        e = MiniLMEmbedder(query_runtime="onnx", query_precision="float32", cache_dir=tmp_path, precision="float32")
    assert "unusable" in caplog.text
    assert e.query_runtime == "onnx float32" and broken.stat().st_size > 1_000_000
    assert float(e.encode(["hello"])[0] @ e.encode(["hello there"])[0]) > 0.5


def test_auto_falls_back_to_torch_when_onnx_cannot_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="retrieval.embedder"):
        e = MiniLMEmbedder(query_runtime="auto", cache_dir=blocker / "models", precision="float32")
    assert e.query_runtime == "torch" and "ONNX Runtime is unavailable" in caplog.text
    assert e.encode(["still works"]).shape == (1, e.dim)
    with pytest.raises(SkinSageError, match="ONNX Runtime"):
        MiniLMEmbedder(query_runtime="onnx", cache_dir=blocker / "models", precision="float32")


def test_recent_messages_are_cached_without_sharing_the_array(onnx_embedder: MiniLMEmbedder) -> None:
    first = onnx_embedder.encode(["thanks!"])
    first[0, :] = 0.0                               # a caller scribbling on its result ...
    second = onnx_embedder.encode(["thanks!"])
    assert np.isclose(np.linalg.norm(second), 1.0)  # ... does not poison the cache
    assert "thanks!" in onnx_embedder._recent


def test_bulk_encoding_keeps_input_order_whatever_the_lengths(torch_embedder: MiniLMEmbedder) -> None:
    texts = [("word " * n).strip() + f" {n}" for n in (40, 3, 120, 3, 7, 60, 1, 90)] * 6   # > batch_size
    bulk = torch_embedder.encode(texts)
    one_by_one = np.concatenate([torch_embedder._encode([t]) for t in texts])
    assert (bulk * one_by_one).sum(axis=1).min() > 0.9999
