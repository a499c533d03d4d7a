"""The two things every long-running job shares: a progress callback and a cancel token.

A job (convert, quantize, download, imatrix, evaluate, generate) takes an optional
``on_progress: ProgressCallback`` and an optional ``cancel: CancelToken``. It calls
``on_progress`` from whatever thread it runs on, and calls ``cancel.raise_if_cancelled()`` at points
where stopping is safe; on cancellation it removes its partial output and raises ``JobCancelled``.
The CLI turns progress into a bar; the GUI turns it into Qt signals in one bridge module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One progress report of a job.

    ``done`` and ``total`` count ``unit`` (``"bytes"``, ``"tensors"``, ``"chunks"``…); ``total`` is 0
    when unknown. ``message`` is a short human-readable note such as the tensor being written.
    """

    stage: str
    done: int
    total: int
    unit: str = "bytes"
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Share of the work done in [0, 1], or None when the total is unknown."""
        if self.total <= 0:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_progress: Progress) -> None:
    """The default progress callback: reports go nowhere."""


class JobCancelled(Exception):
    """Raised by a job that stopped because its CancelToken was cancelled; it left no output."""

    def __init__(self, job: str = "job") -> None:
        super().__init__(f"{job} was cancelled; nothing was written")


class CancelToken:
    """Thread-safe flag a caller sets to ask a running job to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel; True when cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self, job: str = "job") -> None:
        """Raise JobCancelled if cancel() was called."""
        if self._event.is_set():
            raise JobCancelled(job)
