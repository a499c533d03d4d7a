"""Cancelling a job part-way, at a point its own progress reports name (never after a fixed time:
a fast machine may be done before it)."""

from __future__ import annotations

from collections.abc import Callable

from foundation.jobs import CancelToken, Progress


def cancel_at(done: int, cancel: CancelToken) -> Callable[[Progress], None]:
    """A progress callback that cancels ``cancel`` at the first report with at least ``done``
    units done (0: the first report of all)."""

    def on_progress(progress: Progress) -> None:
        if progress.done >= done:
            cancel.cancel()

    return on_progress
