"""Choosing a server as the engine, in the window (offscreen): the settings dialog's Engine group,
its "Test connection", and the window answering a scenario through a real ``RemoteEngine`` talking
to the replay server on 127.0.0.1, with the server's provenance in the history and a server's
failure shown as a sentence with the partial reply kept."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit

from app.core.chat.session import Turn
from app.core.history.store import StoredTurn
from app.core.installation.settings import AppSettings
from app.ui.theme import ThemeController
from app.ui.window.main_window import MainWindow
from app.ui.window.settings_dialog import SettingsDialog
from tests.support.openai_replay_server import ReplayServer, Reply
from tests.support.qt_wait import wait_until
from tests.support.recorded_streams import FORMATS, REASONING
from tests.support.ui_support import dispose, inspect

SERVED = "Fin-R1-7B"
SERVER_REPLY = FORMATS["vllm-reasoning"].replace('"Fin-R1"', f'"{SERVED}"')
SETTINGS = AppSettings(max_new_tokens=64, temperature=0.0)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the settings dialog ----------------------------------------------------------------------------

def test_the_engine_group_shows_the_server_settings_and_hands_them_back(qtbot: Any) -> None:
    settings = AppSettings(engine_kind="server", server_url="http://gpu-box:8000/v1",
                           server_api_key="k-1", server_model="Fin-R1", server_timeout_s=90.0)
    dialog = SettingsDialog(settings, None)
    qtbot.addWidget(dialog)
    assert dialog.engine_server.isChecked() and not dialog.engine_local.isChecked()
    assert (dialog.server_url.text(), dialog.server_api_key.text(), dialog.server_model.text()) \
        == ("http://gpu-box:8000/v1", "k-1", "Fin-R1")
    assert dialog.server_api_key.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.edited_settings() == settings

    dialog.engine_local.setChecked(True)
    assert not dialog.server_url.isEnabled() and not dialog.test_button.isEnabled()
    assert dialog.edited_settings() == settings.with_changes(engine_kind="local")


def test_a_server_chosen_in_the_dialog_becomes_the_settings(qtbot: Any) -> None:
    dialog = SettingsDialog(AppSettings(), None)
    qtbot.addWidget(dialog)
    assert dialog.engine_local.isChecked() and not dialog.server_url.isEnabled()
    dialog.engine_server.setChecked(True)
    dialog.server_url.setText(" http://gpu-box:8000 ")
    dialog.server_api_key.setText("k-2")
    dialog.server_model.setText("Fin-R1")
    dialog.server_timeout.setValue(45)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert dialog.result_settings == AppSettings(
        engine_kind="server", server_url="http://gpu-box:8000", server_api_key="k-2",
        server_model="Fin-R1", server_timeout_s=45.0)


def test_a_bad_server_address_keeps_the_dialog_open_with_the_reason(qtbot: Any) -> None:
    dialog = SettingsDialog(AppSettings(), None)
    qtbot.addWidget(dialog)
    dialog.engine_server.setChecked(True)
    dialog.server_url.setText("gpu-box:8000")
    dialog.accept()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    assert "http:// or https:// URL" in dialog.error_label.text()
    assert dialog.result_settings == AppSettings()


def test_test_connection_says_which_model_answered(qtbot: Any) -> None:
    with ReplayServer(models=(SERVED,)) as server:
        server.script(Reply(SERVER_REPLY))
        dialog = SettingsDialog(AppSettings(), None)
        qtbot.addWidget(dialog)
        dialog.engine_server.setChecked(True)
        dialog.server_url.setText(server.url)
        assert dialog.test_connection()
        assert not dialog.test_button.isEnabled()
        wait_until(lambda: not dialog.testing, 30)
        text = dialog.connection_result.text()
        assert text.startswith("Connection works: connected to " + server.url), text
        assert SERVED in text
        assert dialog.connection_result.objectName() == "settingNote"
        assert dialog.test_button.isEnabled()
        assert server.requests[0]["max_tokens"] == 1


@pytest.mark.parametrize(("api_key", "said"), [
    ("wrong", "refused the API key (HTTP 401"),
    ("", "the server needs an API key"),
])
def test_test_connection_says_why_the_key_is_refused(qtbot: Any, api_key: str, said: str) -> None:
    with ReplayServer(api_key="right") as server:
        dialog = SettingsDialog(AppSettings(), None)
        qtbot.addWidget(dialog)
        dialog.engine_server.setChecked(True)
        dialog.server_url.setText(server.url)
        dialog.server_api_key.setText(api_key)
        assert dialog.test_connection()
        wait_until(lambda: not dialog.testing, 30)
    text = dialog.connection_result.text()
    assert text.startswith("Connection failed: the server at " + server.url), text
    assert said in text
    assert dialog.connection_result.objectName() == "formError"


def test_test_connection_says_when_nothing_listens(qtbot: Any) -> None:
    dialog = SettingsDialog(AppSettings(), None)
    qtbot.addWidget(dialog)
    dialog.engine_server.setChecked(True)
    dialog.server_url.setText(f"http://127.0.0.1:{closed_port()}")
    assert dialog.test_connection()
    wait_until(lambda: not dialog.testing, 30)
    assert dialog.connection_result.text().startswith("Connection failed: cannot reach the server")


def test_test_connection_refuses_an_address_at_once(qtbot: Any) -> None:
    dialog = SettingsDialog(AppSettings(), None)
    qtbot.addWidget(dialog)
    dialog.engine_server.setChecked(True)
    dialog.server_url.setText("ftp://gpu-box")
    assert not dialog.test_connection()
    assert not dialog.testing
    assert "http:// or https:// URL" in dialog.connection_result.text()


# -- the window answering through a server -----------------------------------------------------------

@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(models=(SERVED,), api_key="k-1") as server:
        yield server


@pytest.fixture(scope="module")
def window(qapp: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainWindow]:
    """A window (with its history) under a temporary FINR1_HOME, answering from this computer
    until a test chooses the server."""
    home = tmp_path_factory.mktemp("finr1_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FINR1_HOME", str(home))
        main_window = MainWindow(SETTINGS, home / "settings.json", ThemeController(qapp, "light"),
                                 interactive=False)
        main_window.show()
        wait_until(lambda: main_window.services is not None, 60, "the chat view and the history")
        yield main_window
        main_window.close()
        dispose(main_window)


def use_server(window: MainWindow, qtbot: Any, server: ReplayServer, api_key: str) -> None:
    """Choose ``server`` in the settings, as the dialog's OK does, and wait for the outcome."""
    outcomes: list[object] = []
    window.host.connected.connect(outcomes.append)
    window.host.load_failed.connect(outcomes.append)
    window.apply_settings(window.settings.with_changes(
        engine_kind="server", server_url=server.url, server_api_key=api_key))
    wait_until(lambda: outcomes, 30)
    window.host.connected.disconnect(outcomes.append)
    window.host.load_failed.disconnect(outcomes.append)


