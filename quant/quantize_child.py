"""The child-process side of quantization: one blocking ``llama_model_quantize`` call.

``quant.quantize`` runs ``python -m quant.quantize_child`` so the call, which cannot be
interrupted, can be killed, and so a crash in libllama (segfault, abort) kills only the child.
A subprocess rather than a multiprocessing child: it imports only ``quant`` (not the GUI that
started it) and needs no ``if __name__ == "__main__"`` guard in the caller's script.

Protocol (all pickles, trusted both ways: the parent started this interpreter):
- stdin: one ``QuantizeRequest``; then stdin stays open, and its end means the parent is gone,
  upon which the child exits at once so an orphan never keeps writing.
- stdout: ``foundation.llama_log`` events as they happen, then one ``ChildResult``.
- stderr: everything else (C libraries' prints included); the parent keeps it for error messages.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from foundation.llama_log import QuantizeLogParser
from quant.imatrix_reader import Imatrix

# libllama copies a key-value override's string into a char[128]
_MAX_OVERRIDE_CHARS = 127
EXIT_PARENT_GONE = 70


@dataclass(frozen=True)
class QuantizeRequest:
    """What one child run does: quantize ``input_path`` to ``output_path`` as ``llama_ftype``.

    ``threads`` 0 lets libllama use every core. ``imatrix`` (optional) is passed to libllama;
    ``metadata`` are extra GGUF key-values written into the output (int or str values).
    ``output_tensor_type`` / ``token_embedding_type``: the ``GGML_TYPE_*`` to give
    ``output.weight`` / ``token_embd.weight`` instead of the file type's choice (None: its choice).
    """

    input_path: str
    output_path: str
    llama_ftype: int
    threads: int
    imatrix: Imatrix | None
    metadata: tuple[tuple[str, int | str], ...]
    output_tensor_type: int | None = None
    token_embedding_type: int | None = None


@dataclass(frozen=True)
class ChildResult:
    """The last message of a child that was not killed: libllama's return status (0 is success)
    and the reason from its ``failed to quantize`` log line, if any."""

    status: int
    failure: str | None


def main() -> int:
    """Entry point of ``python -m quant.quantize_child``; see the module docstring. Returns 0
    when the request was carried out, 1 when libllama reported failure."""
    # Ctrl-C reaches the whole process group; the parent decides whether to stop this child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    events = _take_stdout_for_events()
    request: QuantizeRequest = pickle.load(sys.stdin.buffer)
    _exit_when_stdin_closes(sys.stdin.fileno())
    send = _sender(events)
    parser = QuantizeLogParser()
    status = _quantize(request, parser, send)
    for event in parser.flush():
        send(event)
    send(ChildResult(status, parser.failure))
    return 0 if status == 0 else 1


def _quantize(request: QuantizeRequest, parser: QuantizeLogParser,
              send: Callable[[object], None]) -> int:
    import llama_cpp

    @llama_cpp.llama_log_callback
    def on_log(_level: int, text: bytes, _user_data: Any) -> None:
        for event in parser.feed(text.decode("utf-8", errors="replace")):
            send(event)

    llama_cpp.llama_log_set(on_log, None)
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = request.llama_ftype
    params.nthread = request.threads
    if request.output_tensor_type is not None:
        params.output_tensor_type = request.output_tensor_type
    if request.token_embedding_type is not None:
        params.token_embedding_type = request.token_embedding_type
    # the arrays below point into Python objects; they must live until the call returns
    imatrix_entries = _imatrix_entries(llama_cpp, request.imatrix)
    overrides = _kv_overrides(llama_cpp, request.metadata)
    if imatrix_entries is not None:
        params.imatrix = ctypes.cast(
            imatrix_entries, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
    if overrides is not None:
        params.kv_overrides = ctypes.cast(
            overrides, ctypes.POINTER(llama_cpp.llama_model_kv_override))
    return int(llama_cpp.llama_model_quantize(
        os.fsencode(request.input_path), os.fsencode(request.output_path), ctypes.byref(params)
    ))


def _imatrix_entries(llama_cpp: Any, imatrix: Imatrix | None) -> ctypes.Array | None:
    """A NULL-name-terminated ``llama_model_imatrix_data`` array over ``imatrix``'s arrays."""
    if imatrix is None:
        return None
    entries = (llama_cpp.llama_model_imatrix_data * (len(imatrix.values) + 1))()
    for entry, (name, values) in zip(entries, imatrix.values.items(), strict=False):
        entry.name = name.encode()
        entry.data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        entry.size = values.size
    return entries


def _kv_overrides(llama_cpp: Any, metadata: tuple[tuple[str, int | str], ...]
                  ) -> ctypes.Array | None:
    """An empty-key-terminated ``llama_model_kv_override`` array setting ``metadata``."""
    if not metadata:
        return None
    overrides = (llama_cpp.llama_model_kv_override * (len(metadata) + 1))()
    for override, (key, value) in zip(overrides, metadata, strict=False):
        override.key = key.encode()
        if isinstance(value, str):
            override.tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR
            override.value.val_str = value.encode()[:_MAX_OVERRIDE_CHARS]
        else:
            override.tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_INT
            override.value.val_i64 = value
    return overrides


def _take_stdout_for_events() -> BinaryIO:
    """Keep the real stdout for events only; anything else printing to fd 1 lands in stderr."""
    sys.stdout.flush()
    events = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return events


def _sender(events: BinaryIO) -> Callable[[object], None]:
    lock = threading.Lock()

    def send(message: object) -> None:
        try:
            with lock:
                pickle.dump(message, events)
                events.flush()
        except OSError:
            os._exit(EXIT_PARENT_GONE)  # the parent closed its end: nobody wants this output

    return send


def _exit_when_stdin_closes(stdin_fd: int) -> None:
    # raw reads: a daemon thread blocked inside a buffered reader aborts interpreter shutdown
    def watch() -> None:
        while os.read(stdin_fd, 4096):
            pass
        os._exit(EXIT_PARENT_GONE)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    # run the imported module's main, so pickled messages name ``quant.quantize_child``, which
    # the parent can import, rather than ``__main__``
    from quant.quantize_child import main as module_main

    sys.exit(module_main())
