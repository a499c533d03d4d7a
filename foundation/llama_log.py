"""llama.cpp's log: where this process's goes, and reading the quantizer's as it streams.

**Where it goes.** ``install_llama_log()`` makes llama.cpp and ggml log through ``LLAMA_LOG`` in
this process (call it wherever llama.cpp is initialised; it replaces llama-cpp-python's own
callback, which reads ggml's log levels as they were numbered in 2024 and so prints llama.cpp's
warnings on stderr and hides its errors). ``LLAMA_LOG.send_to(log_file, echo=…)`` chooses the
destinations: the file gets every line at INFO and above with its time and level, ``echo`` (the
terminal with ``--verbose``) gets everything as llama.cpp wrote it, and without a destination
nothing is written. ERROR lines are always kept, so the error a person sees can name llama.cpp's
reason (``take_errors``) instead of pointing at a log they never saw.

**The quantizer's log.** ``QuantizeLogParser`` reads per-tensor progress plus a tail of
everything else.

``llama_model_quantize`` reports progress only through its log (``src/llama-quant.cpp``). For each
tensor it logs, in separate fragments that together make one line (wrapped here)::

    [   6/  27] blk.0.attn_q.weight                  - [   256,    256,      1,      1],
    type =   bf16, converting to q4_K .. size =     0.12 MiB ->     0.04 MiB

(or ``size = 0.001 MiB`` for a tensor that is copied as is). The header fragment, up to
``type = bf16, ``, arrives before the tensor is processed and the line ends after it is written,
so a tensor is *started* when a header is seen and *done* when its line ends. Any other line
(warnings, errors, the closing summary) is kept in a short tail for error messages; a line this
parser does not understand is never an error.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

_TENSOR_HEADER = re.compile(
    r"^\s*\[\s*(?P<index>\d+)\s*/\s*(?P<total>\d+)\s*\]\s+(?P<name>\S+)\s+-\s+\[[^\]]*\],"
    r"\s*type\s*=\s*\w+,"
)
_SIZE = re.compile(r"\bsize\s*=\s*[\d.]+\s*MiB")
_FAILURE = re.compile(r"failed to quantize:\s*(?P<reason>.+)$")

DEFAULT_TAIL_LINES = 30


@dataclass(frozen=True)
class TensorStarted:
    """libllama began tensor ``index`` (1-based) of ``total``."""

    index: int
    total: int
    name: str


@dataclass(frozen=True)
class TensorDone:
    """libllama finished writing tensor ``index`` (1-based) of ``total``."""

    index: int
    total: int
    name: str


@dataclass(frozen=True)
class LogLine:
    """A complete log line that is not a tensor's progress line."""

    text: str


LogEvent = TensorStarted | TensorDone | LogLine


class QuantizeLogParser:
    """Turns the raw text fragments of libllama's log callback into ``LogEvent``s.

    ``feed`` takes fragments in arrival order (they need not end at line breaks) and returns the
    events they complete. A tensor is done only once a ``size = …`` follows its header, so a
    header cut short by an error (or by the imatrix notice libllama inserts mid-line) is not
    counted; such a header is kept in the tail, where it names the tensor that failed. ``tail``
    holds the last ``tail_lines`` non-progress lines and ``failure`` the reason from libllama's
    ``failed to quantize: …`` line, if one came. Never raises on odd input.
    """

    def __init__(self, tail_lines: int = DEFAULT_TAIL_LINES) -> None:
        self._partial = ""
        self._announced_header = False
        self._open_tensor: tuple[int, int, str] | None = None
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.failure: str | None = None

    def feed(self, fragment: str) -> list[LogEvent]:
        """Add one fragment; return the events it completes, oldest first."""
        events: list[LogEvent] = []
        *complete_lines, self._partial = (self._partial + fragment).split("\n")
        for line in complete_lines:
            events.extend(self._complete_line(line))
        if not self._announced_header:
            header = _TENSOR_HEADER.match(self._partial)
            if header is not None:
                self._announced_header = True
                events.append(TensorStarted(*_header_fields(header)))
        return events

    def flush(self) -> list[LogEvent]:
        """End of log: treat an unfinished last line as complete."""
        line, self._partial = self._partial, ""
        return self._complete_line(line) if line else []

    def _complete_line(self, line: str) -> list[LogEvent]:
        announced, self._announced_header = self._announced_header, False
        header = _TENSOR_HEADER.match(line)
        if header is not None:
            fields = _header_fields(header)
            events: list[LogEvent] = [] if announced else [TensorStarted(*fields)]
            if _SIZE.search(line, header.end()):
                return [*events, TensorDone(*fields)]
            self._open_tensor = fields
            return [*events, *self._log_line(line)]
        if self._open_tensor is not None and _SIZE.search(line):
            fields, self._open_tensor = self._open_tensor, None
            return [TensorDone(*fields)]
        return self._log_line(line)

    def _log_line(self, line: str) -> list[LogEvent]:
        text = line.rstrip()
        if not text.strip():
            return []
        failure = _FAILURE.search(text)
        if failure is not None:
            self.failure = failure.group("reason").strip()
        self.tail.append(text)
        return [LogLine(text)]


def _header_fields(header: re.Match[str]) -> tuple[int, int, str]:
    return int(header.group("index")), int(header.group("total")), header.group("name")


# -- this process's llama.cpp log ---------------------------------------------------------------

# enum ggml_log_level (ggml.h); CONT continues the line of the previous call, at its level
GGML_LOG_LEVEL_DEBUG, GGML_LOG_LEVEL_INFO, GGML_LOG_LEVEL_WARN = 1, 2, 3
GGML_LOG_LEVEL_ERROR, GGML_LOG_LEVEL_CONT = 4, 5
_LEVEL_NAMES = {GGML_LOG_LEVEL_DEBUG: "DEBUG", GGML_LOG_LEVEL_INFO: "INFO",
                GGML_LOG_LEVEL_WARN: "WARN", GGML_LOG_LEVEL_ERROR: "ERROR"}
