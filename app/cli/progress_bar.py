"""One way to show a job's progress in a terminal: a single self-rewriting line on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from quant.jobs import Progress


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class ByteRate:
    """Speed and time left of a job counting bytes, over the reports of the last ``window_s``.

    Only bytes that arrive while watched count (a resumed download's first report is its
    starting point); a new stage, or a count that goes backwards, starts afresh.
    """

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._samples: list[tuple[float, int]] = []
        self._key: tuple[str, int] = ("", 0)

    def observe(self, progress: Progress) -> None:
        key = (progress.stage, progress.total)
        if key != self._key or (self._samples and progress.done < self._samples[-1][1]):
            self._samples.clear()
            self._key = key
        now = self._clock()
        self._samples.append((now, progress.done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.pop(0)

    def bytes_per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        return (last - first) / (end - start) if end > start else None

    def describe(self, progress: Progress) -> str:
        """``12.3 MB/s, 0:42 left``, or "" until a speed is known."""
        speed = self.bytes_per_second()
        if not speed:
            return ""
        text = f"{_human_bytes(speed)}/s"
        if progress.total > progress.done:
            seconds = int((progress.total - progress.done) / speed)
            text += f", {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} left" \
                if seconds >= 3600 else f", {seconds // 60}:{seconds % 60:02d} left"
        return text


class ProgressBar:
    """A ``ProgressCallback`` that draws ``stage [#####.....] 42% done/total message``.

    Redraws at most every ``min_interval_s`` (and always on completion) so a job reporting per
    tensor does not flood a slow terminal. When the stream is not a TTY it prints one line per
    stage change instead of redrawing.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30,
                 min_interval_s: float = 0.1) -> None:
        # sys.stderr is looked up per bar, not bound at import, so a redirected stderr is used.
        stream = sys.stderr if stream is None else stream
        self._stream = stream
        self._width = width
        self._min_interval_s = min_interval_s
        self._last_draw = 0.0
        self._last_stage = ""
        self._interactive = stream.isatty()
        self._rate = ByteRate()

    def __call__(self, progress: Progress) -> None:
        finished = progress.total > 0 and progress.done >= progress.total
        if progress.unit == "bytes":
            self._rate.observe(progress)
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
            rate = self._rate.describe(progress)
            amounts += f" {rate}" if rate else ""
        else:
            amounts = f"{progress.done}/{progress.total} {progress.unit}"
        return f"{progress.stage} [{bar}] {fraction:4.0%} {amounts} {progress.message}"
