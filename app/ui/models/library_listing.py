"""The library as last listed, shared by every view that shows it (the window's model switcher,
the model manager's library and build tabs).

Listing the library opens its SQLite manifest and stats every model file, so it runs off the GUI
thread through the job bridge, once per change: whoever changes the library (an import, a build,
a download, a removal) calls ``refresh()`` and every view receives the one result (``listed``).
Refreshes asked while a listing runs are coalesced into one listing after it (the running one
may have read the manifest before the change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.engine.model_summary import read_library
from app.ui.job_bridge import BackgroundJob

if TYPE_CHECKING:
    from app.core.library.model_library import ModelEntry


class LibraryListing(QObject):
    """The library as last listed (see the module docstring).

    ``location_setting()`` gives the library-location setting, read at each listing. ``entries``
    is None until the first listing ends, then the last listing's models. ``listed(entries)`` is
    emitted after each listing, ``failed(message)`` when the library could not be read.
    """

    listed = Signal(list)  # list[ModelEntry]
    failed = Signal(str)

    def __init__(self, location_setting: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._location_setting = location_setting
        self.entries: list[ModelEntry] | None = None
        self._job: BackgroundJob | None = None
        self._again = False

    def refresh(self) -> None:
        """List the library again off the GUI thread; returns at once. While a listing runs,
        any number of calls lead to one listing after it."""
        if self._job is not None:
            self._again = True
            return
        self._again = False
        location = self._location_setting()
        self._job = BackgroundJob(self, lambda _context: read_library(location), "list library")
        self._job.on_success(self._listed)
        self._job.on_failure(self._failed)
        self._job.start()

    def _listed(self, entries: list[ModelEntry]) -> None:
        self.entries = entries
        self._ended()
        self.listed.emit(entries)

    def _failed(self, error: BaseException) -> None:
        self._ended()
        self.failed.emit(str(error))

    def _ended(self) -> None:
        assert self._job is not None
        # cancelled: the app is quitting (BackgroundJob.cancel_and_wait_all), list no more
        quitting, self._job = self._job.cancel_token.cancelled, None
        if self._again and not quitting:
            self.refresh()