LOG_FILE_MAX_BYTES = 4 * 1024 * 1024  # beyond this, the file is renamed to *.1 when opened
KEPT_ERRORS = 10


class LlamaLogRouter:
    """Sends llama.cpp's log fragments where ``send_to`` says (see the module docstring).

    Thread-safe (llama.cpp may log from its worker threads); never raises into llama.cpp: a log
    file that cannot be written is reported once on stderr and then left out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log_file: Path | None = None
        self._handle: TextIO | None = None
        self._echo: TextIO | None = None
        self._level = GGML_LOG_LEVEL_INFO
        self._file_at_line_start = True
        self._error_line = ""
        self._errors: deque[str] = deque(maxlen=KEPT_ERRORS)
        self._captures: list[list[str]] = []
        self._capture_line = ""

    @property
    def log_file(self) -> Path | None:
        """The file the log is appended to, None when it is not written to a file."""
        return self._log_file

    def send_to(self, log_file: Path | None, *, echo: TextIO | None = None) -> None:
        """Append the log to ``log_file`` (created with its folder at the first line; None: no
        file) and copy all of it to ``echo`` (None: nowhere)."""
        with self._lock:
            self._close_file()
            self._log_file = Path(log_file) if log_file is not None else None
            self._echo = echo

    @contextlib.contextmanager
    def sending_to(self, log_file: Path | None, *, echo: TextIO | None = None) -> Iterator[None]:
        """``send_to`` for the duration of the ``with`` block; the previous destinations after."""
        previous = self._log_file, self._echo
        self.send_to(log_file, echo=echo)
        try:
            yield
        finally:
            self.send_to(previous[0], echo=previous[1])

    @contextlib.contextmanager
    def capturing(self) -> Iterator[list[str]]:
        """Yield a list that receives every complete line llama.cpp logs, at any level, during
        the ``with`` block (what it reports while loading a model: devices, offloaded layers)."""
        lines: list[str] = []
        with self._lock:
            self._captures.append(lines)
        try:
            yield lines
        finally:
            with self._lock:
                self._captures.remove(lines)
                if not self._captures:
                    self._capture_line = ""

    def write(self, level: int, text: str) -> None:
        """Take one fragment as llama.cpp's log callback gets it (it need not end a line)."""
        with self._lock:
            if level != GGML_LOG_LEVEL_CONT:
                self._level = level
            if self._echo is not None:
                self._write_echo(self._echo, text)
            if self._level >= GGML_LOG_LEVEL_INFO and self._log_file is not None:
                self._write_file(text)
            if self._level == GGML_LOG_LEVEL_ERROR:
                self._keep_error(text)
            if self._captures:
                *complete, self._capture_line = (self._capture_line + text).split("\n")
                for capture in self._captures:
                    capture.extend(complete)

    def take_errors(self) -> list[str]:
        """The ERROR lines logged since the last call (at most the last ``KEPT_ERRORS``), oldest
        first; they are forgotten."""
        with self._lock:
            errors = list(self._errors)
            if self._error_line.strip():
                errors.append(self._error_line.strip())
            self._errors.clear()
            self._error_line = ""
            return errors

    def _keep_error(self, text: str) -> None:
        *complete, self._error_line = (self._error_line + text).split("\n")
        self._errors.extend(line.strip() for line in complete if line.strip())

    def _write_echo(self, echo: TextIO, text: str) -> None:
        try:
            echo.write(text)
            echo.flush()
        except (OSError, ValueError):  # a closed or broken stream: stop echoing, keep running
            self._echo = None

    def _write_file(self, text: str) -> None:
        try:
            handle = self._handle or self._open_file()
            stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {_LEVEL_NAMES.get(self._level, '?'):<5} "
            for piece in text.splitlines(keepends=True):
                handle.write(stamp + piece if self._file_at_line_start else piece)
                self._file_at_line_start = piece.endswith("\n")
            handle.flush()
        except OSError as error:
            print(f"llama.cpp's log cannot be written to {self._log_file}: "
                  f"{error.strerror or error}; it is left out", file=sys.stderr)
            self._close_file()
            self._log_file = None

    def _open_file(self) -> TextIO:
        assert self._log_file is not None
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        if self._log_file.is_file() and self._log_file.stat().st_size > LOG_FILE_MAX_BYTES:
            self._log_file.replace(self._log_file.with_name(self._log_file.name + ".1"))
        self._handle = self._log_file.open("a", encoding="utf-8", errors="replace")
        self._file_at_line_start = True
        return self._handle

    def _close_file(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


LLAMA_LOG = LlamaLogRouter()
_installed_callback: object = None  # the ctypes callback must live as long as llama.cpp may call it


def install_llama_log() -> None:
    """Make llama.cpp and ggml log through ``LLAMA_LOG`` in this process. Idempotent; imports
    llama_cpp (whose import installs its own callback, which this replaces)."""
    global _installed_callback
    if _installed_callback is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes | None, _user_data: Any) -> None:
        if text:
            LLAMA_LOG.write(level, text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(on_log, None)
    _installed_callback = on_log


def llama_reason() -> str:
    """``" (llama.cpp said: <its errors>)"`` to put in an error message, when llama.cpp logged
    errors since the last call (they are taken, see ``take_errors``); else ""."""
    errors = LLAMA_LOG.take_errors()
    return f" (llama.cpp said: {'; '.join(dict.fromkeys(errors))})" if errors else ""
