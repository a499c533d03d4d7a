"""The window's language: Simplified Chinese or English, through Qt's translation system.

Every text a widget shows goes through ``self.tr(...)`` / ``QCoreApplication.translate(...)``
with English source strings; ``resources/i18n/finr1_<lang>.ts`` holds the translations (edit them
with Qt Linguist; ``packaging/translations.py update`` collects new strings). They are compiled
to ``.qm`` by ``packaging/translations.py compile`` when the app is built; where a ``.qm`` is
missing or older than its ``.ts`` (a source checkout), the first start compiles it with the
``lrelease`` of the PySide6 wheel into the app's data folder.

``Translations.apply(language)`` installs the app's and Qt's own translators (the latter translate
standard buttons such as OK, Cancel, Back and Next); Qt then sends every widget a
``LanguageChange`` event, on which widgets call their ``retranslate()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

from app.core.installation.paths import app_paths
from app.core.installation.resources import resource_path

SYSTEM = "system"
UI_LANGUAGES = ("zh_CN", "en")
# Each window language named in itself, as language pickers show them (never translated).
LANGUAGE_NAMES = {"zh_CN": "中文（简体）", "en": "English"}
CATALOG = "finr1"
LRELEASE_TIMEOUT_S = 60


def system_ui_language(locale: QLocale | None = None) -> str:
    """``zh_CN`` when the system (or ``locale``) language is Chinese, else ``en``."""
    locale = locale or QLocale.system()
    return "zh_CN" if locale.language() == QLocale.Language.Chinese else "en"


def resolve_ui_language(setting: str) -> str:
    """The language to show for a setting of ``system``, ``zh_CN`` or ``en`` (unknown values
    follow the system)."""
    return setting if setting in UI_LANGUAGES else system_ui_language()


def ts_path(language: str) -> Path:
    return resource_path("i18n", f"{CATALOG}_{language}.ts")


def lrelease_command() -> list[str] | None:
    """How to run Qt's ``lrelease``: the PySide6 wheel's own binary, else one on PATH."""
    import PySide6

    folder = Path(PySide6.__file__).parent
    for candidate in (folder / "lrelease", folder / "lrelease.exe", folder / "Qt" / "bin" /
                      "lrelease"):
        if candidate.is_file():
            return [str(candidate)]
    import shutil

    for name in ("pyside6-lrelease", "lrelease"):
        found = shutil.which(name)
        if found:
            return [found]
    return None


def compile_ts(source: Path, target: Path) -> bool:
    """Compile ``source`` (.ts) to ``target`` (.qm) with lrelease; False when it cannot."""
    import subprocess  # here, not at the top: only a source checkout compiles (~5 ms at start)

    command = lrelease_command()
    if command is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        completed = subprocess.run([*command, "-silent", str(source), "-qm", str(target)],
                                   capture_output=True, timeout=LRELEASE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0 and target.is_file()


def compiled_translation(language: str) -> Path | None:
    """The ``.qm`` file for ``language``: the shipped one when current, else one compiled now
    into the data folder; None when there is none and it cannot be made."""
    source = ts_path(language)
    shipped = source.with_suffix(".qm")
    if shipped.is_file() and (not source.is_file()
                              or shipped.stat().st_mtime >= source.stat().st_mtime):
        return shipped
    if source.is_file():
        cached = app_paths().data_dir / "i18n" / shipped.name
        if cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime:
            return cached
        if compile_ts(source, cached):
            return cached
    # an installation whose file times were not kept, without lrelease: what was shipped
    return shipped if shipped.is_file() else None


class Translations(QObject):
    """The application's installed translators (see the module docstring)."""

    def __init__(self, application: QCoreApplication) -> None:
        super().__init__(application)
        self._application = application
        self._installed: list[QTranslator] = []
        self.language = "en"

    def apply(self, setting: str) -> str:
        """Show the window in the language of ``setting`` (``system``, ``zh_CN``, ``en``);
        returns the language now shown. Falls back to English, the source language, when the
        translation cannot be loaded."""
        language = resolve_ui_language(setting)
        for translator in self._installed:
            self._application.removeTranslator(translator)
        self._installed.clear()
        if language != "en":
            self._install_own(language)
            self._install_qt(language)
        self.language = language if self._installed or language == "en" else "en"
        QLocale.setDefault(QLocale(self.language))
        return self.language

    def _install_own(self, language: str) -> None:
        path = compiled_translation(language)
        translator = QTranslator(self)
        if path is not None and translator.load(str(path)):
            self._application.installTranslator(translator)
            self._installed.append(translator)
        else:
            print(f"finr1-studio: the {language} translation could not be loaded; showing "
                  "English", file=sys.stderr)

    def _install_qt(self, language: str) -> None:
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        translator = QTranslator(self)
        if translator.load(f"qtbase_{language}", folder):
            self._application.installTranslator(translator)
            self._installed.append(translator)


_current: Translations | None = None


def install_translations(application: QCoreApplication, setting: str) -> Translations:
    """Create (once) and apply the application's translations for ``setting``."""
    global _current
    if _current is None or _current.parent() is not application:
        _current = Translations(application)
    _current.apply(setting)
    return _current


def current_language() -> str:
    """The language the window is shown in now (``en`` before any translation was applied)."""
    return _current.language if _current is not None else "en"


def content_language() -> str:
    """The language key of bilingual data (scenario titles…): ``zh`` or ``en``."""
    return "zh" if current_language().startswith("zh") else "en"

