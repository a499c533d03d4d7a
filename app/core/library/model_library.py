"""The model library: the one place that knows which model files exist and whether they are intact.

Layout under the library root::

    manifest.sqlite3      every model: path, source, quant type, size, sha256, verified time…
    models/<id>/          the library's own copies: a GGUF file, or a checkpoint's files
    downloads/            partial downloads, resumed on the next attempt

A model enters only verified: a download after its hash matched the hub's, an import after it
passed the GGUF or checkpoint checks and was hashed. Each file's size and modification time are
recorded when verified; a file that differs later is flagged ``changed`` (``missing`` when gone)
and ``path_for_use`` refuses it until ``verify`` hashed it again. An imported model can also be
*linked*: recorded where it lies, without a copy; removing it then forgets it but keeps the file.

Adding is crash-safe: the row is reserved first (state ``adding``), the files moved in, then the
row completed; an interrupted add shows as ``incomplete`` and ``remove`` clears it.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import (
    LibraryError,
    ModelChangedError,
    ModelImportError,
    UnknownModelError,
)
from app.core.hub.catalog import is_checkpoint_file
from app.core.installation.paths import app_paths
from app.core.library.file_digest import copy_with_sha256, sha256_file
from app.core.library.manifest import Manifest, ManifestRow
from app.core.library.model_facts import ModelFacts, checkpoint_facts, gguf_facts
from foundation.atomic import atomic_output
from foundation.closing import Closing
from foundation.disk_space import require_free_space
from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress
from quant.formats import QuantType, quant_type

MODELS_DIR = "models"
DOWNLOADS_DIR = "downloads"


class ModelKind(enum.Enum):
    GGUF = "gguf"
    CHECKPOINT = "checkpoint"


class ModelStatus(enum.Enum):
    """``OK``: as verified. ``MISSING``: a file is gone. ``CHANGED``: a file's size or time
    differs from when verified (run verify). ``CORRUPT``: verify found other bytes.
    ``INCOMPLETE``: adding it was interrupted."""

    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"
    CORRUPT = "corrupt"
    INCOMPLETE = "incomplete"


class ImportMode(enum.Enum):
    """``COPY`` into the library; ``MOVE`` into it (a rename on the same disk); ``LINK``: record
    the file where it is."""

    COPY = "copy"
    MOVE = "move"
    LINK = "link"


@dataclass(frozen=True)
class LibraryFile:
    """One file of a model as verified: ``name`` is relative to the model's folder (a GGUF's
    own file name, or a checkpoint file)."""

    name: str
    size_bytes: int
    sha256: str
    mtime_ns: int

    def as_record(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size_bytes, "sha256": self.sha256,
                "mtime_ns": self.mtime_ns}


@dataclass(frozen=True)
class ModelEntry:
    """One model of the library, with its status checked against the disk just now.

    ``path``: the GGUF file, or the checkpoint folder. ``sha256``: the GGUF's hash, or for a
    checkpoint the hash of its sorted ``sha256  name`` lines. ``quant_label``: ``Q4_K_M``…, or a
    checkpoint's ``BF16``. ``problem``: what is wrong when the status is not OK.
    """

    id: str
    kind: ModelKind
    name: str
    path: Path
    owned: bool
    status: ModelStatus
    problem: str | None
    source: dict[str, Any]
    quant_label: str | None
    size_bytes: int
    sha256: str
    files: tuple[LibraryFile, ...]
    verified_at: float | None
    architecture: str | None
    parameter_count: int | None
    context_length: int | None
    added_at: float

    @property
    def quant_type(self) -> QuantType | None:
        """The quant table's row, None for types outside it (or a checkpoint)."""
        if self.quant_label is None:
            return None
        try:
            return quant_type(self.quant_label)
        except KeyError:
            return None

    @property
    def source_label(self) -> str:
        kind = self.source.get("type")
        if kind == "hub":
            return f"hub {self.source.get('repo')}@{str(self.source.get('revision', ''))[:12]}"
        if kind == "import":
            return f"import ({self.source.get('mode')}) from {self.source.get('original_path')}"
        if kind == "build":
            return "local build"
        return str(kind)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of verifying one model: ``entry`` as it stands afterwards."""

    entry: ModelEntry
    ok: bool
    message: str


def model_id_for(name: str) -> str:
    """A short ASCII id from a file or folder name: ``Fin-R1.Q4_K_M.gguf`` → ``fin-r1-q4_k_m``;
    a name with no ASCII letters or digits gives ``model``."""
    stem = name[:-len(".gguf")] if name.lower().endswith(".gguf") else name
    ascii_name = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_name.lower()).strip("-_")
    return slug[:48].rstrip("-_") or "model"


def folder_digest(files: list[LibraryFile] | tuple[LibraryFile, ...]) -> str:
    """One hash for a folder: SHA-256 of its sorted ``sha256  name`` lines (sha256sum's format)."""
    lines = "".join(f"{file.sha256}  {file.name}\n" for file in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


class Library(Closing):
    """The library rooted at ``root`` (created when missing and ``create``; its missing parent
    folders too when ``create_parents``).

    Raises LibraryUnavailableError when the root cannot be reached, LibraryReadOnlyError on
    changes to a library on a read-only disk. Safe to use from several threads and processes.
    """

    def __init__(self, root: Path, *, create: bool = True, create_parents: bool = True) -> None:
        self.root = Path(root)
        self._manifest = Manifest(self.root, create=create, create_parents=create_parents)

    @classmethod
    def open_default(cls, location_setting: str | Path | None = None) -> Library:
        """The library where the location setting puts it, else in the app's data folder
        (``FINR1_HOME``, portable mode or the platform's). A chosen location is created only
        when its parent folder exists: a disk that is not connected is reported as such."""
        chosen = location_setting is not None and str(location_setting).strip() != ""
        return cls(app_paths().library_dir(location_setting), create_parents=not chosen)

    def close(self) -> None:
        self._manifest.close()

    @property
    def read_only(self) -> bool:
        return self._manifest.read_only

    @property
    def downloads_dir(self) -> Path:
        """Where partial downloads live (same disk as the models, so finishing is a rename)."""
        return self.root / DOWNLOADS_DIR

    # -- queries --------------------------------------------------------------------------------

    def models(self) -> list[ModelEntry]:
        """Every model, oldest first, each with its status checked on disk now."""
        return [self._entry(row) for row in self._manifest.rows()]

    def get(self, model_id: str) -> ModelEntry:
        row = self._manifest.row(model_id)
        if row is None:
            known = ", ".join(row.id for row in self._manifest.rows()) or "the library is empty"
            raise UnknownModelError(f"no model {model_id!r} in the library ({known}); see "
                                    "finr1 models list")
        return self._entry(row)

    def find_by_sha256(self, sha256: str) -> ModelEntry | None:
        """The oldest model in good order with this hash, if any (only the models recorded with
        it are checked on disk)."""
        rows = self._manifest.rows_with_sha256(sha256.lower())
        return next((entry for entry in map(self._entry, rows)
                     if entry.status is ModelStatus.OK), None)

    def path_for_use(self, model_id: str) -> Path:
        """The path to load, only if the model is as verified; ModelChangedError otherwise."""
        entry = self.get(model_id)
        if entry.status is not ModelStatus.OK:
            raise ModelChangedError(f"{entry.id} is not used: {entry.problem}")
        return entry.path

    # -- adding ---------------------------------------------------------------------------------

    def import_path(self, path: Path, mode: ImportMode = ImportMode.COPY, *,
                    on_progress: ProgressCallback = ignore_progress,
                    cancel: CancelToken | None = None) -> ModelEntry:
        """Import a ``.gguf`` file or a checkpoint folder.

        The GGUF is validated, the checkpoint checked (config, tokenizer, every shard), before
        anything is copied; the bytes are hashed while copied (or in place, before the rename,
        for MOVE on the same disk, and for LINK). A model already in the library with the same
        hash is returned as it is.
        Raises ModelImportError, NotEnoughDiskSpaceError, JobCancelled (nothing left behind),
        LibraryReadOnlyError.
        """
        path = Path(path).absolute()
        if path.is_dir():
            return self._import_folder(path, mode, on_progress, cancel)
        if not path.is_file():
            raise ModelImportError(f"{path} does not exist or is not a file or folder")
        facts = gguf_facts(path)
        if mode is ImportMode.LINK:
            sha256 = sha256_file(path, on_progress=on_progress, cancel=cancel, stage="hash")
            return self._record_linked(path, facts, sha256, _import_source(path, mode))
        if mode is ImportMode.COPY or not _same_disk(path, self.root):
            require_free_space(self.root, path.stat().st_size, f"importing {path.name}")

        def place(target: Path) -> str:
            if mode is ImportMode.MOVE and _same_disk(path, self.root):
                # hashed where it lies: a cancel or an error must not lose the person's file
                sha256 = sha256_file(path, on_progress=on_progress, cancel=cancel, stage="hash")
                os.replace(path, target)
                return sha256
            with atomic_output(target) as temp_path:
                sha256 = copy_with_sha256(path, temp_path, on_progress=on_progress,
                                          cancel=cancel)
            if mode is ImportMode.MOVE:
                path.unlink()
            return sha256

        return self._add_owned(path.name, facts, _import_source(path, mode), place)

    def add_file(self, staged_path: Path, *, source: dict[str, Any], sha256: str | None = None,
                 name: str | None = None, on_progress: ProgressCallback = ignore_progress,
                 cancel: CancelToken | None = None) -> ModelEntry:
        """Move a finished GGUF (a verified download, a local build) into the library by rename.

        ``sha256`` is the hash already checked by the caller; None hashes the file here.
        ``source`` records where it came from (``{"type": "hub", "repo", "revision", …}`` or
        ``{"type": "build", "inputs": …}``). ``staged_path`` should be on the library's disk
        (under ``downloads_dir``). Raises ModelImportError for an invalid GGUF.
        """
        staged_path = Path(staged_path)
        facts = gguf_facts(staged_path)
        known_hash = sha256

        def place(target: Path) -> str:
            os.replace(staged_path, target)
            return known_hash or sha256_file(target, on_progress=on_progress, cancel=cancel)

        return self._add_owned(name or staged_path.name, facts, source, place)

    def add_folder(self, staged_dir: Path, *, source: dict[str, Any], name: str,
                   hashes: dict[str, str]) -> ModelEntry:
        """Move a finished checkpoint folder (a verified download) into the library by rename.

        ``hashes`` maps each file name to the SHA-256 already checked. Raises ModelImportError
        when the folder is not a complete checkpoint.
        """
        staged_dir = Path(staged_dir)
        facts = checkpoint_facts(staged_dir)

        def place(target: Path) -> dict[str, str]:
            target.rmdir()
            os.replace(staged_dir, target)
            return hashes

        return self._add_owned(name, facts, source, place)

    def _import_folder(self, folder: Path, mode: ImportMode, on_progress: ProgressCallback,
                       cancel: CancelToken | None) -> ModelEntry:
        facts = checkpoint_facts(folder)
        names = sorted(child.name for child in folder.iterdir()
                       if child.is_file() and is_checkpoint_file(child.name))
        total = sum((folder / name).stat().st_size for name in names)
        source = _import_source(folder, mode)
        if mode is ImportMode.LINK:
            hashes = _hash_files(folder, names, on_progress, cancel)
            return self._record_linked(folder, facts, None, source, hashes)
        if mode is ImportMode.COPY or not _same_disk(folder, self.root):
            require_free_space(self.root, total, f"importing {folder.name}")

        def place(target: Path) -> dict[str, str]:
            if mode is ImportMode.MOVE and _same_disk(folder, self.root):
                hashes = _hash_files(folder, names, on_progress, cancel)  # before: see above
                target.rmdir()
                os.replace(folder, target)
                return hashes
            hashes = _copy_files(folder, target, names, total, on_progress, cancel)
            if mode is ImportMode.MOVE:
                shutil.rmtree(folder)
            return hashes

        return self._add_owned(folder.name, facts, source, place)

    def _add_owned(self, name: str, facts: ModelFacts, source: dict[str, Any],
                   place: Callable[[Path], str | dict[str, str]]) -> ModelEntry:
        """Reserve a row, let ``place(target)`` put the bytes at ``target`` and return their
        hash (a GGUF) or per-file hashes (a folder), then complete the row; undo on failure."""
        is_folder = facts.kind == ModelKind.CHECKPOINT.value
        row = self._manifest.insert_with_unique_id(
            _new_row(model_id_for(name), facts, name, "", True, source),
            path_for=lambda model_id: (f"{MODELS_DIR}/{model_id}" if is_folder
                                       else f"{MODELS_DIR}/{model_id}/{name}"),
        )
        model_dir = self.root / MODELS_DIR / row.id
        try:
            model_dir.mkdir(parents=True, exist_ok=True)
            placed = place(model_dir if is_folder else model_dir / name)
            files = (_stat_files(model_dir, placed) if isinstance(placed, dict)
                     else _stat_files(model_dir, {name: placed}))
            duplicate = self.find_by_sha256(_digest_of(files, is_folder))
            if duplicate is not None:
                raise _Duplicate(duplicate)
            self._complete(row.id, files, is_folder)
        except _Duplicate as duplicate:
            self._undo_add(row.id, model_dir)
            return duplicate.entry
        except BaseException:
            self._undo_add(row.id, model_dir)
            raise
        return self.get(row.id)

    def _record_linked(self, path: Path, facts: ModelFacts, sha256: str | None,
                       source: dict[str, Any], hashes: dict[str, str] | None = None
                       ) -> ModelEntry:
        folder = path if hashes is not None else path.parent
        files = _stat_files(folder, hashes if hashes is not None else {path.name: sha256 or ""})
        is_folder = hashes is not None
        existing = self.find_by_sha256(_digest_of(files, is_folder))
        if existing is not None:
            return existing
        row = self._manifest.insert_with_unique_id(
            _new_row(model_id_for(path.name), facts, path.name, str(path), False, source))
        self._complete(row.id, files, is_folder)
        return self.get(row.id)

    def _complete(self, model_id: str, files: list[LibraryFile], is_folder: bool) -> None:
        self._manifest.update(
            model_id, state="ready", files=[file.as_record() for file in files],
            sha256=_digest_of(files, is_folder), size_bytes=sum(f.size_bytes for f in files),
            verified_at=time.time())

    def _undo_add(self, model_id: str, model_dir: Path) -> None:
        shutil.rmtree(model_dir, ignore_errors=True)
        with contextlib.suppress(LibraryError):
            self._manifest.delete(model_id)

    # -- verify and remove ----------------------------------------------------------------------

    def verify(self, model_id: str | None = None, *,
               on_progress: ProgressCallback = ignore_progress,
               cancel: CancelToken | None = None) -> list[VerifyResult]:
        """Hash one model (or all) again and compare with the recorded hashes.

        A match re-stamps the files (clearing ``changed``); a mismatch marks the model
        ``corrupt``; a missing file is reported. On a read-only library the outcome is only
        reported, not recorded. Raises JobCancelled.
        """
        entries = [self.get(model_id)] if model_id is not None else self.models()
        return [self._verify_one(entry, on_progress, cancel) for entry in entries]

    def _verify_one(self, entry: ModelEntry, on_progress: ProgressCallback,
                    cancel: CancelToken | None) -> VerifyResult:
        if entry.status in (ModelStatus.MISSING, ModelStatus.INCOMPLETE):
            return VerifyResult(entry, False, entry.problem or entry.status.value)
        folder = entry.path if entry.kind is ModelKind.CHECKPOINT else entry.path.parent
        total = sum(file.size_bytes for file in entry.files)
        done = 0
        mismatched = []
        for recorded in entry.files:
            try:
                actual = sha256_file(folder / recorded.name, on_progress=on_progress,
                                     cancel=cancel, done_before=done, total=total)
            except FileNotFoundError:
                return VerifyResult(self.get(entry.id), False, f"{recorded.name} is missing")
            done += recorded.size_bytes
            if actual != recorded.sha256:
                mismatched.append(recorded.name)
        if mismatched:
            if not self.read_only:
                self._manifest.update(entry.id, state="corrupt")
            return VerifyResult(self.get(entry.id), False,
                                f"{', '.join(mismatched)} no longer match(es) the hash recorded "
                                "when it was verified; remove the model and download or import "
                                "it again")
        if self.read_only:
            return VerifyResult(entry, True, "intact (not recorded: the library is read-only)")
        files = _stat_files(folder, {file.name: file.sha256 for file in entry.files})
        self._manifest.update(entry.id, state="ready", files=[f.as_record() for f in files],
                              verified_at=time.time())
        return VerifyResult(self.get(entry.id), True, "intact")

    def remove(self, model_id: str) -> ModelEntry:
        """Forget a model; the library's own copy is deleted, a linked file is kept."""
        entry = self.get(model_id)
        self._manifest.delete(entry.id)
        if entry.owned:
            shutil.rmtree(self.root / MODELS_DIR / entry.id, ignore_errors=True)
        return entry

    # -- rows to entries ------------------------------------------------------------------------

    def _entry(self, row: ManifestRow) -> ModelEntry:
        path = self.root / row.path if row.owned else Path(row.path)
        files = tuple(LibraryFile(item["name"], item["size"], item["sha256"], item["mtime_ns"])
                      for item in row.files)
        kind = ModelKind(row.kind)
        status, problem = _status(row.state, kind, path, files)
        return ModelEntry(
            id=row.id, kind=kind, name=row.name, path=path, owned=row.owned, status=status,
            problem=problem, source=row.source, quant_label=row.quant_type,
            size_bytes=row.size_bytes, sha256=row.sha256, files=files,
            verified_at=row.verified_at, architecture=row.architecture,
            parameter_count=row.parameter_count, context_length=row.context_length,
            added_at=row.added_at,
        )


class _Duplicate(Exception):
    def __init__(self, entry: ModelEntry) -> None:
        super().__init__(entry.id)
        self.entry = entry


def _status(state: str, kind: ModelKind, path: Path,
            files: tuple[LibraryFile, ...]) -> tuple[ModelStatus, str | None]:
    if state == "adding":
        return ModelStatus.INCOMPLETE, ("adding it was interrupted; remove it and add it again")
    if state == "corrupt":
        return ModelStatus.CORRUPT, ("its bytes no longer match the hash recorded when it was "
                                     "verified; remove it and download or import it again")
    folder = path if kind is ModelKind.CHECKPOINT else path.parent
    for file in files:
        try:
            stat = (folder / file.name).stat()
        except OSError:
            return ModelStatus.MISSING, (f"{folder / file.name} is missing (deleted, moved, or "
                                         "its disk is not connected)")
        if stat.st_size != file.size_bytes or stat.st_mtime_ns != file.mtime_ns:
            return ModelStatus.CHANGED, (f"{folder / file.name} changed since it was verified; "
                                         "run finr1 models verify to check it")
    return ModelStatus.OK, None


def _new_row(model_id: str, facts: ModelFacts, name: str, path: str, owned: bool,
             source: dict[str, Any]) -> ManifestRow:
    return ManifestRow(
        id=model_id, kind=facts.kind, name=name, path=path, owned=owned, state="adding",
        source=source, quant_type=facts.quant_label, size_bytes=0, sha256="", files=[],
        verified_at=None, architecture=facts.architecture,
        parameter_count=facts.parameter_count, context_length=facts.context_length,
        added_at=time.time(),
    )


def _import_source(path: Path, mode: ImportMode) -> dict[str, Any]:
    return {"type": "import", "original_path": str(path), "mode": mode.value}


def _stat_files(folder: Path, hashes: dict[str, str]) -> list[LibraryFile]:
    files = []
    for name, sha256 in sorted(hashes.items()):
        stat = (folder / name).stat()
        files.append(LibraryFile(name, stat.st_size, sha256, stat.st_mtime_ns))
    return files


def _digest_of(files: list[LibraryFile], is_folder: bool) -> str:
    return folder_digest(files) if is_folder else files[0].sha256


def _hash_files(folder: Path, names: list[str], on_progress: ProgressCallback,
                cancel: CancelToken | None) -> dict[str, str]:
    total = sum((folder / name).stat().st_size for name in names)
    hashes: dict[str, str] = {}
    done = 0
    for name in names:
        hashes[name] = sha256_file(folder / name, on_progress=on_progress, cancel=cancel,
                                   stage="hash", done_before=done, total=total)
        done += (folder / name).stat().st_size
    return hashes


def _copy_files(source: Path, target: Path, names: list[str], total: int,
                on_progress: ProgressCallback, cancel: CancelToken | None) -> dict[str, str]:
    hashes: dict[str, str] = {}
    done = 0
    for name in names:
        size = (source / name).stat().st_size

        def report(progress: Progress, offset: int = done) -> None:
            on_progress(Progress(progress.stage, offset + progress.done, total, progress.unit,
                                 progress.message))

        with atomic_output(target / name) as temp_path:
            hashes[name] = copy_with_sha256(source / name, temp_path, on_progress=report,
                                            cancel=cancel)
        done += size
    return hashes


def _same_disk(path: Path, library_root: Path) -> bool:
    """Whether a rename can move ``path`` into the library."""
    with contextlib.suppress(OSError):
        return path.stat().st_dev == library_root.stat().st_dev
    return False

