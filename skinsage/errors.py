"""One exception tree for the whole product.

Adapters wrap vendor errors (`raise GraphUnavailable(...) from e`) so callers never depend on a
driver's exception classes, and the API maps each class to one HTTP status in one place.
"""

from __future__ import annotations


class SkinSageError(Exception):
    """Root of every error the product raises on purpose."""


class InvalidInput(SkinSageError):
    """The caller sent something we cannot use; the message says what and why."""


class Forbidden(SkinSageError):
    """The caller is not allowed to do this, whoever they claim to be."""


class NotFound(SkinSageError):
    """A named thing (ingredient, concern, product, customer, order) does not exist."""


class GraphError(SkinSageError):
    """The graph store failed while executing a query."""


class GraphUnavailable(GraphError):
    """The graph store cannot be reached (server down, wrong address, locked file)."""


class KnowledgeError(SkinSageError):
    """A knowledge or data file is malformed. Carries where, so a person can fix it."""

    def __init__(self, file: str, row: int | str | None, reason: str) -> None:
        self.file = file
        self.row = row
        self.reason = reason
        where = f"{file}" if row is None else f"{file}, entry {row}"
        super().__init__(f"{where}: {reason}")


class PhotoRejected(InvalidInput):
    """A photo we will not analyse. `code` is for machines, `advice` tells the person what to do.

    Subclasses pick the HTTP status (413 too large, 415 unsupported type); the base means the file
    was readable but unusable (broken, empty, or a retake is needed).
    """

    def __init__(self, code: str, message: str, advice: list[str] | None = None,
                 failed: list[str] | None = None) -> None:
        self.code = code
        self.advice = advice or []
        self.failed = failed or [code]
        super().__init__(message)


class PhotoTooLarge(PhotoRejected):
    """The file or its pixel count is over the configured limit (also the decompression-bomb guard)."""


class UnsupportedPhotoType(PhotoRejected):
    """Not a JPEG, PNG or WebP (or HEIC where a decoder is installed)."""


class ModelError(SkinSageError):
    """A configured model checkpoint is missing, unreadable or incompatible."""


class AnalysisStoreError(SkinSageError):
    """The photo-analysis history store failed (disk, database server, schema)."""
