"""One way to show a job's progress in a terminal: a single self-rewriting line on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from foundation.disk_space import human_bytes
from foundation.job_rate import RateMeter
from foundation.jobs import Progress

RATE_WINDOW_S = 5.0  # a terminal line follows the speed closely


def _speed_and_time_left(meter: RateMeter) -> str:
    """``12.3 MB/s, 0:42 left``, or "" until a speed is measured."""
    speed, left = meter.rate(), meter.seconds_left()
    if not speed:
        return ""
    text = f"{human_bytes(speed)}/s"
    if left:
        seconds = int(left)
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
        self._rate_stage = ""
        self._interactive = stream.isatty()
        # only bytes that arrive while watched count: a resumed download starts from its partial
        self._rate = RateMeter(window_s=RATE_WINDOW_S)

    def __call__(self, progress: Progress) -> None:
        finished = progress.total > 0 and progress.done >= progress.total
        if progress.unit == "bytes":
            if progress.stage != self._rate_stage:
                self._rate.reset()
                self._rate_stage = progress.stage
            self._rate.observe(progress.done, progress.total)
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
            amounts = f"{human_bytes(progress.done)}/{human_bytes(progress.total)}"
            rate = _speed_and_time_left(self._rate)
            amounts += f" {rate}" if rate else ""
        else:
            amounts = f"{progress.done}/{progress.total} {progress.unit}"
        return f"{progress.stage} [{bar}] {fraction:4.0%} {amounts} {progress.message}"
