"""The worker, the command line and the composition helper over a real SQLite file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.types import InboundMessage
from opstore import open_store
from opstore.errors import StoreUnavailable
from opstore.migrate import current, head_revision
from opstore.testing import EchoEngine, RecordingSender
from opstore.worker import run_worker
from skinsage.settings import Settings, get_settings


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_the_worker_answers_and_delivers_everything_then_stops(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, outbox_backoff_base_s=0.05)
    store = open_store(settings)                        # migrates the fresh SQLite file on start
    ids = [store.receive(InboundMessage(channel="telegram", channel_user_id=f"chat-{i % 3}", text=f"q{i}",
                                        provider_message_id=f"u{i}")).message_id for i in range(12)]
    engine, sender, stop = EchoEngine(), RecordingSender(fail_first=2), threading.Event()
    stats_box: list[object] = []
    worker = threading.Thread(target=lambda: stats_box.append(
        run_worker(settings, engine, sender, stop, store=store, idle_s=0.02)))
    worker.start()
    _wait_for(lambda: len(sender.sent) == 12 or not worker.is_alive(), timeout=30)
    stop.set()
    worker.join(5)
    assert not worker.is_alive() and len(engine.turns) == 12
    # Two sends failed and were retried after their backoff: still exactly one of each.
    texts = [p["text"] for _, _, p in sender.sent]
    assert sorted(texts) == sorted(f"echo: q{i}" for i in range(12)) and len(set(texts)) == 12
    assert store.pending_inbound() == [] and len(ids) == 12
    store.close()


def test_db_upgrade_command_migrates_the_configured_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skinsage.cli import app

    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f'"revision": "{head_revision()}"' in result.output
        assert current(f"sqlite:///{tmp_path / 'skinsage.db'}") == head_revision()
    finally:
        get_settings.cache_clear()


def test_an_unreachable_database_is_a_store_error_not_a_driver_error() -> None:
    with pytest.raises(StoreUnavailable):
        open_store(Settings(), url="postgresql://nobody:wrong@127.0.0.1:1/none")
