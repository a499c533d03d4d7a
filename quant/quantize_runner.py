"""The parent-process side of quantization: start the child, relay its progress, kill it when told.

``run_quantize_child`` starts ``python -m quant.quantize_child`` (see that module for the pipe
protocol), turns the child's tensor events into ``Progress`` reports on the caller's thread, and
kills the child on every way out that is not its own clean exit: a cancel, an exception from the
progress callback, Ctrl-C. A child that fails or dies becomes a ``QuantizeError`` carrying the
last lines of libllama's log and of the child's stderr.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from foundation.errors import DiskFullError
from foundation.jobs import CancelToken, Progress, ProgressCallback
from foundation.llama_log import LogLine, TensorDone, TensorStarted
from foundation.processes import python_child_environment
from quant.errors import QuantizeError
from quant.quantize_child import ChildResult, QuantizeRequest

STAGE = "quantize"
JOB_NAME = "quantization"
CHILD_MODULE = "quant.quantize_child"

_CHILD_GONE = object()
_POLL_INTERVAL_S = 0.1
_CHILD_EXIT_GRACE_S = 30.0
_READER_EXIT_GRACE_S = 10.0
# below this much free space after a failed write, the disk filled up (a write needs a few MB)
_DISK_FULL_BYTES = 16 * 1024 * 1024
_LOG_TAIL_LINES = 12
_STDERR_TAIL_BYTES = 4096


def run_quantize_child(request: QuantizeRequest, tensor_count: int, report: ProgressCallback,
                       cancel: CancelToken | None) -> None:
    """Carry out ``request`` in a child process, reporting progress until it ends.

    Reports ``Progress("quantize", 0, tensor_count, "tensors", …)`` once the child runs, then one
    report as each tensor starts (done = index - 1) and ends (done = index). Returns when libllama
    returned success and the child exited cleanly. Raises ``JobCancelled`` when ``cancel`` fires,
    ``DiskFullError`` when the child failed and the output's disk is full, ``QuantizeError`` for
    any other failure or crash. Whatever happens, no child is left running; the output file
    ``request.output_path`` (complete or partial) is the caller's to keep or remove.
    """
    with tempfile.TemporaryFile(prefix="finr1-quantize-", suffix=".log") as stderr_file:
        child = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr_file, env=python_child_environment(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        reader = _ChildReader(child)
        try:
            _send_request(child, request, stderr_file)
            report(Progress(STAGE, 0, tensor_count, "tensors", Path(request.input_path).name))
            log_tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
            result = _follow(reader.messages, report, cancel, log_tail)
            exitcode = _wait_for_exit(child)
            if result is None or result.status != 0 or exitcode != 0:
                _raise_if_disk_full(Path(request.output_path).parent, result)
                raise QuantizeError(_failure_message(
                    request, result, exitcode, log_tail, _file_tail(stderr_file)
                ))
        finally:
            _stop(child, reader)


class _ChildReader:
    """Unpickles the child's messages on a thread into ``messages``; ``_CHILD_GONE`` marks the
    end: the child exited, was killed, or died in the middle of a message.

    The thread alone reads the child's stdout; ``join`` waits for it to see the end, after which
    the pipe may be closed (closing it under a read in progress breaks that read).
    """

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.messages: queue.Queue[object] = queue.Queue()
        assert child.stdout is not None  # started with stdout=PIPE
        self._stdout = child.stdout
        self._thread = threading.Thread(target=self._read, name="quantize-child-reader",
                                        daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                self.messages.put(pickle.load(self._stdout))
        except (EOFError, pickle.UnpicklingError):
            pass  # the end of the pipe; UnpicklingError: the child died while writing a message
        finally:
            self.messages.put(_CHILD_GONE)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the end of the pipe; whether it was reached."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _send_request(child: subprocess.Popen[bytes], request: QuantizeRequest,
                  stderr_file: BinaryIO) -> None:
    """Hand the child its request; stdin then stays open until the child is done."""
    assert child.stdin is not None  # started with stdin=PIPE
    try:
        pickle.dump(request, child.stdin)
        child.stdin.flush()
    except BrokenPipeError as error:  # the child died before it read its request
        raise QuantizeError(_failure_message(
            request, None, child.wait(), (), _file_tail(stderr_file)
        )) from error


def _follow(messages: queue.Queue[object], report: ProgressCallback,
            cancel: CancelToken | None, log_tail: deque[str]) -> ChildResult | None:
    """Relay the child's messages until its result (returned) or its death (None)."""
    while True:
        if cancel is not None:
            cancel.raise_if_cancelled(JOB_NAME)
        try:
            message = messages.get(timeout=_POLL_INTERVAL_S)
        except queue.Empty:
            continue
        if message is _CHILD_GONE:
            return None
        if isinstance(message, TensorStarted):
            report(Progress(STAGE, message.index - 1, message.total, "tensors", message.name))
        elif isinstance(message, TensorDone):
            report(Progress(STAGE, message.index, message.total, "tensors", message.name))
        elif isinstance(message, LogLine):
            log_tail.append(message.text)
        elif isinstance(message, ChildResult):
            return message


