"""The main window with real models (offscreen): every scenario panel runs its worked example on
the tiny Qwen2 GGUF, free chat converses with SmolLM2, Stop stops, regenerate and edit-and-resend
replace a turn, and settings survive a restart. One window serves the whole module.

SmolLM2 is steered where a test needs it to write text, keep going or stay out of the reasoning
(the ``steer`` fixture, tests/support/llm_support.py): which words it writes differs between CPUs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFormLayout, QPlainTextEdit

from app.core.chat.session import Turn
from app.core.installation.settings import AppSettings, load_settings
from app.ui.chat.controller import ChatController
from app.ui.i18n import content_language
from app.ui.theme import ThemeController
from app.ui.window.main_window import FREE_CHAT, MainWindow
from app.ui.window.settings_dialog import SettingsDialog
from tests.support.llm_support import PROSE_GRAMMAR, THREADS
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose, inspect

SETTINGS = AppSettings(n_threads=THREADS, n_ctx=2048, max_new_tokens=16, temperature=0.0)
SCENARIO_IDS = ["compliance", "risk", "esg", "code", "calculation", "calculation_en", "advisory"]


@pytest.fixture(scope="module")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """FINR1_HOME in a temporary folder: the tests never touch the real settings or library."""
    home = tmp_path_factory.mktemp("finr1_home")
    previous = os.environ.get("FINR1_HOME")
    os.environ["FINR1_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("FINR1_HOME", None)
    else:
        os.environ["FINR1_HOME"] = previous


@pytest.fixture(scope="module")
def window(qapp: Any, app_home: Path) -> Iterator[MainWindow]:
    theme = ThemeController(qapp, "light")
    main_window = MainWindow(SETTINGS, app_home / "settings.json", theme)
    ready: list[bool] = []
    main_window.chat_ready.connect(lambda: ready.append(True))
    main_window.show()
    wait_until(lambda: ready, 60, "the chat view to load")
    yield main_window
    main_window.close()
    dispose(main_window)


def load(window: MainWindow, model: Path) -> None:
    """Make ``model`` the window's loaded model (through the real load path)."""
    if window.host.path == model and window.host.engine is not None:
        return
    assert window.load_model(model)
    wait_until(lambda: window.host.engine is not None and window.host.path == model, 120,
               f"{model.name} to load")


@contextmanager
def endless_free_chat(window: MainWindow, smollm2_gguf: Path,
                      steer: Callable[..., object]) -> Iterator[ChatController]:
    """A new free chat on SmolLM2, steered never to end its reply, with room for 400 tokens;
    yields the chat's controller and gives the window back its 16-token limit afterwards."""
    steer(smollm2_gguf, may_end=False)
    load(window, smollm2_gguf)
    window.apply_settings(window.settings.with_changes(max_new_tokens=400))
    try:
        window.select_panel(FREE_CHAT)
        window._new_chat()
        assert window.controller is not None
        yield window.controller
    finally:
        window.apply_settings(window.settings.with_changes(max_new_tokens=16))


def run_to_end(window: MainWindow, start: Any) -> tuple[Turn, Any]:
    """Call ``start()`` (which starts a reply) and wait for that reply to finish."""
    assert window.controller is not None
    finished: list[tuple[Turn, Any]] = []

    def collect(turn: Turn, result: Any) -> None:
        finished.append((turn, result))

    window.controller.turn_finished.connect(collect)
    start()
    wait_until(lambda: finished, 180, "the reply to finish")
    window.controller.turn_finished.disconnect(collect)  # the history listens too
    return finished[0]


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_each_scenario_panel_runs_its_example_and_the_reply_is_drawn(
        window: MainWindow, tiny_bf16_gguf: Path, scenario_id: str) -> None:
    load(window, tiny_bf16_gguf)
    window.select_panel(scenario_id)
    panel = window.panels[scenario_id]
    panel.load_example(0)
    expected_prompt = panel.scenario.render_prompt(panel.values(), panel.prompt_language)
    turn, result = run_to_end(window, panel.run_button.click)
    assert turn.question == expected_prompt
    assert result.finish_reason in ("stop", "length")
    page = inspect(window.chat_view)
    assert page[-1]["id"] == turn.message_id
    assert page[-1]["user"] == expected_prompt
    assert page[-1]["status"] in ("done", "length")
    assert page[-1]["metrics"]
    assert panel.run_button.text() == "Run"


