"""The suite's one way to wait on the Qt event loop: ``wait_until(condition, timeout_s, what)``.

It runs a ``QEventLoop`` in short passes, as the application's own loop would run: while the
loop waits for events it sleeps in Qt's dispatcher without Python's lock, so job threads
(``BackgroundJob``'s ``QThread``s, servers, Chromium callbacks) run at full speed and their
queued results are delivered. ``QTest.qWait`` keeps Python's lock for its whole wait, which
starves those threads (about a quarter of their speed), so the suite does not use it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

PASS_MS = 10  # how often the condition is checked while the loop runs

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float = 60.0, what: str = "") -> T:
    """Run the Qt event loop until ``condition()`` returns a truthy value, and return it.

    ``condition`` is checked at once, then after every pass of the loop (``PASS_MS``); an
    ``AssertionError`` raised by it counts as "not yet". Raises ``AssertionError`` naming
    ``what`` (by default the condition's own source line) when ``timeout_s`` passes first, and
    ``RuntimeError`` when no ``QApplication`` exists (ask for pytest-qt's ``qapp`` or ``qtbot``).
    """
    if QCoreApplication.instance() is None:
        raise RuntimeError("wait_until needs a QApplication: ask for the qapp or qtbot fixture")
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer(singleShot=True, interval=PASS_MS)
    timer.timeout.connect(loop.quit)
    last_failure: AssertionError | None = None
    while True:
        try:
            value = condition()
        except AssertionError as failure:
            value, last_failure = None, failure  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for "
                                 f"{what or describe(condition)}") from last_failure
        timer.start()
        loop.exec()


def describe(condition: Callable[[], object]) -> str:
    """How a failure names ``condition``: a lambda's source text and where it is, else the
    function's qualified name."""
    code = getattr(condition, "__code__", None)
    if getattr(condition, "__name__", "") != "<lambda>" or code is None:
        return getattr(condition, "__qualname__", repr(condition))
    try:
        source = " ".join(inspect.getsource(condition).split())
    except (OSError, TypeError):
        source = "a condition"
    return f"{source} ({Path(code.co_filename).name}:{code.co_firstlineno})"
