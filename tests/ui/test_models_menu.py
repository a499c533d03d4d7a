"""The Models menu on its own, offscreen, built from the narrow parts it is given: the settings, a
real library listing over a library in the test's folder, an empty ``ModelHost``, a way to load
a model, and a real scenario panel. The manager is one window that loads the model it is asked
to; the first start opens the wizard once the library is listed empty, and only then; the
finished wizard loads its model and fills in the compliance check's first example; a finished
download is announced and listed; the menu speaks the window's language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.installation.settings import AppSettings
from app.core.library.model_library import Library, ModelEntry
from app.core.scenarios.scenario_file import get_scenario
from app.ui.chat.scenario_panel import ScenarioPanel
from app.ui.i18n import Translations, install_translations
from app.ui.models.library_listing import LibraryListing
from app.ui.window.model_host import ModelHost
from app.ui.window.models_menu import FIRST_SCENARIO, ModelsMenu
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose


@dataclass
class Parts:
    """What a menu is built from, and what it asked of it."""

    window: QWidget
    library: LibraryListing
    host: ModelHost
    panel: ScenarioPanel
    settings: AppSettings
    loaded: list[str] = field(default_factory=list)  # every load_model(model_id) call
    shown_panels: list[str] = field(default_factory=list)  # every select_panel(key) call
    menus: list[ModelsMenu] = field(default_factory=list)

    def load(self, model_id: str) -> bool:
        self.loaded.append(model_id)
        return True

    def menu(self, *, interactive: bool = False) -> ModelsMenu:
        made = ModelsMenu(lambda: self.settings, self.library, self.host, self.load,
                          {FIRST_SCENARIO: self.panel}, self.shown_panels.append,
                          interactive=interactive, parent=self.window)
        self.menus.append(made)
        return made


@pytest.fixture
def parts(qapp: Any, app_home: Path, tmp_path: Path) -> Iterator[Parts]:
    settings = AppSettings(n_threads=1, n_ctx=2048, library_dir=str(tmp_path / "library"))
    window = QWidget()
    made = Parts(window, LibraryListing(lambda: settings.library_dir, window), ModelHost(window),
                 ScenarioPanel(get_scenario(FIRST_SCENARIO), "en"), settings)
    yield made
    for menu in made.menus:
        menu.shutdown()
        for opened in (menu.wizard, menu.manager):
            if opened is not None:
                opened.close()
    dispose(made.panel)
    dispose(window)


@pytest.fixture
def model_in_library(parts: Parts, tiny_gguf_factory: Callable[..., Path]) -> ModelEntry:
    with Library(Path(parts.settings.library_dir)) as library:
        return library.import_path(tiny_gguf_factory("q8_0"))


@pytest.fixture
def translations(qapp: Any) -> Iterator[Translations]:
    installed = install_translations(qapp, "en")
    yield installed
    installed.apply("en")


def test_the_manager_is_one_window_that_loads_the_model_it_is_asked_to(parts: Parts) -> None:
    menu = parts.menu()

    manager = menu.open_model_manager()

    assert manager.isVisible() and manager.listing is parts.library
    assert menu.open_model_manager() is manager
    manager.use_requested.emit("fin-r1-q4_k_m")
    assert parts.loaded == ["fin-r1-q4_k_m"]


def test_the_first_start_opens_the_wizard_once_the_library_is_listed_empty(parts: Parts) -> None:
    menu = parts.menu(interactive=True)
    assert menu.wizard is None  # nothing is decided before the first listing

    parts.library.refresh()

    wizard = wait_until(lambda: menu.wizard, 30, "the first-run wizard")
    assert wizard.isVisible()


def test_no_first_run_wizard_with_a_model_in_the_library(parts: Parts,
                                                         model_in_library: ModelEntry) -> None:
    menu = parts.menu(interactive=True)
    parts.library.refresh()
    wait_until(lambda: parts.library.entries, 30, "the library to be listed")

    assert not menu.start_first_run_if_needed()
    assert menu.wizard is None


def test_no_first_run_wizard_without_a_person_or_after_a_model_was_used(parts: Parts) -> None:
    parts.library.refresh()
    wait_until(lambda: parts.library.entries is not None, 30, "the library to be listed")
    assert not parts.menu(interactive=False).start_first_run_if_needed()
    parts.settings = parts.settings.with_changes(last_model="/models/used-before.gguf")
    assert not parts.menu(interactive=True).start_first_run_if_needed()
    assert all(menu.wizard is None for menu in parts.menus)


def test_the_finished_wizard_loads_its_model_and_fills_in_the_first_example(
        parts: Parts, model_in_library: ModelEntry) -> None:
    menu = parts.menu()
    wizard = menu.open_wizard()
    chosen: list[str] = []
    menu.language_chosen.connect(chosen.append)
    box = wizard.welcome_page.language_box
    box.setCurrentIndex(box.findData("zh_CN"))
    assert chosen == ["zh_CN"]  # for whoever keeps the setting

    wizard.model_ready.emit(model_in_library)

    assert parts.loaded == [model_in_library.id]
    assert parts.shown_panels == [FIRST_SCENARIO]
    assert parts.panel.values() == get_scenario(FIRST_SCENARIO).example_values(0, "en")
    wait_until(lambda: [entry.id for entry in parts.library.entries or []]
               == [model_in_library.id], 30, "the library to list the new model")


def test_a_finished_download_is_announced_and_the_library_listed_again(
        parts: Parts, model_in_library: ModelEntry) -> None:
    menu = parts.menu()
    messages: list[str] = []
    menu.status.connect(lambda message, _timeout_ms: messages.append(message))

    menu.queue.model_added.emit(model_in_library)

    assert messages == [f"{model_in_library.name} is downloaded and verified."]
    wait_until(lambda: parts.library.entries, 30, "the library to be listed")


def test_the_menu_speaks_the_window_language(parts: Parts, translations: Translations) -> None:
    menu = parts.menu()
    assert [menu.title(), *(action.text() for action in menu.actions())] == \
        ["&Models", "Model manager…", "Set up Fin-R1…"]

    translations.apply("zh_CN")

    wait_until(lambda: menu.title() == "模型(&M)", 5, "the menu in Chinese")
    assert [action.text() for action in menu.actions()] == ["模型管理器…", "设置 Fin-R1…"]
