"""Photo analyses per customer in SQL (SQLAlchemy 2; SQLite by default, PostgreSQL in production).

Self-contained on purpose: its own tables with a `vision_` prefix and its own metadata, so it can
move into the operational store (`opstore/`) later without touching callers, which only know the
`AnalysisRepository` port. Scores get a row each so trends are one indexed query; the full result
is kept as JSON so a stored analysis replays exactly as it was shown. Photos live in their own table
and are written only when the caller passes them (consent), always as metadata-free JPEG.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from skinsage.errors import AnalysisStoreError as StoreError
from vision.models import SkinAnalysis
from vision.ports import ScorePoint, StoredAnalysis


class Base(DeclarativeBase):
    pass


class AnalysisRow(Base):
    __tablename__ = "vision_analyses"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    analyzer_version: Mapped[str] = mapped_column(String(32))
    result_json: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_vision_analyses_customer_time", "customer_id", "created_at"),)


class ScoreRow(Base):
    __tablename__ = "vision_scores"
    analysis_id: Mapped[str] = mapped_column(ForeignKey("vision_analyses.id", ondelete="CASCADE"),
                                             primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)


class PhotoRow(Base):
    __tablename__ = "vision_photos"
    analysis_id: Mapped[str] = mapped_column(ForeignKey("vision_analyses.id", ondelete="CASCADE"),
                                             primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class SqlAnalysisRepository:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=ON"))
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the analysis store: {e}") from e

    def save(self, customer_id: str, analysis: SkinAnalysis, photo_jpeg: bytes | None = None) -> None:
        try:
            with Session(self.engine) as s, s.begin():
                s.add(AnalysisRow(id=analysis.id, customer_id=customer_id,
                                  created_at=_utc(analysis.created_at),
                                  analyzer_version=analysis.analyzer_version,
                                  result_json=analysis.model_dump_json()))
                s.flush()
                s.add_all(ScoreRow(analysis_id=analysis.id, metric=k, score=m.score,
                                   confidence=m.confidence) for k, m in analysis.metrics.items())
                if photo_jpeg is not None:
                    s.add(PhotoRow(analysis_id=analysis.id, customer_id=customer_id, jpeg=photo_jpeg))
        except SQLAlchemyError as e:
            raise StoreError(f"cannot save the analysis: {e}") from e

    def list_for(self, customer_id: str, start: datetime | None = None,
                 end: datetime | None = None) -> list[StoredAnalysis]:
        q = select(AnalysisRow.result_json, PhotoRow.analysis_id).outerjoin(
            PhotoRow, PhotoRow.analysis_id == AnalysisRow.id)
        rows = self._in_window(q, customer_id, start, end)
        return [StoredAnalysis(customer_id=customer_id, analysis=SkinAnalysis.model_validate_json(j),
                               has_photo=p is not None) for j, p in rows]

    def series(self, customer_id: str, metric: str, start: datetime | None = None,
               end: datetime | None = None) -> list[ScorePoint]:
        q = (select(AnalysisRow.created_at, ScoreRow.score, ScoreRow.confidence, AnalysisRow.id)
             .join(ScoreRow, ScoreRow.analysis_id == AnalysisRow.id).where(ScoreRow.metric == metric))
        rows = self._in_window(q, customer_id, start, end)
        return [ScorePoint(at=_utc(at), score=sc, confidence=c, analysis_id=i) for at, sc, c, i in rows]

    def _in_window(self, q: Any, customer_id: str, start: datetime | None,
                   end: datetime | None) -> list[Any]:
        """One customer's rows with start <= created_at <= end, oldest first."""
        q = q.where(AnalysisRow.customer_id == customer_id)
        if start is not None:
            q = q.where(AnalysisRow.created_at >= _utc(start))
        if end is not None:
            q = q.where(AnalysisRow.created_at <= _utc(end))
        try:
            with Session(self.engine) as s:
                return list(s.execute(q.order_by(AnalysisRow.created_at)).all())
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read analyses: {e}") from e

    def photo(self, analysis_id: str) -> bytes | None:
        with Session(self.engine) as s:
            return s.scalar(select(PhotoRow.jpeg).where(PhotoRow.analysis_id == analysis_id))

    def delete_customer(self, customer_id: str) -> int:
        """Photos, scores and analyses of one customer, in one transaction (right to erasure)."""
        try:
            with Session(self.engine) as s, s.begin():
                ids = select(AnalysisRow.id).where(AnalysisRow.customer_id == customer_id)
                s.execute(delete(PhotoRow).where(PhotoRow.customer_id == customer_id))
                s.execute(delete(ScoreRow).where(ScoreRow.analysis_id.in_(ids)))
                gone = s.execute(delete(AnalysisRow).where(AnalysisRow.customer_id == customer_id))
                n = gone.rowcount  # type: ignore[attr-defined]
            return int(n or 0)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot delete analyses: {e}") from e

    def close(self) -> None:
        self.engine.dispose()
