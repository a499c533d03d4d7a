"""The conversation history without a screen: the SQLite store (WAL, search, rename, delete), the
recorder that follows the chat panels, replies redrawn exactly as they were shown, provenance,
and a real generating process killed mid-reply that loses nothing it had shown."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from app.core.chat.reply_document import ReplyOutcome
from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession, Turn
from app.core.engine.config import GenerationSettings
from app.core.engine.local_engine import TurnResult
from app.core.engine.turn_metrics import TurnMetrics
from app.core.errors import UnknownConversationError
from app.core.history.provenance import identify_model, quick_provenance
from app.core.history.recorder import HistoryRecorder
from app.core.history.replay import restore_session, split_into
from app.core.history.store import HistoryStore
from app.core.library.model_library import Library
from app.core.reasoning.parser import ReasoningParser, parse_text
from app.core.scenarios.scenario_file import load_scenarios
from tests.support.fin_r1_replies import CALCULATION, CODE, COMPLIANCE, TRUNCATED
from tests.support.llm_support import THREADS, steered_python

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLING = GenerationSettings(temperature=0.0, max_new_tokens=64)
SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
INTERRUPTED = "The app stopped before this reply finished."


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def metrics_for(text: str, tokens: int) -> TurnMetrics:
    reply = parse_text(text)
    think = len(reply.think) // 4
    return TurnMetrics(prompt_tokens=120, prompt_eval_tokens=120, prompt_eval_s=0.3,
                       completion_tokens=tokens, ttft_s=0.35, decode_s=4.2, tokens_per_s=31.4,
                       think_tokens=think, think_s=2.5, answer_tokens=tokens - think,
                       answer_s=1.7, seed=1234, dropped_messages=0)


def stream_live(recorder: HistoryRecorder, session: ChatSession, key: str, text: str,
                question: str = "Question", scenario_id: str | None = None,
                values: dict[str, str] | None = None, replaced: Turn | None = None,
                finish_reason: str = "stop") -> Turn:
    """What the chat controller does for one reply: tokens into the document, a flush of the
    document and of the text shown every few tokens, then the end with the engine's result."""
    if replaced is not None:
        session.drop_from(replaced)
    turn = session.start_turn(question, 0.0, scenario_id, values)
    recorder.turn_started(key, turn, standalone=session.standalone, replaced=replaced,
                          sampling=SAMPLING)
    parser = ReasoningParser()
    pending: list[str] = []
    pieces = [text[start:start + 3] for start in range(0, len(text), 3)]
    for index, piece in enumerate(pieces, start=1):
        turn.document.add(parser.feed(piece), 0.1 * index, token=True)
        pending.append(piece)
        if index % 3 == 0:
            turn.document.flush(0.1 * index)
            recorder.text_shown(key, turn, "".join(pending))
            pending.clear()
    turn.document.add(parser.finish(), 0.1 * len(pieces), token=False)
    recorder.text_shown(key, turn, "".join(pending))
    reply = parse_text(text)
    scenario = SCENARIOS.get(scenario_id or "")
    reading = None
    if scenario is not None and not reply.truncated:
        from app.core.reasoning.readers import read_answer

        reading = read_answer(scenario, reply.answer, reply.final)
    metrics = metrics_for(text, len(pieces))
    turn.document.finish(ReplyOutcome(reply, finish_reason, metrics, reading), 99.0)
    session.record_reply(turn, text)
    recorder.turn_finished(key, turn, TurnResult(text, reply, finish_reason, metrics, ()))
    return turn


# -- the store ----------------------------------------------------------------------------------


