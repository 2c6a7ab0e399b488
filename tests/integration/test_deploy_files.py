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


def _services(config: str) -> dict[str, dict[str, object]]:
    import yaml

    return yaml.safe_load(config)["services"]  # type: ignore[no-any-return]


def test_every_service_has_a_health_check_and_the_app_keeps_its_data_on_a_volume() -> None:
    result = _compose({"NEO4J_PASSWORD": "s3cret", "POSTGRES_PASSWORD": "pg-s3cret"})
    assert result.returncode == 0, result.stderr
    services = _services(result.stdout)
    assert set(services) >= {"neo4j", "postgres", "api", "worker"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"  # type: ignore[union-attr]
        assert service.get("volumes"), f"{name} keeps its data in the container"
    assert "/ready" in str(services["api"]["healthcheck"])  # type: ignore[index]
    assert services["api"]["environment"]["SKINSAGE_LOG_FORMAT"] == "json"  # type: ignore[index]
    assert "/var/lib/skinsage" in str(services["worker"]["volumes"])  # type: ignore[index]


def test_the_image_is_multi_stage_non_root_and_downloads_no_models() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines.index(next(line for line in lines if line.startswith("USER "))) > max(
        i for i, line in enumerate(lines) if line.startswith("FROM "))   # the runtime stage runs as that user
    lowered = text.lower()
    for fetch in ("curl ", "wget ", "hf_hub_download", "snapshot_download", "huggingface-cli", "git clone"):
        assert fetch not in lowered, f"the image must not fetch anything at build time: {fetch}"
    assert "HF_HUB_OFFLINE=1" in text   # and nothing at run time either
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".env", "var"} <= set(ignored)
