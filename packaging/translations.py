"""The window's translations: collect texts into ``resources/i18n/*.ts``, compile ``.qm`` files.

    python packaging/translations.py update    after changing texts in app/ui: runs lupdate,
                                               keeping every existing translation
    python packaging/translations.py compile   at build time: lrelease writes finr1_<lang>.qm
                                               beside each .ts (the app prefers them)

Translations are edited in the ``.ts`` files (Qt Linguist, or any XML editor). A source checkout
without ``.qm`` files compiles them at the first start (``app.ui.i18n``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.ui.i18n import CATALOG, UI_LANGUAGES, compile_ts, ts_path  # noqa: E402


def update() -> int:
    """Collect the texts of every module of app/ui into each language's .ts file."""
    import PySide6

    lupdate = Path(PySide6.__file__).parent / "lupdate"
    sources = sorted(str(path.relative_to(REPO_ROOT))
                     for path in (REPO_ROOT / "app" / "ui").glob("*.py"))
    targets = [str(ts_path(language).relative_to(REPO_ROOT)) for language in UI_LANGUAGES]
    command = [str(lupdate), "-locations", "none", "-no-obsolete", *sources, "-ts", *targets]
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode


def compile_all() -> int:
    """Compile every .ts to the .qm beside it."""
    failed = [language for language in UI_LANGUAGES
              if not compile_ts(ts_path(language), ts_path(language).with_suffix(".qm"))]
    for language in failed:
        print(f"could not compile {CATALOG}_{language}.ts (is lrelease installed?)",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    actions = {"update": update, "compile": compile_all}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(actions[sys.argv[1]]())