def test_the_database_runs_in_wal_mode(store: HistoryStore) -> None:
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_turn_is_stored_with_its_sections_metrics_and_provenance(store: HistoryStore) -> None:
    conversation_id = store.create_conversation("贷款月供", "calculation")
    turn_id = store.begin_turn(conversation_id, "月供是多少？", scenario_id="calculation",
                               form_values={"principal": "100000"},
                               provenance={"model_sha256": "ab" * 32, "model_quant": "Q4_K_M"})
    store.append_reply(turn_id, "<think>算一下</think>")
    store.append_reply(turn_id, "<answer>\\boxed{1933}</answer>")
    reply = parse_text(CALCULATION)
    store.finish_turn(turn_id, reply_text=CALCULATION, think=reply.think, answer=reply.answer,
                      finish_reason="stop", metrics={"tokens_per_s": 30.0}, shown_tokens=400)
    stored = store.conversation(conversation_id)
    assert stored.title == "贷款月供" and stored.summary.scenario_id == "calculation"
    (turn,) = stored.turns
    assert turn.status == "done" and turn.reply_text == CALCULATION
    assert turn.think == reply.think and turn.answer == reply.answer
    assert turn.form_values == {"principal": "100000"}
    assert turn.metrics == {"tokens_per_s": 30.0} and turn.shown_tokens == 400
    assert turn.provenance["model_quant"] == "Q4_K_M"
    assert stored.summary.model_sha256 == "ab" * 32


def test_text_appended_while_streaming_is_readable_at_once_by_another_connection(
        store: HistoryStore) -> None:
    turn_id = store.begin_turn(store.create_conversation("q"), "q")
    store.append_reply(turn_id, "<think>first ")
    store.append_reply(turn_id, "second")
    with HistoryStore(store.path) as other:
        (conversation,) = other.conversations()
        (turn,) = other.conversation(conversation.id).turns
    assert turn.reply_text == "<think>first second"
    assert turn.status == "streaming"  # this process is still writing it


def test_search_matches_titles_questions_form_values_and_replies(store: HistoryStore) -> None:
    first = store.create_conversation("Loan repayment")
    store.begin_turn(first, "What is the monthly payment?", form_values={"bank": "招商银行"})
    second = store.create_conversation("ESG 评级")
    turn = store.begin_turn(second, "评估这家公司")
    store.append_reply(turn, "The carbon intensity fell by 12%.")
    assert [c.id for c in store.conversations("loan")] == [first]
    assert [c.id for c in store.conversations("MONTHLY")] == [first]
    assert [c.id for c in store.conversations("招商")] == [first]
    assert [c.id for c in store.conversations("carbon")] == [second]
    assert [c.id for c in store.conversations("12%")] == [second]
    assert store.conversations("nothing like this") == []
    assert {c.id for c in store.conversations("")} == {first, second}


def test_rename_and_delete(store: HistoryStore) -> None:
    conversation_id = store.create_conversation("old")
    store.begin_turn(conversation_id, "q")
    store.rename(conversation_id, "  new title ")
    assert store.conversation(conversation_id).title == "new title"
    with pytest.raises(ValueError):
        store.rename(conversation_id, " ")
    store.delete(conversation_id)
    assert store.conversations() == []
    with pytest.raises(UnknownConversationError, match="finr1 history list"):
        store.conversation(conversation_id)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0


def test_most_recently_changed_conversations_come_first(store: HistoryStore) -> None:
    older = store.create_conversation("older")
    newer = store.create_conversation("newer")
    assert [c.id for c in store.conversations()] == [newer, older]
    time.sleep(0.01)
    store.begin_turn(older, "again")
    assert [c.id for c in store.conversations()] == [older, newer]


# -- the recorder -------------------------------------------------------------------------------


def test_free_chat_turns_form_one_conversation_until_a_new_chat(store: HistoryStore) -> None:
    recorder = HistoryRecorder(store)
    session = ChatSession(RichTextRenderer())
    stream_live(recorder, session, "chat", COMPLIANCE, "First question")
    stream_live(recorder, session, "chat", CALCULATION, "Second question")
    session.clear()
    recorder.panel_cleared("chat")
    stream_live(recorder, session, "chat", CODE, "Another topic")
    newest, oldest = store.conversations()
    assert oldest.title == "First question" and oldest.turn_count == 2
    assert newest.title == "Another topic" and newest.turn_count == 1


def test_each_scenario_run_is_its_own_conversation_named_after_its_input(
        store: HistoryStore) -> None:
    recorder = HistoryRecorder(store)
    session = ChatSession(RichTextRenderer(), standalone=True)
    stream_live(recorder, session, "compliance", COMPLIANCE, "prompt 1", "compliance",
                {"description": "如何隐瞒利益冲突？"})
    stream_live(recorder, session, "compliance", COMPLIANCE, "prompt 2", "compliance",
                {"description": "Structuring deposits"})
    titles = [c.title for c in store.conversations()]
    assert titles == ["Structuring deposits", "如何隐瞒利益冲突？"]
    assert {c.scenario_id for c in store.conversations()} == {"compliance"}


