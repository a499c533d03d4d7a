"""The library is listed once per change, off the GUI thread, for every view that shows it: the
window's model switcher and the model manager's tabs receive the same listing, and the start
lists nothing on the GUI thread. Listings are counted on ``Library.models`` (the one call every
listing makes: it opens the manifest and stats every model file); the real method still runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThread

from app.core.installation.settings import AppSettings
from app.core.library.model_library import Library, ModelEntry
from app.ui.models.library_listing import LibraryListing
from app.ui.models.model_manager import ModelManager
from app.ui.theme import ThemeController
from app.ui.window.main_window import MainWindow
from app.ui.window.window_services import WindowServices
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose, wait_until_jobs_idle

SETTINGS = AppSettings(n_threads=1, n_ctx=2048)
GUI_THREAD = "GUI thread"


@pytest.fixture
def first_model(app_home: Path, tiny_gguf_factory: Callable[..., Path]) -> ModelEntry:
    """A model in the library before anything is counted or started."""
    with Library(app_home / "library") as library:
        return library.import_path(tiny_gguf_factory("q8_0"))


@pytest.fixture
def listings(first_model: ModelEntry, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread of every listing from now on: ``GUI_THREAD`` or the job bridge's thread name
    ("job: <job name>")."""
    calls: list[str] = []
    real_models = Library.models

    def counted(library: Library) -> list[ModelEntry]:
        on_gui = threading.current_thread() is threading.main_thread()
        calls.append(GUI_THREAD if on_gui else QThread.currentThread().objectName())
        return real_models(library)

    monkeypatch.setattr(Library, "models", counted)
    return calls


@pytest.fixture
def window_factory(qapp: Any, qtbot: Any, app_home: Path) -> Iterator[Callable[..., MainWindow]]:
    made: list[MainWindow] = []

    def make(interactive: bool = False) -> MainWindow:
        window = MainWindow(SETTINGS, app_home / "settings.json", ThemeController(qapp, "light"),
                            interactive=interactive)
        made.append(window)
        window.show()
        wait_until(lambda: window.chat_view is not None and window.chat_view.is_ready
                   and window.services is not None, 60)
        return window

    yield make
    for window in made:
        window.close()
        dispose(window)


def services(window: MainWindow) -> WindowServices:
    assert window.services is not None
    return window.services


def switcher_models(window: MainWindow) -> set[str]:
    switcher = window.header.switcher
    return {switcher.itemData(index) for index in range(switcher.count())}


def library_tab_models(manager: ModelManager) -> list[str]:
    table = manager.library_tab.table
    return [table.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in range(table.rowCount())]


def test_one_import_is_listed_once_for_the_switcher_and_the_model_manager(
        qtbot: Any, window_factory: Callable[..., MainWindow], first_model: ModelEntry,
        listings: list[str], tiny_gguf_factory: Callable[..., Path]) -> None:
    window = window_factory()
    manager = services(window).models_menu.open_model_manager()
    wait_until(lambda: library_tab_models(manager) == [first_model.id]
               and first_model.id in switcher_models(window))
    wait_until_jobs_idle()  # the start's listings have all ended
    listings.clear()
    assert manager.library_tab.import_paths([tiny_gguf_factory("bf16")])
    wait_until(lambda: len(library_tab_models(manager)) == 2
               and set(library_tab_models(manager)) <= switcher_models(window))
    wait_until_jobs_idle()  # any further listing the import led to has ended too
    # the import reads the manifest itself (is the file already there?) on its own thread
    after_the_import = [thread for thread in listings if thread != "job: import"]
    assert len(after_the_import) == 1 and GUI_THREAD not in after_the_import


def test_the_start_lists_the_library_off_the_gui_thread(
        qtbot: Any, window_factory: Callable[..., MainWindow], first_model: ModelEntry,
        listings: list[str]) -> None:
    window = window_factory(interactive=True)  # with the first-run check
    wait_until(lambda: first_model.id in switcher_models(window))
    wait_until_jobs_idle()  # every listing the start made has ended
    assert listings and GUI_THREAD not in listings
    assert services(window).models_menu.wizard is None  # the library has a model: no first-run wizard


def test_refreshes_asked_while_a_listing_runs_make_one_more_listing(
        qtbot: Any, qapp: Any, first_model: ModelEntry, listings: list[str]) -> None:
    listing = LibraryListing(lambda: "", qapp)
    received: list[list[ModelEntry]] = []
    listing.listed.connect(received.append)
    for _ in range(3):
        listing.refresh()
    wait_until(lambda: len(received) >= 2)
    wait_until_jobs_idle()  # a third listing, had one been started, has ended too
    assert len(listings) == 2 and [entry.id for entry in listing.entries] == [first_model.id]
    listing.deleteLater()
