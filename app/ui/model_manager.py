"""The model manager window: the library, getting models from the hub, building models locally.

Three tabs (``LibraryTab``, ``GetModelsTab``, ``BuildTab``) over one library; a finished
download or build refreshes the library list. Downloads belong to the app's ``DownloadQueue`` and
go on after the window is closed; an import, verification or build running in it is cancelled
when it is closed (nothing partial is left).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from app.core.hub_client import HubConfig
from app.ui.build_tab import BuildTab
from app.ui.download_queue import DownloadQueue
from app.ui.get_models_tab import GetModelsTab
from app.ui.library_tab import LibraryTab
from app.ui.retranslate import Retranslating


class ModelManager(Retranslating, QDialog):
    """The three tabs (see the module docstring). ``use_requested(model_id)`` asks the window
    to load a library model."""

    use_requested = Signal(str)

    def __init__(self, queue: DownloadQueue, library_setting: Callable[[], str],
                 hub_config: Callable[[], HubConfig], n_ctx: Callable[[], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelManager")
        self.resize(940, 640)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.library_tab = LibraryTab(library_setting)
        self.get_tab = GetModelsTab(queue, hub_config, n_ctx)
        self.build_tab = BuildTab(library_setting, n_ctx)
        self.tabs.addTab(self.library_tab, "")
        self.tabs.addTab(self.get_tab, "")
        self.tabs.addTab(self.build_tab, "")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.library_tab.use_requested.connect(self.use_requested)
        self.library_tab.changed.connect(self.build_tab.refresh)
        self.build_tab.built.connect(lambda _entries: self.library_tab.refresh())
        queue.model_added.connect(lambda _entry: self._library_changed())
        self.retranslate()
        self.library_tab.refresh()
        self.build_tab.refresh()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Models"))
        self.tabs.setTabText(0, self.tr("Library"))
        self.tabs.setTabText(1, self.tr("Get models"))
        self.tabs.setTabText(2, self.tr("Build"))

    def _library_changed(self) -> None:
        self.library_tab.refresh()
        self.build_tab.refresh()

    def done(self, result: int) -> None:
        """Closing cancels an import, verification or build running here (downloads go on)."""
        self.library_tab.stop()
        self.build_tab.stop()
        super().done(result)
