"""Hashing model files: SHA-256 (what the hub's LFS records) and git's blob SHA-1 (what it
records for small files kept in git), reading in large chunks with progress and cancel.

Each function is a job step: ``on_progress`` receives ``Progress(stage, done, total, "bytes")``
and ``cancel`` is checked between chunks (``JobCancelled`` is raised; nothing is written).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress

CHUNK_BYTES = 4 << 20


def sha256_file(path: Path, *, on_progress: ProgressCallback = ignore_progress,
                cancel: CancelToken | None = None, stage: str = "verify",
                done_before: int = 0, total: int | None = None) -> str:
    """The hex SHA-256 of ``path``.

    ``done_before`` and ``total`` place this file inside a larger job's byte count (a folder of
    files); by default progress counts this file alone. Raises OSError when unreadable.
    """
    digest = hashlib.sha256()
    update_from_file(digest, path, on_progress=on_progress, cancel=cancel, stage=stage,
                     done_before=done_before, total=total)
    return digest.hexdigest()


def update_from_file(digest: hashlib._Hash, path: Path, *,
                     on_progress: ProgressCallback = ignore_progress,
                     cancel: CancelToken | None = None, stage: str = "verify",
                     done_before: int = 0, total: int | None = None) -> int:
    """Feed all of ``path`` into ``digest``; returns the number of bytes read."""
    size = path.stat().st_size
    total = size + done_before if total is None else total
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if cancel is not None:
                cancel.raise_if_cancelled(stage)
            digest.update(chunk)
            done += len(chunk)
            on_progress(Progress(stage, done_before + done, total, "bytes", path.name))
    return done


def git_blob_sha1(path: Path) -> str:
    """The git object id of ``path``'s contents (``sha1("blob <size>\\0" + bytes)``)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def copy_with_sha256(source: Path, destination: Path, *,
                     on_progress: ProgressCallback = ignore_progress,
                     cancel: CancelToken | None = None, stage: str = "copy") -> str:
    """Copy ``source`` to ``destination`` (which the caller removes on failure) while hashing
    the bytes read, so an import reads the file once; returns the hex SHA-256."""
    digest = hashlib.sha256()
    total = source.stat().st_size
    done = 0
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            if cancel is not None:
                cancel.raise_if_cancelled(stage)
            digest.update(chunk)
            writer.write(chunk)
            done += len(chunk)
            on_progress(Progress(stage, done, total, "bytes", source.name))
    shutil.copystat(source, destination)
    return digest.hexdigest()