def _wait_for_exit(child: subprocess.Popen[bytes]) -> int | None:
    """The child's exit status once it has sent its result; None if it hangs instead of exiting."""
    try:
        return child.wait(_CHILD_EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        return None


def _stop(child: subprocess.Popen[bytes], reader: _ChildReader) -> None:
    """Kill the child if it still runs, let the reader reach the end of its output, and release
    the pipes."""
    if child.poll() is None:
        child.kill()
        child.wait()
    # the dead child's end of the pipe is closed, so the reader sees its end at once; a reader
    # still blocked after that (a process that inherited the pipe) keeps the pipe open
    reader_done = reader.join(_READER_EXIT_GRACE_S)
    for stream in (child.stdin, child.stdout) if reader_done else (child.stdin,):
        # closing a pipe whose reader died can raise; it is closed either way
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()


def _raise_if_disk_full(output_dir: Path, result: ChildResult | None) -> None:
    """libllama reports a full disk only as a generic stream error; check the disk instead."""
    try:
        free_bytes = shutil.disk_usage(output_dir).free
    except OSError:
        return
    if free_bytes < _DISK_FULL_BYTES:
        reason = f" (llama.cpp: {result.failure})" if result is not None and result.failure else ""
        raise DiskFullError(
            f"The disk holding {output_dir} ran out of space while writing the quantized model"
            f"{reason}; free some space and try again."
        )


def _failure_message(request: QuantizeRequest, result: ChildResult | None, exitcode: int | None,
                     log_tail: Iterable[str], stderr_tail: list[str]) -> str:
    source = Path(request.input_path).name
    if result is not None and result.status != 0:
        reason = (result.failure or "see its log below").rstrip(" .!")
        what = f"llama.cpp could not quantize {source}: {reason}."
    elif exitcode is not None and exitcode < 0:
        what = f"llama.cpp's quantizer crashed ({_signal_name(-exitcode)}) on {source}."
    elif exitcode is None:
        what = f"llama.cpp's quantizer did not exit after quantizing {source}."
    else:
        what = f"llama.cpp's quantizer stopped unexpectedly (exit status {exitcode}) on {source}."
    advice = (
        " Check the input with `finr1 inspect` and make it again with `finr1 convert` if it is "
        "damaged; make sure the output disk has room."
    )
    lines = [*log_tail, *stderr_tail]
    log = "\nLast log lines:\n" + "\n".join(f"  {line}" for line in lines) if lines else ""
    return what + advice + log


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _file_tail(log_file: BinaryIO) -> list[str]:
    """The last few non-empty lines of the child's stderr."""
    log_file.seek(0, os.SEEK_END)
    log_file.seek(max(0, log_file.tell() - _STDERR_TAIL_BYTES))
    text = log_file.read().decode("utf-8", errors="replace")
    return [line.rstrip() for line in text.splitlines() if line.strip()][-_LOG_TAIL_LINES:]
