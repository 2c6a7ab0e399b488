"""The production compose file is valid as Docker Compose reads it (no engine needed for `config`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compose(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (scripts/test.sh installs Debian's package)")
    clean = {k: v for k, v in os.environ.items() if k not in ("NEO4J_PASSWORD", "POSTGRES_PASSWORD")}
    return subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_compose_file_is_valid_and_wires_the_api_to_neo4j() -> None:
    result = _compose({"NEO4J_PASSWORD": "s3cret", "POSTGRES_PASSWORD": "pg-s3cret"})
    assert result.returncode == 0, result.stderr
    assert "SKINSAGE_NEO4J_URI: bolt://neo4j:7687" in result.stdout
    assert "condition: service_healthy" in result.stdout
    assert "postgresql+psycopg://skinsage:pg-s3cret@postgres:5432/skinsage" in result.stdout
    assert "- worker" in result.stdout or "worker:" in result.stdout


def test_compose_refuses_to_start_without_a_neo4j_password() -> None:
    result = _compose({})
    assert result.returncode != 0
    assert "NEO4J_PASSWORD" in result.stderr
