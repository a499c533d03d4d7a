"""Checking free disk space before a long write starts (a conversion, a build, a download, an
import), so it fails at once with a clear message instead of hours later with a full disk."""

from __future__ import annotations

import shutil
from pathlib import Path

from foundation.errors import NotEnoughDiskSpaceError

# Left free beyond what the operation needs, as the system and other programs need room too: the
# smaller of this and RESERVE_SHARE of the disk (so a small USB stick is not refused outright).
RESERVE_BYTES = 64 << 20
RESERVE_SHARE = 0.01


def human_bytes(count: float) -> str:
    """A size as people read it, in decimal units (as disks and the hub count) with three
    significant digits, trailing zeros kept so figures do not jitter as they change: ``512 B``,
    ``98.4 MB``, ``4.68 GB``, ``2.00 GB``, ``15.2 GB``. The one size format of the app."""
    if abs(count) < 1000:
        return f"{count:.0f} B"
    for unit in ("KB", "MB", "GB", "TB"):
        count /= 1000
        if abs(count) < 999.5 or unit == "TB":  # 999.6 MB shows as 1.00 GB, not 1000 MB
            break
    magnitude = abs(count)
    decimals = 2 if magnitude < 9.995 else 1 if magnitude < 99.95 else 0
    return f"{count:.{decimals}f} {unit}"


def free_bytes(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    return shutil.disk_usage(_existing(path)).free


def _existing(path: Path) -> Path:
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def require_free_space(path: Path, needed_bytes: int, purpose: str,
                       remedy: str = "move the model library to a larger disk") -> None:
    """Raise NotEnoughDiskSpaceError unless the disk of ``path`` has ``needed_bytes`` plus a
    reserve free (see RESERVE_BYTES). The message reads "{purpose} needs N … free up M or
    {remedy}"."""
    usage = shutil.disk_usage(_existing(path))
    free = usage.free
    reserve_bytes = min(RESERVE_BYTES, int(usage.total * RESERVE_SHARE))
    wanted = needed_bytes + reserve_bytes
    if free >= wanted:
        return
    raise NotEnoughDiskSpaceError(
        f"not enough disk space: {purpose} needs {human_bytes(needed_bytes)} (plus "
        f"{human_bytes(reserve_bytes)} to spare) but {path} has only {human_bytes(free)} free; "
        f"free up {human_bytes(wanted - free)} or {remedy}"
    )
