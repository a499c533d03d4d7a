"""The whole app, offscreen, with real models: the first start opens the wizard, which ends with
the compliance check filled in and answered by the tiny Qwen2; every reply is saved as it streams
with its provenance; a conversation reopened from the history draws exactly as it was; the
self-test's conversation is saved; a killed app keeps what it had shown; the window's language
switches live.

Where a test needs the model to write text or keep going, it is steered (tests/support/llm_support.py):
which words a model writes differs between CPUs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.history.store import HistoryStore
from app.core.installation.settings import AppSettings
from app.ui.history.history_service import HistoryService
from app.ui.i18n import install_translations
from app.ui.models.setup_wizard import PROGRESS, READY, Source
from app.ui.theme import ThemeController
from app.ui.window.main_window import FREE_CHAT, MainWindow
from app.ui.window.window_services import WindowServices
from tests.support.llm_support import PROSE_GRAMMAR, THREADS, steered_python
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose, inspect

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = AppSettings(n_threads=THREADS, n_ctx=2048, max_new_tokens=24, temperature=0.0)


@pytest.fixture
def window_factory(qapp: Any, qtbot: Any, app_home: Path) -> Iterator[Callable[..., MainWindow]]:
    translations = install_translations(qapp, "en")
    made: list[MainWindow] = []

    def make(interactive: bool = False) -> MainWindow:
        window = MainWindow(SETTINGS, app_home / "settings.json", ThemeController(qapp, "light"),
                            translations=translations, interactive=interactive)
        window.show()
        wait_until(lambda: window.controller is not None and window.chat_view.is_ready
                   and window.services is not None, 60)
        made.append(window)
        return window

    yield make
    translations.apply("en")
    for window in made:
        window.close()
        dispose(window)


@pytest.fixture
def app_window(window_factory: Callable[..., MainWindow]) -> MainWindow:
    return window_factory()


def services(window: MainWindow) -> WindowServices:
    assert window.services is not None
    return window.services


def history(window: MainWindow) -> HistoryService:
    history = services(window).history
    assert history is not None
    return history


def run_to_end(qtbot: Any, window: MainWindow, start: Callable[[], object]) -> Any:
    finished: list[Any] = []

    def collect(turn: Any, result: Any) -> None:
        finished.append((turn, result))

    window.controller.turn_finished.connect(collect)
    start()
    wait_until(lambda: finished, 120)
    window.controller.turn_finished.disconnect(collect)  # only this one: the history listens too
    return finished[0]


def test_first_start_runs_the_wizard_to_an_answered_compliance_check(
        qtbot: Any, window_factory: Callable[..., MainWindow],
        tiny_gguf_factory: Callable[..., Path], app_home: Path,
        steer: Callable[..., object]) -> None:
    steer(tiny_gguf_factory("q8_0"), grammar=PROSE_GRAMMAR)  # an answer with text
    app_window = window_factory(interactive=True)
    wait_until(lambda: services(app_window).models_menu.wizard is not None, 10)  # opened by itself
    wizard = services(app_window).models_menu.wizard
    assert wizard.isVisible()
    wizard.next()
    wait_until(wizard.machine_page.isComplete)
    wizard.next()
    wizard.source_page.choose(Source.IMPORT, tiny_gguf_factory("q8_0"))
    wizard.next()
    assert wizard.currentId() == PROGRESS
    wait_until(lambda: wizard.currentId() == READY, 60)
    wizard.accept()
    wait_until(lambda: app_window.host.engine is not None, 60)
    assert app_window.current_key == "compliance"
    panel = app_window.panels["compliance"]
    example = panel.scenario.example_values(0, panel.prompt_language)
    assert panel.values() == {**panel.values(), **example} and any(example.values())
    turn, result = run_to_end(qtbot, app_window, panel.run_button.click)
    assert result.text
    store = history(app_window).store
    wait_until(lambda: store.conversations() and store.conversation(
        store.conversations()[0].id).turns[0].status in ("done", "length"), 10)
    (summary,) = store.conversations()
    stored = store.conversation(summary.id).turns[0]
    assert summary.scenario_id == "compliance"
    assert stored.reply_text == result.text and stored.question == turn.question
    assert stored.provenance["model_sha256"] == app_window_model_sha(app_window)
    assert stored.provenance["sampling"]["max_new_tokens"] == SETTINGS.max_new_tokens
    assert stored.metrics["completion_tokens"] == result.metrics.completion_tokens
    panel_list = history(app_window).panel
    wait_until(lambda: panel_list.list.count() == 1)


def app_window_model_sha(window: MainWindow) -> str:
    import hashlib

    return hashlib.sha256(Path(window.host.path).read_bytes()).hexdigest()


def without_ids(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the page shows, less the message ids (a reopened session numbers its turns anew)."""
    return [{key: value for key, value in reply.items() if key != "id"} for reply in page]


