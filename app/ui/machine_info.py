"""This machine's facts (RAM, GPU, llama.cpp's GPU support), probed once off the GUI thread and
shared by the wizard and the model manager."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer

from app.core.hardware import MachineInfo, detect_machine
from app.ui.job_bridge import BackgroundJob

_cached: MachineInfo | None = None
_waiting: list[tuple[QObject, Callable[[MachineInfo], None]]] = []


def request_machine(receiver: QObject, callback: Callable[[MachineInfo], None]) -> None:
    """Call ``callback(machine)`` on the GUI thread once the machine is known (at once, through
    the event loop, when it already is), unless ``receiver`` (the widget asking) has been deleted
    by then. The detection belongs to the application, not to the widget that asked first, so a
    widget closed meanwhile leaves the others their answer."""
    if _cached is not None:
        known = _cached
        QTimer.singleShot(0, receiver, lambda: callback(known))  # dropped if receiver is deleted
        return
    _waiting.append((receiver, callback))
    if len(_waiting) > 1:
        return
    job = BackgroundJob(QCoreApplication.instance(), lambda _context: detect_machine(),
                        "detect machine")
    job.on_success(_known)
    job.on_failure(lambda _error: _known(detect_machine(probe_gpus=False)))
    job.start()


def _known(machine: MachineInfo) -> None:
    global _cached
    _cached = machine
    waiting = list(_waiting)
    _waiting.clear()
    for receiver, callback in waiting:
        if shiboken6.isValid(receiver):
            callback(machine)