def test_the_panels_keep_their_own_conversations(window: MainWindow, tiny_bf16_gguf: Path) -> None:
    load(window, tiny_bf16_gguf)
    asked: dict[str, str] = {}
    for scenario_id in ("compliance", "risk"):
        window.select_panel(scenario_id)
        panel = window.panels[scenario_id]
        panel.load_example(0)
        turn, _ = run_to_end(window, panel.run_button.click)
        asked[scenario_id] = turn.question

    def questions_shown() -> list[str]:
        return [reply["user"] for reply in inspect(window.chat_view)]

    window.select_panel("compliance")
    compliance = questions_shown()
    window.select_panel("risk")
    risk = questions_shown()
    window.select_panel("compliance")
    assert questions_shown() == compliance
    assert asked["compliance"] in compliance and asked["risk"] not in compliance
    assert asked["risk"] in risk and asked["compliance"] not in risk


@pytest.mark.parametrize("prompt_language", ["en", "zh"])
def test_a_form_missing_a_required_field_says_which(window: MainWindow,
                                                    prompt_language: str) -> None:
    """In the window's language, as the form is, whatever language the prompts are written in."""
    window.select_panel("calculation")
    panel = window.panels["calculation"]
    panel.set_prompt_language(prompt_language)
    panel.set_values({})
    panel.run_button.click()
    form = panel.findChild(QFormLayout)
    problem_label = form.labelForField(panel.findChild(QPlainTextEdit, "field_question")).text()
    assert problem_label in panel.error_label.text()  # the empty required field, as the form shows it
    decimals_label = panel.scenario.field("decimals").label[content_language()]
    assert decimals_label not in panel.error_label.text()  # empty too, but optional
    assert window.controller is not None and not window.controller.busy


def test_the_header_shows_the_loaded_model(window: MainWindow, tiny_bf16_gguf: Path) -> None:
    load(window, tiny_bf16_gguf)
    assert "BF16" in window.header.detail_label.text()
    threads = f"CPU · {THREADS} thread{'s' if THREADS != 1 else ''}"
    assert threads in window.header.detail_label.text()


def test_free_chat_sends_history_and_answers(window: MainWindow, smollm2_gguf: Path,
                                             steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR)  # an answer with text, whatever the CPU
    load(window, smollm2_gguf)
    window.select_panel(FREE_CHAT)
    window._new_chat()
    first, _ = run_to_end(window, lambda: window._send_chat("What is a bond? One sentence."))
    second, result = run_to_end(window, lambda: window._send_chat("And a stock?"))
    assert [m.role for m in result.prompt_messages] == ["system", "user", "assistant", "user"]
    assert [reply["id"] for reply in inspect(window.chat_view)] == [first.message_id,
                                                                    second.message_id]
    assert inspect(window.chat_view)[-1]["answer"]["text"].strip()


def test_regenerate_replaces_the_last_reply(window: MainWindow, smollm2_gguf: Path) -> None:
    load(window, smollm2_gguf)
    window.select_panel(FREE_CHAT)
    window._new_chat()
    first, _ = run_to_end(window, lambda: window._send_chat("Name one bank."))
    again, _ = run_to_end(window, lambda: window._page_action("regenerate", first.message_id, ""))
    assert again.question == first.question
    assert [reply["id"] for reply in inspect(window.chat_view)] == [again.message_id]


def test_edit_and_resend_replaces_the_question_and_what_followed(window: MainWindow,
                                                                 smollm2_gguf: Path) -> None:
    load(window, smollm2_gguf)
    window.select_panel(FREE_CHAT)
    window._new_chat()
    first, _ = run_to_end(window, lambda: window._send_chat("What is inflation?"))
    run_to_end(window, lambda: window._send_chat("Why?"))
    window._page_action("edit", first.message_id, "")
    assert window.composer.text_box.toPlainText() == "What is inflation?"
    window.composer.text_box.setPlainText("What is deflation?")
    edited, _ = run_to_end(window, window.composer.send_button.click)
    page = inspect(window.chat_view)
    assert [reply["id"] for reply in page] == [edited.message_id]
    assert page[0]["user"] == "What is deflation?"


def test_a_reply_cut_off_at_the_limit_continues_from_where_it_stopped(
        window: MainWindow, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)  # 16 + 16 tokens, all answer
    load(window, smollm2_gguf)
    window.select_panel(FREE_CHAT)
    window._new_chat()
    cut, first = run_to_end(window, lambda: window._send_chat("Write a long story about a bank."))
    assert first.finish_reason == "length" and cut.can_continue
    page = inspect(window.chat_view)
    assert page[-1]["truncated"] == "The answer was cut off at the token limit (16 tokens)."
    assert window.controller is not None
    continued, second = run_to_end(
        window, lambda: window._page_action("continue", cut.message_id, ""))
    assert second.text.startswith(first.text) and len(second.text) > len(first.text)
    assert second.prompt_messages == first.prompt_messages  # the same question, not a new turn
    assert second.metrics.completion_tokens == 32  # both runs, counted together
    assert second.metrics.ttft_s == first.metrics.ttft_s
    assert window.controller.session(FREE_CHAT).turns == [continued]
    page = inspect(window.chat_view)
    assert [reply["id"] for reply in page] == [continued.message_id]
    assert page[0]["answer"]["text"].startswith(first.reply.answer[:40])
    assert "answer 32 tokens" in page[0]["metrics"]
    # That greedy continuing writes what one uninterrupted run writes is the engine's to show
    # (test_engine.py): here the prompt is evaluated in batches, whose kernels differ in the last
    # bits from one token at a time, which may tip a near-tie.


