"""Copy a byte range from one file into another as fast as the platform allows."""

from __future__ import annotations

import errno
import io
import os
from typing import BinaryIO

# copy_file_range refuses some file-system pairs and older kernels; the buffered path copes.
_KERNEL_COPY_UNSUPPORTED = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


def copy_range(source: io.RawIOBase, offset: int, nbytes: int, destination: BinaryIO) -> None:
    """Append ``nbytes`` of ``source`` starting at ``offset`` to ``destination`` at its position.

    Both must be unbuffered binary files (``open(..., buffering=0)``). Uses the kernel's
    ``copy_file_range`` where available (no copy through user space), else positioned reads and
    writes. Raises OSError from the file system (ENOSPC included) and EOFError if the source ends
    early.
    """
    done = 0
    if hasattr(os, "copy_file_range"):
        done = _copy_in_kernel(source, offset, nbytes, destination)
    if done < nbytes:
        _copy_through_buffer(source, offset + done, nbytes - done, destination)


def _copy_in_kernel(source: io.RawIOBase, offset: int, nbytes: int, destination: BinaryIO) -> int:
    done = 0
    while done < nbytes:
        try:
            copied = os.copy_file_range(source.fileno(), destination.fileno(), nbytes - done,
                                        offset + done)
        except OSError as error:
            if error.errno in _KERNEL_COPY_UNSUPPORTED:
                return done
            raise
        if copied == 0:
            raise EOFError(f"source ended {nbytes - done} bytes early")
        done += copied
    return done


def _copy_through_buffer(source: io.RawIOBase, offset: int, nbytes: int,
                         destination: BinaryIO) -> None:
    buffer = bytearray(min(nbytes, 16 * 1024 * 1024))
    view = memoryview(buffer)
    done = 0
    while done < nbytes:
        wanted = min(len(buffer), nbytes - done)
        got = _seek_read(source, offset + done, view[:wanted])
        if got == 0:
            raise EOFError(f"source ended {nbytes - done} bytes early")
        destination.write(view[:got])
        done += got


def _seek_read(source: io.RawIOBase, offset: int, target: memoryview) -> int:
    source.seek(offset)
    return source.readinto(target) or 0
