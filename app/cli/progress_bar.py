"""One way to show a job's progress in a terminal: a single self-rewriting line on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from quant.jobs import Progress


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class ProgressBar:
    """A ``ProgressCallback`` that draws ``stage [#####.....] 42% done/total message``.

    Redraws at most every ``min_interval_s`` (and always on completion) so a job reporting per
    tensor does not flood a slow terminal. When the stream is not a TTY it prints one line per
    stage change instead of redrawing.
    """

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30,
                 min_interval_s: float = 0.1) -> None:
        self._stream = stream
        self._width = width
        self._min_interval_s = min_interval_s
        self._last_draw = 0.0
        self._last_stage = ""
        self._interactive = stream.isatty()

    def __call__(self, progress: Progress) -> None:
        finished = progress.total > 0 and progress.done >= progress.total
        if not self._interactive:
            if progress.stage != self._last_stage:
                self._stream.write(f"{progress.stage}…\n")
                self._last_stage = progress.stage
            return
        now = time.monotonic()
        if not finished and now - self._last_draw < self._min_interval_s:
            return
        self._last_draw = now
        self._stream.write("\r" + self._line(progress) + "\x1b[K")
        if finished:
            self._stream.write("\n")
        self._stream.flush()

    def _line(self, progress: Progress) -> str:
        fraction = progress.fraction
        if fraction is None:
            return f"{progress.stage} {progress.done} {progress.unit} {progress.message}"
        filled = int(fraction * self._width)
        bar = "#" * filled + "." * (self._width - filled)
        if progress.unit == "bytes":
            amounts = f"{_human_bytes(progress.done)}/{_human_bytes(progress.total)}"
        else:
            amounts = f"{progress.done}/{progress.total} {progress.unit}"
        return f"{progress.stage} [{bar}] {fraction:4.0%} {amounts} {progress.message}"
