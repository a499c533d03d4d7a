"""The offline "model pack": model files brought to an air-gapped workstation beside the app.

An analyst without network access copies the installer or the portable app to a USB stick,
puts the model beside it (or in a ``models/`` folder), and the first-run wizard offers what
``find_offline_model_files`` finds for import into the library. Folders searched, in order:

1. the app's own folder and its ``models/``: the portable root (``app.core.installation.paths``), else the
   folder of an installed (frozen) executable (e.g. ``/opt/fin-r1-studio/models`` where an
   administrator dropped a model for every user), and on macOS the folder holding the ``.app``;
2. folders listed in ``model-pack-sources.txt`` in the app's folder, and their ``models/``: the
   Windows installer records there the folder it was started from;
3. the top level and ``models/`` of mounted removable media (``/media/$USER/*``,
   ``/run/media/$USER/*`` on Linux, ``/Volumes/*`` on macOS), where a ``.deb`` or ``.dmg`` was
   opened from: those installers cannot record it.

Nothing is searched recursively beyond that, so a start never walks a large disk. A source
checkout (not frozen, not portable) searches only the removable media.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.core.installation.paths import find_portable_root

MODELS_DIR = "models"
SOURCES_FILE = "model-pack-sources.txt"
GGUF_MAGIC = b"GGUF"
_LATER_SHARD = re.compile(r"-(\d{5})-of-\d{5}\.gguf$", re.IGNORECASE)


def find_offline_model_files(folders: Sequence[Path] | None = None) -> list[Path]:
    """Model files and checkpoint folders offered for import, each once: folder by folder in
    search order, by name (ignoring case) within a folder.

    Found in each of ``folders`` (default: ``model_pack_folders()``), not recursively: GGUF
    files (by their magic bytes; of a split GGUF only the first part, ``…-00001-of-000NN.gguf``)
    and Hugging Face checkpoint folders (a ``config.json`` and ``*.safetensors``). Unreadable
    or missing folders are skipped; never raises for them.
    """
    folders = model_pack_folders() if folders is None else folders
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in folders:
        for candidate in _candidates(folder):
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def model_pack_folders(executable: Path | None = None, platform: str | None = None,
                       frozen: bool | None = None,
                       media_roots: Sequence[Path] | None = None) -> list[Path]:
    """The folders searched, in order (see the module docstring); existing ones only.

    The arguments default to ``sys.executable``, ``sys.platform``, ``sys.frozen`` and the
    platform's removable-media mount folders; tests pass their own.
    """
    executable = Path(sys.executable) if executable is None else executable
    platform = sys.platform if platform is None else platform
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    media_roots = _default_media_roots(platform) if media_roots is None else media_roots
    app_folders = _app_folders(executable, platform, frozen)
    recorded = [folder for app_folder in app_folders for folder in _recorded_sources(app_folder)]
    mounts = [mount for root in media_roots for mount in _subfolders(root)]
    folders: list[Path] = []
    for folder in (*app_folders, *recorded, *mounts):
        for candidate in (folder, folder / MODELS_DIR):
            if candidate not in folders and candidate.is_dir():
                folders.append(candidate)
    return folders


def _app_folders(executable: Path, platform: str, frozen: bool) -> list[Path]:
    portable_root = find_portable_root(executable)
    if portable_root is not None:
        return [portable_root]
    if not frozen:
        return []
    folders = [executable.parent]
    bundle = next((parent for parent in executable.parents if parent.suffix == ".app"), None)
    if platform == "darwin" and bundle is not None:
        folders.append(bundle.parent)
    return folders


def _recorded_sources(app_folder: Path) -> list[Path]:
    try:
        text = (app_folder / SOURCES_FILE).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []
    return [Path(line.strip()) for line in text.splitlines() if line.strip()]


def _default_media_roots(platform: str) -> list[Path]:
    if platform == "darwin":
        return [Path("/Volumes")]
    if platform.startswith("linux"):
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            return []
        return [Path("/media") / user, Path("/run/media") / user]
    return []


def _subfolders(root: Path) -> list[Path]:
    try:
        return sorted(entry for entry in root.iterdir() if entry.is_dir())
    except OSError:
        return []


def _candidates(folder: Path) -> Iterable[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name.lower())
    except OSError:
        return []
    return [entry for entry in entries if _is_first_gguf(entry) or _is_checkpoint_folder(entry)]


def _is_first_gguf(path: Path) -> bool:
    if not path.name.lower().endswith(".gguf") or not path.is_file():
        return False
    shard = _LATER_SHARD.search(path.name)
    if shard is not None and int(shard.group(1)) != 1:
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(len(GGUF_MAGIC)) == GGUF_MAGIC
    except OSError:
        return False


def _is_checkpoint_folder(path: Path) -> bool:
    if not path.is_dir() or not (path / "config.json").is_file():
        return False
    try:
        return any(entry.suffix == ".safetensors" for entry in path.iterdir())
    except OSError:
        return False
