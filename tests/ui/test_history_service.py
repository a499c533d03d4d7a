"""The history service on its own, offscreen, built from the narrow parts it is given: a real chat
view and controller, the window's ``ModelHost`` holding the tiny Qwen2 GGUF, a history database
in the test's folder and a real scenario panel. A reply is in the store as far as it is shown,
with the model that wrote it, also when the host switches to a server (the replay server on
127.0.0.1) and back; "New chat" starts a new conversation; a saved run reopens in its
panel with its form values, but not while a reply streams; a store that fails is told once and
the chat goes on; the Conversation menu's export writes the conversation of the panel asked for.

Replies are steered to plain text (tests/support/llm_support.py): which words the model writes
differs between CPUs, so only what holds for any text is asserted."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QFileDialog

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.batch.store import BatchStore
from app.core.chat.session import Turn
from app.core.engine.config import EngineConfig
from app.core.engine.server_connection import ServerConnection
from app.core.history.provenance import quick_provenance
from app.core.installation.settings import AppSettings
from app.core.scenarios.scenario_file import load_scenarios
from app.ui.chat.controller import ChatController
from app.ui.chat.panel_keys import FREE_CHAT
from app.ui.chat.scenario_panel import ScenarioPanel
from app.ui.chat.view import ChatView
from app.ui.history.history_service import HistoryService
from app.ui.window.model_host import ModelHost
from tests.support.llm_support import PROSE_GRAMMAR, THREADS
from tests.support.openai_replay_server import ReplayServer, Reply
from tests.support.qt_wait import wait_until
from tests.support.recorded_streams import FORMATS
from tests.support.ui_support import dispose, hosted_model

SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
SETTINGS = AppSettings(n_threads=THREADS, n_ctx=2048, max_new_tokens=8, temperature=0.0)
CONFIG = EngineConfig(n_ctx=2048, n_threads=THREADS, n_gpu_layers=0)


@pytest.fixture(scope="module")
def host(qapp: Any, tiny_bf16_gguf: Path) -> Iterator[ModelHost]:
    with hosted_model(tiny_bf16_gguf, CONFIG) as hosted:
        yield hosted


@pytest.fixture(scope="module")
def view(qapp: Any) -> Iterator[ChatView]:
    chat_view = ChatView()
    chat_view.show()
    wait_until(lambda: chat_view.is_ready, 60, "the chat page to load")
    yield chat_view
    chat_view.close()
    dispose(chat_view)


@dataclass
class Parts:
    """A service and the parts it was given, with what it asked of them."""

    service: HistoryService
    store: BatchStore
    controller: ChatController
    panel: ScenarioPanel
    shown_panels: list[str]  # every select_panel(key) call
    messages: list[str]  # every status message


@pytest.fixture
def parts(view: ChatView, host: ModelHost, tmp_path: Path, tiny_bf16_gguf: Path,
          steer: Callable[..., object]) -> Iterator[Parts]:
    steer(tiny_bf16_gguf, grammar=PROSE_GRAMMAR)  # every reply has text to save
    with service_parts(view, host, tmp_path) as built:
        yield built


@contextlib.contextmanager
def service_parts(view: ChatView, host: ModelHost, tmp_path: Path) -> Iterator[Parts]:
    """A service on ``host`` with a store in ``tmp_path``, closed and disposed at the end."""
    controller = ChatController(view, host, lambda: SETTINGS, SCENARIOS)
    panel = ScenarioPanel(SCENARIOS["compliance"], "en")
    store = BatchStore(tmp_path / "history.sqlite3")
    shown_panels: list[str] = []
    service = HistoryService(store, controller, host, SCENARIOS,
                             library_setting=lambda: str(tmp_path / "library"),
                             panels={"compliance": panel}, select_panel=shown_panels.append)
    messages: list[str] = []
    service.status.connect(lambda message, _timeout_ms: messages.append(message))
    yield Parts(service, store, controller, panel, shown_panels, messages)
    service.close()
    for qt_object in (service, controller, panel):
        dispose(qt_object)


def switch(host: ModelHost, start: Callable[[], bool], ready: SignalInstance) -> None:
    """``start()`` a load or connection of ``host`` and wait until ``ready`` says it is done."""
    outcomes: list[object] = []
    ready.connect(outcomes.append)
    host.load_failed.connect(outcomes.append)
    assert start()
    wait_until(lambda: outcomes, 120, "the engine to be ready")
    ready.disconnect(outcomes.append)
    host.load_failed.disconnect(outcomes.append)
    assert host.engine is not None, outcomes


def ask(parts: Parts, key: str, question: str, values: dict[str, str] | None = None) -> Turn:
    """Ask ``question`` in panel ``key`` (a scenario run when ``values`` are given) and wait for
    the reply to end."""
    finished: list[Turn] = []

    def collect(turn: Turn, _result: object) -> None:
        finished.append(turn)

    parts.controller.turn_finished.connect(collect)  # after the service: it has saved the end
    scenario_id = key if values is not None else None
    turn = parts.controller.ask(key, question, scenario_id, values)
    assert turn is not None
    wait_until(lambda: finished, 120, "the reply to end")
    parts.controller.turn_finished.disconnect(collect)
    return turn


def compliance_run(parts: Parts, question: str) -> tuple[Turn, dict[str, str]]:
    values = {"question": question}
    prompt = SCENARIOS["compliance"].render_prompt(values, "en")
    return ask(parts, "compliance", prompt, values), values


def test_a_reply_is_stored_as_far_as_it_is_shown_with_the_model_that_wrote_it(
        parts: Parts, tiny_bf16_gguf: Path) -> None:
    stored_when_shown: list[tuple[str, str]] = []

    def compare(_key: str, _turn: Turn, text: str) -> None:  # runs after the service's write
        (summary,) = parts.store.conversations()
        stored_when_shown.append((parts.store.conversation(summary.id).turns[-1].reply_text, text))

    parts.controller.text_shown.connect(compare)
    turn = ask(parts, FREE_CHAT, "Hello")
    parts.controller.text_shown.disconnect(compare)

    assert stored_when_shown and all(stored == shown for stored, shown in stored_when_shown)
    (summary,) = parts.store.conversations()
    (stored,) = parts.store.conversation(summary.id).turns
    assert stored.question == turn.question and stored.reply_text == turn.reply_text
    assert stored.status in ("done", "length")
    assert stored.provenance["model_file"] == tiny_bf16_gguf.name
    model_sha256 = hashlib.sha256(tiny_bf16_gguf.read_bytes()).hexdigest()
    wait_until(lambda: parts.store.conversation(summary.id).turns[0].provenance.get(
        "model_sha256") == model_sha256, 30, "the model's hash to be recorded")
    wait_until(lambda: parts.service.panel.titles() == [summary.title], 10, "the sidebar to list it")


def test_each_reply_is_stored_with_the_engine_that_wrote_it_when_the_host_switches(
        view: ChatView, tmp_path: Path, tiny_bf16_gguf: Path,
        steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, grammar=PROSE_GRAMMAR)
    with ReplayServer() as replay, hosted_model(tiny_bf16_gguf, CONFIG) as own_host, \
            service_parts(view, own_host, tmp_path) as parts:
        ask(parts, FREE_CHAT, "Asked on this computer")
        switch(own_host, lambda: own_host.connect_server(ServerConnection(replay.url)),
               own_host.connected)
        replay.script(Reply(FORMATS["vllm-reasoning"]))
        ask(parts, FREE_CHAT, "Asked the server")
        switch(own_host, lambda: own_host.load(tiny_bf16_gguf, CONFIG), own_host.loaded)
        ask(parts, FREE_CHAT, "Asked here again")

        (summary,) = parts.store.conversations()
        local, served, local_again = (turn.provenance
                                      for turn in parts.store.conversation(summary.id).turns)

    assert (served["engine"], served["server_url"], served["server_model"]) == \
        ("server", replay.url, "Fin-R1")
    assert not {"model_file", "model_path", "model_sha256"} & served.keys()  # no file hashed
    file_facts = quick_provenance(tiny_bf16_gguf)
    for record in (local, local_again):
        assert "server_url" not in record
        assert (record["model_file"], record["model_quant"], record["model_size_bytes"]) == \
            (tiny_bf16_gguf.name, file_facts.quant, file_facts.size_bytes)


def test_free_chat_continues_one_conversation_until_new_chat(parts: Parts) -> None:
    ask(parts, FREE_CHAT, "First question")
    ask(parts, FREE_CHAT, "Second one")
    assert [summary.turn_count for summary in parts.store.conversations()] == [2]

    parts.service.new_chat()
    ask(parts, FREE_CHAT, "Something else")

    assert sorted(summary.turn_count for summary in parts.store.conversations()) == [1, 2]


def test_a_saved_run_reopens_in_its_panel_with_its_form_values(parts: Parts) -> None:
    first, first_values = compliance_run(parts, "Is splitting cash deposits compliant?")
    compliance_run(parts, "Is a cooling-off period enough?")  # a run is a conversation of its own
    first_id = next(summary.id for summary in parts.store.conversations()
                    if summary.title.startswith("Is splitting"))

    assert parts.service.show_conversation(first_id)

    assert parts.shown_panels == ["compliance"]
    assert parts.panel.values() == first_values
    assert [turn.question for turn in parts.controller.session("compliance").turns] == \
        [first.question]
    assert parts.service.recorder.conversation_of("compliance") == first_id


def test_no_conversation_reopens_while_a_reply_streams(parts: Parts) -> None:
    ask(parts, FREE_CHAT, "Saved first")
    (saved,) = parts.store.conversations()
    finished: list[object] = []
    parts.controller.turn_finished.connect(lambda *_reply: finished.append(True))
    assert parts.controller.ask(FREE_CHAT, "A second question") is not None

    assert not parts.service.show_conversation(saved.id)

    assert parts.messages == ["Wait for the reply to finish (or stop it) before opening "
                              "another conversation."]
    assert parts.shown_panels == []
    wait_until(lambda: finished, 120, "the reply to end")


def test_a_store_that_fails_is_reported_once_and_the_replies_go_on(parts: Parts) -> None:
    parts.store.close()  # every write fails from now on, as on a disk that went away

    replies = [ask(parts, FREE_CHAT, "One"), ask(parts, FREE_CHAT, "Two")]

    told = [message for message in parts.messages
            if message.startswith("The history could not be saved: ")]
    assert len(told) == 1
    assert all(turn.reply_text and turn.finish_reason in ("stop", "length") for turn in replies)


def test_export_writes_the_conversation_of_the_panel_asked_for(parts: Parts,
                                                               tmp_path: Path) -> None:
    parts.service.export_panel("compliance", "md")
    assert parts.messages == ["This panel has no saved conversation yet."]
    compliance_run(parts, "Is splitting cash deposits compliant?")
    ask(parts, FREE_CHAT, "A free question")
    target = tmp_path / "exported.md"

    def save_as_target() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QFileDialog)
        dialog.selectFile(str(target))
        dialog.accept()

    QTimer.singleShot(0, save_as_target)
    parts.service.export_panel("compliance", "md")

    wait_until(lambda: f"Exported to {target}" in parts.messages, 30, "the export")
    text = target.read_text(encoding="utf-8")
    assert "Is splitting cash deposits compliant?" in text and "A free question" not in text
