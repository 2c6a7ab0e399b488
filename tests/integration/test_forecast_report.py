"""Stock forecasts through the chat tool, the API report and the CLI report, on an embedded graph holding
the fixture catalogue and two years of generated orders."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from api.app import create_app
from assistant.profile import Profile
from assistant.tools.base import ToolContext, run_tool
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from skinsage.settings import Settings
from tests.support.sales_graph import SALES_DAY

TODAY = SALES_DAY
KEY = "staff-key-for-tests"


@pytest.fixture(scope="module")
def graph(sales_graph: EmbeddedGraphStore) -> EmbeddedGraphStore:
    return sales_graph


def _ctx(graph: EmbeddedGraphStore, role: str) -> ToolContext:
    return ToolContext(graph=graph, profile=Profile(), reminders=InMemoryReminderStore(), role=role, today=TODAY)


def test_staff_get_a_forecast_with_reorder_advice(graph: EmbeddedGraphStore) -> None:
    call, result = run_tool(_ctx(graph, "staff"), "stock_forecast", {"product": "FX-NIA-10"})
    assert call.ok and result is not None
    d = result.data
    assert d["sku"] == "FX-NIA-10" and d["model"] in ("ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", "seasonal_naive")
    assert d["history_days"] > 300 and d["avg_daily_demand"] > 0
    assert d["demand_30_low"] <= d["demand_30"] <= d["demand_30_high"] < d["demand_90_high"]
    assert d["reorder_point"] >= d["safety_stock"] > 0
    if d["days_of_cover"] is not None:
        assert d["days_of_cover"] == pytest.approx(d["stock_on_hand"] / d["avg_daily_demand"], rel=0.3)
    # the old argument schema still works: an explicit service level moves the safety stock
    _, strict = run_tool(_ctx(graph, "staff"), "stock_forecast", {"product": "FX-NIA-10", "service_level": 0.99})
    assert strict is not None and strict.data["safety_stock"] > d["safety_stock"]


def test_a_customer_is_refused_the_stock_forecast(graph: EmbeddedGraphStore) -> None:
    call, result = run_tool(_ctx(graph, "customer"), "stock_forecast", {"product": "FX-NIA-10"})
    assert result is None and not call.ok and "staff only" in (call.error or "")


def test_unknown_product_is_a_clear_error(graph: EmbeddedGraphStore) -> None:
    call, result = run_tool(_ctx(graph, "staff"), "stock_forecast", {"product": "zzzz-no-such-thing"})
    assert result is None and "no product matches" in (call.error or "")


@pytest.fixture(scope="module")
def client(graph: EmbeddedGraphStore) -> Iterator[TestClient]:
    s = Settings(load_demo_on_start=False, api_key=SecretStr(KEY))
    with TestClient(create_app(s, graph=graph, with_chat=False)) as c:
        yield c


def test_api_report_as_json_matches_the_chat_tool(client: TestClient, graph: EmbeddedGraphStore) -> None:
    r = client.get("/v1/forecast/report", params={"format": "json", "as_of": TODAY.isoformat()},
                   headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["as_of"] == "2026-11-01"
    rows = {row["sku"]: row for row in body["skus"]}
    assert "FX-NIA-10" in rows and len(rows) >= 5
    _, tool = run_tool(_ctx(graph, "staff"), "stock_forecast", {"product": "FX-NIA-10"})
    assert tool is not None
    for field in ("demand_30", "reorder_point", "order_quantity", "days_of_cover", "method"):
        assert rows["FX-NIA-10"][field] == tool.data["model" if field == "method" else field]


def test_api_report_as_csv_for_chosen_skus(client: TestClient) -> None:
    r = client.get("/v1/forecast/report", params={"format": "csv", "sku": ["FX-NIA-10", "FX-BHA-02"],
                                                  "as_of": TODAY.isoformat()},
                   headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["sku"] for row in rows] == ["FX-NIA-10", "FX-BHA-02"]
    assert {"days_of_cover", "reorder_point", "order_quantity", "demand_90_high"} <= set(rows[0])
    assert float(rows[0]["demand_90"]) > float(rows[0]["demand_30"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY + "x"}])
def test_api_report_without_the_staff_key_is_403(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/v1/forecast/report", params={"format": "csv"}, headers=headers)
    assert r.status_code == 403 and "staff" in r.text and "FX-NIA-10" not in r.text


def test_api_report_rejects_unknown_skus_and_formats(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    unknown = client.get("/v1/forecast/report", params={"sku": "NOPE-1"}, headers=auth)
    assert unknown.status_code == 422 and "unknown SKUs: NOPE-1" in unknown.text
    assert client.get("/v1/forecast/report", params={"format": "xml"}, headers=auth).status_code == 422
    ancient = client.get("/v1/forecast/report", params={"as_of": "0001-01-01"}, headers=auth)
    assert ancient.status_code == 422 and "outside" in ancient.text


def test_cli_report_writes_csv_and_json(graph: EmbeddedGraphStore, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import nullcontext

    from skinsage import bootstrap
    from skinsage.cli import app

    monkeypatch.setattr(bootstrap, "build_graph", lambda s: nullcontext(graph))
    runner = CliRunner()
    out = tmp_path / "report.csv"
    res = runner.invoke(app, ["forecast", "report", "--format", "csv", "--as-of", "2026-11-01", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 5 and all(r["method"] for r in rows)
    res = runner.invoke(app, ["forecast", "report", "--format", "json", "--as-of", "2026-11-01", "--sku", "FX-NIA-10"])
    assert res.exit_code == 0 and json.loads(res.stdout)["skus"][0]["sku"] == "FX-NIA-10"
    bad = runner.invoke(app, ["forecast", "report", "--sku", "NOPE-1"])
    assert bad.exit_code == 1 and "unknown SKUs" in bad.output
