"""The SQLAlchemy adapter of the store's ports: the unit of work and the database handle.

Driver errors leave here translated into the store's own errors (`Conflict`, `StoreUnavailable`,
`StoreError`), so nothing above this module imports SQLAlchemy's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from opstore.db import make_engine
from opstore.errors import Conflict, StoreError, StoreUnavailable
from opstore.models import AuditEntry
from opstore.ports import UnitOfWork
from opstore.repos import SqlConversations, SqlIdentities, SqlMessages, SqlOutbox


def translate(e: SQLAlchemyError) -> StoreError:
    if isinstance(e, IntegrityError):
        return Conflict(str(e.orig))
    if isinstance(e, OperationalError) or (isinstance(e, DBAPIError) and e.connection_invalidated):
        return StoreUnavailable(f"the operational store is unavailable: {e.orig}")
    return StoreError(f"operational store statement failed: {e}")


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, factory: sessionmaker[Session], *, read_only: bool = False) -> None:
        self.session = factory()
        self.read_only = read_only
        self.conversations = SqlConversations(self.session)
        self.messages = SqlMessages(self.session)
        self.identities = SqlIdentities(self.session)
        self.outbox = SqlOutbox(self.session)

    def add(self, record: Any) -> None:
        self.session.add(record)

    def audit_trail(self, subject: str | None, limit: int) -> Sequence[AuditEntry]:
        q = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        return self.session.scalars(q.where(AuditEntry.subject == subject) if subject else q).all()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        try:
            with self.session.begin_nested():
                yield
        except SQLAlchemyError as e:
            raise translate(e) from e

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        if self.read_only and (self.session.new or self.session.dirty or self.session.deleted):
            # a read-only unit of work began DEFERRED on SQLite: upgrading it to a writer could fail
            # with SQLITE_BUSY half-way, so a use case that writes must use `SqlDatabase()` instead
            raise StoreError("a read-only unit of work cannot write")
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.session.rollback()
        except SQLAlchemyError:
            pass  # the connection is already gone; the original error below says why
        finally:
            self.session.close()
        if isinstance(exc, SQLAlchemyError):
            raise translate(exc) from exc


class SqlDatabase:
    """Owns the engine; hands out units of work. One per process, shared by threads."""

    def __init__(self, url: str, *, pool_size: int = 10, sqlite_synchronous: str = "full") -> None:
        self.url = url
        self.engine: Engine = make_engine(url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous)
        self.backend = self.engine.dialect.name
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: reads begin DEFERRED (a WAL snapshot, no write lock); PostgreSQL: the same engine
        self._readers = sessionmaker(self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)

    def __call__(self) -> SqlUnitOfWork:
        """A unit of work that may write (on SQLite it holds the write lock from its first statement)."""
        return SqlUnitOfWork(self._sessions)

    def reader(self) -> SqlUnitOfWork:
        """A unit of work that only reads: never waits for the writer, never holds it up."""
        return SqlUnitOfWork(self._readers, read_only=True)

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as e:
            raise translate(e) from e

    def dispose(self) -> None:
        self.engine.dispose()
