"""The operational store's errors, as branches of the product's one exception tree.

Adapters translate SQLAlchemy/driver errors into these (`raise StoreUnavailable(...) from e`), so the
services, the API and the worker never import a driver's exception classes.
"""

from __future__ import annotations

from skinsage.errors import InvalidInput, SkinSageError


class StoreError(SkinSageError):
    """The operational store failed while executing a statement."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (server down, wrong URL, locked file): retry later."""


class Conflict(StoreError):
    """A uniqueness rule fired (a concurrent writer won the race); the use case decides what that means."""


class LinkCodeInvalid(InvalidInput):
    """Unknown, used or expired link code. One message for all three, so codes cannot be probed."""
