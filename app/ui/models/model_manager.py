"""The model manager window: the library, getting models from the hub, building models locally.

Three tabs (``LibraryTab``, ``GetModelsTab``, ``BuildTab``) over one library, shown as the app's
``LibraryListing`` last listed it; an import, removal, verification or build finished here asks
that listing for one new listing, which every view receives. Downloads belong to the app's
``DownloadQueue`` and go on after the window is closed; an import, verification or build running
in it is cancelled when it is closed (nothing partial is left).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from app.core.hub.client import HubConfig
from app.ui.models.build_tab import BuildTab
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.get_models_tab import GetModelsTab
from app.ui.models.library_listing import LibraryListing
from app.ui.models.library_tab import LibraryTab
from app.ui.retranslate import Retranslating


class ModelManager(Retranslating, QDialog):
    """The three tabs (see the module docstring). ``use_requested(model_id)`` asks the window
    to load a library model. ``listing`` is the window's (``MainWindow.library``), which the
    window refreshes after the queue's downloads; a manager given none makes its own and
    refreshes it after them.
    """

    use_requested = Signal(str)

    def __init__(self, queue: DownloadQueue, library_setting: Callable[[], str],
                 hub_config: Callable[[], HubConfig], n_ctx: Callable[[], int],
                 parent: QWidget | None = None, listing: LibraryListing | None = None) -> None:
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
        if listing is None:
            listing = LibraryListing(library_setting, self)
            # A lambda holding the manager, as before the shared listing: callers that keep only
            # a tab of a manager on its own rely on the queue's connection to keep it alive.
            queue.model_added.connect(lambda _entry: self.listing.refresh())
        self.listing: LibraryListing = listing
        self._follow(listing)
        self.retranslate()
        self.listing.refresh()  # the files' states as they are now

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Models"))
        self.tabs.setTabText(0, self.tr("Library"))
        self.tabs.setTabText(1, self.tr("Get models"))
        self.tabs.setTabText(2, self.tr("Build"))

    def _follow(self, listing: LibraryListing) -> None:
        """Show ``listing``'s models in the tabs (at once when it has listed already) and ask it
        for a new listing after each change made here."""
        self.library_tab.changed.connect(listing.refresh)
        self.build_tab.built.connect(listing.refresh)
        listing.failed.connect(self.library_tab.show_listing_failure)
        for show in (self.library_tab.show_models, self.build_tab.show_models):
            listing.listed.connect(show)
            if listing.entries is not None:
                show(listing.entries)

    def done(self, result: int) -> None:
        """Closing cancels an import, verification or build running here (downloads go on)."""
        self.library_tab.stop()
        self.build_tab.stop()
        super().done(result)