def test_regenerating_a_turn_replaces_it_and_the_later_ones(store: HistoryStore) -> None:
    recorder = HistoryRecorder(store)
    session = ChatSession(RichTextRenderer())
    first = stream_live(recorder, session, "chat", COMPLIANCE, "one")
    stream_live(recorder, session, "chat", CALCULATION, "two")
    stream_live(recorder, session, "chat", CODE, "one, edited", replaced=first)
    (summary,) = store.conversations()
    turns = store.conversation(summary.id).turns
    assert [turn.question for turn in turns] == ["one, edited"]
    assert turns[0].reply_text == CODE


def test_a_reopened_conversation_continues_in_the_same_record(store: HistoryStore) -> None:
    recorder = HistoryRecorder(store)
    session = ChatSession(RichTextRenderer())
    stream_live(recorder, session, "chat", COMPLIANCE, "one")
    (summary,) = store.conversations()
    later = HistoryRecorder(store)  # the app started again
    reopened = ChatSession(RichTextRenderer())
    turns = restore_session(store.conversation(summary.id), reopened, SCENARIOS, INTERRUPTED)
    later.adopt("chat", store.conversation(summary.id), turns)
    stream_live(later, reopened, "chat", CALCULATION, "two")
    assert [t.question for t in store.conversation(summary.id).turns] == ["one", "two"]
    assert len(store.conversations()) == 1


# -- redrawing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "scenario_id", "finish_reason"), [
    (COMPLIANCE, "compliance", "stop"), (CALCULATION, "calculation", "stop"),
    (CODE, None, "stop"), (TRUNCATED, None, "length"), (COMPLIANCE, None, "cancelled"),
])
def test_a_reopened_reply_draws_exactly_as_it_was_shown(
        store: HistoryStore, text: str, scenario_id: str | None, finish_reason: str) -> None:
    recorder = HistoryRecorder(store)
    session = ChatSession(RichTextRenderer(), standalone=scenario_id is not None)
    key = scenario_id or "chat"
    values = {"description": "x"} if scenario_id else None
    live = stream_live(recorder, session, key, text, "Question", scenario_id, values,
                       finish_reason=finish_reason)
    (summary,) = store.conversations()
    (restored,) = restore_session(store.conversation(summary.id),
                                  ChatSession(RichTextRenderer(), standalone=session.standalone),
                                  SCENARIOS, INTERRUPTED)
    assert restored.document.snapshot() == live.document.snapshot()
    assert (restored.question, restored.scenario_id) == (live.question, live.scenario_id)
    assert dict(restored.values) == dict(live.values)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="start times from /proc")
def test_a_reply_left_by_an_earlier_run_with_this_process_id_reads_as_interrupted(
        store: HistoryStore) -> None:
    turn_id = store.begin_turn(store.create_conversation("q"), "q")
    store.append_reply(turn_id, "partial")
    (conversation,) = store.conversations()
    assert store.conversation(conversation.id).turns[0].status == "streaming"  # being written
    with sqlite3.connect(store.path) as connection:  # a container restarted the app: same id
        connection.execute("UPDATE turns SET started_at = 1000000.0")
    assert store.conversation(conversation.id).turns[0].status == "interrupted"


def test_an_interrupted_reply_reopens_with_what_it_had_and_a_note(store: HistoryStore) -> None:
    turn_id = store.begin_turn(store.create_conversation("q"), "q")
    store.append_reply(turn_id, COMPLIANCE[:300])
    with sqlite3.connect(store.path) as connection:  # as if its writer had died
        connection.execute("UPDATE turns SET writer_pid = 999999999")
    (conversation,) = store.conversations()
    stored = store.conversation(conversation.id)
    assert stored.turns[0].status == "interrupted"
    (turn,) = restore_session(stored, ChatSession(RichTextRenderer()), SCENARIOS, INTERRUPTED)
    ops = turn.document.snapshot()
    assert ["error", "t1", INTERRUPTED] in ops and ["status", "t1", "error"] in ops
    assert turn.reply_text is None


