"""Write-to-temp-then-rename, so no half-written output is ever left under its final name."""

from __future__ import annotations

import contextlib
import glob
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from foundation.errors import raise_if_disk_full
from foundation.processes import left_by_dead_writer

PARTIAL_MARKER = ".partial-"


def partial_path_for(final_path: Path) -> Path:
    """A unique hidden temporary name beside ``final_path`` (same directory, so rename is atomic).

    The writer's process id is part of the name so a later run can tell a partial whose writer
    was killed from one still being written.
    """
    unique = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    return final_path.with_name(f".{final_path.name}{PARTIAL_MARKER}{unique}")


def remove_stale_partials(final_path: Path) -> list[Path]:
    """Delete partials of ``final_path`` left by writers that no longer run (killed, crashed,
    machine off); returns what was removed. Partials of live processes are kept."""
    removed = []
    prefix = f".{final_path.name}{PARTIAL_MARKER}"
    for candidate in final_path.parent.glob(f"{glob.escape(prefix)}*"):
        writer_pid = candidate.name[len(prefix):].split("-", 1)[0]
        if left_by_dead_writer(candidate, writer_pid):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_output(final_path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success rename it to ``final_path``.

    On any exception (cancel, crash, disk full) the temporary file is removed and the exception
    re-raised; an ENOSPC/EDQUOT ``OSError`` becomes ``DiskFullError``. ``final_path`` is only ever
    replaced by a complete file. Partials of earlier writers that were killed are removed first.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(final_path)
    temp_path = partial_path_for(final_path)
    try:
        yield temp_path
        _fsync_file(temp_path)
        os.replace(temp_path, final_path)
    except OSError as error:
        _discard(temp_path)
        raise_if_disk_full(error, f"The disk holding {final_path.parent} is full; free some "
                                  f"space and try again ({error.strerror}).")
        raise
    except BaseException:
        _discard(temp_path)
        raise


def _discard(temp_path: Path) -> None:
    """Remove a partial file if there is one. Best effort: on a read-only file system even the
    unlink of a missing file fails (EROFS), and that must not hide the error being raised."""
    with contextlib.suppress(OSError):
        temp_path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    """Make the file's bytes durable before the rename publishes it (a crash then leaves either
    nothing or the whole file, never a complete-looking name over missing data)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
