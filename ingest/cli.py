"""`skinsage ingest`: load a brand's own data (Shopify exports, any mapped catalogue) into the graph.

Every command validates the file before writing, prints a report (rows read, created / updated /
unchanged, rejected rows with file, line, column and reason, ingredient resolution, unknown
ingredients by frequency) and writes nothing with `--dry-run`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ingest.csvfile import CsvTable, open_csv
from ingest.report import IngestReport
from skinsage.errors import KnowledgeError, SkinSageError
from skinsage.settings import Settings, get_settings

ingest_app = typer.Typer(help="Load a brand's own data: Shopify exports, any mapped catalogue.", no_args_is_help=True)

DryRun = Annotated[bool, typer.Option(help="report what would change, write nothing")]
ReportJson = Annotated[Path | None, typer.Option(help="also write the report as JSON to this file")]
Strict = Annotated[bool, typer.Option(help="exit with status 2 when any row was rejected")]
Progress = Annotated[bool, typer.Option(help="show a progress bar on stderr")]


@contextmanager
def _bar(length: int, show: bool) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    with typer.progressbar(length=length, label="reading", file=sys.stderr) as bar:
        pos = [0]

        def advance(at: int) -> None:
            bar.update(max(0, at - pos[0]))
            pos[0] = at

        yield advance


def _finish(report: IngestReport, report_json: Path | None, strict: bool) -> None:
    for line in report.lines():
        typer.echo(line)
    if report_json:
        data: dict[str, Any] = report.model_dump()
        data["resolution_rate"] = report.resolution_rate
        report_json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    if strict and report.rejected:
        raise typer.Exit(code=2)


def _run(kind: str, file: Path, dry_run: bool, report_json: Path | None, strict: bool,
         work: Callable[[Any, Settings, IngestReport], None]) -> None:
    from skinsage.bootstrap import build_graph

    settings = get_settings()
    report = IngestReport(source=kind, file=str(file), dry_run=dry_run)
    try:
        with build_graph(settings) as graph:
            work(graph, settings, report)
    except KnowledgeError as e:             # the file itself: refused before any write
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        typer.secho("nothing was written from this file", err=True)
        raise typer.Exit(code=1) from e
    except SkinSageError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        typer.secho("the run stopped; each graph write is one transaction, so nothing is half-written", err=True)
        raise typer.Exit(code=1) from e
    _finish(report, report_json, strict)


def _read(file: Path, columns: list[str], kind: str, progress: bool,
          parse: Callable[[CsvTable], Iterable[Any]]) -> list[Any]:
    """Open and check the file, then parse it under a progress bar."""
    table = open_csv(file, columns, kind)
    with _bar(len(table.text), progress) as bar:
        table.progress = bar
        return list(parse(table))


@ingest_app.command("shopify-products")
def shopify_products(file: Path, dry_run: DryRun = False, report_json: ReportJson = None, strict: Strict = False,
                     progress: Progress = True) -> None:
    """A Shopify products export (products_export.csv): one product per variant SKU."""
    from ingest.service import Ingestor
    from ingest.shopify import PRODUCT_COLUMNS, product_drafts

    def work(graph: Any, s: Settings, report: IngestReport) -> None:
        drafts = _read(file, PRODUCT_COLUMNS, "Shopify products export", progress,
                       lambda t: product_drafts(t, report, s.shop_url))
        Ingestor(graph, s).products(drafts, report)

    _run("shopify products", file, dry_run, report_json, strict, work)


@ingest_app.command("shopify-customers")
def shopify_customers(file: Path, dry_run: DryRun = False, report_json: ReportJson = None, strict: Strict = False,
                      progress: Progress = True) -> None:
    """A Shopify customers export: contact details and marketing consent (profiles are kept)."""
    from ingest.service import Ingestor
    from ingest.shopify import CUSTOMER_COLUMNS, customer_drafts

    def work(graph: Any, s: Settings, report: IngestReport) -> None:
        drafts = _read(file, CUSTOMER_COLUMNS, "Shopify customers export", progress,
                       lambda t: customer_drafts(t, report))
        Ingestor(graph, s).customers(drafts, report)

    _run("shopify customers", file, dry_run, report_json, strict, work)


@ingest_app.command("shopify-orders")
def shopify_orders(file: Path, dry_run: DryRun = False, report_json: ReportJson = None, strict: Strict = False,
                   progress: Progress = True,
                   keep_tracking: Annotated[bool, typer.Option(help="keep carrier/tracking a webhook stored "
                                                               "(one read per known customer)")] = True) -> None:
    """A Shopify orders export: one row per line item; load the products first."""
    from ingest.service import Ingestor
    from ingest.shopify import ORDER_COLUMNS, order_drafts

    def work(graph: Any, s: Settings, report: IngestReport) -> None:
        drafts = _read(file, ORDER_COLUMNS, "Shopify orders export", progress, lambda t: order_drafts(t, report))
        Ingestor(graph, s).orders(drafts, report, keep_tracking=keep_tracking)

    _run("shopify orders", file, dry_run, report_json, strict, work)


@ingest_app.command("mapped")
def mapped(file: Path, mapping: Annotated[Path, typer.Option(help="YAML column mapping (see ingest/mapping.py)")],
           dry_run: DryRun = False, report_json: ReportJson = None, strict: Strict = False,
           progress: Progress = True) -> None:
    """Any product CSV or JSON (another platform, a public dataset) through a column mapping file."""
    from ingest.mapping import load_mapping, mapped_drafts
    from ingest.service import Ingestor

    def work(graph: Any, s: Settings, report: IngestReport) -> None:
        spec = load_mapping(mapping)
        size = file.stat().st_size if file.exists() else 0
        with _bar(size, progress) as bar:
            drafts = list(mapped_drafts(file, spec, report, progress=bar))
        Ingestor(graph, s).products(drafts, report)

    _run("mapped catalogue", file, dry_run, report_json, strict, work)


@ingest_app.command("inci")
def inci(text: Annotated[str, typer.Argument(help="an ingredient list, or @file with one list per line")]) -> None:
    """Parse ingredient lists and resolve them against the curated knowledge (nothing is written).

    With @file: one list per line; prints the resolution rate over all entries."""
    from ingest.catalog import Catalogue
    from ingest.inci import parse_inci
    from ingest.service import curated

    settings = get_settings()
    cat = Catalogue(curated(settings), settings.ingest_default_brand)
    lists = [ln for ln in Path(text[1:]).read_text(encoding="utf-8-sig").splitlines() if ln.strip()] \
        if text.startswith("@") else [text]
    for one in lists:
        cat.resolve_inci(one)
        if len(lists) == 1:
            for e in parse_inci(one):
                flag = " (may contain)" if e.may_contain else ""
                pct = f" {e.percent}%" if e.percent is not None else ""
                typer.echo(f"{e.name}{pct}{flag} -> {cat.matcher.match(e.name) or 'UNKNOWN'}")
    rate = cat.resolved / cat.entries if cat.entries else 0.0
    typer.echo(f"{cat.resolved}/{cat.entries} entries resolved ({100 * rate:.1f}%) over {len(lists)} list(s)")
    for name, n in cat.unknown.most_common(20):
        typer.echo(f"  unknown {n:>3}  {name}")
