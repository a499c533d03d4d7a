"""The local server switch (offscreen): the panel starts the app's real OpenAI-compatible server on
the tiny GGUF on 127.0.0.1, lists each HTTP request in its log (no prompt text unless asked),
shows how busy the model is as the engine queue changes, refuses what the core refuses, stops
when the model changes, and frees the port when stopped. In the window, the chat waits in the
same queue as the server's requests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.engine.config import EngineConfig
from app.core.installation.settings import AppSettings
from app.ui.server.local_server import LocalServer
from app.ui.server.server_panel import PROMPT_COLUMN, ServerPanel, ServerStatusLabel, status_text
from app.ui.theme import ThemeController
from app.ui.window.main_window import FREE_CHAT, MainWindow
from app.ui.window.model_host import ModelHost
from tests.support.llm_support import THREADS
from tests.support.qt_wait import wait_until
from tests.support.serve_support import Reply, call
from tests.support.ui_support import dispose, hosted_model

CONFIG = EngineConfig(n_ctx=256, n_threads=THREADS, n_gpu_layers=0)
QUESTION = "What is a bond's yield to maturity?"


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"model": "Fin-R1", "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 4, "temperature": 0, **fields}


@pytest.fixture(scope="module")
def host(qapp: Any, tiny_bf16_gguf: Path) -> Iterator[ModelHost]:
    """The tiny GGUF loaded through the window's own host."""
    with hosted_model(tiny_bf16_gguf, CONFIG) as loaded:
        yield loaded


@pytest.fixture
def panel(qtbot: Any, host: ModelHost) -> Iterator[ServerPanel]:
    server = LocalServer(host)
    shown = ServerPanel(server)
    qtbot.addWidget(shown)
    shown.port_box.setValue(0)  # any free port
    yield shown
    server.shutdown()


def start(panel: ServerPanel, qtbot: Any) -> str:
    """Press Start and wait until the server accepts connections; returns its base URL."""
    panel.start_button.click()
    wait_until(lambda: panel.server.state in ("serving", "stopped"), 30)
    assert panel.server.state == "serving", panel.error_label.text()
    return panel.server.url


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def in_thread(request: Callable[[], Reply]) -> tuple[threading.Thread, list[Reply]]:
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(request()), daemon=True)
    thread.start()
    return thread, replies


def test_start_serves_on_a_free_port_logs_each_request_and_stop_frees_the_port(
        panel: ServerPanel, qtbot: Any) -> None:
    assert status_text(panel.server) == "Server: off"
    url = start(panel, qtbot)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert url == f"http://127.0.0.1:{port}/v1" and port != 0
    assert panel.status_label.text() == f"Server: ready at {url}"
    assert panel.address_label.text() == \
        f"Clients use base URL {url} and model name Fin-R1; no API key needed."
    assert panel.start_button.text() == "Stop server" and not panel.port_box.isEnabled()

    reply = call(url, "GET", "/models")
    assert reply.status == 200 and reply.json()["data"][0]["id"] == "Fin-R1"
    wait_until(lambda: panel.logged_rows(), 10)
    time_cell, method, path, status, tokens, duration, prompt = panel.logged_rows()[0]
    assert (method, path, status, tokens, prompt) == ("GET", "/v1/models", "200", "", "")
    assert time_cell.count(":") == 2 and duration.endswith(" ms")

    panel.start_button.click()
    assert panel.server.state == "stopping"
    wait_until(lambda: panel.server.state == "stopped", 30)
    assert port_is_free(port)
    assert panel.status_label.text() == "Server: off" and panel.address_label.text() == ""
    assert panel.start_button.text() == "Start server" and panel.port_box.isEnabled()


def test_a_chat_request_is_logged_with_its_tokens_and_without_its_prompt(
        panel: ServerPanel, qtbot: Any) -> None:
    url = start(panel, qtbot)
    reply = call(url, "POST", "/chat/completions", chat_body())
    assert reply.status == 200
    usage = reply.json()["usage"]
    wait_until(lambda: panel.logged_rows(), 10)
    row = panel.logged_rows()[-1]
    assert row[1:5] == ("POST", "/v1/chat/completions", "200",
                        f"{usage['prompt_tokens']} + {usage['completion_tokens']}")
    assert row[PROMPT_COLUMN] == "" and panel.log_table.isColumnHidden(PROMPT_COLUMN)
    assert QUESTION not in " ".join(" ".join(row) for row in panel.logged_rows())


def test_prompts_are_listed_only_when_the_person_turns_logging_on(
        panel: ServerPanel, qtbot: Any) -> None:
    panel.log_prompts.setChecked(True)
    url = start(panel, qtbot)
    assert not panel.log_table.isColumnHidden(PROMPT_COLUMN)
    assert call(url, "POST", "/chat/completions", chat_body()).status == 200
    wait_until(lambda: panel.logged_rows(), 10)
    assert QUESTION in panel.logged_rows()[-1][PROMPT_COLUMN]


