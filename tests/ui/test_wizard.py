"""The quantize-then-chat wizard, offscreen, with real jobs on the tiny Qwen2: from the first page
to a verified model via each source (a stand-in hub for downloads, a checkpoint folder for a
build, a file for import, a model file found beside the app), back at each step, and closing or
going back in the middle of each job leaving no partial file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.hub.client import HubConfig
from app.core.installation.settings import AppSettings
from app.core.library.model_library import Library, ModelStatus
from app.core.scenarios.scenario_file import load_scenarios
from app.ui.i18n import install_translations
from app.ui.models.setup_wizard import MACHINE, PROGRESS, QUANT, READY, SOURCE, SetupWizard, Source
from app.ui.theme import ThemeController
from app.ui.window.main_window import MainWindow
from tests.support.app_setup_support import CHECKPOINT_REPO, files_under
from tests.support.llm_support import PROSE_GRAMMAR, THREADS, steered
from tests.support.local_hub import LocalHub
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose

N_CTX = 2048


@pytest.fixture
def wizard_factory(qtbot: object, app_home: Path) -> Iterator[Callable[..., SetupWizard]]:
    made: list[SetupWizard] = []

    def make(hub: LocalHub | None = None, offline_files: list[Path] | None = None) -> SetupWizard:
        config = HubConfig(endpoint=hub.endpoint) if hub is not None else HubConfig(offline=True)
        wizard = SetupWizard(lambda: "", lambda: config, lambda: N_CTX, "en",
                             offline_files=offline_files or [])
        qtbot.addWidget(wizard)  # type: ignore[attr-defined]
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:
        wizard.progress_page.stop()


def library_models(app_home: Path) -> list:
    with Library(app_home / "library") as library:
        return library.models()


def leftovers(app_home: Path) -> list[Path]:
    """Files in the library's download and work area (partials, temporary builds)."""
    return files_under(app_home / "library" / "downloads")


def to_source(qtbot: object, wizard: SetupWizard) -> None:
    wizard.next()
    assert wizard.currentId() == MACHINE
    wait_until(wizard.machine_page.isComplete)
    assert "free now" in wizard.machine_page.labels["ram"][1].text()
    assert wizard.machine_page.advice.text()
    wizard.next()
    assert wizard.currentId() == SOURCE


def to_quant(qtbot: object, wizard: SetupWizard, source: Source, path: Path | None = None,
             quant: str = "q4_k_m", first_visit: bool = True) -> None:
    wizard.source_page.choose(source, path)
    wizard.next()
    assert wizard.currentId() == QUANT
    table = wizard.quant_page.table
    wait_until(lambda: quant in table.row_names())
    assert table.recommended is not None
    if first_visit:
        assert [q.name for q in table.chosen()] == [table.recommended.name]  # pre-selected
    table.choose([quant])


def finish(qtbot: object, wizard: SetupWizard) -> object:
    wait_until(lambda: wizard.currentId() == READY, 120)
    handed: list[object] = []
    wizard.model_ready.connect(handed.append)
    wizard.accept()
    assert len(handed) == 1
    return handed[0]


def first_answer(model_path: Path) -> str:
    """The compliance scenario's first example answered by the model (what the window does
    after the wizard; the window's own test drives it through the panel), steered to text: the
    tiny model's random weights could otherwise say nothing, differently on each CPU."""
    scenario = next(s for s in load_scenarios() if s.id == "compliance")
    prompt = scenario.render_prompt(scenario.example_values(0, "en"), "en")
    from app.core.templates.chat_template import ChatMessage

    with steered(model_path, grammar=PROSE_GRAMMAR), \
            ChatEngine(model_path, EngineConfig(n_ctx=N_CTX, n_threads=THREADS)) as engine:
        result = engine.chat([ChatMessage("user", prompt)],
                             GenerationSettings(max_new_tokens=8, temperature=0.0))
    return result.text


# -- each source, to the end --------------------------------------------------------------------


