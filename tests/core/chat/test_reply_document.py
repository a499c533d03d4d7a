"""The chat document: streamed markdown cut into blocks, parser events turned into page operations,
conversations kept per panel. No Qt: these are the decisions the chat view only draws."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from app.core.chat.labels import chat_labels, load_chat_labels
from app.core.chat.markdown_stream import BlockSplitter
from app.core.chat.reply_document import ReplyDocument, ReplyOutcome
from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession, UnknownTurnError
from app.core.engine.scripted_stream import scripted_chunks
from app.core.engine.turn_metrics import FinishReason, TurnMetrics, continued_metrics
from app.core.errors import ChatLabelsError
from app.core.reasoning.parser import ParsedReply, parse_text
from tests.support.fin_r1_replies import CALCULATION, COMPLIANCE, TRUNCATED


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


def stream(text: str, frame_every: int = 3,
           finish_reason: FinishReason = "stop") -> tuple[ReplyDocument, list[list[object]]]:
    """Replays ``text`` into a document, flushing every few tokens as the frame timer does."""
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
    ops.extend(document.finish(ReplyOutcome(ParsedReply.from_events(events), finish_reason), now))
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
    _document, ops = stream(TRUNCATED, finish_reason="length")
    truncated = [op for op in ops if op[0] == "truncated"]
    assert truncated == [["truncated", "t1", truncated[0][2], True]]
    assert "cut off at the token limit" in str(truncated[0][2])
    assert [op[2] for op in ops if op[0] == "think_end"][-1].endswith("· cut off")


def test_a_reply_the_model_ended_inside_its_reasoning_is_not_offered_to_continue() -> None:
    _document, ops = stream(TRUNCATED, finish_reason="stop")
    truncated = [op for op in ops if op[0] == "truncated"]
    assert truncated == [["truncated", "t1", "The reply ended inside its reasoning, without an "
                          "answer.", False]]


def test_a_stopped_reply_is_labelled_stopped_not_cut_off() -> None:
    _document, ops = stream(TRUNCATED, finish_reason="cancelled")
    assert not [op for op in ops if op[0] == "truncated"]
    assert [op[2] for op in ops if op[0] == "think_end"][-1].endswith("· stopped")


def test_a_continued_reply_draws_as_if_it_had_never_been_cut_off() -> None:
    cut_at = len(COMPLIANCE) // 3  # inside the reasoning, mid-paragraph
    whole, _ops = stream(COMPLIANCE)
    continued = ReplyDocument("t2", RichTextRenderer(), started_at=0.0)
    parser = continued.seed(COMPLIANCE[:cut_at], prior=None)
    ops = continued.flush(0.0)
    assert ["think_start", "t2"] in ops and not any(op[0] == "think_end" for op in ops)
    open_blocks = [op for op in ops if op[0] == "block" and op[5] is True]
    assert open_blocks, "the paragraph that was cut off stays open for the continuation"
    now = 0.0
    for chunk in scripted_chunks(COMPLIANCE[cut_at:], parser=parser):
        now += 0.01
        continued.add(chunk.events, now, token=chunk.token)
    continued.finish(ReplyOutcome(parse_text(COMPLIANCE), "stop"), now)

    def blocks(document: ReplyDocument) -> dict[tuple[object, object], object]:
        return {(op[2], op[3]): op[4] for op in document.snapshot() if op[0] == "block"}

    assert blocks(continued) == blocks(whole)


def test_a_continued_reply_counts_on_from_the_run_it_continues() -> None:
    prior = TurnMetrics(prompt_tokens=10, prompt_eval_tokens=10, prompt_eval_s=0.1,
                        completion_tokens=400, ttft_s=0.2, decode_s=20.0, tokens_per_s=20.0,
                        think_tokens=400, think_s=20.0, answer_tokens=0, answer_s=0.0, seed=1,
                        dropped_messages=0)
    document = ReplyDocument("t2", RichTextRenderer(), started_at=100.0)
    document.seed("<think>\nThe loan", prior)
    assert document.tokens == 400
    clock = [op for op in document.flush(103.0) if op[0] == "think_clock"]
    assert clock == [["think_clock", "t2", "Thinking… 23 s"]]
    ops = document.finish(ReplyOutcome(parse_text("<think>\nThe loan"), "length"), 104.0)
    assert ["truncated", "t2", "The reasoning was cut off at the token limit (400 tokens) "
            "before an answer.", True] in ops
    assert [op[2] for op in ops if op[0] == "think_end"] == ["Thought for 24 s · 400 tokens · cut off"]


def test_an_answer_cut_off_at_the_limit_offers_to_continue() -> None:
    reply = "<think>\nok\n</think>\n<answer>\nThe rate is"
    document = ReplyDocument("t1", RichTextRenderer(), 0.0)
    for chunk in scripted_chunks(reply):
        document.add(chunk.events, 0.5, token=chunk.token)
    ops = document.finish(ReplyOutcome(parse_text(reply), "length"), 1.0)
    labels = [op[2] for op in ops if op[0] == "truncated"]
    assert labels and labels[0].startswith("The answer was cut off at the token limit")


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
    english, chinese = chat_labels("en"), chat_labels("zh_CN")
    assert [english.duration(s) for s in (0.42, 12.4, 125)] == ["0.4 s", "12 s", "2 min 05 s"]
    assert [chinese.duration(s) for s in (0.42, 125)] == ["0.4 秒", "2 分 05 秒"]


def test_a_chinese_window_labels_the_reply_in_chinese() -> None:
    document = ReplyDocument("t1", RichTextRenderer(), 0.0, labels=chat_labels("zh_CN"))
    reply = COMPLIANCE
    for chunk in scripted_chunks(reply):
        document.add(chunk.events, 1.0, token=chunk.token)
    ops = document.finish(ReplyOutcome(parse_text(reply), "cancelled"), 2.0)
    labels = {op[0]: op[2] for op in ops if len(op) > 2}
    assert labels["think_end"].startswith("已思考 ") and "个词元" in labels["think_end"]
    assert labels["metrics"].startswith("首词元 1.0 秒 · 思考 ") and labels["metrics"].endswith("已停止")


def finished_metrics_line(language: str, draft_tokens: int, accepted_tokens: int) -> str:
    """The metrics line under a finished reply whose turn drafted as given."""
    metrics = TurnMetrics(prompt_tokens=90, prompt_eval_tokens=90, prompt_eval_s=0.2,
                          completion_tokens=300, ttft_s=0.4, decode_s=13.9, tokens_per_s=21.5,
                          think_tokens=120, think_s=5.0, answer_tokens=180, answer_s=8.9,
                          seed=1, dropped_messages=0, draft_tokens=draft_tokens,
                          accepted_tokens=accepted_tokens)
    document = ReplyDocument("t1", RichTextRenderer(), 0.0, labels=chat_labels(language))
    ops = document.finish(ReplyOutcome(parse_text(COMPLIANCE), "stop", metrics), 14.0)
    return next(op[2] for op in ops if op[0] == "metrics")


@pytest.mark.parametrize(("language", "drafts"), [("en", "drafts accepted 1,040/1,300 (80%)"),
                                                  ("zh_CN", "草稿接受 1,040/1,300（80%）")])
def test_the_metrics_line_says_how_many_drafts_were_accepted(language: str, drafts: str) -> None:
    line = finished_metrics_line(language, 1300, 1040)
    assert line.split(" · ")[-1] == drafts


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_without_drafts_the_metrics_line_says_nothing_of_them(language: str) -> None:
    line = finished_metrics_line(language, 0, 0)
    assert "draft" not in line and "草稿" not in line
    assert line == chat_labels(language).metrics_line(21.5, 0.4, 120, 180)


def test_a_finished_reply_can_be_relabelled_in_the_other_language() -> None:
    document, _ops = stream(TRUNCATED, finish_reason="length")
    english = {op[0]: op for op in document.snapshot()}
    document.relabel(chat_labels("zh_CN"))
    chinese = {op[0]: op for op in document.snapshot()}
    assert english.keys() == chinese.keys()
    assert english["think_end"][2].startswith("Thought for ")
    assert chinese["think_end"][2].startswith("已思考 ") and chinese["think_end"][2].endswith("已截断")
    assert chinese["truncated"][2].startswith("推理在达到词元上限") and chinese["truncated"][3]
    assert "词元" in chinese["metrics"][2]
    assert document.flush(1.0) == []  # the redraw is the snapshot's; nothing queued twice


def test_every_chat_label_has_both_languages_with_the_same_fields(tmp_path: Path) -> None:
    english, chinese = (chat_labels(language) for language in ("en", "zh"))
    assert english.texts.keys() == chinese.texts.keys()
    for group, texts in english.texts.items():
        assert texts.keys() == chinese.texts[group].keys()
        assert all(chinese.texts[group][key] != text or not text.strip("{}0123456789:.,")
                   for key, text in texts.items()), f"untranslated text in {group}"
    broken = tmp_path / "labels.toml"
    broken.write_text('[reply]\nrate = { en = "{0:.1f} tok/s", zh = "词元/秒" }\n',
                      encoding="utf-8")
    with pytest.raises(ChatLabelsError, match=r"reply\.rate has other"):
        load_chat_labels(broken)
    broken.write_text('[reply]\nrate = { en = "{0:.1f} tok/s" }\n', encoding="utf-8")
    with pytest.raises(ChatLabelsError, match=r"reply\.rate needs exactly the languages"):
        load_chat_labels(broken)


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


def test_the_metrics_of_a_continued_reply_add_up() -> None:
    def metrics(tokens: int, decode_s: float, think: int, ttft: float, seed: int) -> TurnMetrics:
        return TurnMetrics(prompt_tokens=50 + seed, prompt_eval_tokens=50, prompt_eval_s=0.5,
                           completion_tokens=tokens, ttft_s=ttft, decode_s=decode_s,
                           tokens_per_s=(tokens - 1) / decode_s, think_tokens=think,
                           think_s=decode_s if think == tokens else decode_s / 2,
                           answer_tokens=tokens - think, answer_s=0.0, seed=seed,
                           dropped_messages=0)

    both = continued_metrics(metrics(101, 10.0, 101, 0.3, 1), metrics(51, 5.0, 20, 2.0, 2))
    assert (both.completion_tokens, both.think_tokens, both.answer_tokens) == (152, 121, 31)
    assert both.ttft_s == 0.3 and both.seed == 2 and both.prompt_tokens == 52
    assert both.decode_s == 15.0 and both.tokens_per_s == pytest.approx(150 / 15.0)
    assert both.think_s == 12.5
