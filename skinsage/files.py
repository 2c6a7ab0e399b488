"""Files that other processes read while this one writes them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path beside `target` to write; on success it is renamed over `target`.

    Readers see the old file or the whole new one, never a part. The temporary name is unique, so
    two processes writing the same target at once each rename a whole file of their own (the last
    rename wins). On failure the temporary file is removed and `target` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
