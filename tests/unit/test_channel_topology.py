"""How `skinsage serve` splits into processes (api/channels/topology.py): pure settings logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.channels.topology import answer_worker_count, child_env, is_multi_process
from skinsage.settings import Settings


def test_one_process_stays_the_default(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert answer_worker_count(s) == 0 and not is_multi_process(s)


def test_several_http_workers_bring_an_answer_worker_and_stop_answering_inline(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, http_workers=3)
    env = child_env(s)
    assert answer_worker_count(s) == 1 and is_multi_process(s)
    assert env["SKINSAGE_CHANNEL_ANSWER_INLINE"] == "false" and env["SKINSAGE_EMBEDDED_WORKER"] == "false"
    # children never load the graph or spawn children of their own; the embedded graph is shared read-only
    assert env["SKINSAGE_LOAD_DEMO_ON_START"] == "false" and env["SKINSAGE_HTTP_WORKERS"] == "1"
    assert env["SKINSAGE_ANSWER_WORKERS"] == "0" and env["SKINSAGE_EMBEDDED_GRAPH_READ_ONLY"] == "true"


def test_without_the_embedded_worker_the_http_processes_answer_nothing_extra(tmp_path: Path) -> None:
    # docker-compose: a separate worker service answers; serve starts no workers of its own
    s = Settings(data_dir=tmp_path, http_workers=2, embedded_worker=False)
    assert answer_worker_count(s) == 0 and "SKINSAGE_CHANNEL_ANSWER_INLINE" not in child_env(s)


def test_every_http_process_signs_widget_sessions_with_the_same_secret(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, http_workers=2)
    assert len(child_env(s)["SKINSAGE_WIDGET_SECRET"]) >= 32
    configured = Settings(data_dir=tmp_path, http_workers=2, widget_secret="from-the-operator")  # type: ignore[arg-type]
    assert "SKINSAGE_WIDGET_SECRET" not in child_env(configured)   # theirs is inherited as is


def test_the_serving_process_itself_takes_the_child_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SKINSAGE_ANSWER_WORKERS=1 with one HTTP worker: uvicorn builds the app in serve's own process,
    # where get_settings() was cached before serve_processes applied child_env to os.environ
    from api.channels.topology import http_settings
    from skinsage.settings import get_settings

    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKINSAGE_ANSWER_WORKERS", "1")
    get_settings.cache_clear()
    try:
        parent = get_settings()
        assert parent.channel_answer_inline and answer_worker_count(parent) == 1
        for key, value in child_env(parent).items():
            monkeypatch.setenv(key, value)
        http = http_settings()
        assert not http.channel_answer_inline and not http.embedded_worker and http.embedded_graph_read_only
    finally:
        get_settings.cache_clear()
