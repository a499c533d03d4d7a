"""Helpers for the desktop app's tests: an offscreen Qt set up before the application exists,
waiting for background jobs to settle, reading the chat page back, replaying a scripted reply
into a view. (Waiting on a condition: ``tests.support.qt_wait.wait_until``.)"""

# ruff: noqa: E402  (Qt and Chromium must be prepared before PySide6 and the chat view load)

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.ui.platform_setup import has_display, prepare_qt_environment

prepare_qt_environment(offscreen=not has_display())

from PySide6.QtCore import QCoreApplication, QEvent, QObject

from app.core.chat.reply_document import ReplyOutcome
from app.core.chat.session import ChatSession, Turn
from app.core.engine.config import EngineConfig
from app.core.engine.scripted_stream import scripted_chunks
from app.core.engine.turn_metrics import FinishReason
from app.core.reasoning.parser import ParsedReply
from app.ui.chat.view import ChatView
from app.ui.job_bridge import BackgroundJob
from app.ui.window.model_host import ModelHost
from tests.support.qt_wait import wait_until

TOKENS_PER_FRAME = 10  # a 100 tok/s model at the view's 10 frames per second


def wait_until_jobs_idle(timeout_s: float = 60.0) -> None:
    """Run the event loop until no ``BackgroundJob`` runs or has a result waiting for the GUI
    thread, on two checks in a row a loop pass apart (so a job that a delivered result starts
    through a zero-delay timer is seen too). After an action this is the point where every job
    it led to has ended and been delivered: a test may then assert what did *not* happen
    without a fixed wait. AssertionError naming the jobs still running after ``timeout_s``."""
    checks: list[bool] = []

    def idle_twice() -> bool:
        checks.append(not BackgroundJob.names_in_flight())
        return checks[-2:] == [True, True]

    try:
        wait_until(idle_twice, timeout_s, "every background job to end and be delivered")
    except AssertionError as timeout:
        running = ", ".join(BackgroundJob.names_in_flight())
        raise AssertionError(f"{timeout}; still running: {running}") from None


def dispose(qt_object: QObject) -> None:
    """Delete ``qt_object`` now (web pages must go before the web profile does at exit)."""
    qt_object.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def evaluate(view: ChatView, script: str, timeout_s: float = 10.0) -> Any:
    """The value of ``script`` run in the page (after every operation already sent)."""
    box: list[Any] = []
    view.evaluate(script, box.append)
    wait_until(lambda: box, timeout_s, f"the page to run {script!r}")
    return box[0]


def inspect(view: ChatView) -> list[dict[str, Any]]:
    """What the page shows, one dict per reply (chat.js ``inspect``)."""
    box: list[list[dict[str, Any]]] = []
    view.inspect(box.append)
    wait_until(lambda: box, 10.0, "the page to describe itself")
    return box[0]


# For each ordered list on a page: the text of its widest marker ("105. "), the width that text
# needs in the marker's font, and the room left of the list's items inside the box that clips
# the list (a chat view block, which contains its paint; elsewhere the list's own box). A
# ::marker has no box to measure, so the same text is measured in a hidden span.
LIST_MARKER_ROOM_JS = """JSON.stringify([...document.querySelectorAll('ol')].map((list) => {
    const items = [...list.children].filter((node) => node.tagName === 'LI');
    const widest = String(Math.max(list.start, list.start + items.length - 1)) + '. ';
    const item = items[items.length - 1];
    const probe = document.createElement('span');
    probe.style.cssText = 'position: absolute; visibility: hidden; white-space: pre';
    probe.style.fontVariantNumeric = getComputedStyle(item, '::marker').fontVariantNumeric;
    probe.textContent = widest;
    item.appendChild(probe);
    const need = probe.getBoundingClientRect().width;
    probe.remove();
    const clip = list.closest('.block') || list;
    return {widest, need, room: item.getBoundingClientRect().left - clip.getBoundingClientRect().left};
}))"""


class Replay:
    """``text`` replayed as a streamed reply into ``view``, as a new turn of ``session``: the
    document is flushed into the page every ``TOKENS_PER_FRAME`` tokens, as the frame timer
    does for a 100 tok/s model."""

    def __init__(self, view: ChatView, session: ChatSession, text: str,
                 question: str = "Question") -> None:
        self.view = view
        self.turn: Turn = session.start_turn(question, time.perf_counter())
        self._chunks = scripted_chunks(text)
        self._events: list[Any] = []
        self._count = 0
        view.apply([["user", self.turn.message_id, question]])

    def advance(self, tokens: int | None = None) -> Replay:
        """Stream ``tokens`` more tokens (all that are left when None)."""
        for advanced, chunk in enumerate(self._chunks, start=1):
            self.turn.document.add(chunk.events, time.perf_counter(), token=chunk.token)
            self._events.extend(chunk.events)
            self._count += 1
            if self._count % TOKENS_PER_FRAME == 0:
                self.view.apply(self.turn.document.flush(time.perf_counter()))
            if tokens is not None and advanced >= tokens:
                break
        self.view.apply(self.turn.document.flush(time.perf_counter()))
        return self

    def finish(self, finish_reason: FinishReason = "stop") -> Turn:
        """Stream the rest and end the reply as the model ending it would (``length``: as the
        token limit would)."""
        self.advance()
        outcome = ReplyOutcome(ParsedReply.from_events(self._events), finish_reason)
        self.view.apply(self.turn.document.finish(outcome, time.perf_counter()))
        return self.turn


def play(view: ChatView, session: ChatSession, text: str, question: str = "Question",
         finish_reason: FinishReason = "stop") -> Turn:
    """Replay all of ``text`` into ``view`` (see ``Replay``) and return its finished turn."""
    return Replay(view, session, text, question).finish(finish_reason)


@contextlib.contextmanager
def hosted_model(gguf_path: Path, config: EngineConfig) -> Iterator[ModelHost]:
    """``gguf_path`` loaded through the window's own ``ModelHost`` (its engine and its queue),
    waited for, and shut down at the end."""
    host = ModelHost()
    assert host.load(gguf_path, config)
    wait_until(lambda: host.queue is not None or not host.busy, 120, f"loading {gguf_path.name}")
    assert host.engine is not None and host.queue is not None
    try:
        yield host
    finally:
        host.shutdown()
