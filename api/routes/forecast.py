"""The stock report for staff (issue 8): `GET /v1/forecast/report?format=csv|json`.

Staff only, with the same proof as every server-to-server call: the API key as a bearer token.
Stock levels, demand and reorder points are commercial data; a customer or a guest gets 403.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from api.deps import GraphDep, SettingsDep
from skinsage.errors import Forbidden, InvalidInput
from skinsage.settings import Settings

router = APIRouter(prefix="/v1", tags=["forecast"])


def _require_staff(authorization: str | None, settings: Settings) -> None:
    key = settings.api_key.get_secret_value() if settings.api_key else None
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not key or not secrets.compare_digest(given.encode(), key.encode()):
        raise Forbidden("the stock report is for staff: it needs the API key (Authorization: Bearer ...)")


@router.get("/forecast/report", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/json": {}},
                             "description": "one row per SKU: forecast, intervals, reorder advice"},
                       403: {"description": "error envelope (API key required)"},
                       404: {"description": "error envelope (unknown SKU)"}})
def forecast_report(graph: GraphDep, settings: SettingsDep,
                    format: Annotated[Literal["csv", "json"], Query()] = "json",
                    sku: Annotated[list[str] | None, Query(max_length=500)] = None,
                    as_of: Annotated[date | None, Query(description="forecast from this day; default today")] = None,
                    authorization: Annotated[str | None, Header()] = None) -> Response:
    """Per SKU: chosen model, demand for 30/60/90 days with intervals, days of cover, reorder advice."""
    from commerce.forecast_service import stock_report, to_csv, to_json

    _require_staff(authorization, settings)
    today = as_of or date.today()
    everything = graph.product_skus()
    if sku:
        unknown = sorted(set(sku) - set(everything))
        if unknown:
            raise InvalidInput(f"unknown SKUs: {', '.join(unknown[:10])}")
    rows = stock_report(graph, settings, today, skus=everything, focus=list(dict.fromkeys(sku)) if sku else None)
    if format == "csv":
        return Response(to_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="stock-forecast-{today}.csv"'})
    return Response(to_json(rows, today), media_type="application/json")
