"""A stand-in for the Hugging Face hub on 127.0.0.1, for download tests.

It implements what huggingface_hub (2.x) and the app's downloader call:

- ``GET /api/models/{repo}[/revision/{rev}][?blobs=True]``: the model info, with ``sha`` (the
  commit) and ``siblings`` (``rfilename``, ``size``, ``blobId`` and, for LFS files, ``lfs`` with
  ``sha256``/``size``/``pointerSize``).
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: a small file is answered directly with ``ETag``
  (its git blob SHA-1), ``X-Repo-Commit`` and ``Content-Length``; an LFS file is redirected (302)
  to a separate "CDN" server (another origin, as on the real hub) with ``X-Linked-Etag`` (its
  SHA-256), ``X-Linked-Size`` and ``X-Repo-Commit``.
- ``GET /{sha256}`` on the CDN: the bytes, honouring ``Range: bytes=N-`` with ``206`` and
  ``Content-Range``.
- Errors as the hub sends them: 401 + ``X-Error-Code: GatedRepo`` without the token of a gated
  repository, 404 + ``RepoNotFound``/``RevisionNotFound``/``EntryNotFound``.

Faults can be injected per file: drop the connection after N bytes, answer with a status code,
serve other bytes than advertised, or slow the transfer down. Every request is logged
(``hub.log``) with the range asked for and the body bytes actually sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

LFS_MIN_BYTES = 1024  # larger files, and every .gguf/.safetensors, are stored in LFS
_SEND_CHUNK = 64 * 1024


def git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass
class HubFile:
    path: str
    content: bytes

    @property
    def is_lfs(self) -> bool:
        return len(self.content) >= LFS_MIN_BYTES or self.path.endswith((".gguf", ".safetensors"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def blob_id(self) -> str:
        # An LFS file's git blob is its pointer file; its id differs from the content's.
        return git_blob_sha1(self.pointer() if self.is_lfs else self.content)

    def pointer(self) -> bytes:
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
                f"size {len(self.content)}\n").encode()


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    commit: str
    token: str | None = None  # set: the repository is gated and needs this token


@dataclass
class Fault:
    """What to do to the next ``times`` GETs of one file's bytes."""

    drop_after_bytes: int | None = None
    status: int | None = None
    corrupt: bool = False
    times: int = 1


@dataclass
class LogRecord:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    range: str | None
    status: int
    bytes_sent: int = 0
    authorization: bool = False


