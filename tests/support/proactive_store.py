"""Fixtures shared by the proactive tests: a frozen clock and a migrated SQLite store on it.
Registered for integration tests by tests/integration/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opstore.migrate import upgrade
from opstore.service import StoreService
from opstore.testing import Clock, make_store

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)      # Monday, 11:00 in Berlin: outside quiet hours


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[StoreService]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    s = make_store(url, clock=clock)
    yield s
    s.close()
