"""The main window: header, a rail of scenario panels and free chat, the chat view, settings.

It wires widgets to the core and holds no business logic: prompts come from the scenarios, replies
from ``ChatController`` (which streams through the job bridge), the engine from ``ModelHost`` (a
GGUF loaded here, or a server when the settings choose one), the app's own server from
``LocalServer``, the settings from ``app.core.installation.settings``. The chat view (Chromium) is created
right after the window is first shown, so the window appears without waiting for it;
``chat_ready`` says when it exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.engine.model_summary import ModelSummary, switcher_choices
from app.core.installation.settings import AppSettings, save_settings
from app.ui.chat.panel_keys import FREE_CHAT
from app.ui.i18n import Translations, content_language
from app.ui.job_bridge import BackgroundJob
from app.ui.models.library_listing import LibraryListing
from app.ui.models.machine_info import note_turn
from app.ui.retranslate import Retranslating
from app.ui.server.local_server import LocalServer
from app.ui.server.server_panel import ServerStatusLabel
from app.ui.theme import ThemeController
from app.ui.window.model_header import ModelHeader
from app.ui.window.model_host import ModelHost
from foundation.errors import FinR1Error

if TYPE_CHECKING:
    from app.core.chat.session import Turn
    from app.core.engine.remote_engine import RemoteEngineInfo
    from app.core.scenarios.scenario import Scenario
    from app.ui.chat.composer import Composer
    from app.ui.chat.controller import ChatController
    from app.ui.chat.scenario_panel import ScenarioPanel
    from app.ui.chat.view import ChatView
    from app.ui.window.window_services import WindowServices

# Only what the first paint needs is imported at start; dialogs, the forms and the free-chat box
# are imported when they are built (Qt types cost time the first time they are touched).
CODE_SUFFIXES = {"python": ".py", "sql": ".sql", "r": ".R", "bash": ".sh", "javascript": ".js"}
STYLE_SHEET = """
#panelTitle { font-size: 15px; font-weight: 600; }
#panelHelp, #modelDetail, #settingNote, #editNote { color: palette(placeholder-text); }
#modelName { font-size: 14px; font-weight: 600; }
#rateLabel { font-weight: 600; color: palette(link); }
#formError { color: palette(bright-text); }
#runButton { min-width: 84px; padding: 5px 16px; font-weight: 600; }
#exampleButton { padding: 2px 10px; }
#rail { border: none; font-size: 13px; }
#rail::item { padding: 7px 10px; }
#modelHeader { border-bottom: 1px solid palette(mid); }
"""


RAIL_MIN_WIDTH = 190


class MainWindow(Retranslating, QMainWindow):
    """Fin-R1 Studio's window. ``settings_path`` None keeps settings in memory only (self-test).

    ``services`` (``app.ui.window.window_services``: the history, the Models menu, the server
    panel, Batch views, languages) is attached once the chat view is ready; ``library`` is the
    library as last listed (``app.ui.models.library_listing``), shared by every view that shows
    it and first listed once the chat view is ready; ``translations`` switches the window's
    language; ``interactive`` False (default: without a settings file) skips what needs a person
    (the first-run wizard, resuming downloads).
    """

    chat_ready = Signal()

    def __init__(self, settings: AppSettings, settings_path: Path | None,
                 theme: ThemeController, scenarios: list[Scenario] | None = None,
                 translations: Translations | None = None,
                 interactive: bool | None = None) -> None:
        super().__init__()
        self._translations = translations
        self._interactive = settings_path is not None if interactive is None else interactive
        self.services: WindowServices | None = None
        self.settings = settings
        self._settings_path = settings_path
        self._theme = theme
        self._given_scenarios = scenarios
        self.scenarios: dict[str, Scenario] = {}
        self.panels: dict[str, ScenarioPanel] = {}
        self.gpu_supported: bool | None = None
        self.host = ModelHost(self)
        self.local_server = LocalServer(self.host, self)
        self.library = LibraryListing(lambda: self.settings.library_dir, self)
        self.controller: ChatController | None = None
        self.chat_view: ChatView | None = None
        self.composer: Composer  # built with the panels, after the first paint
        self._editing: dict[str, Turn] = {}
        self._chat_view_scheduled = False
        self.setWindowTitle(f"Fin-R1 Studio {__version__}")
        self.resize(1200, 820)
        self.setStyleSheet(STYLE_SHEET)
        self._build()
        self.retranslate()
        self._connect_host()
        self._connect_library()
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self._stop)

    # -- building --------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = ModelHeader()
        self.header.open_file_requested.connect(self.open_model_file)
        self.header.library_model_chosen.connect(self.load_library_model)
        self.header.settings_requested.connect(self.open_settings)
        layout.addWidget(self.header)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_rail())
        splitter.addWidget(self._build_workspace())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 950])
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(ServerStatusLabel(self.local_server))

    def populate(self) -> None:
        """Read the scenarios and build their panels and rail entries (once). Runs right after
        the window's first paint, so the window appears before this work; call it directly to
        use a window that is never shown."""
        if self.scenarios or self.rail.count():
            return
        from app.core.scenarios.scenario_file import load_scenarios
        from app.ui.chat.composer import Composer
        from app.ui.chat.scenario_panel import ScenarioPanel

        self.composer = Composer()
        self.composer.hide()
        self.composer.send_requested.connect(self._send_chat)
        self.composer.stop_requested.connect(self._stop)
        self.composer.new_chat_requested.connect(self._new_chat)
        self.composer.edit_cancelled.connect(lambda: self._editing.pop(FREE_CHAT, None))
        self._workspace_column.addWidget(self.composer)
        found = self._given_scenarios if self._given_scenarios is not None else load_scenarios()
        self.scenarios = {scenario.id: scenario for scenario in found}
        for scenario in self.scenarios.values():
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, scenario.id)
            self.rail.addItem(item)
            panel = ScenarioPanel(scenario, self.settings.prompt_language)
            panel.run_requested.connect(
                lambda prompt, values, key=scenario.id: self._run_scenario(key, prompt, values))
            panel.stop_requested.connect(self._stop)
            panel.use_model_host(self.host, lambda: self.settings)
            panel.context_change_requested.connect(
                lambda n_ctx: self.apply_settings(self.settings.with_changes(n_ctx=n_ctx)))
            self.panels[scenario.id] = panel
            self.panel_stack.addWidget(panel)
        chat_item = QListWidgetItem()
        chat_item.setData(Qt.ItemDataRole.UserRole, FREE_CHAT)
        self.rail.addItem(chat_item)
        self._retranslate_rail()
        self.rail.setCurrentRow(0)

    def retranslate(self) -> None:
        """The window's own texts in its language (again when it changes); the chat view's
        labels too once it exists."""
        self._retranslate_rail()
        self._prompts_label.setText(self.tr("Prompts in"))
        self._chat_placeholder.setText(self.tr("Preparing the chat view…"))
        if self.controller is not None:
            from app.core.chat.labels import chat_labels

            self.controller.set_labels(chat_labels(content_language()))

    def _retranslate_rail(self) -> None:
        """The rail's entries in the window's language (scenario titles from their files)."""
        language = content_language()
        for row in range(self.rail.count()):
            item = self.rail.item(row)
            scenario = self.scenarios.get(item.data(Qt.ItemDataRole.UserRole))
            item.setText(scenario.title[language] if scenario else self.tr("Free chat"))
            item.setToolTip(scenario.help[language] if scenario else "")

    def _build_rail(self) -> QWidget:
        box = QWidget()
        # wide enough for every scenario title on at most two lines, beside the history dock
        box.setMinimumWidth(RAIL_MIN_WIDTH)
        column = QVBoxLayout(box)
        column.setContentsMargins(6, 8, 0, 8)
        self.rail = QListWidget()
        self.rail.setObjectName("rail")
        self.rail.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rail.setWordWrap(True)
        self.rail.currentItemChanged.connect(lambda item, _old: self.show_panel(
            item.data(Qt.ItemDataRole.UserRole)) if item else None)
        column.addWidget(self.rail, 1)
        language_row = QHBoxLayout()
        self._prompts_label = QLabel()
        language_row.addWidget(self._prompts_label)
        self.language_box = QComboBox()
        self.language_box.addItem("English", "en")
        self.language_box.addItem("中文", "zh")
        self.language_box.setCurrentIndex(self.language_box.findData(self.settings.prompt_language))
        self.language_box.currentIndexChanged.connect(
            lambda _index: self._set_prompt_language(self.language_box.currentData()))
        language_row.addWidget(self.language_box, 1)
        column.addLayout(language_row)
        return box

    def _build_workspace(self) -> QWidget:
        workspace = QWidget()
        column = QVBoxLayout(workspace)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.panel_stack = QStackedWidget()
        self.chat_area = QStackedWidget()
        self._chat_placeholder = QLabel()
        self._chat_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chat_area.addWidget(self._chat_placeholder)
        self.work_splitter = QSplitter(Qt.Orientation.Vertical)
        self.work_splitter.addWidget(self.panel_stack)
        self.work_splitter.addWidget(self.chat_area)
        self.work_splitter.setCollapsible(0, False)
        self.work_splitter.setCollapsible(1, False)
        self.work_splitter.setStretchFactor(1, 1)
        column.addWidget(self.work_splitter, 1)
        self._workspace_column = column
        return workspace

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        # The panels and the chat view (Chromium, the markdown and math renderers) are built once
        # the window is on screen, so it appears without waiting for them.
        if self.chat_view is None and not self._chat_view_scheduled:
            self._chat_view_scheduled = True
            QTimer.singleShot(0, self._finish_start)

    def _finish_start(self) -> None:
        self.populate()
        QTimer.singleShot(0, self._create_chat_view)

    def _attach_services(self) -> None:
        if self.services is None:
            from app.ui.window.window_services import WindowServices

            self.services = WindowServices(self, self._translations,
                                           interactive=self._interactive)

    def _create_chat_view(self) -> None:
        if self.chat_view is not None:
            return
        from app.ui.chat.controller import ChatController
        from app.ui.chat.view import ChatView

        chat_view = ChatView(theme=self._theme.current)
        chat_view.action_requested.connect(self._page_action)
        self._theme.changed.connect(chat_view.set_theme)
        controller = ChatController(chat_view, self.host, lambda: self.settings, self.scenarios,
                                    self)
        controller.busy_changed.connect(self._busy_changed)
        controller.rate_changed.connect(self.header.set_rate)
        # a measured decode of the loaded model replaces the memory probe in speed predictions
        controller.turn_finished.connect(
            lambda _turn, result: note_turn(self.host.engine, result.metrics))
        controller.turn_failed.connect(lambda _turn, message: self.statusBar().showMessage(
            self.tr("The reply failed: {0}").format(message), 15000))
        self.chat_view, self.controller = chat_view, controller
        self.chat_area.addWidget(chat_view)
        self.chat_area.setCurrentWidget(chat_view)
        controller.show_session(self.current_key)
        chat_view.ready.connect(self.chat_ready)
        # once the chat view is ready: importing the services takes a moment
        chat_view.ready.connect(self._attach_services)
        chat_view.ready.connect(self.library.refresh)
        chat_view.ready.connect(self._probe_gpu_support)

    # -- panels ----------------------------------------------------------------------------------

    @property
    def current_key(self) -> str:
        item = self.rail.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else FREE_CHAT

    def select_panel(self, key: str) -> None:
        """Show panel ``key`` (a scenario id or ``FREE_CHAT``) as if picked in the rail."""
        self.populate()
        for row in range(self.rail.count()):
            if self.rail.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.rail.setCurrentRow(row)
                return
        raise KeyError(key)

    def show_panel(self, key: str) -> None:
        if key == FREE_CHAT:
            self.panel_stack.hide()
            self.composer.show()
        else:
            panel = self.panels[key]
            # A stacked widget is as tall as its tallest page unless the others are ignored.
            for other in self.panels.values():
                other.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
            panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
            self.panel_stack.setCurrentWidget(panel)
            self.panel_stack.show()
            self.composer.hide()
            self.work_splitter.setSizes([panel.sizeHint().height(),
                                         max(self.height() - panel.sizeHint().height(), 200)])
        if self.controller is not None:
            self.controller.show_session(key)

    def _set_prompt_language(self, language: str) -> None:
        for panel in self.panels.values():
            panel.set_prompt_language(language)
        self._update_settings(self.settings.with_changes(prompt_language=language))

    # -- asking ----------------------------------------------------------------------------------

    def _can_ask(self) -> bool:
        if self.controller is None:
            self.statusBar().showMessage(
                self.tr("The chat view is still starting; try again in a moment."), 5000)
            return False
        if self.host.engine is None:
            message = (self.tr("Still connecting to the server.")
                       if self.host.busy and self.host.kind == "server" else
                       self.tr("The model is still loading.") if self.host.busy else
                       self.tr("Load a model first: use the switcher at the top right."))
            self.statusBar().showMessage(message, 8000)
            return False
        return True

    def _run_scenario(self, key: str, prompt: str, values: dict[str, str]) -> None:
        if not self._can_ask():
            self.panels[key].error_label.setText(self.statusBar().currentMessage())
            return
        assert self.controller is not None
        self.controller.ask(key, prompt, key, values, replace=self._editing.pop(key, None))

    def _send_chat(self, text: str) -> None:
        if not self._can_ask():
            self.composer.text_box.setPlainText(text)
            return
        assert self.controller is not None
        replace = self._editing.pop(FREE_CHAT, None)
        self.composer.end_edit()
        self.controller.ask(FREE_CHAT, text, replace=replace)

    def _stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def _new_chat(self) -> None:
        if self.controller is not None and not self.controller.busy:
            self.controller.session(FREE_CHAT).clear()
            self.controller.show_session(FREE_CHAT)

    def _busy_changed(self, busy: bool) -> None:
        for panel in self.panels.values():
            panel.set_busy(busy)
        self.composer.set_busy(busy)
        self.header.switcher.setEnabled(not busy)
        self.header.settings_button.setEnabled(not busy)

    # -- actions from the page -------------------------------------------------------------------

    def _page_action(self, name: str, message_id: str, payload: str) -> None:
        if name == "copy_code":
            QGuiApplication.clipboard().setText(payload)
            self.statusBar().showMessage(self.tr("Code copied."), 3000)
            return
        if name == "save_code":
            self._save_code(payload)
            return
        from app.core.chat.session import UnknownTurnError

        assert self.controller is not None
        key = self.controller.visible_key or FREE_CHAT
        try:
            turn = self.controller.session(key).turn_by_message_id(message_id)
        except UnknownTurnError:
            return
        if name == "copy_answer" and turn.reply_text is not None:
            from app.core.reasoning.parser import parse_text

            QGuiApplication.clipboard().setText(parse_text(turn.reply_text).answer)
            self.statusBar().showMessage(self.tr("Answer copied."), 3000)
        elif name == "edit":
            self._edit(key, turn)
        elif name in ("regenerate", "continue") and self._can_ask():
            if name == "regenerate":
                self.controller.regenerate(key, turn)
            else:
                self.controller.continue_turn(key, turn)

    def _edit(self, key: str, turn: Turn) -> None:
        self._editing[key] = turn
        if key == FREE_CHAT:
            self.composer.begin_edit(turn.question)
        else:
            self.panels[key].set_values(dict(turn.values))
            self.statusBar().showMessage(self.tr(
                "The form holds that run's values: change them and press Run to replace it."), 8000)

    def _save_code(self, payload: str) -> None:
        block = json.loads(payload)
        suffix = CODE_SUFFIXES.get(str(block.get("language", "")).lower(), ".txt")
        from PySide6.QtWidgets import QFileDialog

        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Save code"), f"code{suffix}")
        if path:
            Path(path).write_text(block.get("code", ""), encoding="utf-8")
            self.statusBar().showMessage(self.tr("Saved {0}").format(path), 5000)

    # -- models ----------------------------------------------------------------------------------

    def _connect_host(self) -> None:
        self.host.loading.connect(self.header.show_loading)
        self.host.connecting.connect(self.header.show_connecting)
        self.host.loaded.connect(self._model_loaded)
        self.host.connected.connect(self._server_connected)
        self.host.load_failed.connect(self._model_failed)

    def load_model(self, path: Path | str) -> bool:
        """Load the GGUF at ``path`` in the background (False while a load or reply runs)."""
        if self.controller is not None and self.controller.busy:
            return False
        return self.host.load(path, self.settings.engine_config())

    def open_model_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Open a GGUF model"), "",
            self.tr("GGUF models (*.gguf);;All files (*)"))
        if path:
            self.load_model(path)

    def load_library_model(self, model_id: str) -> bool:
        """Load the library's model ``model_id`` in the background (False while a load or reply
        runs: the engine of a streaming reply cannot be swapped)."""
        if self.controller is not None and self.controller.busy:
            return False
        return self.host.load_from_library(model_id, self.settings.library_dir,
                                           self.settings.engine_config())

    def connect_server(self) -> bool:
        """Connect to the server the settings name, in the background (False while a load or
        reply runs, or when the settings name no valid server: the header says why)."""
        if self.controller is not None and self.controller.busy:
            return False
        try:
            connection = self.settings.server_connection()
        except FinR1Error as error:
            self._model_failed(str(error))
            return False
        return self.host.connect_server(connection)

    def _model_loaded(self, summary: ModelSummary) -> None:
        from app.core.engine.local_engine import ChatEngine  # loaded by then; not at the start

        self.header.show_model(summary)
        if isinstance(self.host.engine, ChatEngine):  # ``loaded`` follows only a local load
            self.gpu_supported = self.host.engine.info.gpu_offload_supported
        for warning in summary.warnings:
            self.statusBar().showMessage(warning, 15000)
        if self.settings.engine_kind != "local":  # a model chosen here: this computer answers
            self._update_settings(self.settings.with_changes(engine_kind="local"))
        if self.host.path is not None and self._settings_path is not None:
            self._update_settings(self.settings.with_changes(last_model=str(self.host.path)))

    def _server_connected(self, info: RemoteEngineInfo) -> None:
        self.header.show_server(info)
        self.statusBar().showMessage(
            self.tr("The model {0} on {1} answers.").format(info.model_id, info.url), 8000)

    def _model_failed(self, message: str) -> None:
        # Not a modal box: the window (and a self-test driving it) must go on.
        text = (self.tr("Could not connect to the server: {0}") if self.host.kind == "server"
                else self.tr("Could not load the model: {0}")).format(message)
        self.header.show_no_model(text)
        self.statusBar().showMessage(text, 30000)

    def _connect_library(self) -> None:
        self.library.listed.connect(
            lambda entries: self.header.set_library_models(switcher_choices(entries)))
        self.library.failed.connect(lambda message: self.header.set_library_models(
            [], self.tr("Library: {0}").format(message)))

    def _probe_gpu_support(self) -> None:
        """Ask llama.cpp (off the GUI thread: loading it takes a moment) whether it can offload,
        so the settings can say so plainly before any model is loaded."""
        def probe(_context: object) -> bool:
            from app.core.hardware.gpu_layers import gpu_offload_supported

            return gpu_offload_supported()

        def known(supported: bool) -> None:
            if self.gpu_supported is None:
                self.gpu_supported = supported

        BackgroundJob(self, probe, "probe GPU support").on_success(known).start()

    # -- settings --------------------------------------------------------------------------------

    def open_settings(self) -> None:
        from app.ui.window.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.gpu_supported, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings)
        dialog.deleteLater()

    def apply_settings(self, new: AppSettings) -> None:
        """Use ``new`` settings: save them, follow the theme and prompt language, and reload the
        model when its loading settings changed, or connect the server they now choose."""
        reload = new.needs_reload(self.settings)
        library_moved = new.library_dir != self.settings.library_dir
        language_changed = new.ui_language != self.settings.ui_language
        self._update_settings(new)
        self._theme.set_setting(new.theme)
        if language_changed and self.services is not None:
            self.services.language_setting_changed(new.ui_language)
        self.language_box.setCurrentIndex(self.language_box.findData(new.prompt_language))
        if reload:
            self._use_chosen_engine()
        if library_moved:
            self.library.refresh()

    def _use_chosen_engine(self) -> None:
        """The engine choice or its loading settings changed: connect the server, reload the
        local model, load the last one (back from a server), or free the server's engine."""
        settings = self.settings
        if settings.engine_kind == "server":
            self.connect_server()
        elif self.host.kind == "local" and self.host.path is not None:
            self.host.reload(settings.engine_config())
        elif self.host.kind == "server" and settings.last_model \
                and Path(settings.last_model).is_file():
            self.load_model(settings.last_model)
        elif self.host.kind == "server" and (self.host.engine is not None or self.host.busy):
            self.host.unload()
            self.header.show_no_model()

    def _update_settings(self, new: AppSettings) -> None:
        self.settings = new
        if self._settings_path is None:
            return
        try:
            save_settings(new, self._settings_path)
        except OSError as error:
            self.statusBar().showMessage(
                self.tr("Settings could not be saved: {0}").format(error), 10000)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller is not None:
            self.controller.shutdown()
        self.local_server.shutdown()  # its turns use the model the host frees next
        self.host.shutdown()
        if self.services is not None:
            self.services.shutdown()
        BackgroundJob.cancel_and_wait_all()
        super().closeEvent(event)