@dataclass
class _State:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    by_sha256: dict[str, HubFile] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    log: list[LogRecord] = field(default_factory=list)
    bytes_per_second: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class LocalHub:
    """The hub (``endpoint``) and its CDN, each a ThreadingHTTPServer on 127.0.0.1."""

    def __init__(self) -> None:
        self._state = _State()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self._state, self, "hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self._state, self, "cdn"))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
        self._threads = [threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
                         for server in (self._hub, self._cdn)]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def start(self) -> LocalHub:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    # -- content --------------------------------------------------------------------------------

    def add_repo(self, repo_id: str, files: dict[str, bytes], token: str | None = None) -> HubRepo:
        """Publish (or replace) a repository; its commit id is derived from its content."""
        hub_files = {path: HubFile(path, content) for path, content in files.items()}
        commit = hashlib.sha1(repr(sorted((p, f.sha256) for p, f in hub_files.items())).encode(),
                              usedforsecurity=False).hexdigest()
        repo = HubRepo(repo_id, hub_files, commit, token)
        with self._state.lock:
            self._state.repos[repo_id] = repo
            for hub_file in hub_files.values():
                self._state.by_sha256[hub_file.sha256] = hub_file
        return repo

    def repo(self, repo_id: str) -> HubRepo:
        return self._state.repos[repo_id]

    # -- faults and observation -----------------------------------------------------------------

    def inject(self, path: str, fault: Fault) -> None:
        """Apply ``fault`` to the next GETs of the bytes of ``path`` (in any repository)."""
        with self._state.lock:
            self._state.faults.setdefault(path, []).append(fault)

    def throttle(self, bytes_per_second: float | None) -> None:
        self._state.bytes_per_second = bytes_per_second

    @contextlib.contextmanager
    def answers_held(self) -> Iterator[None]:
        """While the block runs, every request waits (the hub answers nothing): to act in the
        window before an answer arrives."""
        with self._state.lock:
            yield

    @property
    def log(self) -> list[LogRecord]:
        with self._state.lock:
            return list(self._state.log)

    def clear_log(self) -> None:
        with self._state.lock:
            self._state.log.clear()

    def content_gets(self, path: str) -> list[LogRecord]:
        """The GETs that carried (or would have carried) the bytes of ``path``."""
        sha_paths = {f"/{hub_file.sha256}" for repo in self._state.repos.values()
                     for name, hub_file in repo.files.items() if name == path}
        return [record for record in self.log if record.method == "GET"
                and (record.path in sha_paths or record.path.endswith("/" + quote(path)))]

    def take_fault(self, path: str) -> Fault | None:
        with self._state.lock:
            queue = self._state.faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/?]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _handler_class(state: _State, hub: LocalHub, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            """Quiet: the hub keeps its own log."""

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        # -- routing ----------------------------------------------------------------------------

        def _dispatch(self, head: bool) -> None:
            self._record = LogRecord(role, self.command, urlsplit(self.path).path,
                                     self.headers.get("Range"), 0,
                                     authorization="Authorization" in self.headers)
            with state.lock:
                state.log.append(self._record)
            try:
                if role == "cdn":
                    self._cdn(head)
                else:
                    self._hub(head)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _hub(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            api = _API.match(path)
            if api:
                repo = self._repo(api.group("repo"), api.group("rev") or "main")
                if repo is not None:
                    self._send_json(self._model_info(repo))
                return
            resolve = _RESOLVE.match(path)
            if resolve is None:
                self._error(404, "RepoNotFound", "no such route")
                return
            repo = self._repo(resolve.group("repo"), resolve.group("rev"))
            if repo is None:
                return
            hub_file = repo.files.get(resolve.group("path"))
            if hub_file is None:
                self._error(404, "EntryNotFound", "no such file")
                return
            self._resolve(repo, hub_file, head)

        def _repo(self, repo_id: str, revision: str) -> HubRepo | None:
            repo = state.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            if repo.token is not None and \
                    self.headers.get("Authorization") != f"Bearer {repo.token}":
                self._error(401, "GatedRepo", "Access to this repository is restricted")
                return None
            if revision not in ("main", repo.commit):
                self._error(404, "RevisionNotFound", "Invalid rev id")
                return None
            return repo

        def _model_info(self, repo: HubRepo) -> dict[str, object]:
            blobs = "blobs=true" in urlsplit(self.path).query.lower()
            siblings = []
            for hub_file in repo.files.values():
                sibling: dict[str, object] = {"rfilename": hub_file.path}
                if blobs:
                    sibling["blobId"] = hub_file.blob_id
                    sibling["size"] = len(hub_file.content)
                    if hub_file.is_lfs:
                        sibling["lfs"] = {"sha256": hub_file.sha256,
                                          "size": len(hub_file.content),
                                          "pointerSize": len(hub_file.pointer())}
                siblings.append(sibling)
            return {"_id": repo.commit[:24], "id": repo.repo_id, "modelId": repo.repo_id,
                    "sha": repo.commit, "private": False, "gated": bool(repo.token),
                    "siblings": siblings}

        def _resolve(self, repo: HubRepo, hub_file: HubFile, head: bool) -> None:
            common = {"X-Repo-Commit": repo.commit}
            if hub_file.is_lfs:
                self._record.status = 302
                self.send_response(302)
                for name, value in {
                    **common,
                    "Location": f"{hub.cdn_endpoint}/{hub_file.sha256}",
                    "X-Linked-Etag": f'"{hub_file.sha256}"',
                    "X-Linked-Size": str(len(hub_file.content)),
                    "ETag": f'"{hub_file.blob_id}"',
                    "Content-Length": "0",
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                return
            self._send_bytes(hub_file, head, {**common, "ETag": f'"{hub_file.blob_id}"'})

        def _cdn(self, head: bool) -> None:
            sha256 = urlsplit(self.path).path.strip("/")
            hub_file = state.by_sha256.get(sha256)
            if hub_file is None:
                self._error(404, "EntryNotFound", "no such object")
                return
            self._send_bytes(hub_file, head, {"ETag": f'"{sha256}"'})

        # -- answers ----------------------------------------------------------------------------

        def _send_bytes(self, hub_file: HubFile, head: bool, headers: dict[str, str]) -> None:
            fault = None if head else hub.take_fault(hub_file.path)
            if fault is not None and fault.status is not None:
                self._error(fault.status, "Injected", "injected failure")
                return
            content = hub_file.content
            if fault is not None and fault.corrupt:
                content = bytes([content[0] ^ 0xFF]) + content[1:]
            start, end = 0, len(content)
            status = 200
            requested = self.headers.get("Range")
            if requested:
                match = _RANGE.match(requested)
                if match is None or int(match.group(1)) >= len(content):
                    self._error(416, "RangeNotSatisfiable", "bad range")
                    return
                start = int(match.group(1))
                end = int(match.group(2)) + 1 if match.group(2) else len(content)
                status = 206
            self._record.status = status
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(content)}")
            self.end_headers()
            if head:
                return
            limit = end if fault is None or fault.drop_after_bytes is None \
                else min(end, start + fault.drop_after_bytes)
            self._write_body(content, start, limit)
            if limit < end:
                self.close_connection = True
                self.connection.shutdown(2)

        def _write_body(self, content: bytes, start: int, end: int) -> None:
            position = start
            while position < end:
                chunk = content[position:min(end, position + _SEND_CHUNK)]
                self.wfile.write(chunk)
                self.wfile.flush()
                position += len(chunk)
                with state.lock:
                    self._record.bytes_sent += len(chunk)
                if state.bytes_per_second:
                    time.sleep(len(chunk) / state.bytes_per_second)

        def _send_json(self, document: dict[str, object]) -> None:
            body = json.dumps(document).encode()
            self._record.status = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"error": message}).encode()
            self._record.status = status
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler
