"""One reply in the chat view: the reasoning parser's events in, small page operations out.

``ReplyDocument`` is fed the events of each streamed token (``add``) and, at the view's frame rate,
asked for the operations that bring the page up to date (``flush``). It renders each finished
markdown block once and re-renders only the block still arriving, so the work per token does not
grow with the length of the reply. ``finish`` / ``fail`` end the reply; ``snapshot`` gives the
operations that draw the whole reply afresh (when the view switches conversations). A reply cut off
at the token limit is continued in a new document ``seed``ed with the text so far.

An operation is a JSON-ready list ``[name, message_id, *args]`` that the page's script applies:

    ["reply", id]                               an empty reply: think block hidden, answer card
    ["think_start", id]                         the reasoning opened
    ["think_clock", id, label]                  "Thinking… 12 s"
    ["block", id, section, index, html, open]   set block ``index`` of "think"/"answer"
    ["think_end", id, label]                    collapse: "Thought for 12 s · 812 tokens"
    ["final", id, chip_html]                    the final boxed answer, shown atop the card
    ["truncated", id, label, can_continue]      ended without an answer or cut off at the token
                                                limit; offers "continue" when ``can_continue``
    ["reading", id, html]                       the scenario's reading (verdict badge…)
    ["metrics", id, text]                       the quiet per-message metrics line
    ["status", id, status]                      "streaming", "done", "length", "stopped", "error"
    ["error", id, text]                         why the reply failed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.core.chat.labels import ChatLabels, chat_labels
from app.core.chat.markdown_stream import BlockSplitter
from app.core.chat.reading_badges import reading_html
from app.core.chat.rich_text import RichTextRenderer, boxed_chip_html
from app.core.engine.turn_metrics import STATUS_OF_FINISH, FinishReason, TurnMetrics
from app.core.reasoning.parser import (
    AnswerText,
    BoxedFound,
    Done,
    Event,
    ParsedReply,
    ReasoningParser,
    ThinkEnded,
    ThinkStarted,
    ThinkText,
)
from app.core.reasoning.readers import AnswerReading

Op = list[object]
Section = Literal["think", "answer"]
_Phase = Literal["waiting", "think", "answer", "finished"]



@dataclass(frozen=True)
class ReplyOutcome:
    """How a reply ended: its sections, why it ended, its measurements (None when they were not
    measured, e.g. a scripted stream) and the scenario's reading of it (None without one)."""

    reply: ParsedReply
    finish_reason: FinishReason
    metrics: TurnMetrics | None = None
    reading: AnswerReading | None = None


class _SectionView:
    """One section's blocks: which are on the page, and the HTML of the finished ones."""

    def __init__(self, message_id: str, section: Section, renderer: RichTextRenderer) -> None:
        self._message_id = message_id
        self._section = section
        self._renderer = renderer
        self._splitter = BlockSplitter()
        self._closed_html: list[str] = []
        self._open_on_page: tuple[int, str] | None = None  # (index, source) last drawn open
        self.started = False

    def feed(self, text: str) -> None:
        self.started = True
        self._splitter.feed(text)

    def finish(self) -> None:
        self._splitter.finish()

    def changes(self) -> list[Op]:
        """Operations for blocks finished since the last call, and for the open block if it
        changed."""
        ops: list[Op] = []
        closed = self._splitter.closed
        while len(self._closed_html) < len(closed):
            index = len(self._closed_html)
            rendered = self._renderer.render(closed[index])
            self._closed_html.append(rendered)
            ops.append(self._block(index, rendered, False))
        source = self._splitter.open_block
        index = len(closed)
        if source.strip() and self._open_on_page != (index, source):
            self._open_on_page = (index, source)
            ops.append(self._block(index, self._renderer.render(source, streaming=True), True))
        return ops

    def snapshot(self) -> list[Op]:
        """Operations drawing every block as it stands."""
        ops = [self._block(index, rendered, False) for index, rendered in
               enumerate(self._closed_html)]
        source = self._splitter.open_block
        if source.strip():
            index = len(self._closed_html)
            ops.append(self._block(index, self._renderer.render(source, streaming=True), True))
        return ops

    def _block(self, index: int, rendered: str, is_open: bool) -> Op:
        return ["block", self._message_id, self._section, index, rendered, is_open]


