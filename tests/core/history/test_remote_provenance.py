"""A remote engine's turns in the history and exports, and the settings that choose the engine:
real turns streamed from a replay server on 127.0.0.1 into a real SQLite history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession, Turn
from app.core.engine.config import GenerationSettings
from app.core.engine.remote_engine import RemoteEngine
from app.core.engine.server_connection import DEFAULT_TIMEOUT_S, ServerConnection
from app.core.errors import ServerDroppedError
from app.core.history.export import conversation_markdown
from app.core.history.recorder import HistoryRecorder
from app.core.history.store import HistoryStore
from app.core.installation.settings import AppSettings, SettingsFileError, load_settings, save_settings
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from tests.support.openai_replay_server import ReplayServer, Reply
from tests.support.recorded_streams import FORMATS, REASONING

SETTINGS = GenerationSettings(temperature=0.2, top_k=0, max_new_tokens=64, seed=5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def record_turn(store: HistoryStore, server: ReplayServer) -> tuple[int, Turn, HistoryRecorder]:
    """Stream one turn from ``server`` into the history as the chat panel does; returns the
    conversation id, the turn and the recorder (the turn finished or failed)."""
    recorder = HistoryRecorder(store)
    turn = ChatSession(RichTextRenderer()).start_turn("What is the P/E?", 0.0)
    with RemoteEngine(ServerConnection(server.url)) as engine:
        recorder.model = engine.info.provenance()
        recorder.turn_started("chat", turn, standalone=False, replaced=None, sampling=SETTINGS)
        stream = engine.stream_chat([ChatMessage("user", turn.question)], SETTINGS)
        try:
            for chunk in stream:
                recorder.text_shown("chat", turn, chunk.text)
        except ServerDroppedError as error:
            recorder.turn_failed("chat", turn, str(error))
        else:
            recorder.turn_finished("chat", turn, stream.result)
    conversation_id = recorder.conversation_of("chat")
    assert conversation_id is not None
    return conversation_id, turn, recorder


def test_a_remote_turn_records_the_server_its_model_and_the_sampling_sent(
        store: HistoryStore) -> None:
    with ReplayServer(models=("Fin-R1-7B",)) as server:
        server.script(Reply(FORMATS["vllm-reasoning"].replace('"Fin-R1"', '"Fin-R1-7B"')))
        conversation_id, _turn, _recorder = record_turn(store, server)
        sent = server.requests[0]
    stored = store.conversation(conversation_id).turns[0]
    provenance = stored.provenance
    assert provenance["engine"] == "server"
    assert provenance["server_url"] == server.url and provenance["server_model"] == "Fin-R1-7B"
    assert provenance["server_sampling"] == {key: sent[key] for key in provenance["server_sampling"]}
    assert provenance["sampling"]["temperature"] == 0.2
    assert "model_sha256" not in provenance
    assert stored.status == "done" and stored.think.startswith("The P/E ratio")
    markdown = conversation_markdown(store.conversation(conversation_id), {})
    assert f"| Server | {server.url} |" in markdown
    assert "| Server model | Fin-R1-7B |" in markdown
    assert "Model file" not in markdown


def test_a_reply_cut_by_the_server_is_kept_in_the_history_with_the_sentence(
        store: HistoryStore) -> None:
    with ReplayServer() as server:
        server.script(Reply(FORMATS["vllm-reasoning"], drop_after=6))
        conversation_id, _turn, _recorder = record_turn(store, server)
    stored = store.conversation(conversation_id).turns[0]
    assert stored.status == "error"
    assert stored.reply_text == "<think>\n" + "".join(REASONING[:5])
    assert stored.error is not None and "before the reply was complete" in stored.error
    markdown = conversation_markdown(store.conversation(conversation_id), {})
    assert "failed: the server at" in markdown


def test_the_engine_choice_is_saved_and_loaded(tmp_path: Path) -> None:
    settings = AppSettings(engine_kind="server", server_url="http://gpu-box:8000",
                           server_api_key="k-1", server_model="Fin-R1", server_timeout_s=60.0)
    path = save_settings(settings, tmp_path / "settings.json")
    assert load_settings(path) == settings
    assert settings.server_connection() == ServerConnection("http://gpu-box:8000", "k-1",
                                                            "Fin-R1", 60.0)
    assert settings.server_connection().base_url == "http://gpu-box:8000/v1"
    assert AppSettings().engine_kind == "local"
    assert AppSettings().server_timeout_s == DEFAULT_TIMEOUT_S


def test_a_changed_server_needs_a_new_engine() -> None:
    server = AppSettings(engine_kind="server", server_url="http://gpu-box:8000")
    assert AppSettings().needs_reload(server)
    assert server.needs_reload(server.with_changes(server_model="other"))
    assert not server.needs_reload(server.with_changes(temperature=0.1))


@pytest.mark.parametrize(("changes", "message"), [
    ({"engine_kind": "cloud"}, "the engine must be one of local, server"),
    ({"engine_kind": "server"}, "give the server's address"),
    ({"server_url": "gpu-box:8000"}, "http:// or https:// URL"),
    ({"server_url": "http://gpu-box", "server_timeout_s": 0}, "timeout must be above 0"),
])
def test_a_bad_engine_choice_is_refused_naming_it(changes: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        AppSettings(**changes)  # type: ignore[arg-type]


def test_a_settings_file_with_a_bad_server_address_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"engine_kind": "server", "server_url": "ftp://x"}', encoding="utf-8")
    with pytest.raises(SettingsFileError, match=r"settings\.json"):
        load_settings(path)
