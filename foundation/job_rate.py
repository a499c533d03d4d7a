"""Speed and time left of a running job, measured from its own progress: no guessed constants.

``RateMeter`` is fed ``(done, total)`` counts as a job reports them (bytes of a download, the
overall fraction of a build) and answers with the rate over the last ``window_s`` seconds and the
time left at that rate. It says nothing (None) until the job has run ``min_elapsed_s`` and moved,
so a display shows "estimating…" rather than a number made up from the first burst. A count that
goes backwards, or a new total, starts the measurement afresh (a new stage, a resumed transfer).
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_WINDOW_S = 20.0
DEFAULT_MIN_ELAPSED_S = 1.5


class RateMeter:
    """Rate and time left over a sliding window (see the module docstring). Not thread-safe."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S,
                 min_elapsed_s: float = DEFAULT_MIN_ELAPSED_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._min_elapsed_s = min_elapsed_s
        self._clock = clock
        self._samples: list[tuple[float, float]] = []
        self._total: float = 0.0
        self._done: float = 0.0

    def reset(self) -> None:
        """Forget every sample (the job restarted)."""
        self._samples.clear()

    def observe(self, done: float, total: float) -> None:
        """Record that ``done`` of ``total`` units are finished now."""
        if total != self._total or (self._samples and done < self._samples[-1][1]):
            self._samples.clear()
        self._total, self._done = total, done
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.pop(0)

    def rate(self) -> float | None:
        """Units per second over the window, or None while not yet measurable."""
        if len(self._samples) < 2:
            return None
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        if end - start < self._min_elapsed_s or last <= first:
            return None
        return (last - first) / (end - start)

    def seconds_left(self) -> float | None:
        """Time to finish at the measured rate, or None while it is not measurable."""
        speed = self.rate()
        if speed is None or self._total <= 0:
            return None
        return max(0.0, (self._total - self._done) / speed)
