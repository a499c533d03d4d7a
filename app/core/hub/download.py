"""Downloading a model from the hub into the library, as one job.

``plan_download`` refreshes the repository's catalog entry from the hub (one request, with
``app.core.hub.catalog.fetch_repo_entry``) to learn what it holds at its current commit, and decides
what to fetch: the GGUF of the requested (or recommended) quant type, a named file, or
every file of an original checkpoint. ``run_download`` checks the free disk space, fetches each
file resumably (``app.core.hub.http_transfer``), compares it with the hub's hash (SHA-256 for LFS
files, git's blob SHA-1 for small files), deletes it on a mismatch, and moves the verified result
into the library. A checkpoint is fetched file by file into a staging folder and enters the
library, as a folder, only when every file is verified.

A download is something the person asked for: it is allowed in the app's offline mode (see
``app.core.hub.client``). A dry run only plans, so it is not: in offline mode it makes no network
call at all and plans from what the app already knows (the hub's last listing in the catalog
cache, else the shipped catalog's names and estimated sizes), as it does when the hub cannot be
reached. Such a plan says so (``DownloadPlan.from_hub`` False) and cannot be carried out.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import get_hf_file_metadata

from app.core.errors import (
    ChecksumMismatchError,
    HubFileNotFoundError,
    HubUnreachableError,
    OfflineModeError,
    QuantNotAvailableError,
    UnverifiableFileError,
)
from app.core.hardware.fit import advise_for_repo
from app.core.hardware.machine import MachineInfo, detect_machine
from app.core.hub.catalog import Catalog, CatalogFile, CatalogRepo, RepoKind, fetch_repo_entry, load_catalog
from app.core.hub.client import HubConfig, network_blocked, translate_hub_errors
from app.core.hub.http_transfer import PartialFile, RemoteBytes, RetryPolicy, fetch_to_partial
from app.core.library.file_digest import git_blob_sha1
from app.core.library.model_library import Library, ModelEntry
from foundation.atomic import atomic_output
from foundation.disk_space import human_bytes, require_free_space
from foundation.jobs import CancelToken, JobCancelled, ProgressCallback, ignore_progress
from quant.formats import quant_type

_VERIFIED_STATE = ".verified.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class PlannedFile:
    """A file to fetch and the hash that verifies it (``sha256``, else ``git_blob_id``)."""

    filename: str
    size: int
    sha256: str | None
    git_blob_id: str | None


@dataclass(frozen=True)
class DownloadPlan:
    """What a download will do.

    ``repo``: the repository's catalog entry as the hub listed it for this plan (titles in both
    languages, every file with its size and hash); ``commit``: the commit the files are fetched
    at, the one they were listed at. ``from_hub`` False: a dry run's plan from what the app knew
    without asking the hub (``repo`` the catalog's entry, ``commit`` its last listed one or None,
    sizes perhaps estimates, hashes perhaps unknown); ``note`` then says why. ``name``: the
    model's name in the library (the GGUF's file name, or the repository's name for a
    checkpoint). ``resumable_bytes``: bytes already on disk from an interrupted attempt.
    ``build_space_bytes``: extra room kept free to build a quant from a checkpoint.
    ``existing``: the same model already in the library (nothing to download).
    """

    repo: CatalogRepo
    commit: str | None
    name: str
    files: tuple[PlannedFile, ...]
    staging_dir: Path
    resumable_bytes: int
    build_space_bytes: int
    endpoint: str
    existing: ModelEntry | None = None
    from_hub: bool = True
    note: str | None = None

    @property
    def repo_id(self) -> str:
        return self.repo.repo_id

    @property
    def kind(self) -> RepoKind:
        return self.repo.kind

    @property
    def total_bytes(self) -> int:
        return sum(file.size for file in self.files)

    @property
    def needed_disk_bytes(self) -> int:
        return self.total_bytes - self.resumable_bytes + self.build_space_bytes

    def describe(self) -> str:
        """One line for a person: what, how big, what is already there."""
        if self.existing is not None:
            return f"{self.name} is already in the library as {self.existing.id}"
        resumed = (f", resuming {human_bytes(self.resumable_bytes)} already downloaded"
                   if self.resumable_bytes else "")
        count = f"{len(self.files)} files, " if len(self.files) > 1 else ""
        at = f"@{self.commit[:12]}" if self.commit else ""
        about = "" if self.from_hub else "about "
        line = (f"{self.repo_id}{at}: {self.name} ({count}{about}"
                f"{human_bytes(self.total_bytes)}{resumed})")
        return line if self.note is None else f"{line}; {self.note}"


def plan_download(library: Library, config: HubConfig, *, repo_id: str | None = None,
                  quant: str | None = None, filename: str | None = None,
                  revision: str = "main", build_quant: str | None = None,
                  catalog: Catalog | None = None, machine: MachineInfo | None = None,
                  n_ctx: int = 8192, cache_file: Path | None = None,
                  dry_run: bool = False) -> DownloadPlan:
    """Decide what to download (one request to the hub; allowed in the app's offline mode).

    ``repo_id`` defaults to the catalog's GGUF repository. For a GGUF repository, ``filename``
    picks a file, else ``quant`` a quant type, else the type recommended for ``machine`` (probed
    when None) at ``n_ctx``. ``build_quant`` (checkpoint only) keeps room free to build that
    quant afterwards. The hub's file list is remembered in ``cache_file`` when given, and the
    plan's ``repo`` keeps everything ``catalog`` knows about the repository. Raises
    the HubError family, QuantNotAvailableError, UnverifiableFileError, OfflineModeError
    (HF_HUB_OFFLINE).

    ``dry_run``: only to show the plan. In offline mode (or under HF_HUB_OFFLINE) no network call
    is made, and a hub that cannot be reached is no error: the plan comes from ``catalog``
    (``from_hub`` False, see ``DownloadPlan``); OfflineModeError when ``catalog`` does not know
    ``repo_id``.
    """
    catalog = catalog or load_catalog()
    repo_id = repo_id or catalog.default_gguf_repo
    if dry_run:
        repo, note = _repo_for_dry_run(catalog, repo_id, config, cache_file, revision)
    else:
        repo, note = fetch_repo_entry(catalog, repo_id, config, cache_file=cache_file,
                                      revision=revision, explicit=True), None
    from_hub = note is None
    commit = repo.commit
    if repo.kind is RepoKind.GGUF:
        chosen = [_choose_gguf(repo, filename, quant, machine, n_ctx)]
        name = chosen[0].filename.rsplit("/", 1)[-1]
        staging = library.downloads_dir / _folder_name(repo_id)
    else:
        chosen = list(repo.files)
        name = repo_id.rsplit("/", 1)[-1]
        staging = library.downloads_dir / f"{_folder_name(repo_id)}@{(commit or 'unknown')[:12]}"
    if from_hub:
        assert commit is not None, "an entry fresh from the hub names its commit"
        files = tuple(_planned(config, repo_id, commit, file) for file in chosen)
    else:
        files = tuple(PlannedFile(file.filename, file.size_bytes or 0, file.sha256,
                                  file.git_blob_id) for file in chosen)
    build_space = _build_space(files, build_quant) if repo.kind is RepoKind.CHECKPOINT else 0
    existing = None
    if repo.kind is RepoKind.GGUF and files[0].sha256:
        existing = library.find_by_sha256(files[0].sha256)
    resumable = _resumable_bytes(staging, repo_id, commit, files) if commit else 0
    return DownloadPlan(repo=repo, commit=commit, name=name, files=files, staging_dir=staging,
                        resumable_bytes=resumable, build_space_bytes=build_space,
                        endpoint=config.endpoint, existing=existing, from_hub=from_hub,
                        note=note)


def _repo_for_dry_run(catalog: Catalog, repo_id: str, config: HubConfig,
                      cache_file: Path | None, revision: str) -> tuple[CatalogRepo, str | None]:
    """The repository's entry for a dry run, and None, or a note saying why it is not fresh
    from the hub; offline, without asking the hub."""
    reason = None
    if config.offline or network_blocked():
        reason = "offline mode is on, so the hub was not asked"
    else:
        try:
            return fetch_repo_entry(catalog, repo_id, config, cache_file=cache_file,
                                    revision=revision), None
        except HubUnreachableError:
            reason = f"{config.endpoint} could not be reached"
    known = catalog.repo(repo_id)
    if known is None:
        raise OfflineModeError(
            f"cannot plan a download of {repo_id}: {reason}, and the app has no listing of that "
            "repository yet; try again online"
        )
    if known.refreshed_at:
        listed = f"the hub's listing of {time.strftime('%Y-%m-%d', time.localtime(known.refreshed_at))}"
    else:
        listed = "the app's catalog (sizes are estimates)"
    return known, f"{reason}: planned from {listed}"


def check_disk_space(plan: DownloadPlan, library: Library) -> None:
    """NotEnoughDiskSpaceError unless the library's disk has room for what remains to be
    downloaded (and built)."""
    purpose = f"downloading {plan.name}"
    if plan.build_space_bytes:
        purpose += f" and building a quant from it ({human_bytes(plan.build_space_bytes)})"
    require_free_space(library.downloads_dir, plan.needed_disk_bytes, purpose)


def run_download(plan: DownloadPlan, library: Library, config: HubConfig, *,
                 on_progress: ProgressCallback = ignore_progress,
                 cancel: CancelToken | None = None, retry: RetryPolicy | None = None,
                 discard_partial_on_cancel: bool = False) -> ModelEntry:
    """Carry out ``plan`` and return the verified model's library entry.

    Raises NotEnoughDiskSpaceError (before any byte), JobCancelled (partials kept for a resume
    unless ``discard_partial_on_cancel``), DownloadInterruptedError (partials kept),
    ChecksumMismatchError (the bad file deleted), DownloadInProgressError, DiskFullError,
    the HubError family, ModelImportError (verified bytes that are not a valid model).
    """
    if plan.existing is not None:
        return plan.existing
    if not plan.from_hub:
        raise ValueError("a dry run's plan was not listed by the hub; plan again to download")
    check_disk_space(plan, library)
    source: dict[str, Any] = {"type": "hub", "repo": plan.repo_id, "revision": plan.commit,
                              "endpoint": plan.endpoint,
                              "files": [file.filename for file in plan.files]}
    try:
        if plan.kind is RepoKind.GGUF:
            return _download_gguf(plan, library, config, source, on_progress, cancel, retry)
        return _download_checkpoint(plan, library, config, source, on_progress, cancel, retry)
    except JobCancelled:
        if discard_partial_on_cancel:
            discard_partials(plan)
        raise


def discard_partials(plan: DownloadPlan) -> None:
    """Delete what an interrupted download of ``plan`` left in the download area."""
    if plan.kind is RepoKind.CHECKPOINT:
        shutil.rmtree(plan.staging_dir, ignore_errors=True)
        return
    partial = PartialFile(plan.staging_dir, _leaf(plan.files[0].filename))
    partial.discard()
    partial.forget_sidecar()


def _download_gguf(plan: DownloadPlan, library: Library, config: HubConfig,
                   source: dict[str, Any], on_progress: ProgressCallback,
                   cancel: CancelToken | None, retry: RetryPolicy | None) -> ModelEntry:
    file = plan.files[0]
    partial = PartialFile(plan.staging_dir, _leaf(file.filename))
    with partial.locked():
        sha256 = _fetch_verified(plan, config, file, partial, on_progress, cancel, retry, 0)
        entry = library.add_file(partial.path, source=source, sha256=sha256, name=plan.name)
    partial.forget_sidecar()
    return entry


def _download_checkpoint(plan: DownloadPlan, library: Library, config: HubConfig,
                         source: dict[str, Any], on_progress: ProgressCallback,
                         cancel: CancelToken | None, retry: RetryPolicy | None) -> ModelEntry:
    verified = _read_verified(plan.staging_dir)
    done = 0
    for file in plan.files:
        leaf = _leaf(file.filename)
        final_path = plan.staging_dir / leaf
        if leaf in verified and final_path.is_file() and final_path.stat().st_size == file.size:
            done += file.size
            continue
        partial = PartialFile(plan.staging_dir, leaf)
        with partial.locked():
            verified[leaf] = _fetch_verified(plan, config, file, partial, on_progress, cancel,
                                             retry, done)
            partial.path.replace(final_path)
            _write_verified(plan.staging_dir, verified)
        partial.forget_sidecar()
        done += file.size
    (plan.staging_dir / _VERIFIED_STATE).unlink(missing_ok=True)
    for pattern in ("*.part", "*.part.json", "*.part.lock"):
        for leftover in plan.staging_dir.glob(pattern):
            leftover.unlink(missing_ok=True)
    hashes = {_leaf(file.filename): verified[_leaf(file.filename)] for file in plan.files}
    return library.add_folder(plan.staging_dir, source=source, name=plan.name, hashes=hashes)


def _fetch_verified(plan: DownloadPlan, config: HubConfig, file: PlannedFile,
                    partial: PartialFile, on_progress: ProgressCallback,
                    cancel: CancelToken | None, retry: RetryPolicy | None, done_before: int) -> str:
    """Fetch one file into ``partial`` and check its hash; returns its SHA-256. A mismatch
    deletes the partial and raises ChecksumMismatchError."""
    assert plan.commit is not None, "run_download fetches only plans the hub listed (commit known)"
    remote = RemoteBytes(plan.repo_id, file.filename, plan.commit, file.size, file.sha256,
                         file.git_blob_id)
    url = config.file_url(plan.repo_id, file.filename, plan.commit)
    with translate_hub_errors(config, plan.repo_id):
        sha256 = fetch_to_partial(url, config.headers(), partial, remote,
                                  on_progress=on_progress, cancel=cancel, retry=retry,
                                  done_before=done_before, total=plan.total_bytes)
    if file.sha256 is not None:
        matches, expected, actual = sha256 == file.sha256, file.sha256, sha256
    else:
        actual = git_blob_sha1(partial.path)
        matches, expected = actual == file.git_blob_id, str(file.git_blob_id)
    if not matches:
        partial.discard()
        raise ChecksumMismatchError(
            f"{file.filename} from {plan.repo_id} arrived damaged: its hash is {actual[:16]}… "
            f"but the hub lists {expected[:16]}…; the file was deleted and nothing entered the "
            "library. Run the download again; if it fails again, the mirror may serve other "
            "bytes: try another endpoint"
        )
    return sha256


def _choose_gguf(repo: CatalogRepo, filename: str | None, quant: str | None,
                 machine: MachineInfo | None, n_ctx: int) -> CatalogFile:
    if filename is not None:
        for file in repo.files:
            if file.filename == filename or _leaf(file.filename) == filename:
                return file
        names = ", ".join(file.filename for file in repo.files) or "none"
        raise HubFileNotFoundError(f"{repo.repo_id} has no GGUF file {filename!r}; its GGUF "
                                   f"files: {names}")
    if quant is not None:
        return repo.quant_file(quant_type(quant))
    advice = advise_for_repo(machine or detect_machine(), repo, n_ctx)
    if advice.recommended is None:
        offered = ", ".join(q.label for q in repo.quant_types) or "no recognised quant types"
        raise QuantNotAvailableError(
            f"none of the quant types {repo.repo_id} offers ({offered}) fits this machine's memory "
            f"at a {n_ctx}-token context; choose one with --quant to download it anyway"
        )
    return repo.quant_file(advice.recommended)


def _planned(config: HubConfig, repo_id: str, commit: str, file: CatalogFile) -> PlannedFile:
    sha256, blob_id, size = file.sha256, file.git_blob_id, file.size_bytes
    if (sha256 is None and blob_id is None) or size is None:
        sha256, blob_id, size = _hashes_from_head(config, repo_id, commit, file.filename, size)
    if size is None or (sha256 is None and blob_id is None):
        raise UnverifiableFileError(
            f"the hub at {config.endpoint} gives no size or hash for {repo_id}/{file.filename}, "
            "so it could not be verified and is not downloaded; try another endpoint"
        )
    return PlannedFile(file.filename, size, sha256, blob_id)


def _hashes_from_head(config: HubConfig, repo_id: str, commit: str, filename: str,
                      size: int | None) -> tuple[str | None, str | None, int | None]:
    """A mirror whose file list lacks hashes still sends them as ETags (the SHA-256 of an LFS
    file, the git SHA-1 of a small one) on ``HEAD /resolve``."""
    with translate_hub_errors(config, repo_id):
        metadata = get_hf_file_metadata(config.file_url(repo_id, filename, commit),
                                        token=config.token, endpoint=config.endpoint)
    etag = (metadata.etag or "").lower()
    return (etag if _SHA256.match(etag) else None, etag if _GIT_SHA1.match(etag) else None,
            size if size is not None else metadata.size)


def _build_space(files: tuple[PlannedFile, ...], build_quant: str | None) -> int:
    """Room to build ``build_quant`` from the checkpoint: its BF16 GGUF (about the size of the
    safetensors) plus the quantized file."""
    if build_quant is None:
        return 0
    weights = sum(file.size for file in files if file.filename.endswith(".safetensors"))
    return weights + int(weights * quant_type(build_quant).bits_per_weight / 16)


def _resumable_bytes(staging: Path, repo_id: str, commit: str,
                     files: tuple[PlannedFile, ...]) -> int:
    verified = _read_verified(staging)
    total = 0
    for file in files:
        leaf = _leaf(file.filename)
        if leaf in verified and (staging / leaf).is_file():
            total += file.size
            continue
        remote = RemoteBytes(repo_id, file.filename, commit, file.size, file.sha256,
                             file.git_blob_id)
        total += PartialFile(staging, leaf).bytes_for(remote)
    return total


def _read_verified(staging: Path) -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((staging / _VERIFIED_STATE).read_text(encoding="utf-8"))
        if isinstance(state, dict):
            return {str(name): str(sha256) for name, sha256 in state.items()}
    return {}


def _write_verified(staging: Path, verified: dict[str, str]) -> None:
    with atomic_output(staging / _VERIFIED_STATE) as temp_path:
        temp_path.write_text(json.dumps(verified), encoding="utf-8")


def _folder_name(repo_id: str) -> str:
    return repo_id.replace("/", "--")


def _leaf(filename: str) -> str:
    return filename.rsplit("/", 1)[-1]