class ReplyDocument:
    """One assistant reply as the page shows it (see the module docstring).

    ``started_at`` and every ``now`` are ``time.perf_counter()``-style seconds; ``labels`` the
    texts in the window's language (English by default). Not thread-safe: feed it from the GUI
    thread.
    """

    def __init__(self, message_id: str, renderer: RichTextRenderer, started_at: float,
                 labels: ChatLabels | None = None) -> None:
        self.message_id = message_id
        self.labels = labels or chat_labels()
        self._started_at = started_at
        self._think = _SectionView(message_id, "think", renderer)
        self._answer = _SectionView(message_id, "answer", renderer)
        self._phase: _Phase = "waiting"
        self._pending: list[Op] = [["reply", message_id], ["status", message_id, "streaming"]]
        self._marks: dict[str, Op] = {"status": ["status", message_id, "streaming"]}
        self._tokens = 0
        self._seeded_tokens = 0  # tokens of the run(s) this document continues
        self._seeded_think_s = 0.0
        self._think_tokens = 0
        self._unplaced_tokens = 0  # tokens before the parser knew which section they are in
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
        self._think_started_at: float | None = None
        self._think_ended_at: float | None = None
        self._clock_on_page: str | None = None
        self._ending: tuple[ReplyOutcome, float] | None = None  # how and when it finished

    # -- streaming -------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._phase == "finished"

    @property
    def tokens(self) -> int:
        """Tokens received so far (with those of the reply it continues, see ``seed``)."""
        return self._seeded_tokens + self._tokens

    def seed(self, reply_so_far: str, prior: TurnMetrics | None) -> ReasoningParser:
        """Start this empty document as the continuation of a reply cut off at the token limit:
        it shows ``reply_so_far`` with its last block still open, and its labels count on from
        ``prior`` (that reply's measurements, when known). Returns the parser that read the text,
        positioned to read the continuation."""
        if prior is not None:
            self._seeded_tokens = prior.completion_tokens
            self._seeded_think_s = prior.think_s
            self._think_tokens = prior.think_tokens
        parser = ReasoningParser()
        self.add(parser.feed(reply_so_far), self._started_at, token=False)
        return parser

    def add(self, events: Iterable[Event], now: float, token: bool = True) -> None:
        """Take the parser events of one streamed chunk received at ``now``; ``token`` is False
        for the final chunk, which carries no new token."""
        if token:
            self._tokens += 1
            self._unplaced_tokens += 1
            self._first_token_at = self._first_token_at or now
            self._last_token_at = now
        for event in events:
            self._apply(event, now)
        if self._phase == "think":
            self._think_tokens += self._unplaced_tokens
            self._unplaced_tokens = 0
        elif self._phase == "answer":
            self._unplaced_tokens = 0

    def _apply(self, event: Event, now: float) -> None:
        if isinstance(event, ThinkStarted):
            self._phase = "think"
            self._think_started_at = now
            self._mark(["think_start", self.message_id])
        elif isinstance(event, ThinkText):
            self._think.feed(event.text)
        elif isinstance(event, ThinkEnded):
            self._end_think(now)
        elif isinstance(event, AnswerText):
            if self._phase == "waiting":
                self._phase = "answer"
            self._answer.feed(event.text)
        elif isinstance(event, BoxedFound) and event.section == "answer":
            self._mark(["final", self.message_id, boxed_chip_html(event.content)])
        elif isinstance(event, Done):
            self._think.finish()
            self._answer.finish()

    def _end_think(self, now: float) -> None:
        self._think_tokens += self._unplaced_tokens  # the token that closed it belongs to it
        self._unplaced_tokens = 0
        self._think.finish()
        self._pending.extend(self._think.changes())
        self._phase = "answer"
        self._think_ended_at = now
        self._mark(["think_end", self.message_id,
                    self._thought_label(self._think_seconds(now), self._think_tokens)])

    def _think_seconds(self, end: float) -> float:
        """How long the reasoning has taken by ``end``, a continued reply's earlier part included."""
        return end - (self._think_started_at or end) + self._seeded_think_s

    def _thought_label(self, seconds: float, tokens: int, suffix: str = "") -> str:
        labels = self.labels
        return labels.text("reply", "thought_for", labels.duration(seconds),
                           labels.tokens(tokens)) + suffix

    def _mark(self, op: Op) -> None:
        """Queue an operation that also belongs to the reply's lasting state (for snapshots)."""
        self._pending.append(op)
        self._marks[str(op[0])] = op

    def flush(self, now: float) -> list[Op]:
        """The operations that bring the page up to date, in order; [] when nothing changed."""
        ops, self._pending = self._pending, []
        ops.extend(self._think.changes())
        ops.extend(self._answer.changes())
        if self._phase == "think" and self._think_started_at is not None:
            label = self.labels.text("reply", "thinking_for", int(self._think_seconds(now)))
            if label != self._clock_on_page:
                self._clock_on_page = label
                ops.append(["think_clock", self.message_id, label])
        return ops

    def tokens_per_s(self) -> float | None:
        """Decode speed so far, over the tokens after the first; None before two tokens."""
        if self._first_token_at is None or self._last_token_at is None or self._tokens < 2:
            return None
        elapsed = self._last_token_at - self._first_token_at
        return (self._tokens - 1) / elapsed if elapsed > 0 else None

    # -- the end ---------------------------------------------------------------------------------

    def finish(self, outcome: ReplyOutcome, now: float) -> list[Op]:
        """End the reply: its last blocks, labels, final chip, reading, metrics and status."""
        self._think.finish()
        self._answer.finish()
        ops = self.flush(now)
        self._close_think_label(outcome, now)
        if outcome.reply.boxed:
            self._mark(["final", self.message_id, boxed_chip_html(outcome.reply.boxed[-1])])
        self._mark_labelled_ending(outcome, now)
        self._mark(["status", self.message_id, STATUS_OF_FINISH[outcome.finish_reason]])
        self._phase = "finished"
        self._ending = (outcome, now)
        ops.extend(self.flush(now))
        return ops

    def _mark_labelled_ending(self, outcome: ReplyOutcome, now: float) -> None:
        """The end's texts that depend on the language: notice, badges, metrics line."""
        tokens = outcome.metrics.completion_tokens if outcome.metrics else self.tokens
        notice = self._truncation_notice(outcome, tokens)
        if notice is not None:
            self._mark(["truncated", self.message_id, notice, outcome.finish_reason == "length"])
        badges = reading_html(outcome.reading, final_box_shown=bool(outcome.reply.boxed),
                              labels=self.labels)
        if badges:
            self._mark(["reading", self.message_id, badges])
        self._mark(["metrics", self.message_id, self._metrics_text(outcome, now)])

    def relabel(self, labels: ChatLabels) -> None:
        """Write the reply's labels in ``labels``' language, those already decided too: redraw
        it with ``snapshot`` afterwards (a streaming reply's next flush follows by itself)."""
        self.labels = labels
        self._clock_on_page = None  # the next flush writes the clock anew
        if self._ending is not None:
            pending, self._pending = self._pending, []
            self._close_think_label(*self._ending)
            self._mark_labelled_ending(*self._ending)
            self._pending = pending  # a snapshot draws the new marks; nothing more to flush
        elif self._think_ended_at is not None:
            self._marks["think_end"] = ["think_end", self.message_id, self._thought_label(
                self._think_seconds(self._think_ended_at), self._think_tokens)]

    def _truncation_notice(self, outcome: ReplyOutcome, tokens: int) -> str | None:
        """Why there is no (whole) answer: cut off at the token limit (can be continued), or the
        model ended inside its reasoning; None for a whole reply or one the person stopped."""
        if outcome.finish_reason == "length":
            key = "reasoning_cut_off" if outcome.reply.truncated else "answer_cut_off"
            return self.labels.text("reply", key, self.labels.tokens(tokens))
        if outcome.finish_reason == "stop" and outcome.reply.truncated:
            return self.labels.text("reply", "reasoning_unfinished")
        return None

    def _close_think_label(self, outcome: ReplyOutcome, now: float) -> None:
        metrics = outcome.metrics
        if self._think_started_at is None and not (metrics and metrics.think_tokens):
            return
        tokens = metrics.think_tokens if metrics else self._think_tokens + self._unplaced_tokens
        seconds = metrics.think_s if metrics else self._think_seconds(self._think_ended_at or now)
        suffix = ""
        if self._think_ended_at is None:
            suffix = self.labels.text("reply", "thought_stopped" if outcome.finish_reason ==
                                      "cancelled" else "thought_cut_off")
        self._mark(["think_end", self.message_id, self._thought_label(seconds, tokens, suffix)])

    def _metrics_text(self, outcome: ReplyOutcome, now: float) -> str:
        labels = self.labels
        metrics = outcome.metrics
        if metrics is not None:
            rate, first_token = metrics.tokens_per_s, metrics.ttft_s
            think, answer = metrics.think_tokens, metrics.answer_tokens
        else:
            rate = self.tokens_per_s()
            first_token = (self._first_token_at - self._started_at
                           if self._first_token_at is not None else None)
            think = self._think_tokens
            answer = self.tokens - think
        parts = [labels.metrics_line(
            rate, first_token, think, answer,
            reasoning_stopped_at=metrics.reasoning_stopped_at if metrics is not None else None,
            draft_tokens=metrics.draft_tokens if metrics is not None else 0,
            accepted_tokens=metrics.accepted_tokens if metrics is not None else 0)]
        if outcome.finish_reason == "cancelled":
            parts.append(labels.text("reply", "stopped"))
        elif outcome.finish_reason == "length":
            parts.append(labels.text("reply", "token_limit"))
        return " · ".join(parts)

    def fail(self, message: str, now: float) -> list[Op]:
        """End the reply with an error ``message`` (shown in the card)."""
        self._think.finish()
        self._answer.finish()
        ops = self.flush(now)
        self._mark(["error", self.message_id, message])
        self._mark(["status", self.message_id, "error"])
        self._phase = "finished"
        ops.extend(self.flush(now))
        return ops

    def snapshot(self) -> list[Op]:
        """Operations that draw the reply as it stands onto a page that does not have it."""
        ops: list[Op] = [["reply", self.message_id]]
        if "think_start" in self._marks:
            ops.append(self._marks["think_start"])
        ops.extend(self._think.snapshot())
        if "think_end" in self._marks:
            ops.append(self._marks["think_end"])
        elif self._clock_on_page is not None:
            ops.append(["think_clock", self.message_id, self._clock_on_page])
        ops.extend(self._answer.snapshot())
        for name in ("final", "truncated", "reading", "metrics", "error", "status"):
            if name in self._marks:
                ops.append(self._marks[name])
        return ops