def test_download_a_ready_gguf_through_to_an_answer(qtbot: object, fin_r1_hub: LocalHub,
                                                    wizard_factory: Callable[..., SetupWizard],
                                                    app_home: Path) -> None:
    wizard = wizard_factory(fin_r1_hub)
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_GGUF, quant="q8_0")
    table = wizard.quant_page.table
    wait_until(lambda: "≈" not in table.item(table.row_names().index("q8_0"), 1).text())
    wizard.next()
    assert wizard.currentId() == PROGRESS
    entry = finish(qtbot, wizard)
    assert entry.quant_label == "Q8_0" and entry.source["repo"] == "mradermacher/Fin-R1-GGUF"
    assert [model.id for model in library_models(app_home)] == [entry.id]
    assert leftovers(app_home) == []
    assert first_answer(entry.path)


def test_download_the_original_and_build_through_to_an_answer(
        qtbot: object, fin_r1_hub: LocalHub, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    wizard = wizard_factory(fin_r1_hub)
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_BUILD, quant="q4_k_m")
    wizard.next()
    entry = finish(qtbot, wizard)
    assert entry.quant_label == "Q4_K_M" and entry.source["type"] == "build"
    kinds = sorted(model.kind.value for model in library_models(app_home))
    assert kinds == ["checkpoint", "gguf"]
    assert all(model.status is ModelStatus.OK for model in library_models(app_home))
    assert leftovers(app_home) == []
    assert first_answer(entry.path)


def test_import_a_gguf_file_skips_the_quant_page(qtbot: object, tiny_gguf_factory: Callable,
                                                 wizard_factory: Callable[..., SetupWizard],
                                                 app_home: Path) -> None:
    wizard = wizard_factory()
    to_source(qtbot, wizard)
    wizard.source_page.choose(Source.IMPORT, tiny_gguf_factory("q8_0"))
    wizard.next()
    assert wizard.currentId() == PROGRESS
    entry = finish(qtbot, wizard)
    assert entry.source["type"] == "import" and entry.quant_label == "Q8_0"
    assert first_answer(entry.path)


def test_import_a_checkpoint_folder_builds_the_chosen_type(
        qtbot: object, tiny_checkpoint: Path, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    wizard = wizard_factory()
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.IMPORT, tiny_checkpoint, quant="q8_0")
    sizes = wizard.quant_page.table.item(0, 1).text()
    assert "KB" in sizes or "MB" in sizes  # this checkpoint's own sizes, not Fin-R1's
    wizard.next()
    entry = finish(qtbot, wizard)
    assert entry.quant_label == "Q8_0"
    assert sorted(m.kind.value for m in library_models(app_home)) == ["checkpoint", "gguf"]


def test_a_model_file_beside_the_app_is_offered_first(
        qtbot: object, tiny_gguf_factory: Callable, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    found = tiny_gguf_factory("q8_0")
    wizard = wizard_factory(offline_files=[found])
    to_source(qtbot, wizard)
    first = wizard.source_page.offline_buttons[0]
    assert first.isChecked() and found.name in first.text()
    wizard.next()
    assert wizard.currentId() == PROGRESS
    entry = finish(qtbot, wizard)
    assert entry.sha256 == __import__("hashlib").sha256(found.read_bytes()).hexdigest()


def test_every_step_can_go_back(qtbot: object, fin_r1_hub: LocalHub,
                                wizard_factory: Callable[..., SetupWizard], app_home: Path) -> None:
    wizard = wizard_factory(fin_r1_hub)
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_GGUF, quant="q8_0")
    wizard.back()
    assert wizard.currentId() == SOURCE
    wizard.back()
    assert wizard.currentId() == MACHINE
    wizard.back()
    assert wizard.currentId() == 0
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_GGUF, quant="q8_0", first_visit=False)
    assert [q.name for q in wizard.quant_page.table.chosen()] == ["q8_0"]  # kept
    wizard.next()
    wait_until(lambda: wizard.currentId() == READY, 120)
    wizard.back()
    assert wizard.currentId() == PROGRESS


