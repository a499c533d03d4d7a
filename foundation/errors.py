"""Errors a person can cause, in any stage: the base ``FinR1Error`` (its message says what to do
next) and the few that every stage raises (disk, settings, text input, output paths, model loads).
Each stage adds its own beside its code: ``quant.errors``, ``app.core.errors``."""

from __future__ import annotations

import errno


class FinR1Error(Exception):
    """Base of all errors meant to be shown to a person as they are."""


class DiskFullError(FinR1Error):
    """The output disk ran out of space while writing."""


class NotEnoughDiskSpaceError(DiskFullError):
    """A disk lacks the space an operation needs, checked before it starts."""


class TextInputError(FinR1Error):
    """A text file handed to a command (a reply to parse, a prompt) cannot be read as UTF-8 text."""


class InvalidSettingError(FinR1Error):
    """An engine or generation setting (context size, GPU layers, temperature…) is out of range."""


class OutputPathError(FinR1Error):
    """An output path names a folder, or a place that cannot be written (read-only, no access)."""


class ModelLoadError(FinR1Error):
    """llama.cpp could not load a model file or create its context (memory, unsupported model)."""


def raise_if_disk_full(error: OSError, message: str) -> None:
    """Raise ``DiskFullError(message)`` from ``error`` when ``error`` says the disk, or the
    user's quota on it, is full (ENOSPC, EDQUOT); return otherwise, for the caller to re-raise
    ``error`` itself."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFullError(message) from error


EXCERPT_CHARS = 48


def quoted_excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """File content as it may appear in an error message: quoted, at most ``limit`` characters
    (then "…"), every unprintable character escaped, so a damaged name never floods a terminal
    or a log with raw bytes. Bytes are read as UTF-8, undecodable ones shown as U+FFFD."""
    if isinstance(text, str) and len(text) <= limit and text.isprintable():
        return f"'{text}'"  # the common case, without a step per character
    cut = False
    if isinstance(text, bytes):
        cut = len(text) > limit * 4  # a character is at most 4 bytes of UTF-8
        text = text[:limit * 4].decode("utf-8", errors="replace")
    cut = cut or len(text) > limit
    escaped = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                      for char in text[:limit])
    return f"'{escaped}'" + ("…" if cut else "")
