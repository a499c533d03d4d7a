"""The child process that compiles and renders chat templates from model files.

``app.core.templates.chat_template`` says why templates run in a child;
``app.core.templates.template_child`` is
that child and defines the request and reply frames. This module keeps one such child per app
process (``template_sandbox()``), started at the first request and reused, and bounds every
request by wall-clock time: a request that runs past ``RENDER_TIMEOUT_S``, or a child that dies or
writes nonsense, costs that child (it is killed) and the next request starts another. Requests are
served one at a time, from any thread; a child never outlives the app (it ends when its input
does, and ``atexit`` closes it).
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

from app.core.errors import ChatTemplateError
from app.core.templates.template_child import CHILD_MODULE, READY, FrameError, read_frame, write_frame
from foundation.processes import python_child_environment

# A render of a normal template takes milliseconds; the child's start is waited for apart.
RENDER_TIMEOUT_S = 2.0
START_TIMEOUT_S = 30.0

_CHILD_GONE = object()
_STDERR_TAIL_BYTES = 2048
_REPLY_BYTES_PER_CHAR = 6  # JSON writes a control character as \u00XX
_REPLY_SLACK_BYTES = 4096


def stopped_sentence(what: str) -> str:
    """The message for a template stopped by a limit; ``what`` completes "it was stopped: …"."""
    return (f"the chat template in this model file was stopped: {what}. Use a model file from a "
            "trusted source")


class _Child:
    """One running child process, and the thread that reads its replies into ``replies``.

    The reader alone reads the child's stdout, refusing a frame over ``reply_limit`` bytes (read
    when the frame arrives, so the request in flight sets it).
    """

    def __init__(self) -> None:
        # open for the child's life (closed in stop()): its last line explains a crash
        self.stderr: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="finr1-template-", suffix=".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=python_child_environment(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        self.replies: queue.Queue[object] = queue.Queue()
        self.reply_limit = _REPLY_SLACK_BYTES
        self._reader = threading.Thread(target=self._read, name="chat-template-child-reader",
                                        daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while (reply := read_frame(self.process.stdout, lambda: self.reply_limit)) is not None:
                self.replies.put(reply)
        except (FrameError, OSError):
            pass  # a child that writes nonsense is treated as gone
        finally:
            self.replies.put(_CHILD_GONE)

    def send(self, request: dict[str, Any]) -> None:
        """Write one request; its reply may be up to what the request's output limit allows."""
        assert self.process.stdin is not None
        self.reply_limit = (int(request["max_output_chars"]) * _REPLY_BYTES_PER_CHAR
                            + _REPLY_SLACK_BYTES)
        write_frame(self.process.stdin, request)

    def stop(self) -> None:
        """Kill the process, let the reader see the end of its output, close everything."""
        self.process.kill()
        self.process.wait()
        self._reader.join()
        for stream in (self.process.stdin, self.process.stdout, self.stderr):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Let the process end on its own (end of its input), killing it if it does not."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=RENDER_TIMEOUT_S)
        self.stop()

    def how_it_ended(self) -> str:
        """The exit status, or "no reply", and the last line it wrote to stderr."""
        code = self.process.poll()
        self.stderr.seek(0, 2)
        self.stderr.seek(max(0, self.stderr.tell() - _STDERR_TAIL_BYTES))
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        last_line = f": {lines[-1].strip()}" if lines else ""
        return f"exit status {code}{last_line}" if code is not None else f"no reply{last_line}"


class TemplateSandbox:
    """A template child process, as the module docstring describes.

    ``request`` sends one request (see ``app.core.templates.template_child``) and returns the child's
    reply; it raises ``ChatTemplateError`` when there is none: past ``timeout_s`` seconds, the
    child died, or it did not start within ``start_timeout_s``.
    """

    def __init__(self, timeout_s: float = RENDER_TIMEOUT_S,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self._timeout_s = timeout_s
        self._start_timeout_s = start_timeout_s
        self._child: _Child | None = None
        self._lock = threading.Lock()

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            child = self._running_child()
            try:
                child.send(request)
                reply = child.replies.get(timeout=self._timeout_s)
            except OSError:
                reply = _CHILD_GONE  # it died before reading the request
            except queue.Empty:
                self._discard_child()
                raise ChatTemplateError(stopped_sentence(
                    f"it ran for more than {self._timeout_s:g} s")) from None
            if reply is _CHILD_GONE:
                ending = child.how_it_ended()
                self._discard_child()
                raise ChatTemplateError(stopped_sentence(f"its sandbox process ended ({ending})"))
            assert isinstance(reply, dict)
            return reply

    def close(self) -> None:
        """End the child, if one runs; a later request starts another."""
        with self._lock:
            if self._child is not None:
                self._child.close()
                self._child = None

    @property
    def child_pid(self) -> int | None:
        """The running child's process id, None when none runs (for tests and diagnostics)."""
        child = self._child
        return child.process.pid if child is not None and child.process.poll() is None else None

    def _running_child(self) -> _Child:
        if self._child is not None and self._child.process.poll() is None:
            return self._child
        self._discard_child()
        try:
            child = _Child()
        except OSError as error:
            raise ChatTemplateError(
                f"the chat template sandbox could not start ({error}); the app cannot use the "
                "model file's chat template"
            ) from error
        try:
            ready = child.replies.get(timeout=self._start_timeout_s)
        except queue.Empty:
            ready = None
        if ready != READY:
            ending = child.how_it_ended()
            child.stop()
            raise ChatTemplateError(
                f"the chat template sandbox did not start ({ending}); the app cannot use the "
                "model file's chat template"
            )
        self._child = child
        return child

    def _discard_child(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None


_SANDBOX = TemplateSandbox()
atexit.register(_SANDBOX.close)


def template_sandbox() -> TemplateSandbox:
    """The app process's one template sandbox."""
    return _SANDBOX