def run_scenario(window: MainWindow, qtbot: Any, scenario_id: str) -> tuple[Turn, Any]:
    """Run ``scenario_id``'s first example; the turn and its result (or failure message)."""
    assert window.controller is not None
    ended: list[tuple[Turn, Any]] = []
    window.controller.turn_finished.connect(lambda turn, result: ended.append((turn, result)))
    window.controller.turn_failed.connect(lambda turn, message: ended.append((turn, message)))
    window.select_panel(scenario_id)
    window.panels[scenario_id].load_example(0)
    window.panels[scenario_id].run_button.click()
    wait_until(lambda: ended, 60)
    return ended[0]


def last_stored_turn(window: MainWindow, scenario_id: str) -> StoredTurn:
    """The last turn the window's history recorded in ``scenario_id``'s conversation."""
    assert window.services is not None and window.services.history is not None
    history = window.services.history
    assert history.store is not None
    conversation_id = history.recorder.conversation_of(scenario_id)
    assert conversation_id is not None
    return history.store.conversation(conversation_id).turns[-1]


def test_a_wrong_key_is_said_in_the_header_and_nothing_answers(
        window: MainWindow, qtbot: Any, replay: ReplayServer) -> None:
    use_server(window, qtbot, replay, "wrong")
    assert window.host.engine is None
    assert window.header.model_label.text() == "No model loaded"
    assert window.header.detail_label.toolTip().startswith(
        "Could not connect to the server: the server at " + replay.url)
    assert "refused the API key" in window.header.detail_label.toolTip()


def test_a_scenario_is_answered_by_the_server_and_its_provenance_recorded(
        window: MainWindow, qtbot: Any, replay: ReplayServer) -> None:
    use_server(window, qtbot, replay, "k-1")
    assert window.host.server is not None and window.host.path is None
    assert window.header.model_label.text() == SERVED
    assert window.header.detail_label.text() == f"Server · {replay.url}"
    replay.script(Reply(SERVER_REPLY))
    asked = len(replay.requests)
    turn, result = run_scenario(window, qtbot, "compliance")

    assert result.finish_reason == "stop"
    sent = replay.requests[asked]
    assert sent["model"] == SERVED and sent["messages"][-1]["content"] == turn.question
    page = inspect(window.chat_view)[-1]
    assert page["id"] == turn.message_id and page["status"] == "done"
    assert page["think"]["text"].startswith("The P/E ratio")
    stored = last_stored_turn(window, "compliance")
    assert stored.status == "done"
    assert stored.provenance["engine"] == "server"
    assert (stored.provenance["server_url"], stored.provenance["server_model"]) \
        == (replay.url, SERVED)
    assert "model_sha256" not in stored.provenance


def test_a_reply_the_server_cuts_shows_its_sentence_and_keeps_the_text(
        window: MainWindow, qtbot: Any, replay: ReplayServer) -> None:
    if window.host.server is None:
        use_server(window, qtbot, replay, "k-1")
    replay.script(Reply(SERVER_REPLY, drop_after=6))
    turn, message = run_scenario(window, qtbot, "risk")

    partial = "".join(REASONING[:5])
    assert isinstance(message, str) and "before the reply was complete" in message
    assert window.statusBar().currentMessage() == f"The reply failed: {message}"
    page = inspect(window.chat_view)[-1]
    assert page["id"] == turn.message_id and page["status"] == "error"
    assert page["error"] == message
    assert page["think"]["text"].strip() == partial
    stored = last_stored_turn(window, "risk")
    assert stored.status == "error" and stored.error == message
    assert stored.reply_text == "<think>\n" + partial


def test_going_back_to_this_computer_frees_the_server_engine(
        window: MainWindow, qtbot: Any, replay: ReplayServer) -> None:
    if window.host.server is None:
        use_server(window, qtbot, replay, "k-1")
    window.apply_settings(window.settings.with_changes(engine_kind="local"))
    wait_until(lambda: not window.host.busy, 30)
    assert window.host.engine is None and window.host.server is None
    assert window.header.model_label.text() == "No model loaded"
