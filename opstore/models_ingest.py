"""Tables of the ingest part of the operational store (Ingest); created by migration 0004.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.
"""

from __future__ import annotations

from opstore.models import Base, UTCDateTime  # noqa: F401
