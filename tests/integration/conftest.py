"""Fixtures several integration modules share (a module's own fixture of the same name wins)."""

from tests.support.proactive_store import clock, store  # noqa: F401  (registered as fixtures)
from tests.support.sales_graph import sales_graph  # noqa: F401  (registered as a fixture)

