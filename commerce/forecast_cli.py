"""`skinsage forecast ...`: the stock report for staff, as CSV or JSON, from the configured graph."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer

from skinsage.errors import SkinSageError
from skinsage.settings import get_settings

forecast_app = typer.Typer(help="Stock forecasts and reorder advice (staff).", no_args_is_help=True)


@forecast_app.command("report")
def report(
    fmt: Annotated[Literal["csv", "json"], typer.Option("--format", help="csv or json")] = "csv",
    sku: Annotated[list[str] | None, typer.Option(help="only these SKUs (repeatable); default: every product")] = None,
    as_of: Annotated[str | None, typer.Option(help="forecast from this day (YYYY-MM-DD); default: today")] = None,
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
) -> None:
    """Per SKU: the chosen model, demand for 30/60/90 days with intervals, days of cover, safety stock,
    reorder point and suggested order quantity."""
    from commerce.forecast_service import stock_report, to_csv, to_json
    from skinsage.bootstrap import build_graph

    s = get_settings()
    try:
        today = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        typer.secho(f"error: --as-of must be YYYY-MM-DD, got {as_of!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    try:
        with build_graph(s) as graph:
            everything = graph.product_skus()
            unknown = sorted(set(sku or []) - set(everything))
            if unknown:
                raise SkinSageError(f"unknown SKUs: {', '.join(unknown)}")
            rows = stock_report(graph, s, today, skus=everything, focus=list(sku) if sku else None)
    except SkinSageError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from e
    text = to_csv(rows) if fmt == "csv" else to_json(rows, today) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(rows)} SKUs written to {out}", err=True)
    else:
        typer.echo(text, nl=False)