def test_the_window_shows_how_busy_the_model_is_as_requests_queue(
        panel: ServerPanel, host: ModelHost, qtbot: Any) -> None:
    status_bar_label = ServerStatusLabel(panel.server)
    qtbot.addWidget(status_bar_label)
    url = start(panel, qtbot)
    seen: list[str] = []
    panel.server.status_changed.connect(lambda _status: seen.append(status_text(panel.server)))
    assert host.queue is not None
    held = host.queue.lease(label="chat")  # the window's chat holds the model
    with held:
        wait_until(lambda: panel.server.status.holder == "chat", 10)
        first, first_reply = in_thread(lambda: call(url, "POST", "/chat/completions",
                                                    chat_body()))
        wait_until(lambda: panel.server.status.waiting == 1, 30)
        second, second_reply = in_thread(lambda: call(url, "POST", "/chat/completions",
                                                      chat_body()))
        wait_until(lambda: panel.server.status.waiting == 2, 30)
        assert panel.status_label.text() == "Server: the window's chat has the model, 2 waiting"
        assert status_bar_label.text() == panel.status_label.text()
        assert not status_bar_label.isHidden()
    wait_until(lambda: len(panel.logged_rows()) == 2, 60)
    first.join(10)
    second.join(10)
    assert first_reply[0].status == second_reply[0].status == 200
    assert "Server: answering 1, 1 waiting" in seen
    assert seen.index("Server: answering 1, 1 waiting") < seen.index(
        "Server: answering 1, 0 waiting")
    wait_until(lambda: not panel.server.status.busy, 10)
    assert panel.status_label.text() == f"Server: ready at {url}"


def test_an_address_beyond_this_computer_without_a_key_is_refused_with_the_core_sentence(
        panel: ServerPanel) -> None:
    # TEST-NET-1 (RFC 5737): not this computer's, so even a core that forgot the rule binds
    # nothing reachable from the network here.
    panel.host_edit.setText("192.0.2.1")
    panel.start_button.click()
    assert not panel.server.running
    assert panel.error_label.text().startswith(
        "refusing to listen on 192.0.2.1 without an API key")
    assert panel.status_label.text() == "Server: off"


def test_a_taken_port_is_said_and_the_server_stays_off(panel: ServerPanel, qtbot: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        panel.port_box.setValue(port)
        panel.start_button.click()
        wait_until(lambda: panel.server.state == "stopped", 30)
    assert panel.error_label.text().startswith(f"cannot listen on 127.0.0.1:{port}")


def test_without_a_model_here_the_server_does_not_start(qtbot: Any) -> None:
    panel = ServerPanel(LocalServer(ModelHost()))
    qtbot.addWidget(panel)
    panel.start_button.click()
    assert not panel.server.running
    assert panel.error_label.text().startswith("Load a model on this computer first")


def test_changing_the_model_stops_the_server(panel: ServerPanel, host: ModelHost,
                                            qtbot: Any) -> None:
    url = start(panel, qtbot)
    assert host.reload(CONFIG)
    wait_until(lambda: panel.server.state == "stopped" and host.queue is not None, 120)
    assert panel.error_label.text().startswith("The server stopped because the model is changing")
    with pytest.raises(OSError):
        call(url, "GET", "/models", timeout=5)


# -- in the window ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def window(qapp: Any, tmp_path_factory: pytest.TempPathFactory,
           tiny_bf16_gguf: Path) -> Iterator[MainWindow]:
    home = tmp_path_factory.mktemp("finr1_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FINR1_HOME", str(home))
        settings = AppSettings(n_threads=THREADS, n_ctx=256, max_new_tokens=4, temperature=0.0)
        main_window = MainWindow(settings, home / "settings.json",
                                 ThemeController(qapp, "light"), interactive=False)
        main_window.show()
        wait_until(lambda: main_window.services is not None, 60, "the chat view and the history")
        assert main_window.load_model(tiny_bf16_gguf)
        wait_until(lambda: main_window.host.queue is not None, 120, "the tiny model")
        yield main_window
        main_window.close()
        dispose(main_window)


def test_the_windows_chat_waits_in_the_servers_queue(window: MainWindow, qtbot: Any) -> None:
    services = window.services
    assert services is not None and window.controller is not None
    services.server_action.trigger()
    assert services.server_dock.isVisible()
    panel = services.server_panel
    panel.port_box.setValue(0)
    start(panel, qtbot)
    queue = window.host.queue
    assert queue is not None
    finished: list[object] = []
    window.controller.turn_finished.connect(lambda turn, _result: finished.append(turn))
    window.select_panel(FREE_CHAT)
    with queue.lease(label="server"):  # as a client's request holding the model
        turn = window.controller.ask(FREE_CHAT, "Hello")
        assert turn is not None
        wait_until(lambda: panel.server.status.waiting == 1, 30)
        assert panel.status_label.text() == "Server: answering 1, 1 waiting"
        assert window.statusBar().findChild(ServerStatusLabel).text() == \
            "Server: answering 1, 1 waiting"
        assert window.controller.busy and not finished
    wait_until(lambda: finished, 60)
    assert finished == [turn]
    window.local_server.stop()
    wait_until(lambda: window.local_server.state == "stopped", 30)