def test_stop_ends_the_reply_at_once_and_keeps_what_was_written(
        window: MainWindow, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    with endless_free_chat(window, smollm2_gguf, steer) as controller:
        finished: list[Any] = []

        def collect(_turn: Turn, result: Any) -> None:
            finished.append(result)

        controller.turn_finished.connect(collect)
        window._send_chat("Write a long story about a bank.")
        turn = controller.streaming_turn
        assert turn is not None and window.composer.send_button.text() == "Stop"
        wait_until(lambda: turn.document.tokens >= 8, 120, "a few tokens")
        window.composer.send_button.click()
        tokens_at_stop = turn.document.tokens
        wait_until(lambda: finished, 30, "the reply to stop")
        controller.turn_finished.disconnect(collect)
        result = finished[0]
        assert result.finish_reason == "cancelled"
        assert result.metrics.completion_tokens <= tokens_at_stop + 2
        page = inspect(window.chat_view)
        assert page[-1]["status"] == "stopped" and "stopped" in page[-1]["metrics"]
        assert window.composer.send_button.text() == "Send"


def test_no_model_is_swapped_in_while_a_reply_streams(
        window: MainWindow, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    with endless_free_chat(window, smollm2_gguf, steer) as controller:
        engine = window.host.engine
        window._send_chat("Write a long story about a bank.")
        assert controller.busy
        assert not window.load_library_model("any-model")  # the header's switcher and the
        assert not window.load_model(smollm2_gguf)         # manager's "Use this model" alike
        assert window.host.engine is engine
        controller.stop()
        wait_until(lambda: not controller.busy, 30, "the reply to stop")


def test_settings_survive_a_restart(window: MainWindow, app_home: Path, qapp: Any) -> None:
    dialog = SettingsDialog(window.settings, gpu_supported=False)
    assert "cannot use a GPU" in dialog.gpu_note.text()
    dialog.temperature.setValue(0.35)
    dialog.top_k.setValue(7)
    dialog.hub_endpoint.setText("https://hf-mirror.com")
    dialog.offline.setChecked(True)
    dialog.system_prompt.setPlainText("Be brief.")
    dialog.accept()
    window.apply_settings(dialog.result_settings)
    dispose(dialog)
    saved = load_settings(app_home / "settings.json")
    assert (saved.temperature, saved.top_k, saved.hub_endpoint, saved.offline,
            saved.system_prompt) == (0.35, 7, "https://hf-mirror.com", True, "Be brief.")
    restarted = MainWindow(load_settings(app_home / "settings.json"), app_home / "settings.json",
                           ThemeController(qapp, "light"))
    assert restarted.settings == window.settings
    dispose(restarted)
    window.apply_settings(SETTINGS)


def test_the_settings_dialog_refuses_an_invalid_value_and_stays_open(window: MainWindow) -> None:
    dialog = SettingsDialog(window.settings.with_changes(theme="dark"), gpu_supported=None)
    dialog.top_p.setMinimum(0)
    dialog.top_p.setValue(0)
    dialog.accept()
    assert "top_p" in dialog.error_label.text()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    dispose(dialog)


def test_the_switcher_loads_a_model_from_the_library(window: MainWindow, app_home: Path,
                                                     tiny_bf16_gguf: Path) -> None:
    from app.core.library.model_library import ImportMode, Library

    with Library.open_default() as library:
        entry = library.import_path(tiny_bf16_gguf, ImportMode.LINK)
    window.library.refresh()
    switcher = window.header.switcher
    wait_until(lambda: switcher.findData(entry.id) >= 0, 30, "the library's model in the switcher")
    assert switcher.itemText(switcher.count() - 1) == "Open a GGUF file…"
    loaded: list[object] = []
    window.host.loaded.connect(loaded.append)
    switcher.activated.emit(switcher.findData(entry.id))
    wait_until(lambda: loaded, 60, "the library model to load")
    window.host.loaded.disconnect(loaded.append)
    assert window.host.path is not None and window.host.path.samefile(tiny_bf16_gguf)
