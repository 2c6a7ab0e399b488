"""Tables of the console part of the operational store (Support console); created by migration 0002.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.
"""

from __future__ import annotations

from opstore.models import Base, UTCDateTime  # noqa: F401
