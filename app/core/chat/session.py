"""A conversation as a panel of the app holds it: turns, what each sends, and how it is drawn.

A ``ChatSession`` is a list of ``Turn``s: the question sent, the scenario and form values it came
from (so "edit" can refill the form), its ``ReplyDocument`` and, once finished, the reply text.
Free chat sends the earlier turns as history; a scenario panel's session is ``standalone``: each
run is answered on its own, as the scenario's prompt is a complete task. Regenerate and
edit-and-resend drop a turn and everything after it, then start a new turn in its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.core.chat.labels import ChatLabels, chat_labels
from app.core.chat.reply_document import Op, ReplyDocument
from app.core.chat.rich_text import RichTextRenderer
from app.core.engine.turn_metrics import FinishReason, TurnMetrics
from app.core.templates.chat_template import ChatMessage


@dataclass
class Turn:
    """One question and its reply. ``turn_id`` is unique within its session; ``reply_text`` is
    the raw reply once finished (None while streaming or after a failure), ``finish_reason`` and
    ``metrics`` how it ended and what it cost (None when unknown)."""

    turn_id: int
    question: str
    document: ReplyDocument
    scenario_id: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    reply_text: str | None = None
    finish_reason: FinishReason | None = None
    metrics: TurnMetrics | None = None

    @property
    def message_id(self) -> str:
        return self.document.message_id

    @property
    def can_continue(self) -> bool:
        """The reply stopped at the token limit, so the model can go on where it stopped."""
        return self.reply_text is not None and self.finish_reason == "length"


class UnknownTurnError(LookupError):
    """No turn of the session has the given message id (the page asked about a removed turn)."""


class ChatSession:
    """The turns of one panel (see the module docstring). Not thread-safe: GUI thread only."""

    def __init__(self, renderer: RichTextRenderer, standalone: bool = False,
                 labels: ChatLabels | None = None) -> None:
        self.turns: list[Turn] = []
        self.standalone = standalone
        self.labels = labels or chat_labels()  # the language of the replies started from now
        self._renderer = renderer
        self._next_id = 1

    def start_turn(self, question: str, now: float, scenario_id: str | None = None,
                   values: Mapping[str, str] | None = None) -> Turn:
        """Append a turn asking ``question`` (its reply document starts at ``now``)."""
        if not question.strip():
            raise ValueError("a question cannot be empty")
        turn_id = self._next_id
        self._next_id += 1
        document = ReplyDocument(f"t{turn_id}", self._renderer, now, self.labels)
        turn = Turn(turn_id, question, document, scenario_id, dict(values or {}))
        self.turns.append(turn)
        return turn

    def conversation_for(self, turn: Turn) -> list[ChatMessage]:
        """The messages to send for ``turn``: its question, preceded in free chat by the earlier
        turns that have a finished reply (failed or stopped-empty turns are left out)."""
        index = self.turns.index(turn)
        messages: list[ChatMessage] = []
        if not self.standalone:
            for earlier in self.turns[:index]:
                if earlier.reply_text:
                    messages.append(ChatMessage("user", earlier.question))
                    messages.append(ChatMessage("assistant", earlier.reply_text))
        messages.append(ChatMessage("user", turn.question))
        return messages

    def record_reply(self, turn: Turn, reply_text: str, finish_reason: FinishReason | None = None,
                     metrics: TurnMetrics | None = None) -> None:
        """Remember ``turn``'s finished reply text (sent as history by later turns), why it
        ended and its measurements."""
        turn.reply_text = reply_text
        turn.finish_reason = finish_reason
        turn.metrics = metrics

    def turn_by_message_id(self, message_id: str) -> Turn:
        """The turn whose messages carry ``message_id``; ``UnknownTurnError`` when none does."""
        for turn in self.turns:
            if turn.message_id == message_id:
                return turn
        raise UnknownTurnError(f"no turn {message_id!r} in this conversation")

    def drop_from(self, turn: Turn) -> None:
        """Remove ``turn`` and every later turn."""
        del self.turns[self.turns.index(turn):]

    def clear(self) -> None:
        """Forget every turn."""
        self.turns.clear()

    def snapshot(self) -> list[Op]:
        """Operations drawing the whole conversation onto an empty page."""
        ops: list[Op] = [["clear"]]
        for turn in self.turns:
            ops.append(["user", turn.message_id, turn.question])
            ops.extend(turn.document.snapshot())
        return ops
