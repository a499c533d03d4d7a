"""Moving one file's bytes from the hub to disk so that any interruption can be resumed.

huggingface_hub's own downloader gives its partial file a random name per process and does not
check SHA-256, so a killed process starts over and a damaged file goes unnoticed. Here each file
has a stable partial, ``<name>.part``, beside a small JSON sidecar saying what it is a part of
(repository, commit, size, hashes). The next attempt, in this process or another, checks the
sidecar, re-hashes the bytes already there and asks the server only for the rest with an HTTP
``Range`` request. Network drops, timeouts, 429 and 5xx answers are retried with exponential
backoff (reset whenever bytes arrive); a lock file keeps two processes off the same partial.

The bytes travel through huggingface_hub's HTTP session (its proxy settings, user agent and
offline switch apply); the caller gives the URL and headers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import filelock
import httpx2
from huggingface_hub import get_session

from app.core.errors import (
    DownloadError,
    DownloadInProgressError,
    DownloadInterruptedError,
    HubAccessError,
    HubFileNotFoundError,
)
from app.core.library.file_digest import update_from_file
from foundation.errors import raise_if_disk_full
from foundation.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, ignore_progress

_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_TIMEOUT = httpx2.Timeout(connect=20.0, read=60.0, write=60.0, pool=20.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Failed attempts in a row that are tolerated (any received byte resets the count), and the
    backoff between them: ``base_delay_s`` doubling up to ``max_delay_s``."""

    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay_s(self, failures: int) -> float:
        return min(self.max_delay_s, self.base_delay_s * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class RemoteBytes:
    """What a partial file is a part of; stored in its sidecar. On resume only the content's
    identity counts (name, size, hashes): another mirror or a newer commit that left the file
    as it was still resumes."""

    repo_id: str
    filename: str
    commit: str
    size: int
    sha256: str | None
    git_blob_id: str | None

    def identity(self) -> tuple[object, ...]:
        return (self.filename, self.size, self.sha256, self.git_blob_id)


class PartialFile:
    """``<directory>/<name>.part``, its sidecar ``.part.json`` and lock ``.part.lock``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"{name}.part"
        self.sidecar_path = self.directory / f"{name}.part.json"
        self.lock_path = self.directory / f"{name}.part.lock"

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def bytes_for(self, remote: RemoteBytes) -> int:
        """Bytes already on disk that belong to ``remote`` (0 when the partial is of something
        else, or has no sidecar)."""
        recorded = self._read_sidecar()
        if recorded is None or recorded.identity() != remote.identity():
            return 0
        return min(self.size, remote.size)

    def start(self, remote: RemoteBytes) -> int:
        """Make the partial ``remote``'s: keep matching bytes (returns their count) or begin
        afresh with an empty file. A partial longer than the file is cut to the file size."""
        self.directory.mkdir(parents=True, exist_ok=True)
        kept = self.bytes_for(remote)
        if kept == 0:
            self.path.write_bytes(b"")
            self.sidecar_path.write_text(json.dumps(asdict(remote)), encoding="utf-8")
        elif self.size > remote.size:
            os.truncate(self.path, remote.size)
        return kept

    def discard(self) -> None:
        for path in (self.path, self.sidecar_path):
            path.unlink(missing_ok=True)

    def forget_sidecar(self) -> None:
        self.sidecar_path.unlink(missing_ok=True)
        self.lock_path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[PartialFile]:
        """Hold the partial's lock; DownloadInProgressError when another process holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.lock_path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DownloadInProgressError(
                f"{self.path.name.removesuffix('.part')} is being downloaded by another Fin-R1 "
                "Studio process right now; wait for it to finish"
            ) from None
        try:
            yield self
        finally:
            lock.release()

    def _read_sidecar(self) -> RemoteBytes | None:
        try:
            return RemoteBytes(**json.loads(self.sidecar_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


@dataclass
class _Attempt:
    """Running state of one transfer across its attempts."""

    digest: hashlib._Hash
    offset: int


def fetch_to_partial(url: str, headers: dict[str, str], partial: PartialFile,
                     remote: RemoteBytes, *, on_progress: ProgressCallback = ignore_progress,
                     cancel: CancelToken | None = None, retry: RetryPolicy | None = None,
                     done_before: int = 0, total: int | None = None) -> str:
    """Download ``remote`` from ``url`` into ``partial``, resuming what is there; returns the
    SHA-256 of the complete partial (the caller compares it with the hub's hash).

    Call with the partial's lock held. Progress is ``Progress("download", done_before + bytes,
    total or remote.size, "bytes", filename)``. Raises JobCancelled (the partial is kept for a
    later resume), DownloadInterruptedError (retries exhausted; kept), DiskFullError (kept),
    HubAccessError / HubFileNotFoundError / DownloadError for answers a retry cannot fix.
    """
    retry = retry or RetryPolicy()
    total = total if total is not None else remote.size
    cancel = cancel or CancelToken()
    state = _Attempt(hashlib.sha256(), partial.start(remote))
    if state.offset:
        update_from_file(state.digest, partial.path, on_progress=on_progress, cancel=cancel,
                         stage="check partial", done_before=done_before, total=total)
    failures = 0
    while state.offset < remote.size:
        cancel.raise_if_cancelled("download")
        before = state.offset
        try:
            _one_request(url, headers, partial, remote, state, on_progress, cancel,
                         done_before, total)
            if state.offset < remote.size:
                raise _Transient(f"the server ended the answer after {state.offset} of "
                                 f"{remote.size} bytes")
        except (httpx2.TransportError, _Transient) as error:
            failures = 1 if state.offset > before else failures + 1
            if failures >= retry.max_attempts:
                raise DownloadInterruptedError(
                    f"downloading {remote.filename} failed {failures} times in a row "
                    f"({_describe(error)}); {state.offset} of {remote.size} bytes are kept and "
                    "the next attempt resumes from there"
                ) from error
            if cancel.wait(retry.delay_s(failures)):
                raise JobCancelled("download") from None
    return state.digest.hexdigest()


class _Transient(Exception):
    """A failure worth retrying that is not a transport error (status 5xx, short answer)."""


class _RangeRefused(_Transient):
    """The server cannot serve the rest of the partial: the next attempt starts over."""


def _one_request(url: str, headers: dict[str, str], partial: PartialFile, remote: RemoteBytes,
                 state: _Attempt, on_progress: ProgressCallback, cancel: CancelToken,
                 done_before: int, total: int) -> None:
    request_headers = {**headers, "Accept-Encoding": "identity"}
    if state.offset:
        request_headers["Range"] = f"bytes={state.offset}-"
    with get_session().stream("GET", url, headers=request_headers, timeout=_TIMEOUT,
                              follow_redirects=True) as response:
        try:
            _check_status(response, remote, state.offset)
        except _RangeRefused:
            os.truncate(partial.path, 0)
            state.digest, state.offset = hashlib.sha256(), 0
            raise
        if state.offset and response.status_code != 206:
            # The server ignored the range: the answer starts at byte 0.
            os.truncate(partial.path, 0)
            state.digest, state.offset = hashlib.sha256(), 0
        elif state.offset and not _range_starts_at(response, state.offset):
            raise _Transient(f"the server answered range {response.headers.get('Content-Range')}"
                             f" for bytes={state.offset}-")
        try:
            with open(partial.path, "r+b") as handle:
                handle.seek(state.offset)
                # No chunk size: a re-chunking buffer would lose what it holds when the
                # connection drops, and those bytes would be fetched again.
                for chunk in response.iter_bytes():
                    cancel.raise_if_cancelled("download")
                    if state.offset + len(chunk) > remote.size:
                        raise DownloadError(
                            f"the server sent more than the {remote.size} bytes of "
                            f"{remote.filename}; the mirror may be serving another file"
                        )
                    handle.write(chunk)
                    state.digest.update(chunk)
                    state.offset += len(chunk)
                    on_progress(Progress("download", done_before + state.offset, total, "bytes",
                                         remote.filename))
        except OSError as error:
            raise_if_disk_full(error, f"the disk holding {partial.directory} is full after "
                                      f"{state.offset} bytes of {remote.filename}; free some "
                                      "space and run the download again to resume")
            raise


def _check_status(response: httpx2.Response, remote: RemoteBytes, offset: int) -> None:
    status = response.status_code
    if status in (200, 206):
        return
    if status == 416:
        raise _RangeRefused(f"the server refused the range bytes={offset}-")
    if status in _RETRY_STATUS:
        raise _Transient(f"the server answered HTTP {status}")
    if status in (401, 403):
        raise HubAccessError(f"the hub refused {remote.filename} (HTTP {status}): the repository "
                             "may be gated or private; pass a valid token")
    if status == 404:
        raise HubFileNotFoundError(f"{remote.repo_id} has no {remote.filename} at commit "
                                   f"{remote.commit[:12]} (HTTP 404)")
    raise DownloadError(f"the hub answered HTTP {status} for {remote.filename}")


def _range_starts_at(response: httpx2.Response, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    return content_range.startswith(f"bytes {offset}-")


def _describe(error: BaseException) -> str:
    """A failure in words for the person: our own messages as they are; a network error with
    its kind (ConnectError, ReadTimeout…), which is what one searches for."""
    if isinstance(error, _Transient):
        return str(error)
    return f"network error, {type(error).__name__}: {error}" if str(error) \
        else f"network error, {type(error).__name__}"
