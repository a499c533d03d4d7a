"""The history in the window: every reply saved as it streams, the sidebar that lists, searches and
exports the saved conversations, and reopening one in its panel.

``HistoryService`` takes only what it uses: the ``store`` it writes (closed by ``close``), the
``ChatController`` whose signals it records and whose sessions it refills, the ``ModelHost``
whose model each turn is recorded with, the scenarios, where the library is (a model's verified
hash is read there rather than computed), and the scenario panels with a way to show one (a
reopened run puts its values back in its form). ``status(message, timeout_ms)`` says what went
wrong (or what an export did) for the status bar. ``panel`` (a ``HistoryPanel``) is the sidebar,
for the window to place.

The history is written on the GUI thread, in the order the chat view shows text: each write is
one small transaction appended to SQLite's write-ahead log, and writing it from the thread that
draws the text is what guarantees nothing shown can be missing from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.errors import FinR1Error
from app.core.history.provenance import ModelProvenance, identify_model
from app.core.history.recorder import HistoryRecorder
from app.core.history.replay import restore_session
from app.core.library.model_library import Library
from app.ui.chat.panel_keys import FREE_CHAT
from app.ui.history.history_panel import HistoryPanel, translate_interrupted
from app.ui.job_bridge import BackgroundJob, JobContext

if TYPE_CHECKING:
    from app.core.batch.store import BatchStore
    from app.core.chat.session import Turn
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import TurnResult
    from app.core.scenarios.scenario import Scenario
    from app.ui.chat.controller import ChatController
    from app.ui.chat.scenario_panel import ScenarioPanel
    from app.ui.window.model_host import ModelHost

STATUS_MS = 8000
FAILURE_STATUS_MS = 30000


class HistoryService(QObject):
    """Records, lists, reopens and exports conversations (see the module docstring).

    ``select_panel(key)`` shows panel ``key`` (a scenario id or ``FREE_CHAT``); ``panels`` maps
    scenario ids to their panels. ``store`` is None once closed; ``recorder`` keeps which saved
    conversation each panel continues.
    """

    status = Signal(str, int)  # message, how long to show it (ms)

    def __init__(self, store: BatchStore, controller: ChatController, host: ModelHost,
                 scenarios: Mapping[str, Scenario], *, library_setting: Callable[[], str],
                 panels: Mapping[str, ScenarioPanel], select_panel: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store: BatchStore | None = store
        self._controller = controller
        self._host = host
        self._scenarios = scenarios
        self._library_setting = library_setting
        self._panels = panels
        self._select_panel = select_panel
        titles = {key: scenario.title["en"] for key, scenario in scenarios.items()}
        self.recorder = HistoryRecorder(store, titles)
        self._streaming: tuple[str, Turn] | None = None
        self._save_failed = False
        self.panel = HistoryPanel(store, scenarios)
        self.panel.open_requested.connect(self.show_conversation)
        self.panel.status.connect(self._panel_status)
        self.panel.refresh()
        controller.turn_started.connect(self._turn_started)
        controller.text_shown.connect(self._text_shown)
        controller.turn_finished.connect(self._turn_finished)
        controller.turn_failed.connect(self._turn_failed)
        host.loaded.connect(self._engine_changed)
        host.connected.connect(self._engine_changed)
        if host.engine is not None:
            self._identify_loaded_model()

    # -- recording --------------------------------------------------------------------------------

    def new_chat(self) -> None:
        """Free chat was cleared ("New chat"): its next question starts a new conversation.
        Ignored while a reply streams (the chat is not cleared then either)."""
        if not self._controller.busy:
            self.recorder.panel_cleared(FREE_CHAT)

    def _record(self, write: Callable[[], object]) -> None:
        """Run one history write; a failure (disk full…) is shown once and the chat goes on."""
        try:
            write()
        except FinR1Error as error:
            if not self._save_failed:
                self._save_failed = True
                self.status.emit(self.tr("The history could not be saved: {0}").format(error),
                                 FAILURE_STATUS_MS)

    def _turn_started(self, key: str, turn: Turn, replaced: Turn | None,
                      sampling: GenerationSettings) -> None:
        host_path, model = self._host.path, self.recorder.model
        if host_path is not None and not (isinstance(model, ModelProvenance)
                                          and Path(model.path) == host_path.resolve()):
            self._identify_loaded_model()  # asked before the load was reported to us
        standalone = self._controller.session(key).standalone
        self._streaming = (key, turn)
        self._record(lambda: self.recorder.turn_started(
            key, turn, standalone=standalone, replaced=replaced, sampling=sampling))
        self.panel.refresh()

    def _text_shown(self, key: str, turn: Turn, text: str) -> None:
        self._record(lambda: self.recorder.text_shown(key, turn, text))

    def _turn_finished(self, turn: Turn, result: TurnResult) -> None:
        key = self._end_stream(turn)
        if key is not None:
            self._record(lambda: self.recorder.turn_finished(key, turn, result))
            self.panel.refresh()

    def _turn_failed(self, turn: Turn, message: str) -> None:
        key = self._end_stream(turn)
        if key is not None:
            self._record(lambda: self.recorder.turn_failed(key, turn, message))
            self.panel.refresh()

    def _end_stream(self, turn: Turn) -> str | None:
        streaming, self._streaming = self._streaming, None
        return streaming[0] if streaming is not None and streaming[1] is turn else None

    def _panel_status(self, message: str) -> None:
        self.status.emit(message, STATUS_MS)

    # -- the model's provenance -------------------------------------------------------------------

    def _engine_changed(self, _facts: object) -> None:
        self._identify_loaded_model()

    def _identify_loaded_model(self) -> None:
        """Give the recorder the engine's provenance: a server's address and model at once; for
        a model file loaded here at once what the library knows, the file's hash when it has to
        be computed (off the GUI thread). A server's model is never hashed: no file is here."""
        path, server = self._host.path, self._host.server
        if server is not None:
            self.recorder.model = server.provenance()
            return
        if path is None:
            return
        from app.core.engine.local_engine import ChatEngine  # loaded by then: ``path`` is its file

        setting = self._library_setting()
        engine = self._host.engine
        gguf = engine.gguf_info if isinstance(engine, ChatEngine) else None  # None: still loading
        resolved = path.resolve()
        # What is known without any I/O, so a question asked at once is recorded with its
        # model; the hash follows (filled into the turns already recorded).
        self.recorder.model = ModelProvenance(
            str(resolved), resolved.name, None, gguf.file_type_label if gguf else None,
            gguf.size_bytes if gguf else 0, None)

        def work(context: JobContext) -> ModelProvenance:
            library = _open_library(setting)
            try:  # the library's verified hash when it has one, else the file is hashed
                return identify_model(path, library, context.cancel)
            finally:
                if library is not None:
                    library.close()

        job = BackgroundJob(self, work, "identify model")
        job.on_success(self._provenance_known)
        job.start()

    def _provenance_known(self, provenance: ModelProvenance) -> None:
        if self._host.path is None or Path(provenance.path) != Path(self._host.path).resolve():
            return  # another model was loaded meanwhile
        if provenance.sha256:
            self.recorder.model = provenance
            self._record(lambda: self.recorder.model_identified(provenance))

    # -- reopening and exporting ------------------------------------------------------------------

    def show_conversation(self, conversation_id: int) -> bool:
        """Show a saved conversation in its panel, drawn as it was; later questions continue it.
        False while a reply is being generated, or when it cannot be read (``status`` says
        why), and once the history is closed."""
        if self.store is None:
            return False
        if self._controller.busy:
            self.status.emit(self.tr("Wait for the reply to finish (or stop it) before opening "
                                     "another conversation."), STATUS_MS)
            return False
        try:
            conversation = self.store.conversation(conversation_id)
        except FinR1Error as error:
            self.status.emit(str(error), STATUS_MS)
            return False
        scenario_id = conversation.summary.scenario_id
        key = scenario_id if scenario_id is not None and scenario_id in self._scenarios \
            else FREE_CHAT
        turns = restore_session(conversation, self._controller.session(key), self._scenarios,
                                translate_interrupted())
        self.recorder.adopt(key, conversation, turns)
        if key != FREE_CHAT and turns:
            self._panels[key].set_values(dict(turns[-1].values))
        self._select_panel(key)
        self._controller.show_session(key)
        return True

    def export_panel(self, key: str, export_format: str) -> None:
        """Export the conversation panel ``key`` continues as ``md``, ``html`` or ``pdf`` (a
        file dialog asks where); ``status`` says so when the panel has none yet."""
        conversation_id = self.recorder.conversation_of(key)
        if conversation_id is None:
            self.status.emit(self.tr("This panel has no saved conversation yet."), STATUS_MS)
            return
        self.panel.ask_and_export(conversation_id, export_format)

    def refresh(self) -> None:
        """List the saved conversations again (after something else wrote to the store)."""
        self.panel.refresh()

    def close(self) -> None:
        """Close the store (at quit); nothing is recorded after."""
        if self.store is not None:
            self.store.close()
            self.store = None


def _open_library(setting: str) -> Library | None:
    try:
        return Library.open_default(setting or None)
    except FinR1Error:
        return None
