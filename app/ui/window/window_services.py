"""What the main window offers beyond chatting: the history (saved as replies stream, a sidebar to
search and reopen, exports), the model manager, the setup wizard, the downloads that outlive
any dialog, the local server's panel, each scenario's Batch view (its rows recorded in the
history, opened like conversations), and the window's language.

``WindowServices(window, translations, interactive)`` attaches all of it to a ``MainWindow``
through the window's public parts (its host, controller, panels, settings) and the controller's
signals, so the window itself only creates it. ``interactive`` False (the self-test) skips what
needs a person: the first-run wizard and resuming downloads; conversations are saved all the same.

The history is written on the GUI thread, in the order the chat view shows text: each write is
one small transaction appended to SQLite's write-ahead log, and writing it from the thread that
draws the text is what guarantees nothing shown can be missing from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from app.core.batch.store import BatchStore
from app.core.engine.model_summary import switcher_choices
from app.core.errors import AboutDataError, FinR1Error
from app.core.history.provenance import ModelProvenance, identify_model
from app.core.history.recorder import HistoryRecorder
from app.core.history.replay import restore_session
from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import PendingDownloads
from app.core.installation.about import about_info
from app.core.library.model_library import Library, ModelEntry
from app.ui.history.history_panel import HistoryPanel, translate_interrupted
from app.ui.i18n import Translations
from app.ui.job_bridge import BackgroundJob, JobContext
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.model_manager import ModelManager
from app.ui.models.setup_wizard import SetupWizard
from app.ui.server.server_panel import ServerPanel
from app.ui.window.about_dialog import AboutDialog

if TYPE_CHECKING:
    from app.core.chat.session import Turn
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import TurnResult
    from app.ui.batch.view import BatchView
    from app.ui.window.main_window import MainWindow

FREE_CHAT = "chat"
FIRST_SCENARIO = "compliance"


class WindowServices(QObject):
    """History, models, wizard, downloads and language for ``window`` (see the module
    docstring)."""

    def __init__(self, window: MainWindow, translations: Translations | None = None, *,
                 interactive: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.translations = translations
        self.interactive = interactive
        self.store = self._open_history()
        titles = {key: scenario.title["en"] for key, scenario in window.scenarios.items()}
        self.recorder = HistoryRecorder(self.store, titles) if self.store is not None else None
        self.queue = DownloadQueue(lambda: self.window.settings.library_dir, self.hub_config,
                                   PendingDownloads(), self)
        self.queue.model_added.connect(self._model_added)
        self.manager: ModelManager | None = None
        self.wizard: SetupWizard | None = None
        self._streaming: tuple[str, Turn] | None = None
        self._history_failed = False
        self._build_menus()
        self._build_history_dock()
        self._build_server_dock()
        self.batch_views: dict[str, BatchView] = {}
        for key, panel in window.panels.items():
            panel.batch_requested.connect(lambda key=key: self.open_batch(key))
        window.host.loaded.connect(lambda _summary: self._identify_loaded_model())
        window.host.connected.connect(lambda _info: self._identify_loaded_model())
        window.chat_ready.connect(self._connect_controller)
        if window.chat_view is not None and window.chat_view.is_ready:
            self._connect_controller()
        if window.host.engine is not None:
            self._identify_loaded_model()
        self.retranslate()
        window.installEventFilter(self)
        if interactive:
            QTimer.singleShot(0, self.queue.resume_pending)
            self._check_first_run_once_listed()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- settings ---------------------------------------------------------------------------------

    def hub_config(self) -> HubConfig:
        settings = self.window.settings
        return HubConfig.resolve(setting_endpoint=settings.hub_endpoint,
                                 setting_token=settings.hub_token,
                                 setting_offline=settings.offline)

    def _status(self, message: str, timeout_ms: int = 8000) -> None:
        self.window.statusBar().showMessage(message, timeout_ms)

    # -- menus --------------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.window.menuBar()
        self.models_menu = QMenu(bar)
        self.manager_action = self.models_menu.addAction("", self.open_model_manager)
        self.manager_action.setShortcut(QKeySequence("Ctrl+M"))
        self.wizard_action = self.models_menu.addAction("", self.open_wizard)
        self.conversation_menu = QMenu(bar)
        self.export_actions: dict[str, QAction] = {}
        for export_format in ("md", "html", "pdf"):
            self.export_actions[export_format] = self.conversation_menu.addAction(
                "", lambda f=export_format: self.export_current(f))
        self.conversation_menu.addSeparator()
        self.history_action = self.conversation_menu.addAction("")
        self.history_action.setCheckable(True)
        self.history_action.setChecked(True)
        self.help_menu = QMenu(bar)
        self.about_action = self.help_menu.addAction("", self.open_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        bar.addMenu(self.models_menu)
        bar.addMenu(self.conversation_menu)
        bar.addMenu(self.help_menu)

    def _build_history_dock(self) -> None:
        self.history_dock = QDockWidget(self.window)
        self.history_dock.setObjectName("historyDock")
        self.history_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                      | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.history_panel: HistoryPanel | None = None
        if self.store is not None:
            self.history_panel = HistoryPanel(self.store, self.window.scenarios)
            self.history_panel.title_label.hide()  # the dock's title says it
            self.history_panel.open_requested.connect(self.show_conversation)
            self.history_panel.status.connect(self._status)
            self.history_dock.setWidget(self.history_panel)
            self.history_panel.refresh()
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.history_dock.visibilityChanged.connect(self.history_action.setChecked)
        self.history_action.toggled.connect(self.history_dock.setVisible)
        self.window.resizeDocks([self.history_dock], [280], Qt.Orientation.Horizontal)

    def _build_server_dock(self) -> None:
        """The local server's panel, at the bottom, hidden until the Models menu shows it."""
        self.server_panel = ServerPanel(self.window.local_server)
        self.server_dock = QDockWidget(self.window)
        self.server_dock.setObjectName("serverDock")
        self.server_dock.setWidget(self.server_panel)
        self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.server_dock)
        self.server_dock.hide()
        self.models_menu.addSeparator()
        self.server_action = self.server_dock.toggleViewAction()  # named after the dock's title
        self.models_menu.addAction(self.server_action)

    def retranslate(self) -> None:
        self.models_menu.setTitle(self.tr("&Models"))
        self.server_dock.setWindowTitle(self.tr("Local server"))
        self.manager_action.setText(self.tr("Model manager…"))
        self.wizard_action.setText(self.tr("Set up Fin-R1…"))
        self.conversation_menu.setTitle(self.tr("&Conversation"))
        self.export_actions["md"].setText(self.tr("Export as Markdown…"))
        self.export_actions["html"].setText(self.tr("Export as HTML…"))
        self.export_actions["pdf"].setText(self.tr("Export as PDF…"))
        self.history_action.setText(self.tr("Show the history"))
        self.history_dock.setWindowTitle(self.tr("History"))
        self.help_menu.setTitle(self.tr("&Help"))
        self.about_action.setText(self.tr("About Fin-R1 Studio…"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    # -- recording ----------------------------------------------------------------------------------

    def _open_history(self) -> BatchStore | None:
        try:
            return BatchStore.open_default()  # the history, with its batch runs
        except FinR1Error as error:
            message = str(error)
            QTimer.singleShot(0, lambda: self._status(message, 30000))
            return None

    def _connect_controller(self) -> None:
        controller = self.window.controller
        if controller is None or self.recorder is None:
            return
        controller.turn_started.connect(self._turn_started)
        controller.text_shown.connect(self._text_shown)
        controller.turn_finished.connect(self._turn_finished)
        controller.turn_failed.connect(self._turn_failed)
        self.window.composer.new_chat_requested.connect(self._new_chat)

    def _record(self, write: Any) -> None:
        """Run one history write; a failure (disk full…) is shown once and the chat goes on."""
        try:
            write()
        except FinR1Error as error:
            if not self._history_failed:
                self._history_failed = True
                self._status(self.tr("The history could not be saved: {0}").format(error), 30000)

    def _turn_started(self, key: str, turn: Turn, replaced: Turn | None,
                      sampling: GenerationSettings) -> None:
        assert self.recorder is not None and self.window.controller is not None
        host_path = self.window.host.path
        if host_path is not None and (self.recorder.model is None or Path(
                self.recorder.model.path) != Path(host_path).resolve()):
            self._identify_loaded_model()  # asked before the load was reported to us
        standalone = self.window.controller.session(key).standalone
        self._streaming = (key, turn)
        self._record(lambda: self.recorder.turn_started(  # type: ignore[union-attr]
            key, turn, standalone=standalone, replaced=replaced, sampling=sampling))
        self._refresh_history()

    def _text_shown(self, key: str, turn: Turn, text: str) -> None:
        self._record(lambda: self.recorder.text_shown(key, turn, text))  # type: ignore[union-attr]

    def _turn_finished(self, turn: Turn, result: TurnResult) -> None:
        key = self._end_stream(turn)
        if key is not None:
            self._record(lambda: self.recorder.turn_finished(  # type: ignore[union-attr]
                key, turn, result))
            self._refresh_history()

    def _turn_failed(self, turn: Turn, message: str) -> None:
        key = self._end_stream(turn)
        if key is not None:
            self._record(lambda: self.recorder.turn_failed(  # type: ignore[union-attr]
                key, turn, message))
            self._refresh_history()

    def _end_stream(self, turn: Turn) -> str | None:
        streaming, self._streaming = self._streaming, None
        return streaming[0] if streaming is not None and streaming[1] is turn else None

    def _new_chat(self) -> None:
        if self.recorder is not None and not (self.window.controller and
                                              self.window.controller.busy):
            self.recorder.panel_cleared(FREE_CHAT)

    def _refresh_history(self) -> None:
        if self.history_panel is not None:
            self.history_panel.refresh()

    def _identify_loaded_model(self) -> None:
        """Give the recorder the engine's provenance: a server's address and model at once; for
        a local model at once what the library knows, the file's hash when it has to be
        computed (off the GUI thread)."""
        path, server = self.window.host.path, self.window.host.server
        if self.recorder is not None and server is not None:
            self.recorder.model = server.provenance()
            return
        if path is None or self.recorder is None:
            return
        setting = self.window.settings.library_dir
        engine = self.window.host.engine
        resolved = Path(path).resolve()
        # What is known without any I/O, so a question asked at once is recorded with its
        # model; the hash follows (filled into the turns already recorded).
        self.recorder.model = ModelProvenance(
            str(resolved), resolved.name, None,
            engine.gguf_info.file_type_label if engine is not None else None,
            engine.gguf_info.size_bytes if engine is not None else 0, None)

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
        if self.recorder is None or self.window.host.path is None:
            return
        if Path(provenance.path) != Path(self.window.host.path).resolve():
            return
        if provenance.sha256:
            self.recorder.model = provenance
            self._record(lambda: self.recorder.model_identified(provenance))  # type: ignore

    # -- reopening and exporting --------------------------------------------------------------------

    def show_conversation(self, conversation_id: int) -> bool:
        """Show a saved conversation in its panel, drawn as it was; later questions continue it.
        False while a reply is being generated (the status bar says why)."""
        controller = self.window.controller
        if controller is None or self.store is None or self.recorder is None:
            return False
        if controller.busy:
            self._status(self.tr("Wait for the reply to finish (or stop it) before opening "
                                 "another conversation."))
            return False
        try:
            conversation = self.store.conversation(conversation_id)
        except FinR1Error as error:
            self._status(str(error))
            return False
        scenario_id = conversation.summary.scenario_id
        key = scenario_id if scenario_id in self.window.scenarios else FREE_CHAT
        session = controller.session(key)
        turns = restore_session(conversation, session, self.window.scenarios,
                                translate_interrupted())
        self.recorder.adopt(key, conversation, turns)
        if key != FREE_CHAT and turns:
            self.window.panels[key].set_values(dict(turns[-1].values))
        self.window.select_panel(key)
        controller.show_session(key)
        return True

    def open_batch(self, scenario_id: str) -> BatchView | None:
        """Show scenario ``scenario_id``'s Batch view (one per scenario, raised when open); its
        rows open like saved conversations. None (and a message) without a history."""
        if self.store is None:
            self._status(self.tr("Batch runs are saved in the history, which could not be "
                                 "opened."))
            return None
        view = self.batch_views.get(scenario_id)
        if view is None:
            from app.ui.batch.view import BatchView

            window = self.window
            view = BatchView(window.scenarios[scenario_id], self.store, window.host,
                             lambda: window.settings, window.library, window)
            view.open_requested.connect(self.show_conversation)
            view.history_changed.connect(self._refresh_history)
            self.batch_views[scenario_id] = view
        view.show()
        view.raise_()
        return view

    def export_current(self, export_format: str) -> None:
        """Export the conversation of the panel on screen (a file dialog asks where)."""
        conversation_id = (self.recorder.conversation_of(self.window.current_key)
                           if self.recorder is not None else None)
        if conversation_id is None or self.history_panel is None:
            self._status(self.tr("This panel has no saved conversation yet."))
            return
        self.history_panel.ask_and_export(conversation_id, export_format)

    def open_about(self) -> AboutDialog | None:
        """Show the About box; None (and a message) when the installation's notices are broken."""
        try:
            info = about_info()
        except AboutDataError as error:
            self._status(str(error))
            return None
        dialog = AboutDialog(info, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # -- models -------------------------------------------------------------------------------------

    def open_model_manager(self) -> ModelManager:
        """Show the model manager (one window, raised when already open)."""
        settings = lambda: self.window.settings  # noqa: E731
        if self.manager is None:
            self.manager = ModelManager(self.queue, lambda: settings().library_dir,
                                        self.hub_config, lambda: settings().n_ctx, self.window,
                                        listing=self.window.library)
            self.manager.use_requested.connect(self.window.load_library_model)
        self.manager.show()
        self.manager.raise_()
        return self.manager

    def open_wizard(self) -> SetupWizard:
        """Show the setup wizard."""
        settings = lambda: self.window.settings  # noqa: E731
        if self.wizard is not None:
            self.wizard.close()
        # No translations for the wizard: a language chosen there is applied once, by
        # set_ui_language, with the setting it saves.
        self.wizard = SetupWizard(lambda: settings().library_dir, self.hub_config,
                                  lambda: settings().n_ctx, settings().ui_language,
                                  parent=self.window)
        self.wizard.model_ready.connect(self._wizard_finished)
        self.wizard.language_chosen.connect(self.set_ui_language)
        self.wizard.show()
        return self.wizard

    def start_first_run_if_needed(self) -> bool:
        """Open the wizard when there is no model to use yet (the first start): none loaded or
        loading, none used before, none in the library as last listed (nothing is decided before
        the first listing, nor when the library could not be read). True when the wizard is
        open."""
        if self.wizard is not None and self.wizard.isVisible():
            return True
        host = self.window.host
        listed = self.window.library.entries
        if not self.interactive or self.window.settings.last_model or host.busy \
                or self.window.settings.engine_kind == "server" \
                or host.engine is not None or listed is None or switcher_choices(listed):
            return False
        self.open_wizard()
        return True

    def _check_first_run_once_listed(self) -> None:
        """Run ``start_first_run_if_needed`` once the window has listed the library (off the GUI
        thread), or at once when it already has."""
        library = self.window.library
        if library.entries is not None:
            QTimer.singleShot(0, self.start_first_run_if_needed)
        else:
            library.listed.connect(lambda _entries: self.start_first_run_if_needed(),
                                   Qt.ConnectionType.SingleShotConnection)

    def _wizard_finished(self, entry: ModelEntry) -> None:
        """Load the new model and open the compliance check with its first example filled in."""
        self.window.library.refresh()
        self.window.load_library_model(entry.id)
        if FIRST_SCENARIO in self.window.panels:
            self.window.select_panel(FIRST_SCENARIO)
            self.window.panels[FIRST_SCENARIO].load_example(0)

    def _model_added(self, entry: ModelEntry) -> None:
        self._status(self.tr("{0} is downloaded and verified.").format(entry.name))
        self.window.library.refresh()

    # -- language ---------------------------------------------------------------------------------

    def set_ui_language(self, setting: str) -> None:
        """Show the window in ``setting`` (``system``, ``zh_CN``, ``en``) and remember it."""
        window = self.window
        if window.settings.ui_language != setting:
            window.apply_settings(window.settings.with_changes(ui_language=setting))
        else:
            self.language_setting_changed(setting)

    def language_setting_changed(self, setting: str) -> None:
        """The window-language setting changed (the settings dialog, the wizard): apply it."""
        if self.translations is not None:
            self.translations.apply(setting)

    def shutdown(self) -> None:
        """Stop downloads (they resume at the next start) and close the history."""
        self.queue.stop_all()
        if self.store is not None:
            self.store.close()
            self.store = None


def _open_library(setting: str) -> Library | None:
    try:
        return Library.open_default(setting or None)
    except FinR1Error:
        return None

