"""Chinese and English through Qt's translation system: the .ts sources compile at first start,
the system language is the default, and switching the language changes the texts already on
screen (the wizard, its standard buttons, the model manager)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtWidgets import QWizard

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.hub.client import HubConfig
from app.core.installation.resources import RESOURCES_ENV_VAR
from app.core.scenarios.scenario_file import load_scenarios
from app.ui.chat.composer import Composer
from app.ui.chat.scenario_panel import ScenarioPanel
from app.ui.i18n import (
    Translations,
    compiled_translation,
    install_translations,
    resolve_ui_language,
    system_ui_language,
    ts_path,
)
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.model_manager import ModelManager
from app.ui.models.setup_wizard import SetupWizard
from app.ui.window.model_header import ModelHeader
from tests.support.qt_wait import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def translations(qapp: object, app_home: Path) -> Iterator[Translations]:
    installed = install_translations(qapp, "en")  # type: ignore[arg-type]
    yield installed
    installed.apply("en")


def test_every_text_of_the_chinese_catalog_is_translated() -> None:
    messages = list(ElementTree.parse(ts_path("zh_CN")).getroot().iter("message"))
    assert len(messages) > 150
    unfinished = [m.findtext("source") for m in messages
                  if m.find("translation").get("type") == "unfinished"
                  or not (m.findtext("translation") or "").strip()]
    assert unfinished == []


def test_every_text_in_the_window_code_is_in_the_chinese_catalog() -> None:
    checked = subprocess.run([sys.executable, str(REPO_ROOT / "packaging" / "translations.py"),
                              "check"], capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stderr


def test_placeholders_survive_translation() -> None:
    for message in ElementTree.parse(ts_path("zh_CN")).getroot().iter("message"):
        source, translation = message.findtext("source"), message.findtext("translation")
        for index in range(5):
            assert (f"{{{index}" in source) == (f"{{{index}" in translation), source


def test_the_catalog_is_compiled_into_the_data_folder_at_first_start(
        app_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # resources as a fresh clone has them: the .ts sources only (the .qm files are not tracked)
    fresh_clone = tmp_path / "resources"
    (fresh_clone / "i18n").mkdir(parents=True)
    shutil.copy2(ts_path("zh_CN"), fresh_clone / "i18n")
    monkeypatch.setenv(RESOURCES_ENV_VAR, str(fresh_clone))
    compiled = compiled_translation("zh_CN")
    assert compiled == app_home / "i18n" / "finr1_zh_CN.qm"
    translator = QTranslator()
    assert translator.load(str(compiled))
    assert translator.translate("WelcomePage", "Welcome to Fin-R1 Studio") == "欢迎使用 Fin-R1 Studio"
    assert not (fresh_clone / "i18n" / "finr1_zh_CN.qm").exists()


def test_the_system_language_is_the_default() -> None:
    assert system_ui_language(QLocale(QLocale.Language.Chinese, QLocale.Country.China)) == "zh_CN"
    assert system_ui_language(QLocale(QLocale.Language.German)) == "en"
    assert resolve_ui_language("system") == system_ui_language()
    assert resolve_ui_language("zh_CN") == "zh_CN"


def test_switching_changes_the_wizard_texts_on_screen(qtbot: object,
                                                      translations: Translations) -> None:
    wizard = SetupWizard(lambda: "", lambda: HubConfig(offline=True), lambda: 2048, "en",
                         translations, offline_files=[])
    qtbot.addWidget(wizard)  # type: ignore[attr-defined]
    wizard.show()
    assert wizard.welcome_page.title() == "Welcome to Fin-R1 Studio"
    chosen: list[str] = []
    wizard.language_chosen.connect(chosen.append)
    box = wizard.welcome_page.language_box
    box.setCurrentIndex(box.findData("zh_CN"))
    assert chosen == ["zh_CN"] and translations.language == "zh_CN"
    wait_until(lambda: wizard.welcome_page.title() == "欢迎使用 Fin-R1 Studio", 5)
    assert wizard.windowTitle() == "设置 Fin-R1"
    assert wizard.buttonText(QWizard.WizardButton.NextButton) == "下一步 >"
    assert wizard.source_page.download_button.text() == "下载现成的模型文件"
    box.setCurrentIndex(box.findData("en"))
    wait_until(lambda: wizard.welcome_page.title() == "Welcome to Fin-R1 Studio", 5)
    assert wizard.buttonText(QWizard.WizardButton.NextButton) == "Next >"


def test_switching_changes_the_model_manager_texts(qtbot: object,
                                                   translations: Translations) -> None:
    queue = DownloadQueue(lambda: "", lambda: HubConfig(offline=True))
    manager = ModelManager(queue, lambda: "", lambda: HubConfig(offline=True), lambda: 2048)
    qtbot.addWidget(manager)  # type: ignore[attr-defined]
    tabs = [manager.tabs.tabText(index) for index in range(3)]
    assert tabs == ["Library", "Get models", "Build"]
    translations.apply("zh_CN")
    wait_until(lambda: manager.tabs.tabText(0) == "模型库", 5)
    assert [manager.tabs.tabText(index) for index in range(3)] == ["模型库", "获取模型", "构建"]
    assert manager.library_tab.verify_button.text() == "校验"
    headers = [manager.library_tab.table.horizontalHeaderItem(i).text() for i in range(6)]
    assert headers[1] == "量化" and headers[4] == "状态"
    repositories = [manager.get_tab.repo_box.itemText(i)
                    for i in range(manager.get_tab.repo_box.count())]
    assert repositories and all("现成" in text or "单个" in text for text in repositories)


def test_switching_changes_the_chat_box_and_scenario_panel_texts(qtbot: object,
                                                                 translations: Translations) -> None:
    scenario = load_scenarios()[0]
    composer, panel = Composer(), ScenarioPanel(scenario)
    for widget in (composer, panel):
        qtbot.addWidget(widget)  # type: ignore[attr-defined]
    assert (composer.new_button.text(), panel.run_button.text()) == ("New chat", "Run")
    assert panel.title_label.text() == scenario.title["en"]
    translations.apply("zh_CN")
    wait_until(lambda: composer.new_button.text() == "新对话", 5)
    assert composer.send_button.text() == "发送"
    assert (panel.run_button.text(), panel.examples_label.text()) == ("运行", "示例：")
    assert panel.title_label.text() == scenario.title["zh"] != scenario.title["en"]


def test_switching_changes_the_model_header_texts(qtbot: object,
                                                  translations: Translations) -> None:
    header = ModelHeader()
    qtbot.addWidget(header)  # type: ignore[attr-defined]
    header.set_library_models([("m1", "Fin-R1 · Q4_K_M · 4.68 GB")])
    assert header.settings_button.text() == "Settings"
    translations.apply("zh_CN")
    wait_until(lambda: header.settings_button.text() == "设置", 5)
    entries = [header.switcher.itemText(row) for row in range(header.switcher.count())]
    assert entries[1] == "Fin-R1 · Q4_K_M · 4.68 GB"  # the models stay, their frame is Chinese
    assert entries[0] != "Switch model…" and entries[-1] != "Open a GGUF file…"
    assert header.model_label.text() != "No model loaded"
