"""Where the app keeps its data on this machine: the one module that knows.

Three modes, first match wins:

1. ``FINR1_HOME`` is set: everything (settings, model library, history) lives under that folder.
2. Portable mode: a file named ``finr1-portable`` sits beside the executable (or one folder up,
   for layouts with a ``bin/`` folder); everything lives in ``finr1-data/`` beside that file, so
   the app and its models can travel on a USB stick to an offline workstation.
3. The platform's standard folders: on Linux ``$XDG_DATA_HOME/fin-r1-studio`` (default
   ``~/.local/share``) for data and ``$XDG_CONFIG_HOME/fin-r1-studio`` (default ``~/.config``) for
   settings; on macOS ``~/Library/Application Support/Fin-R1 Studio`` for both; on Windows
   ``%LOCALAPPDATA%\\Fin-R1 Studio`` for data (models are too big to roam) and
   ``%APPDATA%\\Fin-R1 Studio`` for settings.

The model library defaults to ``<data dir>/library``; a setting (``library_dir``'s ``override``)
can move it to another disk. Nothing here creates folders: callers create what they write.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV_VAR = "FINR1_HOME"
PORTABLE_MARKER = "finr1-portable"
PORTABLE_DATA_DIR = "finr1-data"
_UNIX_APP_DIR = "fin-r1-studio"
_DESKTOP_APP_DIR = "Fin-R1 Studio"


@dataclass(frozen=True)
class AppPaths:
    """The app's folders. ``mode`` says why they are where they are: ``"FINR1_HOME"``,
    ``"portable"`` or ``"platform"``."""

    data_dir: Path
    config_dir: Path
    mode: str

    @property
    def default_library_dir(self) -> Path:
        return self.data_dir / "library"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def log_file(self) -> Path:
        """The app's log: what llama.cpp reports while it loads and runs models."""
        return self.data_dir / "finr1.log"

    @property
    def catalog_cache_file(self) -> Path:
        """The hub file lists last fetched, so an offline start still knows sizes and hashes."""
        return self.data_dir / "catalog-cache.json"

    def library_dir(self, override: str | Path | None = None) -> Path:
        """The model library's root: ``override`` (the library-location setting) when given and
        non-empty, else ``default_library_dir``."""
        if override is not None and str(override).strip():
            return Path(override).expanduser()
        return self.default_library_dir


def app_paths(environ: Mapping[str, str] | None = None, platform: str | None = None,
              executable: str | None = None, home: Path | None = None) -> AppPaths:
    """The app's folders for this process (see the module docstring for the rules).

    The arguments default to the real environment, ``sys.platform``, ``sys.executable`` and the
    user's home folder; tests pass their own.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    executable = sys.executable if executable is None else executable
    home = Path.home() if home is None else home
    override = environ.get(HOME_ENV_VAR, "").strip()
    if override:
        root = Path(override).expanduser()
        return AppPaths(root, root, HOME_ENV_VAR)
    portable_root = find_portable_root(Path(executable))
    if portable_root is not None:
        root = portable_root / PORTABLE_DATA_DIR
        return AppPaths(root, root, "portable")
    return AppPaths(*_platform_dirs(environ, platform, home), "platform")


def find_portable_root(executable: Path) -> Path | None:
    """The folder holding the ``finr1-portable`` marker: the executable's folder or its parent."""
    folder = executable.parent
    for candidate in (folder, folder.parent):
        if (candidate / PORTABLE_MARKER).is_file():
            return candidate
    return None


def _platform_dirs(environ: Mapping[str, str], platform: str, home: Path) -> tuple[Path, Path]:
    if platform == "win32":
        local = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        roaming = environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(local) / _DESKTOP_APP_DIR, Path(roaming) / _DESKTOP_APP_DIR
    if platform == "darwin":
        support = home / "Library" / "Application Support" / _DESKTOP_APP_DIR
        return support, support
    data_home = environ.get("XDG_DATA_HOME", "").strip() or str(home / ".local" / "share")
    config_home = environ.get("XDG_CONFIG_HOME", "").strip() or str(home / ".config")
    return Path(data_home) / _UNIX_APP_DIR, Path(config_home) / _UNIX_APP_DIR
