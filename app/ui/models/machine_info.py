"""This machine's facts (RAM, GPU, llama.cpp's GPU support) and the basis of its speed predictions
(a short memory-bandwidth probe), found once off the GUI thread and shared by the wizard and the
model manager. A decode measured on a loaded model replaces the probe's figure (``note_turn``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer

from app.core.engine.config import default_thread_count
from app.core.engine.turn_metrics import TurnMetrics
from app.core.hardware.machine import MachineInfo, detect_machine
from app.core.hardware.speed_prediction import SpeedBasis, measured_decode, probe_memory_bandwidth
from app.ui.job_bridge import BackgroundJob, JobContext


@dataclass(frozen=True)
class MachineFacts:
    """The machine, and what its speed predictions start from (None when the probe failed)."""

    machine: MachineInfo
    speed: SpeedBasis | None


_cached: MachineFacts | None = None
_waiting: list[tuple[QObject, Callable[[MachineFacts], None]]] = []


def request_machine(receiver: QObject, callback: Callable[[MachineInfo], None]) -> None:
    """Call ``callback(machine)`` on the GUI thread once the machine is known (at once, through
    the event loop, when it already is), unless ``receiver`` (the widget asking) has been deleted
    by then. The detection belongs to the application, not to the widget that asked first, so a
    widget closed meanwhile leaves the others their answer."""
    _request(receiver, lambda facts: callback(facts.machine))


def request_speed(receiver: QObject,
                  callback: Callable[[MachineInfo, SpeedBasis | None], None]) -> None:
    """As ``request_machine``, with the speed basis too (None when it could not be measured)."""
    _request(receiver, lambda facts: callback(facts.machine, facts.speed))


def note_turn(engine: object, metrics: TurnMetrics) -> None:
    """After a reply: when a model on this computer (a ``ChatEngine``) gave it, its measured
    decode (``speed_prediction.measured_decode``) becomes the basis of later predictions instead
    of the probe. Ignored for a server's reply, a short reply, or before the machine is known.
    GUI thread only (connect it to the chat's ``turn_finished``)."""
    global _cached
    from app.core.engine.local_engine import ChatEngine  # loaded by then; not at the app's start

    if _cached is None or _cached.speed is None or not isinstance(engine, ChatEngine):
        return
    decode = measured_decode(engine.gguf_info, engine.config.kv_cache_types,
                             engine.info.offload.n_gpu_layers, metrics.tokens_per_s,
                             metrics.prompt_tokens, metrics.completion_tokens)
    if decode is not None:
        _cached = replace(_cached, speed=_cached.speed.with_measured_decode(decode))


def _request(receiver: QObject, callback: Callable[[MachineFacts], None]) -> None:
    if _cached is not None:
        known = _cached
        QTimer.singleShot(0, receiver, lambda: callback(known))  # dropped if receiver is deleted
        return
    _waiting.append((receiver, callback))
    if len(_waiting) > 1:
        return
    job = BackgroundJob(QCoreApplication.instance(), _detect, "detect machine")
    job.on_success(_known)
    job.on_failure(lambda _error: _known(MachineFacts(detect_machine(probe_gpus=False), None)))
    job.start()


def _detect(_context: JobContext) -> MachineFacts:
    machine = detect_machine()
    # the engine's thread count when the settings leave it open, as they do by default
    probe = probe_memory_bandwidth(default_thread_count())
    return MachineFacts(machine, SpeedBasis.from_probe(probe, machine))


def _known(facts: MachineFacts) -> None:
    global _cached
    _cached = facts
    waiting = list(_waiting)
    _waiting.clear()
    for receiver, callback in waiting:
        if shiboken6.isValid(receiver):
            callback(facts)
