"""Turning a document file into text, in a child process under time and memory limits.

``extract_document(path)`` reads a PDF, Word (.docx), Excel (.xlsx), CSV, plain text, Markdown or
HTML file and returns its text in parts (``DocumentText``: pages, sheets, sections) for a person
to review, select and edit before it goes into a scenario field like typed text.

Why a child process. A document comes from outside: a damaged or hostile file can make a parser
loop, recurse, or allocate without end (a 1 MB PDF whose content stream inflates to gigabytes, a
small XLSX that unzips to gigabytes), and PDFium is native code that aborts the whole process when
an allocation fails. In the child (``app.core.documents.extract_child``) the kernel caps memory
and CPU time, and here the parent kills it when ``ExtractionLimits.time_s`` is up or when the
caller cancels; whatever the file does, the caller gets a ``DocumentError`` with a sentence, and
its own thread only waits on a queue. Each document gets a fresh child, so nothing one file did
stays for the next. The cost: an interpreter start and the reader's import, a few hundred
milliseconds (``bench/extract.py`` measures it).

Errors (``app.core.errors``): ``UnsupportedDocumentError`` (an extension the app does not read),
``DocumentReadError`` (missing, a folder, no permission), ``DocumentFormatError`` (not what its
extension says, damaged, password-protected), ``DocumentSelectionError`` (pages or sheets not in
the document, or a selection its type does not have), ``DocumentLimitError`` (time, memory,
size), and ``JobCancelled`` when cancelled. Files are only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.core.documents.collector import PART_UNITS, ExtractRequest
from app.core.documents.extract_child import CHILD_MODULE
from app.core.documents.parts import DocumentText, PartKind
from app.core.errors import (
    DocumentError,
    DocumentFormatError,
    DocumentLimitError,
    DocumentReadError,
    DocumentSelectionError,
    UnsupportedDocumentError,
)
from app.core.templates.template_child import FrameError, read_frame, write_frame
from foundation.jobs import CancelToken, Progress, ProgressCallback
from foundation.processes import python_child_environment

STAGE = "extract"
JOB_NAME = "document extraction"

# extension → kind, and what the kind is called in messages
DOCUMENT_KINDS = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".csv": "csv",
                  ".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                  ".htm": "html"}
KIND_NAMES = {"pdf": "a PDF", "docx": "a Word document", "xlsx": "an Excel workbook",
              "csv": "a CSV table", "text": "a text file", "markdown": "a Markdown document",
              "html": "an HTML page"}
# the part each kind is split into (progress units, messages)
KIND_PARTS: dict[str, PartKind] = {
    "pdf": "page", "docx": "section", "xlsx": "sheet", "csv": "sheet", "text": "section",
    "markdown": "section", "html": "section"}

_POLL_INTERVAL_S = 0.05
_READER_EXIT_GRACE_S = 10.0
_STDERR_TAIL_BYTES = 2048
_REPLY_BYTES_PER_CHAR = 6  # JSON writes a control character as \u00XX
_REPLY_SLACK_BYTES = 16 * 1024 * 1024  # labels and the JSON around each part
_CHILD_GONE = object()
# how the kernel ends a child past its CPU time (RLIMIT_CPU: the soft limit, then the hard one)
_CPU_LIMIT_SIGNALS = {getattr(signal, name) for name in ("SIGXCPU", "SIGKILL")
                      if hasattr(signal, name)}


@dataclass(frozen=True)
class ExtractionLimits:
    """How far one extraction may go.

    ``time_s``: wall-clock seconds from the child's start to its reply (its interpreter start
    included). ``memory_bytes``: the child's address space (POSIX only; its interpreter and the
    reader library take about 50 MB of it). ``max_chars``: the most text kept; extraction stops
    there, with a note (not an error: the person selects fewer parts). The defaults read a
    2,000-page report in seconds, and hold far more text than any model's context.
    """

    time_s: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024
    max_chars: int = 2_000_000


DEFAULT_LIMITS = ExtractionLimits()


def document_kind(path: Path) -> str:
    """The kind of document ``path`` is by its extension (``DOCUMENT_KINDS``); raises
    ``UnsupportedDocumentError`` listing the extensions the app reads."""
    kind = DOCUMENT_KINDS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(DOCUMENT_KINDS))
        raise UnsupportedDocumentError(
            f"{path.name}: the app reads documents with these extensions: {known}. Save the "
            "document in one of these formats and attach it again.")
    return kind


def extract_document(path: Path, *, pages: Sequence[int] | None = None,
                     sheets: Sequence[str] | None = None,
                     limits: ExtractionLimits = DEFAULT_LIMITS,
                     on_progress: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> DocumentText:
    """The text of the document at ``path`` (see the module docstring), read in a child process.

    ``pages``: the 1-based page numbers of a PDF to read (None: every page). ``sheets``: the
    names of an Excel workbook's sheets to read (None: every sheet); parts come in document
    order whatever the order asked. ``on_progress`` gets ``Progress("extract", done, total,
    unit, file name)`` after each part, on the calling thread; ``cancel`` stops the child at once.
    Raises the errors listed in the module docstring; never leaves a child running.
    """
    kind = document_kind(path)
    _check_selection(path.name, kind, pages, sheets)
    _check_readable(path)
    request = ExtractRequest(
        path=str(path.resolve()), kind=kind,
        pages=tuple(sorted(set(pages))) if pages is not None else None,
        sheets=tuple(sheets) if sheets is not None else None,
        max_chars=limits.max_chars, memory_bytes=limits.memory_bytes,
        # the kernel's own stop, a second past the parent's: it acts even if the parent died
        cpu_seconds=math.ceil(limits.time_s) + 1)
    unit = PART_UNITS[KIND_PARTS[kind]]
    with _ChildRun(request, limits) as run:
        return run.follow(unit, on_progress, cancel)


def _check_selection(name: str, kind: str, pages: Sequence[int] | None,
                     sheets: Sequence[str] | None) -> None:
    what = KIND_NAMES[kind]
    if pages is not None:
        if kind != "pdf":
            raise DocumentSelectionError(
                f"{name} is {what}, which has no pages; pages can be chosen in a PDF. "
                "Choose its parts after extraction instead.")
        if not pages or min(pages) < 1:
            raise DocumentSelectionError(f"choose pages of {name} by their numbers, from 1.")
    if sheets is not None:
        if kind != "xlsx":
            raise DocumentSelectionError(
                f"{name} is {what}, which has no sheets; sheets can be chosen in an Excel "
                "workbook (.xlsx).")
        if not sheets:
            raise DocumentSelectionError(f"choose at least one sheet of {name}.")


def _check_readable(path: Path) -> None:
    if path.is_dir():
        raise DocumentReadError(f"{path} is a folder; attach a document file.")
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError as error:
        raise DocumentReadError(f"{path} does not exist; check the name and the folder.") \
            from error
    except OSError as error:
        raise DocumentReadError(f"{path} cannot be opened ({error.strerror}); check that you "
                                "may read it.") from error


class _ChildRun:
    """One child process reading one document, and the thread that reads its frames.

    Used as a context manager: leaving it kills the child if it still runs, lets the reader
    thread see the end of the child's output, and closes everything.
    """

    def __init__(self, request: ExtractRequest, limits: ExtractionLimits) -> None:
        self._request = request
        self._limits = limits
        self._reply_limit = limits.max_chars * _REPLY_BYTES_PER_CHAR + _REPLY_SLACK_BYTES
        self._messages: queue.Queue[object] = queue.Queue()
        self._stderr: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115 - closed in __exit__
            prefix="finr1-extract-", suffix=".log")
        self._started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr, env=python_child_environment(),
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as error:
            self._stderr.close()
            raise DocumentError(f"the document reader could not start ({error}); reinstall the "
                                "app if this persists.") from error
        self._reader = threading.Thread(target=self._read, name="extract-child-reader",
                                        daemon=True)
        self._reader.start()

    def __enter__(self) -> _ChildRun:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        # the dead child's end of the pipe is closed, so the reader sees the end at once; one
        # still blocked (a process that inherited the pipe) keeps the pipe open
        self._reader.join(_READER_EXIT_GRACE_S)
        streams = [self._process.stdin, self._stderr]
        if not self._reader.is_alive():
            streams.append(self._process.stdout)
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _read(self) -> None:
        assert self._process.stdout is not None
        try:
            while (frame := read_frame(self._process.stdout, self._reply_limit)) is not None:
                self._messages.put(frame)
        except (FrameError, OSError):
            pass  # a child that writes nonsense is treated as gone
        finally:
            self._messages.put(_CHILD_GONE)

    def follow(self, unit: str, on_progress: ProgressCallback | None,
               cancel: CancelToken | None) -> DocumentText:
        """Send the request and relay the child's frames until its reply; see
        ``extract_document``."""
        self._send_request()
        deadline = self._started + self._limits.time_s
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled(JOB_NAME)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DocumentLimitError(self._sentence_for_time())
            try:
                message = self._messages.get(timeout=min(_POLL_INTERVAL_S, remaining))
            except queue.Empty:
                continue
            if message is _CHILD_GONE:
                raise self._error_for_ending()
            assert isinstance(message, dict)
            if "progress" in message:
                if on_progress is not None:
                    done, total = _progress_counts(message["progress"])
                    on_progress(Progress(STAGE, done, total, unit, self._request.file_name))
                continue
            return self._reply(message)

    def _send_request(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # a child dead at once: its ending says why
            write_frame(self._process.stdin, self._request.to_dict())
            self._process.stdin.close()

    def _reply(self, message: dict[str, Any]) -> DocumentText:
        if "result" in message:
            try:
                return DocumentText.from_dict(message["result"])
            except ValueError as error:
                raise DocumentError(f"the document reader sent a malformed reply for "
                                    f"{self._request.file_name} ({error})") from error
        kind, sentence = message.get("error"), str(message.get("message", ""))
        if kind == "memory":
            raise DocumentLimitError(self._sentence_for_memory())
        error_class = {"format": DocumentFormatError, "selection": DocumentSelectionError,
                       "limit": DocumentLimitError, "unreadable": DocumentReadError}
        raise error_class.get(str(kind), DocumentError)(sentence)

    def _error_for_ending(self) -> DocumentError:
        """The error for a child that ended without a reply: killed by the kernel's CPU limit,
        crashed (most often an allocation past the memory limit in native code), or exited."""
        status = self._process.wait()
        tail = self._stderr_tail()
        if status < 0 and -status in _CPU_LIMIT_SIGNALS:
            return DocumentLimitError(self._sentence_for_time())
        if status < 0 or "MemoryError" in tail:
            return DocumentLimitError(self._sentence_for_memory(
                f" (its reader ended with {_signal_name(-status)})" if status < 0 else ""))
        last_line = tail.strip().splitlines()[-1:] or [""]
        return DocumentError(
            f"the document reader stopped unexpectedly on {self._request.file_name} (exit "
            f"status {status}{': ' + last_line[0][:200] if last_line[0] else ''}); the file may "
            "be damaged.")

    def _sentence_for_time(self) -> str:
        what = KIND_PARTS[self._request.kind]
        return (f"Reading {self._request.file_name} took longer than {self._limits.time_s:g} s "
                f"and was stopped (a damaged or hostile file, or a very large one); choose fewer "
                f"{PART_UNITS[what]}, or attach a copy saved again by the program that made it.")

    def _sentence_for_memory(self, detail: str = "") -> str:
        return (f"Reading {self._request.file_name} needed more than "
                f"{self._limits.memory_bytes / 2**20:g} MiB of memory and was stopped{detail}; "
                "the file may be damaged or built to exhaust memory (a decompression bomb). "
                "Attach a copy saved again by the program that made it, or a smaller part.")

    def _stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - _STDERR_TAIL_BYTES))
        return self._stderr.read().decode("utf-8", errors="replace")


def _progress_counts(value: object) -> tuple[int, int]:
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(count, int) for count in value)):
        return value[0], value[1]
    return 0, 0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