def test_a_reopened_conversation_draws_as_it_was_and_continues(
        qtbot: Any, app_window: MainWindow, tiny_bf16_gguf: Path, app_home: Path) -> None:
    assert app_window.load_model(tiny_bf16_gguf)
    wait_until(lambda: app_window.host.engine is not None, 60)
    app_window.select_panel(FREE_CHAT)
    run_to_end(qtbot, app_window, lambda: app_window.controller.ask(FREE_CHAT, "First question"))
    run_to_end(qtbot, app_window, lambda: app_window.controller.ask(FREE_CHAT, "Second one"))
    before = inspect(app_window.chat_view)
    app_window.composer.new_chat_requested.emit()
    app_window.controller.show_session(FREE_CHAT)
    assert inspect(app_window.chat_view) == []
    store = history(app_window).store
    (summary,) = store.conversations()
    assert summary.turn_count == 2
    assert history(app_window).show_conversation(summary.id)
    wait_until(lambda: len(inspect(app_window.chat_view)) == 2)
    assert without_ids(inspect(app_window.chat_view)) == without_ids(before)
    run_to_end(qtbot, app_window, lambda: app_window.controller.ask(FREE_CHAT, "Third"))
    assert store.conversations()[0].turn_count == 3 and len(store.conversations()) == 1


def test_switching_the_language_changes_the_window_texts(
        qtbot: Any, app_window: MainWindow, tiny_bf16_gguf: Path,
        steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, may_end=False)  # tokens enough for a tok/s rate
    assert app_window.load_model(tiny_bf16_gguf)
    wait_until(lambda: app_window.host.engine is not None, 60)
    app_window.select_panel(FREE_CHAT)
    run_to_end(qtbot, app_window, lambda: app_window.controller.ask(FREE_CHAT, "A question"))
    assert "tok/s" in inspect(app_window.chat_view)[0]["metrics"]
    assert services(app_window).models_menu.title() == "&Models"
    services(app_window).set_ui_language("zh_CN")
    wait_until(lambda: services(app_window).models_menu.title() == "模型(&M)", 5)
    assert app_window.settings.ui_language == "zh_CN"
    free_chat = app_window.rail.item(app_window.rail.count() - 1).text()
    assert free_chat == "自由对话"
    assert app_window.panels["compliance"].run_button.text() == "运行"
    # the reply already on screen is relabelled too, not only the widgets
    wait_until(lambda: "词元/秒" in inspect(app_window.chat_view)[0]["metrics"], 10)
    services(app_window).set_ui_language("en")
    wait_until(lambda: app_window.panels["compliance"].run_button.text() == "Run", 5)
    wait_until(lambda: "tok/s" in inspect(app_window.chat_view)[0]["metrics"], 10)


def test_the_self_test_saves_its_conversation(tmp_path: Path, tiny_bf16_gguf: Path) -> None:
    # `python -m app` with the reply steered to text: the self-test fails a blank reply
    command, steering = steered_python(tiny_bf16_gguf, module="app", grammar=PROSE_GRAMMAR)
    environment = {**os.environ, **steering, "FINR1_HOME": str(tmp_path / "home"),
                   "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run(
        [*command, "--self-test", "--model", str(tiny_bf16_gguf),
         "--max-tokens", "16", "--screenshot", str(tmp_path / "shot.png")],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300,
        check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with HistoryStore(tmp_path / "home" / "history.sqlite3") as store:
        (summary,) = store.conversations()
        (turn,) = store.conversation(summary.id).turns
    assert summary.scenario_id == "compliance" and turn.status in ("done", "length")
    assert turn.provenance["model_file"] == tiny_bf16_gguf.name


_APP_DRIVER = """
import sys
from pathlib import Path
from app.ui.platform_setup import prepare_qt_environment
prepare_qt_environment(offscreen=True)
from PySide6.QtWidgets import QApplication
application = QApplication([])
from app.core.installation.settings import AppSettings
from app.ui.window.main_window import FREE_CHAT, MainWindow
from app.ui.theme import ThemeController
settings = AppSettings(n_threads=int(sys.argv[2]), n_ctx=2048, max_new_tokens=1500,
                       temperature=0.7)
window = MainWindow(settings, None, ThemeController(application, "light"))
def ask(_summary):
    window.select_panel(FREE_CHAT)
    window.controller.ask(FREE_CHAT, "Write a long, detailed essay on the history of banking "
                                     "in Europe and Asia, with many sections.")
window.host.loaded.connect(ask)
window.chat_ready.connect(lambda: window.load_model(Path(sys.argv[1])))
window.show()
application.exec()
"""


def latest_turn(database: Path) -> tuple[str, str] | None:
    """(reply text, status) of the turn being written, read as another process would."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT reply_text, status FROM turns").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return None


def test_an_app_killed_mid_reply_keeps_what_it_had_shown(tmp_path: Path,
                                                          smollm2_gguf: Path) -> None:
    # steered so that it cannot end its essay before the kill, whatever the CPU
    command, steering = steered_python(smollm2_gguf, code=_APP_DRIVER, may_end=False)
    environment = {**os.environ, **steering, "FINR1_HOME": str(tmp_path / "home"),
                   "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen([*command, str(smollm2_gguf), str(THREADS)],
                               cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    database = tmp_path / "home" / "history.sqlite3"
    written, status = "", None
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and len(written) < 120 and status != "done":
            time.sleep(0.05)
            row = latest_turn(database)
            if row is not None:
                written, status = row
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert status == "streaming", "the reply ended before the kill"
    assert len(written) >= 120
    with HistoryStore(database) as store:
        (summary,) = store.conversations()
        (turn,) = store.conversation(summary.id).turns
    assert turn.status == "interrupted"
    assert turn.reply_text.startswith(written)