# -- cancelling in the middle of each job -------------------------------------------------------


def test_closing_during_a_download_leaves_no_partial_file(
        qtbot: object, fin_r1_hub: LocalHub, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    fin_r1_hub.throttle(200_000)  # the tiny file takes seconds
    wizard = wizard_factory(fin_r1_hub)
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_GGUF, quant="f16")
    wizard.next()
    wait_until(lambda: wizard.progress_page.progress.bar.value() > 0)
    wizard.reject()
    assert not wizard.progress_page.running
    assert leftovers(app_home) == [] and library_models(app_home) == []


def test_going_back_during_a_build_leaves_no_temporary_file(
        qtbot: object, fin_r1_hub: LocalHub, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    wizard = wizard_factory(fin_r1_hub)
    to_source(qtbot, wizard)
    to_quant(qtbot, wizard, Source.DOWNLOAD_BUILD, quant="iq3_s")  # with an importance matrix
    wizard.next()
    page = wizard.progress_page
    wait_until(lambda: "importance matrix" in page.progress.detail_label.text(), 120)
    wizard.back()
    assert wizard.currentId() == QUANT and not page.running
    assert leftovers(app_home) == []
    models = library_models(app_home)
    assert [model.source["repo"] for model in models] == [CHECKPOINT_REPO]  # kept: complete
    wait_until(lambda: "Cancelled" in page.progress.detail_label.text(), 10)


def test_closing_during_an_import_leaves_no_partial_copy(
        qtbot: object, smollm2_gguf: Path, wizard_factory: Callable[..., SetupWizard],
        app_home: Path) -> None:
    wizard = wizard_factory()
    to_source(qtbot, wizard)
    wizard.source_page.choose(Source.IMPORT, smollm2_gguf)
    wizard.next()
    bar = wizard.progress_page.progress.bar
    wait_until(lambda: 0 < bar.value() < bar.maximum())
    wizard.reject()
    assert library_models(app_home) == []
    assert files_under(app_home / "library" / "models") == []


# -- the window's language ----------------------------------------------------------------------


class LanguageChanges(QObject):
    """Counts, while in a ``with`` block, the ``LanguageChange`` events the application gets: Qt
    sends one for each translator installed or removed, so each ``Translations.apply`` shows as
    a fixed number of them."""

    def __init__(self, application: QCoreApplication) -> None:
        super().__init__()
        self._application = application
        self.count = 0

    def __enter__(self) -> LanguageChanges:
        self._application.installEventFilter(self)
        return self

    def __exit__(self, *_exception: object) -> None:
        self._application.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
        if event.type() == QEvent.Type.LanguageChange and watched is self._application:
            self.count += 1
        return False


def test_a_language_chosen_in_the_wizard_is_applied_once(qapp: QCoreApplication, qtbot: object,
                                                         app_home: Path) -> None:
    translations = install_translations(qapp, "en")
    with LanguageChanges(qapp) as one_apply:
        translations.apply("zh_CN")
    translations.apply("en")
    assert one_apply.count > 0
    window = MainWindow(AppSettings(), app_home / "settings.json", ThemeController(qapp, "light"),
                        translations=translations, interactive=False)
    window.show()
    wait_until(lambda: window.services is not None, 60)
    try:
        wizard = window.services.models_menu.open_wizard()
        box = wizard.welcome_page.language_box
        with LanguageChanges(qapp) as chosen:
            box.setCurrentIndex(box.findData("zh_CN"))
        assert translations.language == "zh_CN" and window.settings.ui_language == "zh_CN"
        assert chosen.count == one_apply.count
        wait_until(lambda: wizard.welcome_page.title() == "欢迎使用 Fin-R1 Studio", 5)
    finally:
        translations.apply("en")
        window.close()
        dispose(window)
