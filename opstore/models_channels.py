"""Tables of the channels part of the operational store (Channels); created by migration 0006.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.
"""

from __future__ import annotations

from opstore.models import Base, UTCDateTime  # noqa: F401
