"""Runs replies: from a question to tokens streaming into the chat view, and back to idle.

The controller owns one ``ChatSession`` per panel and shows one of them in the ``ChatView``.
``ask`` starts a turn: the engine's ``stream_chat`` runs as a ``BackgroundJob``, in line in the
host's ``EngineQueue`` (behind the local server's requests, if any); each token's
parser events go into the turn's ``ReplyDocument``; a timer at ``FRAME_RATE_HZ`` flushes the
document's page operations into the view, so a fast model costs one small script call per frame,
not one per token. ``stop`` cancels within a token; regenerate and edit-and-resend replace a turn
and what followed it; continue replaces a reply cut off at the token limit with one that goes on
from where it stopped (the model is given the open reply, not asked again). ``turn_started`` and
``text_shown`` (the reply's text as each frame draws it) let the history save a reply as it
streams.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.chat.labels import ChatLabels, chat_labels
from app.core.chat.reply_document import ReplyOutcome
from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession, Turn
from app.core.engine.turn_metrics import continued_metrics
from app.core.installation.settings import AppSettings
from app.core.reasoning.readers import read_reply
from app.core.scenarios.scenario import Scenario
from app.ui.chat.view import ChatView
from app.ui.i18n import content_language
from app.ui.job_bridge import BackgroundJob, JobContext
from app.ui.window.model_host import CHAT_QUEUE_LABEL, ModelHost

if TYPE_CHECKING:
    from app.core.engine.local_engine import TokenChunk, TurnResult

# Page updates per second while a reply streams. Every update makes the web engine lay out,
# paint and composite a frame; with software compositing that costs ~6 ms of CPU however small
# the change (bench/render.py: 17 % of a core at 30 Hz, 6.5 % at 10 Hz). Ten a second still
# shows each token on its own up to 10 tok/s (a 7B model on a CPU) and half a line at a time
# at 100 tok/s.
FRAME_RATE_HZ = 10
RATE_UPDATE_MS = 250


class ChatController(QObject):
    """Generation for every panel (see the module docstring). GUI thread only."""

    busy_changed = Signal(bool)
    rate_changed = Signal(object)
    turn_finished = Signal(object, object)  # the Turn, its TurnResult
    turn_failed = Signal(object, str)
    turn_started = Signal(str, object, object, object)  # key, Turn, replaced Turn, settings
    text_shown = Signal(str, object, str)  # key, Turn, the reply text the frame just drew

    def __init__(self, view: ChatView, host: ModelHost, settings: Callable[[], AppSettings],
                 scenarios: Mapping[str, Scenario], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self._host = host
        self._settings = settings
        self._scenarios = scenarios
        self._renderer = RichTextRenderer()
        self._labels = chat_labels(content_language())
        view.set_labels(self._labels)
        self.sessions: dict[str, ChatSession] = {}
        self.visible_key: str | None = None
        self._job: BackgroundJob | None = None
        self._streaming: tuple[str, Turn] | None = None
        self._continued: dict[str, Turn] = {}  # message id → the cut-off turn it continues
        self._unshown_text: list[str] = []
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(1000 // FRAME_RATE_HZ)
        self._frame_timer.timeout.connect(self._frame)
        self._last_rate_update = 0.0

    # -- sessions --------------------------------------------------------------------------------

    def session(self, key: str) -> ChatSession:
        """The session of panel ``key`` (free chat: "chat"; a scenario: its id)."""
        if key not in self.sessions:
            self.sessions[key] = ChatSession(self._renderer, standalone=key in self._scenarios,
                                             labels=self._labels)
        return self.sessions[key]

    def set_labels(self, labels: ChatLabels) -> None:
        """Label the page and every reply in ``labels``' language, redrawing the conversation on
        screen."""
        if labels.language == self._labels.language:
            return  # Qt sends one language change per translator installed
        self._labels = labels
        for session in self.sessions.values():
            session.labels = labels
            for turn in session.turns:
                turn.document.relabel(labels)
        self.view.set_labels(labels)
        if self.visible_key is not None:
            self.show_session(self.visible_key)

    def show_session(self, key: str) -> None:
        """Draw panel ``key``'s conversation in the view (the whole of it, once)."""
        self.visible_key = key
        self.view.apply(self.session(key).snapshot())

    @property
    def busy(self) -> bool:
        return self._streaming is not None

    @property
    def streaming_turn(self) -> Turn | None:
        return self._streaming[1] if self._streaming else None

    # -- asking ----------------------------------------------------------------------------------

    def ask(self, key: str, question: str, scenario_id: str | None = None,
            values: Mapping[str, str] | None = None, replace: Turn | None = None,
            continues: Turn | None = None) -> Turn | None:
        """Start answering ``question`` in panel ``key``'s session; ``replace`` drops that turn
        and the later ones first; ``continues`` (a turn cut off at the token limit, replaced)
        has the model go on from its reply. Returns the new turn, or None when no model is
        loaded or a reply is already streaming (the caller says so to the person)."""
        queue = self._host.queue
        if queue is None or self.busy:
            return None
        session = self.session(key)
        if replace is not None and replace in session.turns:
            session.drop_from(replace)
            if key == self.visible_key:
                self.view.apply(session.snapshot())
        turn = session.start_turn(question, time.perf_counter(), scenario_id, values)
        scenario = self._scenarios.get(scenario_id or "")
        settings = self._settings().generation_settings(
            scenario.think_budget if scenario is not None else None)
        conversation = session.conversation_for(turn)
        reply_prefix = ""
        self._unshown_text.clear()
        if continues is not None and continues.reply_text:
            reply_prefix = continues.reply_text
            turn.document.seed(reply_prefix, continues.metrics)
            self._continued[turn.message_id] = continues
            self._unshown_text.append(reply_prefix)
        if key == self.visible_key:
            self.view.apply([["user", turn.message_id, question]])
        self.turn_started.emit(key, turn, replace, settings)

        def work(context: JobContext) -> TurnResult:
            # In line with the local server's requests, if it runs: one reply at a time.
            stream = queue.submit(lambda engine: engine.stream_chat(
                conversation, settings, context.cancel, reply_prefix=reply_prefix),
                cancel=context.cancel, label=CHAT_QUEUE_LABEL)
            for chunk in stream:
                context.emit(chunk)
            return stream.result

        self._streaming = (key, turn)
        self._job = BackgroundJob(self, work, "generate")
        self._job.on_item(self._token).on_success(self._finished).on_failure(self._failed)
        self._job.start()
        self._frame_timer.start()
        self.busy_changed.emit(True)
        return turn

    def stop(self) -> None:
        """Stop the streaming reply; it keeps what was generated (finish reason ``cancelled``)."""
        if self._job is not None:
            self._job.cancel()

    def regenerate(self, key: str, turn: Turn) -> Turn | None:
        """Answer ``turn``'s question again, replacing it and what followed."""
        return self.ask(key, turn.question, turn.scenario_id, turn.values, replace=turn)

    def continue_turn(self, key: str, turn: Turn) -> Turn | None:
        """Go on with a reply cut off at the token limit (``turn.can_continue``): the model gets
        the open reply and writes on, with a fresh token allowance; the continued reply replaces
        ``turn``. Returns None when it cannot continue or cannot start now."""
        if not turn.can_continue:
            return None
        return self.ask(key, turn.question, turn.scenario_id, turn.values, replace=turn,
                        continues=turn)

    # -- streaming -------------------------------------------------------------------------------

    def _token(self, chunk: TokenChunk) -> None:
        if self._streaming is not None:
            self._streaming[1].document.add(chunk.events, time.perf_counter(),
                                            token=chunk.token is not None)
            self._unshown_text.append(chunk.text)

    def _frame(self) -> None:
        if self._streaming is None:
            self._frame_timer.stop()
            return
        key, turn = self._streaming
        now = time.perf_counter()
        ops = turn.document.flush(now)
        if key == self.visible_key:
            self.view.apply(ops)
        self._report_shown(key, turn)
        if now - self._last_rate_update >= RATE_UPDATE_MS / 1000:
            self._last_rate_update = now
            self.rate_changed.emit(turn.document.tokens_per_s())

    def _report_shown(self, key: str, turn: Turn) -> None:
        text = "".join(self._unshown_text)
        self._unshown_text.clear()
        if text:
            self.text_shown.emit(key, turn, text)

    def _finished(self, result: TurnResult) -> None:
        key, turn = self._end_stream()
        self._report_shown(key, turn)
        before = self._continued.pop(turn.message_id, None)
        if before is not None and before.metrics is not None:
            result = dataclasses.replace(result,
                                         metrics=continued_metrics(before.metrics, result.metrics))
        reading = read_reply(self._scenarios.get(turn.scenario_id or ""), result.reply)
        outcome = ReplyOutcome(result.reply, result.finish_reason, result.metrics, reading)
        ops = turn.document.finish(outcome, time.perf_counter())
        self.sessions[key].record_reply(turn, result.text, result.finish_reason, result.metrics)
        if key == self.visible_key:
            self.view.apply(ops)
        self.rate_changed.emit(result.metrics.tokens_per_s)
        self.busy_changed.emit(False)
        self.turn_finished.emit(turn, result)

    def _failed(self, error: BaseException) -> None:
        key, turn = self._end_stream()
        self._report_shown(key, turn)
        self._continued.pop(turn.message_id, None)
        message = str(error) or type(error).__name__
        ops = turn.document.fail(message, time.perf_counter())
        if key == self.visible_key:
            self.view.apply(ops)
        self.busy_changed.emit(False)
        self.turn_failed.emit(turn, message)

    def _end_stream(self) -> tuple[str, Turn]:
        assert self._streaming is not None
        streaming, self._streaming, self._job = self._streaming, None, None
        self._frame_timer.stop()
        return streaming

    def shutdown(self) -> None:
        """Stop a streaming reply and wait for its thread (on quit)."""
        if self._job is not None:
            self._job.stop()
