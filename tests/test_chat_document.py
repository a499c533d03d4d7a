"""The chat document: streamed markdown cut into blocks, parser events turned into page operations,
conversations kept per panel. No Qt: these are the decisions the chat view only draws."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fin_r1_replies import CALCULATION, COMPLIANCE, TRUNCATED

from app.core.chat_document import ReplyDocument, ReplyOutcome, format_duration
from app.core.chat_session import ChatSession, UnknownTurnError
from app.core.markdown_stream import BlockSplitter
from app.core.reasoning import ParsedReply, parse_text
from app.core.rich_text import RichTextRenderer
from app.core.scripted_stream import scripted_chunks


def split(text: str, piece: int = 3) -> BlockSplitter:
    splitter = BlockSplitter()
    for start in range(0, len(text), piece):
        splitter.feed(text[start:start + piece])
    splitter.finish()
    return splitter


# -- blocks ---------------------------------------------------------------------------------------


def test_blank_lines_end_blocks_whatever_the_chunking() -> None:
    text = "first para\nstill first\n\nsecond\n\n\nthird"
    for piece in (1, 2, 5, 100):
        assert split(text, piece).closed == ["first para\nstill first", "second", "third"]


def test_a_code_fence_is_one_block_with_its_blank_lines_even_glued_to_prose() -> None:
    text = "Code follows:\n```python\na = 1\n\nb = 2\n```\nafter"
    assert split(text).closed == ["Code follows:", "```python\na = 1\n\nb = 2\n```", "after"]


def test_a_loose_list_stays_one_block() -> None:
    text = "1. one\n\n2. two\n   more\n\nprose"
    assert split(text).closed == ["1. one\n\n2. two\n   more", "prose"]


def test_display_math_with_a_blank_line_inside_stays_one_block() -> None:
    text = "$$\na = b\n\nc = d\n$$\n\nnext"
    assert split(text).closed == ["$$\na = b\n\nc = d\n$$", "next"]


def test_the_open_block_is_what_has_arrived_of_the_current_block() -> None:
    splitter = BlockSplitter()
    splitter.feed("done\n\nhalf a li")
    assert splitter.closed == ["done"]
    assert splitter.open_block == "half a li"


# -- reply document -------------------------------------------------------------------------------


def stream(text: str, frame_every: int = 3) -> tuple[ReplyDocument, list[list[object]]]:
    """Replays ``text`` into a document, flushing every few tokens like the 30 Hz timer does."""
    document = ReplyDocument("t1", RichTextRenderer(), started_at=0.0)
    ops: list[list[object]] = []
    events = []
    now = 0.0
    for count, chunk in enumerate(scripted_chunks(text)):
        now += 0.01
        document.add(chunk.events, now, token=chunk.token)
        events.extend(chunk.events)
        if count % frame_every == 0:
            ops.extend(document.flush(now))
    ops.extend(document.finish(ReplyOutcome(ParsedReply.from_events(events), "stop"), now))
    return document, ops


def test_each_finished_block_is_rendered_once_and_only_the_open_block_repeats() -> None:
    _document, ops = stream(COMPLIANCE)
    finished = Counter((op[2], op[3]) for op in ops if op[0] == "block" and op[5] is False)
    assert finished and max(finished.values()) == 1
    streaming = [op for op in ops if op[0] == "block" and op[5] is True]
    assert streaming, "the block being written is shown while it streams"


def test_operations_follow_the_reply_in_order() -> None:
    _document, ops = stream(COMPLIANCE)
    names = [op[0] for op in ops]
    assert names[:3] == ["reply", "status", "think_start"]
    first_answer_block = next(i for i, op in enumerate(ops) if op[0] == "block" and op[2] == "answer")
    last_think_block = max(i for i, op in enumerate(ops) if op[0] == "block" and op[2] == "think")
    assert last_think_block < names.index("think_end") < first_answer_block
    assert names[-1] == "status" and ops[-1][2] == "done"


def test_the_think_label_counts_time_and_tokens() -> None:
    _document, ops = stream(COMPLIANCE)
    labels = [op[2] for op in ops if op[0] == "think_end"]
    assert labels and all(label.startswith("Thought for ") and label.endswith(" tokens")
                          for label in labels)
    assert any(op[0] == "think_clock" and op[2].startswith("Thinking… ") for op in ops)


def test_the_final_box_becomes_the_cards_chip() -> None:
    _document, ops = stream(CALCULATION)
    finals = [op[2] for op in ops if op[0] == "final"]
    assert finals and "1,933.28" in finals[-1]


def test_a_reply_cut_off_in_its_reasoning_is_labelled_truncated() -> None:
    _document, ops = stream(TRUNCATED)
    truncated = [op for op in ops if op[0] == "truncated"]
    assert truncated and "cut off" in str(truncated[0][2])
    assert [op[2] for op in ops if op[0] == "think_end"][-1].endswith("· cut off")


def test_operations_are_json() -> None:
    _document, ops = stream(CALCULATION)
    assert json.loads(json.dumps(ops)) == ops


def test_a_snapshot_redraws_the_same_blocks_as_the_stream_drew() -> None:
    document, ops = stream(COMPLIANCE)
    final_blocks = {(op[2], op[3]): op[4] for op in ops if op[0] == "block"}
    snapshot_blocks = {(op[2], op[3]): op[4] for op in document.snapshot() if op[0] == "block"}
    assert snapshot_blocks == final_blocks


def test_a_failed_reply_shows_its_error() -> None:
    document = ReplyDocument("t1", RichTextRenderer(), 0.0)
    ops = document.fail("the context is full", 1.0)
    assert ["error", "t1", "the context is full"] in ops and ops[-1] == ["status", "t1", "error"]


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (0.42, 12.4, 125)] == ["0.4 s", "12 s", "2 min 05 s"]


# -- sessions -------------------------------------------------------------------------------------


def finished_turn(session: ChatSession, question: str, reply: str) -> None:
    turn = session.start_turn(question, 0.0)
    session.record_reply(turn, reply)


def test_free_chat_sends_earlier_turns_as_history() -> None:
    session = ChatSession(RichTextRenderer())
    finished_turn(session, "q1", "<think>x</think>a1")
    turn = session.start_turn("q2", 0.0)
    assert [(m.role, m.content) for m in session.conversation_for(turn)] == [
        ("user", "q1"), ("assistant", "<think>x</think>a1"), ("user", "q2")]


def test_a_scenario_session_answers_each_run_on_its_own() -> None:
    session = ChatSession(RichTextRenderer(), standalone=True)
    finished_turn(session, "q1", "a1")
    turn = session.start_turn("q2", 0.0)
    assert [m.content for m in session.conversation_for(turn)] == ["q2"]


def test_dropping_a_turn_drops_the_later_ones_and_ids_are_not_reused() -> None:
    session = ChatSession(RichTextRenderer())
    finished_turn(session, "q1", "a1")
    finished_turn(session, "q2", "a2")
    session.drop_from(session.turns[0])
    assert session.turns == []
    assert session.start_turn("q3", 0.0).message_id == "t3"
    with pytest.raises(UnknownTurnError):
        session.turn_by_message_id("t1")


def test_a_session_snapshot_starts_from_a_clear_page_with_each_question() -> None:
    session = ChatSession(RichTextRenderer())
    finished_turn(session, "q1", "a1")
    ops = session.snapshot()
    assert ops[0] == ["clear"] and ["user", "t1", "q1"] in ops


def test_the_sample_replies_parse_as_fin_r1_writes_them() -> None:
    assert parse_text(COMPLIANCE).final == "No"
    assert parse_text(TRUNCATED).truncated
