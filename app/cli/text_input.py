"""Text the subcommands read from standard input or a file: always strict UTF-8.

The bytes are decoded here rather than by ``sys.stdin``'s text layer, whose encoding follows the
locale (ASCII under ``LANG=C``, a code page on Windows), so Chinese text reads the same everywhere
and bytes that are not UTF-8 are refused with a ``TextInputError`` instead of turning into
mojibake or a traceback.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from typing import BinaryIO

from foundation.errors import TextInputError

STDIN_NAME = "standard input"


def utf8_chunks(stream: BinaryIO, name: str, chunk_bytes: int) -> Iterator[str]:
    """The strict UTF-8 text of ``stream``, read ``chunk_bytes`` at a time; a character split
    across reads is held back until it is whole. Raises ``TextInputError`` naming ``name`` at the
    first byte that is not UTF-8 (the text before it has been yielded)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        while data := stream.read(chunk_bytes):
            if text := decoder.decode(data):
                yield text
        if text := decoder.decode(b"", final=True):
            yield text
    except UnicodeDecodeError as error:
        raise TextInputError(f"{name} is not UTF-8 text ({error.reason}); "
                             "convert it to UTF-8 and try again") from error


def stdin_chunks(chunk_bytes: int) -> Iterator[str]:
    """Standard input as ``utf8_chunks``. A text stream standing in for stdin (embedding, tests)
    has no bytes to decode and is read as it is."""
    binary_stdin = getattr(sys.stdin, "buffer", None)
    if binary_stdin is None:
        return iter(lambda: sys.stdin.read(chunk_bytes), "")
    return utf8_chunks(binary_stdin, STDIN_NAME, chunk_bytes)


def read_stdin() -> str:
    """All of standard input as strict UTF-8 text; raises ``TextInputError`` when it is not."""
    return "".join(stdin_chunks(64 * 1024))
