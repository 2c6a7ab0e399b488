"""`skinsage ingest`: reports, dry runs, mapped catalogues, clear failures, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skinsage.cli import app
from skinsage.settings import get_settings

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One graph for the module, with the curated knowledge loaded (no demo customers)."""
    path = tmp_path_factory.mktemp("ingest-cli")
    mp = pytest.MonkeyPatch()
    mp.setenv("SKINSAGE_DATA_DIR", str(path))
    mp.setenv("SKINSAGE_DEMO_CUSTOMERS", "0")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["load", "--no-demo"])
    assert result.exit_code == 0, result.output
    yield path
    mp.undo()
    get_settings.cache_clear()


def _ingest(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ingest", *args, "--no-progress"])
    return result.exit_code, result.output


def test_mapped_public_dataset_dry_run_then_load_then_reload(data_dir: Path, tmp_path: Path) -> None:
    csv, mapping = FIXTURES / "mapped" / "cosmetics_dataset.csv", FIXTURES / "mapped" / "cosmetics_mapping.yaml"
    code, out = _ingest("mapped", str(csv), "--mapping", str(mapping), "--dry-run")
    assert code == 0 and out.startswith("DRY RUN") and "Product: 7 created" in out
    report_file = tmp_path / "report.json"
    code, out = _ingest("mapped", str(csv), "--mapping", str(mapping), "--report-json", str(report_file))
    assert code == 0 and "Product: 7 created" in out           # the dry run wrote nothing
    report = json.loads(report_file.read_text())
    assert report["rows_read"] == 8 and report["resolution_rate"] > 0.95
    [bad] = report["rejected"]
    assert bad["line"] == 8 and "'Price'" in bad["reason"] and "'n/a'" in bad["reason"]
    code, out = _ingest("mapped", str(csv), "--mapping", str(mapping))
    assert "Product: 0 created, 0 updated, 7 unchanged" in out


def test_mapped_json_catalogue_with_nested_keys(data_dir: Path) -> None:
    code, out = _ingest("mapped", str(FIXTURES / "mapped" / "woo_products.json"),
                        "--mapping", str(FIXTURES / "mapped" / "woo_mapping.yaml"), "--strict")
    assert code == 2                                   # --strict: a rejected record fails the run
    assert "Product: 2 created" in out and "line 3" in out and "'regular_price'" in out


def test_shopify_commands_report_and_the_cli_reads_back_what_it_wrote(data_dir: Path) -> None:
    code, out = _ingest("shopify-products", str(FIXTURES / "shopify" / "products_export.csv"))
    assert code == 0 and "Product: 7 created" in out and "Ahnfeltiopsis Concinna Extract" in out
    code, out = _ingest("shopify-customers", str(FIXTURES / "shopify" / "customers_export.csv"))
    assert code == 0 and "REJECTED" in out and "not-an-email" in out
    code, out = _ingest("shopify-orders", str(FIXTURES / "shopify" / "orders_export.csv"))
    assert code == 0 and "CustomerOrder: 4 created" in out and "OLD-MASK-1" in out


def test_a_wrong_file_fails_with_a_clear_message_and_status_1(data_dir: Path) -> None:
    code, out = _ingest("shopify-products", str(FIXTURES / "shopify" / "customers_export.csv"))
    assert code == 1 and "looks like a Shopify customers export" in out and "nothing was written" in out


def test_inci_command_prints_each_entry_and_the_rate(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "inci", "Aqua/Water/Eau, Niacinamide 10%, Mystery Extract"])
    assert result.exit_code == 0
    assert "Niacinamide 10.0% -> niacinamide" in result.output and "Mystery Extract -> UNKNOWN" in result.output
    assert "2/3 entries resolved" in result.output
