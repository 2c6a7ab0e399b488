"""`skinsage load`: a dry run writes nothing, a second load writes nothing new, --reset starts over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skinsage.cli import app
from skinsage.settings import get_settings


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKINSAGE_DEMO_CUSTOMERS", "5")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _load(*args: str) -> dict:
    result = CliRunner().invoke(app, ["load", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dry_run_then_load_then_reload(data_dir: Path) -> None:
    dry = _load("--dry-run")
    assert dry["dry_run"] and dry["changes"]["Product"]["created"] == 120
    first = _load()
    assert first["changes"]["Product"]["created"] == 120       # the dry run wrote nothing
    again = _load()
    assert again["statements"] == 0
    reset = _load("--reset")
    assert reset["changes"]["Product"]["created"] == 120
