"""A stored conversation back into chat-view turns that draw exactly as they did when generated.

The reply text goes through the same reasoning parser and ``ReplyDocument`` as a live reply, cut
into as many pieces as the chat view received tokens (``StoredTurn.shown_tokens``), and ends with
the stored finish reason and metrics, so the page's operations, labels ("Thought for 12 s ·
812 tokens"), final-answer chip, scenario reading and metrics line are the ones it showed then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from app.core.chat.reply_document import ReplyDocument, ReplyOutcome
from app.core.chat.session import ChatSession, Turn
from app.core.engine.scripted_stream import CHARS_PER_TOKEN
from app.core.engine.turn_metrics import FINISH_OF_STATUS, TurnMetrics
from app.core.history.store import Conversation, StoredTurn
from app.core.reasoning.parser import ReasoningParser, ReplyAccumulator
from app.core.reasoning.readers import read_reply
from app.core.scenarios.scenario import Scenario


def restore_session(conversation: Conversation, session: ChatSession,
                    scenarios: Mapping[str, Scenario], interrupted_message: str) -> list[Turn]:
    """Refill ``session`` (emptied first) with the conversation's turns and return them, in
    order. A turn whose writer died mid-reply shows what it had written, ended with
    ``interrupted_message``; only finished turns count as history for a next question."""
    session.clear()
    turns = []
    for stored in conversation.turns:
        turn = session.start_turn(stored.question, 0.0, stored.scenario_id,
                                  dict(stored.form_values))
        replay_into(turn.document, stored, scenarios.get(stored.scenario_id or ""),
                    interrupted_message)
        if stored.status in FINISH_OF_STATUS:
            session.record_reply(turn, stored.reply_text, FINISH_OF_STATUS[stored.status],
                                 stored_metrics(stored))
        turns.append(turn)
    return turns


def replay_into(document: ReplyDocument, stored: StoredTurn, scenario: Scenario | None,
                interrupted_message: str) -> None:
    """Feed a fresh ``ReplyDocument`` the stored turn's reply and end it as it ended."""
    parser, sections = ReasoningParser(), ReplyAccumulator()
    for piece in split_into(stored.reply_text, _token_count(stored)):
        events = parser.feed(piece)
        sections.add(events)
        document.add(events, 0.0, token=True)
    events = parser.finish()
    sections.add(events)
    document.add(events, 0.0, token=False)
    finish_reason = FINISH_OF_STATUS.get(stored.status)
    if finish_reason is None:
        document.fail(stored.error or interrupted_message, 0.0)
        return
    reply = sections.reply()
    reading = read_reply(scenario, reply)
    document.finish(ReplyOutcome(reply, finish_reason, stored_metrics(stored), reading), 0.0)


def stored_metrics(stored: StoredTurn) -> TurnMetrics | None:
    """The turn's metrics as recorded, or None when there are none or they are not complete
    (written by another version of the app): the reply then shows its own counts."""
    if not stored.metrics:
        return None
    known = {field.name for field in dataclasses.fields(TurnMetrics)}
    try:
        return TurnMetrics(**{key: value for key, value in stored.metrics.items()
                              if key in known})
    except TypeError:
        return None


def _token_count(stored: StoredTurn) -> int:
    if stored.shown_tokens is not None:
        return stored.shown_tokens
    return -(-len(stored.reply_text) // CHARS_PER_TOKEN)


def split_into(text: str, count: int) -> list[str]:
    """``text`` cut into ``count`` consecutive pieces (some empty when ``count`` exceeds its
    length, as tokens such as the end marker carry no text)."""
    if count <= 0:
        return [text] if text else []
    size, extra = divmod(len(text), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces
