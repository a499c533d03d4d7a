"""The window's Models menu and what it opens: the model manager (one window, raised when open), the
setup wizard (also opened by itself at the first start) and the downloads that outlive both.

``ModelsMenu`` takes only what it uses: the settings (read when needed: the library's location,
the hub, the context size, the window language), the window's ``LibraryListing`` (shared with the
manager; refreshed when a download lands), the ``ModelHost`` (is a model loaded or loading?), a
way to load a library model, and the scenario panels with a way to show one (the wizard ends
with the compliance check's first example filled in). ``status(message, timeout_ms)`` tells the
status bar about a finished download; ``language_chosen(setting)`` forwards the wizard's choice
of window language to whoever keeps that setting. ``interactive`` False (the self-test) skips
what needs a person: the first-run wizard and resuming downloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from app.core.engine.model_summary import switcher_choices
from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import PendingDownloads
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.model_manager import ModelManager
from app.ui.models.setup_wizard import SetupWizard
from app.ui.retranslate import Retranslating

if TYPE_CHECKING:
    from app.core.installation.settings import AppSettings
    from app.core.library.model_library import ModelEntry
    from app.ui.chat.scenario_panel import ScenarioPanel
    from app.ui.models.library_listing import LibraryListing
    from app.ui.window.model_host import ModelHost

FIRST_SCENARIO = "compliance"
STATUS_MS = 8000


class ModelsMenu(Retranslating, QMenu):
    """The Models menu (see the module docstring). ``parent`` is the window the menu belongs to:
    the manager and the wizard open over it. ``manager`` and ``wizard`` are None until first
    opened."""

    status = Signal(str, int)  # message, how long to show it (ms)
    language_chosen = Signal(str)  # "system", "zh_CN", "en"

    def __init__(self, settings: Callable[[], AppSettings], library: LibraryListing,
                 host: ModelHost, load_model: Callable[[str], bool],
                 panels: Mapping[str, ScenarioPanel], select_panel: Callable[[str], None], *,
                 interactive: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self._settings = settings
        self._library = library
        self._host = host
        self._load_model = load_model
        self._panels = panels
        self._select_panel = select_panel
        self._interactive = interactive
        self.queue = DownloadQueue(lambda: settings().library_dir, self.hub_config,
                                   PendingDownloads(), self)
        self.queue.model_added.connect(self._model_added)
        self.manager: ModelManager | None = None
        self.wizard: SetupWizard | None = None
        self.manager_action = self.addAction("", self.open_model_manager)
        self.manager_action.setShortcut(QKeySequence("Ctrl+M"))
        self.wizard_action = self.addAction("", self.open_wizard)
        self.retranslate()
        if interactive:
            QTimer.singleShot(0, self.queue.resume_pending)
            self._check_first_run_once_listed()

    def retranslate(self) -> None:
        self.setTitle(self.tr("&Models"))
        self.manager_action.setText(self.tr("Model manager…"))
        self.wizard_action.setText(self.tr("Set up Fin-R1…"))

    def hub_config(self) -> HubConfig:
        """The hub the settings choose (the environment may override it)."""
        settings = self._settings()
        return HubConfig.resolve(setting_endpoint=settings.hub_endpoint,
                                 setting_token=settings.hub_token,
                                 setting_offline=settings.offline)

    # -- the model manager --------------------------------------------------------------------------

    def open_model_manager(self) -> ModelManager:
        """Show the model manager (one window, raised when already open)."""
        if self.manager is None:
            settings = self._settings
            self.manager = ModelManager(self.queue, lambda: settings().library_dir,
                                        self.hub_config, lambda: settings().n_ctx,
                                        self.parentWidget(), listing=self._library)
            self.manager.use_requested.connect(self._load_model)
        self.manager.show()
        self.manager.raise_()
        return self.manager

    def _model_added(self, entry: ModelEntry) -> None:
        self.status.emit(self.tr("{0} is downloaded and verified.").format(entry.name), STATUS_MS)
        self._library.refresh()

    # -- the setup wizard ---------------------------------------------------------------------------

    def open_wizard(self) -> SetupWizard:
        """Show the setup wizard (a new one: an open one is closed)."""
        settings = self._settings
        if self.wizard is not None:
            self.wizard.close()
        # No translations for the wizard: a language chosen there is applied once, by whoever
        # keeps the setting (language_chosen).
        self.wizard = SetupWizard(lambda: settings().library_dir, self.hub_config,
                                  lambda: settings().n_ctx, settings().ui_language,
                                  parent=self.parentWidget())
        self.wizard.model_ready.connect(self._wizard_finished)
        self.wizard.language_chosen.connect(self.language_chosen)
        self.wizard.show()
        return self.wizard

    def start_first_run_if_needed(self) -> bool:
        """Open the wizard when there is no model to use yet (the first start): none loaded or
        loading, none used before, none in the library as last listed (nothing is decided before
        the first listing, nor when the library could not be read), and ``interactive``. True
        when the wizard is open."""
        if self.wizard is not None and self.wizard.isVisible():
            return True
        settings, host, listed = self._settings(), self._host, self._library.entries
        if not self._interactive or settings.last_model or host.busy \
                or settings.engine_kind == "server" \
                or host.engine is not None or listed is None or switcher_choices(listed):
            return False
        self.open_wizard()
        return True

    def _check_first_run_once_listed(self) -> None:
        """Run ``start_first_run_if_needed`` once the library has been listed (off the GUI
        thread), or at once when it already has."""
        if self._library.entries is not None:
            QTimer.singleShot(0, self.start_first_run_if_needed)
        else:
            self._library.listed.connect(lambda _entries: self.start_first_run_if_needed(),
                                         Qt.ConnectionType.SingleShotConnection)

    def _wizard_finished(self, entry: ModelEntry) -> None:
        """Load the new model and open the compliance check with its first example filled in."""
        self._library.refresh()
        self._load_model(entry.id)
        if FIRST_SCENARIO in self._panels:
            self._select_panel(FIRST_SCENARIO)
            self._panels[FIRST_SCENARIO].load_example(0)

    def shutdown(self) -> None:
        """Stop the downloads (they resume at the next start)."""
        self.queue.stop_all()
