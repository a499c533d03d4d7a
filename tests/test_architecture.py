"""The arrows of shared/docs/architecture.md, checked on the source: ``foundation ← quant ← app.core ←
app.ui / app.cli``, and no Qt below the UI.

The static rules read every module's imports with :mod:`ast` (nothing is imported, so a module that
only imports Qt inside a function is caught too); the runtime rule imports every ``app.core`` and
``app.cli`` module in a child process and looks at what landed in ``sys.modules``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("foundation", "quant", "app")
QT_PACKAGES = ("PySide6", "shiboken6")


@dataclass(frozen=True)
class Rule:
    """Modules under ``importer`` never import anything under one of ``forbidden``."""

    importer: str
    forbidden: tuple[str, ...]


RULES = (
    Rule("foundation", ("quant", "app")),
    Rule("quant", ("app",)),
    Rule("app.core", ("app.ui", "app.cli", *QT_PACKAGES)),
    Rule("app.cli", ("app.ui", *QT_PACKAGES)),
)

# (importing module, imported module) pairs a rule lets through, each with the reason.
ALLOWED = {
    # `finr1 export --format pdf` prints the HTML with Qt's web engine, the same code as the
    # window's PDF export; the import sits inside the pdf branch, so the other formats stay Qt-free.
    ("app.cli.export_cmd", "app.ui.history.pdf_export"),
}


@dataclass(frozen=True)
class Import:
    """One name a module imports: ``module`` (dotted, absolute) at ``path:line``."""

    importer: str
    module: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}: {self.importer} imports {self.module}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_sources() -> list[Path]:
    return sorted(
        path for package in PROJECT_PACKAGES for path in (REPO / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module a ``from … import`` names, with a relative one resolved against ``importer``."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path) -> list[Import]:
    """Every import statement of ``path``, at any depth (functions, ``TYPE_CHECKING`` blocks).

    ``from a import b`` counts as importing both ``a`` and ``a.b`` (``b`` may be a sub-module)."""
    importer = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(importer, alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(importer, path.name == "__init__.py", node)
            found.append(Import(importer, module, path, node.lineno))
            found += [Import(importer, f"{module}.{alias.name}", path, node.lineno)
                      for alias in node.names if alias.name != "*"]
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _allowed(found: Import) -> bool:
    return any(found.importer == importer and _under(found.module, module) for importer, module in ALLOWED)


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    return [found for path in _project_sources() for found in _imports(path)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.importer)
def test_no_module_imports_against_the_arrows(rule: Rule, project_imports: list[Import]) -> None:
    offending = [
        str(found) for found in project_imports
        if _under(found.importer, rule.importer)
        and any(_under(found.module, forbidden) for forbidden in rule.forbidden)
        and not _allowed(found)
    ]
    assert not offending, (
        f"{rule.importer} must not import {', '.join(rule.forbidden)} "
        "(shared/docs/architecture.md):\n" + "\n".join(offending))


def test_every_allowed_exception_is_still_there(project_imports: list[Import]) -> None:
    """An exception that the code no longer needs is removed rather than left to cover a new one."""
    present = {(found.importer, found.module) for found in project_imports}
    assert present >= ALLOWED, f"no longer imported, drop from ALLOWED: {sorted(ALLOWED - present)}"


def test_the_scan_sees_every_package() -> None:
    """Guards the rules above against passing vacuously (a moved folder, a wrong root)."""
    names = {_module_name(path) for path in _project_sources()}
    for rule in RULES:
        assert any(_under(name, rule.importer) for name in names), rule.importer


_IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(" ".join(sorted({{name.split(".")[0] for name in sys.modules}} & {qt})))
"""


@pytest.mark.parametrize("package", ["app.core", "app.cli"])
def test_importing_every_module_leaves_qt_out(package: str) -> None:
    """Runtime check of the static rule: no module pulls Qt in through a third party or a loop."""
    modules = [name for name in map(_module_name, _project_sources()) if _under(name, package)]
    script = _IMPORT_ALL.format(qt=set(QT_PACKAGES))
    result = subprocess.run([sys.executable, "-c", script, *modules], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {package} loaded Qt:\n{result.stdout}"