@pytest.mark.parametrize(("length", "count"), [(10, 3), (2, 5), (0, 2), (7, 1)])
def test_splitting_keeps_every_character_in_order(length: int, count: int) -> None:
    text = "abcdefghij"[:length]
    pieces = split_into(text, count)
    assert len(pieces) == count and "".join(pieces) == text


# -- provenance ---------------------------------------------------------------------------------


def test_a_library_model_is_identified_by_its_verified_hash_without_hashing(
        tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    with Library(tmp_path / "library") as library:
        entry = library.import_path(tiny_bf16_gguf)
        known = quick_provenance(entry.path, library)
    assert known.sha256 == entry.sha256 and known.library_id == entry.id
    assert known.quant == "BF16"


def test_a_file_outside_the_library_is_hashed_and_the_hash_fills_earlier_turns(
        store: HistoryStore, tiny_bf16_gguf: Path) -> None:
    import hashlib

    recorder = HistoryRecorder(store)
    recorder.model = quick_provenance(tiny_bf16_gguf)
    assert recorder.model.sha256 is None
    stream_live(recorder, ChatSession(RichTextRenderer()), "chat", CODE, "q")
    full = identify_model(tiny_bf16_gguf)
    assert full.sha256 == hashlib.sha256(tiny_bf16_gguf.read_bytes()).hexdigest()
    recorder.model_identified(full)
    (summary,) = store.conversations()
    (turn,) = store.conversation(summary.id).turns
    assert turn.provenance["model_sha256"] == full.sha256
    assert turn.provenance["model_file"] == tiny_bf16_gguf.name
    assert turn.provenance["sampling"]["temperature"] == 0.0
    assert turn.provenance["app_version"]


# -- a real process killed mid-reply ------------------------------------------------------------

_GENERATOR = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from app.core.chat.session import ChatSession
    from app.core.engine.local_engine import ChatEngine
    from app.core.engine.config import EngineConfig, GenerationSettings
    from app.core.history.store import HistoryStore
    from app.core.history.recorder import HistoryRecorder
    from app.core.history.provenance import identify_model
    from app.core.chat.rich_text import RichTextRenderer

    model, database, threads = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    store = HistoryStore(database)
    recorder = HistoryRecorder(store)
    recorder.model = identify_model(model)
    session = ChatSession(RichTextRenderer())
    turn = session.start_turn("Tell me a long story", 0.0)
    settings = GenerationSettings(temperature=1.0, seed=7, max_new_tokens=1500,
                                  system_prompt=None)
    recorder.turn_started("chat", turn, standalone=False, replaced=None, sampling=settings)
    shown = ""
    with ChatEngine(model, EngineConfig(n_ctx=2048, n_threads=threads)) as engine:
        for chunk in engine.stream_chat(session.conversation_for(turn), settings):
            if chunk.text:
                recorder.text_shown("chat", turn, chunk.text)
                shown += chunk.text
                print(json.dumps(shown), flush=True)
                time.sleep(0.002)
    print("FINISHED", flush=True)
""")


def test_a_process_killed_mid_reply_keeps_everything_it_had_shown(
        tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    database = tmp_path / "history.sqlite3"
    # steered so that it cannot end its reply before the kill, whatever the CPU
    command, steering = steered_python(tiny_bf16_gguf, code=_GENERATOR, may_end=False)
    process = subprocess.Popen([*command, str(tiny_bf16_gguf), str(database), str(THREADS)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, env={**os.environ, **steering},
                               stderr=subprocess.DEVNULL, text=True)
    shown = ""
    assert process.stdout is not None
    for count, line in enumerate(process.stdout, start=1):
        assert line.strip() != "FINISHED", "the reply ended before it could be killed"
        shown = json.loads(line)
        if count == 40:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    with HistoryStore(database) as store:
        (summary,) = store.conversations()
        (turn,) = store.conversation(summary.id).turns
    assert turn.status == "interrupted"
    assert turn.reply_text.startswith(shown) and len(shown) > 0
    assert turn.provenance["model_sha256"]
