"""What the main window offers beyond chatting, put together: the history (``HistoryService``, in a
dock, with the Conversation menu's exports), the Models menu (``ModelsMenu``: model manager, setup
wizard, downloads), the local server's panel, each scenario's Batch view (its rows recorded in the
history, opened like conversations), the About box and the window's language.

``WindowServices(window, translations, interactive)`` is the one place that reads the window's
parts: it hands each service the few objects and callables that service needs, and places their
menus and docks in the window. ``interactive`` False (the self-test) skips what needs a person:
the first-run wizard and resuming downloads; conversations are saved all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu

from app.core.batch.store import BatchStore
from app.core.errors import AboutDataError, FinR1Error
from app.core.installation.about import about_info
from app.ui.history.history_service import FAILURE_STATUS_MS, HistoryService
from app.ui.i18n import Translations
from app.ui.server.server_panel import ServerPanel
from app.ui.window.about_dialog import AboutDialog
from app.ui.window.models_menu import ModelsMenu

if TYPE_CHECKING:
    from app.ui.batch.view import BatchView
    from app.ui.window.main_window import MainWindow


class WindowServices(QObject):
    """The window's services and their menus and docks (see the module docstring).

    ``history`` is None when the history could not be opened (the status bar says why; nothing
    is saved then); ``models_menu`` is the Models menu.
    """

    def __init__(self, window: MainWindow, translations: Translations | None = None, *,
                 interactive: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.translations = translations
        self.history = self._open_history()
        self.models_menu = ModelsMenu(lambda: window.settings, window.library, window.host,
                                      window.load_library_model, window.panels,
                                      window.select_panel, interactive=interactive,
                                      parent=window)
        self.models_menu.status.connect(self._status)
        self.models_menu.language_chosen.connect(self.set_ui_language)
        self._build_menus()
        self._build_history_dock()
        self._build_server_dock()
        self.batch_views: dict[str, BatchView] = {}
        for key, panel in window.panels.items():
            panel.batch_requested.connect(lambda key=key: self.open_batch(key))
        self.retranslate()
        window.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _status(self, message: str, timeout_ms: int = 8000) -> None:
        self.window.statusBar().showMessage(message, timeout_ms)

    def _open_history(self) -> HistoryService | None:
        window = self.window
        try:
            store = BatchStore.open_default()  # the history, with its batch runs
        except FinR1Error as error:
            message = str(error)
            QTimer.singleShot(0, lambda: self._status(message, FAILURE_STATUS_MS))
            return None
        assert window.controller is not None  # the services come once the chat view is ready
        history = HistoryService(store, window.controller, window.host, window.scenarios,
                                 library_setting=lambda: window.settings.library_dir,
                                 panels=window.panels, select_panel=window.select_panel,
                                 parent=self)
        history.status.connect(self._status)
        window.composer.new_chat_requested.connect(history.new_chat)
        return history

    # -- menus and docks ----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.window.menuBar()
        self.conversation_menu = QMenu(bar)
        self.export_actions: dict[str, QAction] = {}
        for export_format in ("md", "html", "pdf"):
            self.export_actions[export_format] = self.conversation_menu.addAction(
                "", self._exporter(export_format))
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
        if self.history is not None:
            self.history.panel.title_label.hide()  # the dock's title says it
            self.history_dock.setWidget(self.history.panel)
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
        self.server_dock.setWindowTitle(self.tr("Local server"))
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

    # -- what the menus and panels open -------------------------------------------------------------

    def _exporter(self, export_format: str) -> Callable[[], None]:
        """A menu action's slot exporting the current conversation as ``export_format``."""
        return lambda: self.export_current(export_format)

    def export_current(self, export_format: str) -> None:
        """Export the conversation of the panel on screen (a file dialog asks where)."""
        if self.history is None:
            self._status(self.tr("This panel has no saved conversation yet."))
            return
        self.history.export_panel(self.window.current_key, export_format)

    def open_batch(self, scenario_id: str) -> BatchView | None:
        """Show scenario ``scenario_id``'s Batch view (one per scenario, raised when open); its
        rows open like saved conversations. None (and a message) without a history."""
        if self.history is None or self.history.store is None:
            self._status(self.tr("Batch runs are saved in the history, which could not be "
                                 "opened."))
            return None
        view = self.batch_views.get(scenario_id)
        if view is None:
            from app.ui.batch.view import BatchView

            window = self.window
            view = BatchView(window.scenarios[scenario_id], self.history.store, window.host,
                             lambda: window.settings, window.library, window)
            view.open_requested.connect(self.history.show_conversation)
            view.history_changed.connect(self.history.refresh)
            self.batch_views[scenario_id] = view
        view.show()
        view.raise_()
        return view

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

    # -- language -----------------------------------------------------------------------------------

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
        self.models_menu.shutdown()
        if self.history is not None:
            self.history.close()
