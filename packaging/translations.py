"""The window's translations: collect texts into ``resources/i18n/*.ts``, compile ``.qm`` files.

    python packaging/translations.py update    after changing texts in app/ui: runs lupdate,
                                               keeping every existing translation
    python packaging/translations.py compile   at build time: lrelease writes finr1_<lang>.qm
                                               beside each .ts (the app prefers them)
    python packaging/translations.py check     lists texts of app/ui missing from the .ts
                                               files or left untranslated; exit 1 if any

Translations are edited in the ``.ts`` files (Qt Linguist, or any XML editor). A source checkout
without ``.qm`` files compiles them at the first start (``app.ui.i18n``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.ui.i18n import CATALOG, UI_LANGUAGES, compile_ts, ts_path  # noqa: E402


def _lupdate(targets: list[Path]) -> int:
    import PySide6

    lupdate = Path(PySide6.__file__).parent / "lupdate"
    sources = sorted(str(path.relative_to(REPO_ROOT))
                     for path in (REPO_ROOT / "app" / "ui").rglob("*.py"))
    command = [str(lupdate), "-silent", "-locations", "none", "-no-obsolete", *sources, "-ts",
               *map(str, targets)]
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode


def update() -> int:
    """Collect the texts of every module of app/ui into each language's .ts file."""
    return _lupdate([ts_path(language) for language in UI_LANGUAGES])


def _untranslated(ts_file: Path) -> list[str]:
    return [message.findtext("source") or "" for message in
            ElementTree.parse(ts_file).getroot().iter("message")
            if not (message.findtext("translation") or "").strip()]


def check() -> int:
    """Report the texts of app/ui that the Chinese catalog lacks or leaves untranslated."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / ts_path("zh_CN").name
        shutil.copyfile(ts_path("zh_CN"), copy)
        if _lupdate([copy]) != 0:
            print("lupdate failed", file=sys.stderr)
            return 1
        missing = _untranslated(copy)
    for source in missing:
        print(f"not translated: {source!r}", file=sys.stderr)
    if missing:
        print("run 'python packaging/translations.py update' and translate them in "
              f"{ts_path('zh_CN').relative_to(REPO_ROOT)}", file=sys.stderr)
    return 1 if missing else 0


def compile_all() -> int:
    """Compile every .ts to the .qm beside it."""
    failed = [language for language in UI_LANGUAGES
              if not compile_ts(ts_path(language), ts_path(language).with_suffix(".qm"))]
    for language in failed:
        print(f"could not compile {CATALOG}_{language}.ts (is lrelease installed?)",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    actions = {"update": update, "compile": compile_all, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(actions[sys.argv[1]]())
