"""Checking where an output file will go before any work starts.

A conversion or an importance matrix runs for minutes to hours before it writes its result; an
output path that names a folder, or a folder that cannot be written, must fail before that, with
a sentence instead of an ``IsADirectoryError`` or ``PermissionError`` traceback at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.errors import OutputPathError


def check_output_file(path: Path | str, what: str = "the output",
                      example_name: str = "output") -> Path:
    """``path``, once it can be written as a file; creates nothing.

    It must not be an existing folder, and its folder must be a writable folder, or not exist yet
    below a writable folder (``foundation.atomic.atomic_output`` creates it). ``what`` names the output
    in messages; ``example_name`` is the file name suggested when ``path`` is a folder. Raises
    ``OutputPathError`` saying what to do.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(
            f"{path} is a folder; give {what} a file name, e.g. {path / example_name}"
        )
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(
            f"cannot write {path}: {folder} is a file, not a folder; choose another place for "
            f"{what}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot write {path}: the folder {folder} is read-only or not yours to write in; "
            f"choose another place for {what}"
        )
    return path
