"""Write-to-temp-then-rename, so no half-written output is ever left under its final name."""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from quant.errors import DiskFullError

PARTIAL_MARKER = ".partial-"


def partial_path_for(final_path: Path) -> Path:
    """A unique hidden temporary name beside ``final_path`` (same directory, so rename is atomic)."""
    return final_path.with_name(f".{final_path.name}{PARTIAL_MARKER}{uuid.uuid4().hex[:12]}")


@contextlib.contextmanager
def atomic_output(final_path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success rename it to ``final_path``.

    On any exception (cancel, crash, disk full) the temporary file is removed and the exception
    re-raised; an ENOSPC/EDQUOT ``OSError`` becomes ``DiskFullError``. ``final_path`` is only ever
    replaced by a complete file.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = partial_path_for(final_path)
    try:
        yield temp_path
        _fsync_file(temp_path)
        os.replace(temp_path, final_path)
    except OSError as error:
        temp_path.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"The disk holding {final_path.parent} is full; free some space and try again "
                f"({error.strerror})."
            ) from error
        raise
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def _fsync_file(path: Path) -> None:
    """Make the file's bytes durable before the rename publishes it (a crash then leaves either
    nothing or the whole file, never a complete-looking name over missing data)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
