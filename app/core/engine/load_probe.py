"""The first load of a model file, tried in a child process so a native abort cannot end the app.

llama.cpp stops the whole process (``GGML_ASSERT`` → SIGABRT, or a crash) on some malformed
files, at load or at the first decode, and the app's window vanishes with it.
``quant.gguf_check.validate_gguf`` refuses every such value it knows of; this is the net under it
for the ones it does not. ``ensure_loads_safely(path)`` runs ``python -m app.core.engine.load_probe``,
which loads the file on the CPU with a small context, evaluates a short prompt (text with special
tokens, Chinese and a character outside most vocabularies, so the tokenizer's byte fallback runs),
samples one token greedily, spells it and decodes it: the steps where the aborts seen so far
happen. Then:

- the child exits 0: the file is remembered as safe and the caller loads it in-process;
- llama.cpp refuses the file cleanly (an error it reports, exit ``EXIT_REFUSED``), or the
  child fails in Python (exit 1, which says nothing about the file): nothing is remembered and
  the caller's own load reports the refusal as it always does;
- the child dies from a signal, or exits in a way no Python code of it does (Windows reports an
  abort as exit status 3): ``ModelLoadError`` saying that llama.cpp crashed on the file, with a
  short escaped excerpt of its last message;
- the child runs past its time limit (``probe_time_limit_s``): it is killed and
  ``ModelLoadError`` says so.

Files are remembered by identity: resolved path, size, modification and change times and inode,
so a file replaced or rewritten in place is probed again. The record lives in this process and
in ``load-probes.json`` in the app's data folder (``app.core.installation.paths``), so a model is probed once,
not at every start. The probe runs on the CPU whatever the engine's GPU settings: the aborts are in
the file's values, not in where the weights sit, and a CPU load needs no GPU memory beside the one
the real load is about to take.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from app.core.errors import GenerationError
from app.core.installation.paths import app_paths
from foundation.atomic import atomic_output
from foundation.errors import ModelLoadError, quoted_excerpt
from foundation.processes import python_child_environment

CHILD_MODULE = "app.core.engine.load_probe"
RECORD_NAME = "load-probes.json"
EXIT_PASSED = 0
EXIT_REFUSED = 2
PROBE_CONTEXT_TOKENS = 256
# Special tokens, Chinese, and a character few vocabularies hold whole (byte fallback).
PROBE_TEXT = "<|im_start|>user\n年化收益率 5% 是多少？\U0001f4c8<|im_end|>\n<|im_start|>assistant\n"
RECORD_LIMIT = 256  # files remembered; the oldest are forgotten first
_BASE_TIME_LIMIT_S = 60.0
_BYTES_PER_SECOND = 50 * 1024 * 1024  # a slow disk, read once by the child
_STDERR_TAIL_BYTES = 8192
_MESSAGE_CHARS = 160
_GGML_ABORT_LINE = re.compile(r"(?P<file>[\w.-]+\.(?:c|cc|cpp|h)):(?P<line>\d+): (?P<what>.*)")
_FLASH_ATTN_ARGS = {None: "auto", True: "on", False: "off"}


@dataclass(frozen=True)
class FileIdentity:
    """What tells one file apart from another, or from itself rewritten."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        resolved = path.resolve()
        status = resolved.stat()
        return cls(str(resolved), status.st_size, status.st_mtime_ns, status.st_ctime_ns,
                   status.st_ino)


class ProbeRecord:
    """The files whose probe passed: in ``memory``, and in the JSON file ``record_file`` when set.

    ``default_record()`` gives records that share one memory for the whole process, so a file is
    probed once per process whatever ``FINR1_HOME`` says meanwhile. An unreadable or damaged
    record file counts as empty; a failed write is ignored (the cost is one more probe later).
    Thread-safe.
    """

    def __init__(self, record_file: Path | None, memory: set[FileIdentity] | None = None) -> None:
        self.record_file = record_file
        self._memory: set[FileIdentity] = set() if memory is None else memory

    def __contains__(self, identity: FileIdentity) -> bool:
        with _RECORD_LOCK:
            if identity in self._memory:
                return True
            if identity in self._read():
                self._memory.add(identity)
                return True
            return False

    def add(self, identity: FileIdentity) -> None:
        with _RECORD_LOCK:
            self._memory.add(identity)
            if self.record_file is None:
                return
            kept = [known for known in self._read() if known != identity]
            self._write([*kept[-(RECORD_LIMIT - 1):], identity])

    def _read(self) -> list[FileIdentity]:
        if self.record_file is None:
            return []
        try:
            entries = json.loads(self.record_file.read_text(encoding="utf-8"))["passed"]
            return [FileIdentity(**entry) for entry in entries]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def _write(self, identities: list[FileIdentity]) -> None:
        assert self.record_file is not None
        text = json.dumps({"passed": [asdict(identity) for identity in identities]}, indent=1)
        try:
            with atomic_output(self.record_file) as partial:
                partial.write_text(text, encoding="utf-8")
        except OSError:
            pass


_RECORD_LOCK = threading.Lock()
_PROCESS_MEMORY: set[FileIdentity] = set()


def default_record() -> ProbeRecord:
    """The app's record: ``load-probes.json`` in its data folder (``app.core.installation.paths``, read now),
    with the memory every default record of this process shares."""
    return ProbeRecord(app_paths().data_dir / RECORD_NAME, _PROCESS_MEMORY)


def probe_time_limit_s(size_bytes: int) -> float:
    """How long the probe of a file of ``size_bytes`` may run: a minute plus reading the file
    at 50 MB/s (a 4.7 GB 7B model: about two and a half minutes)."""
    return _BASE_TIME_LIMIT_S + size_bytes / _BYTES_PER_SECOND


@dataclass(frozen=True)
class ProbeOutcome:
    """How a probe ended: ``passed``, ``refused`` (llama.cpp refused the file cleanly),
    ``crashed`` (a signal, or an exit no Python code of the child makes) or ``timed_out``.
    ``exit_status``: the child's (negative: the signal), None when it was killed for time.
    ``last_message``: the last line of its stderr that says what failed, a short escaped excerpt.
    """

    kind: Literal["passed", "refused", "crashed", "timed_out"]
    exit_status: int | None
    last_message: str


def probe_load(gguf_path: Path, *, threads: int, flash_attn: bool | None = None,
               time_limit_s: float | None = None) -> ProbeOutcome:
    """Load ``gguf_path`` and decode its first token in a child process (see the module
    docstring) and say how that ended; ``time_limit_s`` defaults to ``probe_time_limit_s``.
    Raises ``ModelLoadError`` when no child process can be started."""
    limit = probe_time_limit_s(gguf_path.stat().st_size) if time_limit_s is None else time_limit_s
    exit_status, stderr_tail = _run_child(gguf_path, threads, flash_attn, limit)
    message = _last_message(stderr_tail)
    if exit_status is None:
        return ProbeOutcome("timed_out", None, message)
    if exit_status == EXIT_PASSED:
        return ProbeOutcome("passed", exit_status, message)
    # 1: an uncaught Python error in the child, which says nothing about the file
    if exit_status in (EXIT_REFUSED, 1):
        return ProbeOutcome("refused", exit_status, message)
    return ProbeOutcome("crashed", exit_status, message)


def ensure_loads_safely(gguf_path: Path, *, threads: int, flash_attn: bool | None = None,
                        record: ProbeRecord | None = None,
                        time_limit_s: float | None = None) -> None:
    """Return once ``gguf_path`` (already validated) is known not to crash llama.cpp when loaded
    and decoded; probe it in a child process the first time (see the module docstring).

    ``threads`` and ``flash_attn`` as the engine will use them; ``record`` defaults to
    ``default_record()``; ``time_limit_s`` to ``probe_time_limit_s(size)``. Raises
    ``ModelLoadError`` when the child crashed, ran out of time or could not be started. Returns
    also when llama.cpp refused the file cleanly, without remembering it: the caller's load
    reports that refusal.
    """
    record = default_record() if record is None else record
    identity = FileIdentity.of(gguf_path)
    if identity in record:
        return
    limit = probe_time_limit_s(identity.size) if time_limit_s is None else time_limit_s
    outcome = probe_load(gguf_path, threads=threads, flash_attn=flash_attn, time_limit_s=limit)
    if outcome.kind == "passed":
        record.add(identity)
    elif outcome.kind == "timed_out":
        raise ModelLoadError(
            f"llama.cpp did not finish loading {gguf_path.name} and decoding its first token "
            f"within {limit:.0f} s, so it was stopped; if the disk is slow, try again, otherwise "
            "the file is damaged: download or convert it again"
        )
    elif outcome.kind == "crashed":
        assert outcome.exit_status is not None
        reason = f": {outcome.last_message}" if outcome.last_message else ""
        raise ModelLoadError(
            f"llama.cpp crashed ({_status_text(outcome.exit_status)}) on {gguf_path.name} while "
            f"loading it and decoding its first token{reason}. The test ran in a separate "
            "process, so nothing else was affected. The file is damaged or was made wrongly, or "
            "this llama.cpp cannot run it on this machine: download or convert it again, and if "
            "a fresh copy fails too, report it"
        )


def _run_child(gguf_path: Path, threads: int, flash_attn: bool | None,
               time_limit_s: float) -> tuple[int | None, str]:
    """Run the probe; its exit status (None when it was killed for time) and stderr's tail."""
    environment = python_child_environment()
    environment["GGML_NO_BACKTRACE"] = "1"  # ggml would attach a debugger to print a backtrace
    command = [sys.executable, "-m", CHILD_MODULE, str(gguf_path), str(threads),
               _FLASH_ATTN_ARGS[flash_attn]]
    with tempfile.TemporaryFile(prefix="finr1-load-probe-") as stderr_file:
        try:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=stderr_file, env=environment,
                                     creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as error:
            raise ModelLoadError(
                f"could not start the process that test-loads {gguf_path.name} "
                f"({error.strerror or error}); check that the app's installation is complete"
            ) from error
        try:
            exit_status: int | None = child.wait(time_limit_s)
        except subprocess.TimeoutExpired:
            exit_status = None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        stderr_file.seek(0, os.SEEK_END)
        stderr_file.seek(max(0, stderr_file.tell() - _STDERR_TAIL_BYTES))
        return exit_status, stderr_file.read().decode("utf-8", errors="replace")


def _status_text(exit_status: int) -> str:
    if exit_status < 0:
        try:
            return signal.Signals(-exit_status).name
        except ValueError:
            return f"signal {-exit_status}"
    return f"exit status {exit_status}"


def _last_message(stderr_tail: str) -> str:
    """The last line of the child's stderr that says what failed, as a short excerpt ("" when
    it wrote nothing). ggml's aborts read ``/long/path/ops.cpp:4132: GGML_ASSERT(...) failed``;
    the folder is left out."""
    lines = [line.strip() for line in stderr_tail.splitlines() if line.strip()]
    for line in reversed(lines):
        abort = _GGML_ABORT_LINE.search(line)
        if abort:
            return quoted_excerpt(f"{abort['file']}:{abort['line']}: {abort['what']}",
                                  _MESSAGE_CHARS)
    telling = [line for line in lines if "error" in line.lower() or "terminate" in line]
    chosen = (telling or lines)[-1:]
    return quoted_excerpt(chosen[0], _MESSAGE_CHARS) if chosen else ""


# -- the child ---------------------------------------------------------------------------------

def main(arguments: list[str] | None = None) -> int:
    """``python -m app.core.engine.load_probe GGUF_PATH THREADS auto|on|off``: load, evaluate
    ``PROBE_TEXT``, sample, spell and decode one token. Exits ``EXIT_PASSED``, or
    ``EXIT_REFUSED`` with llama.cpp's reason on stderr when it refuses the file cleanly."""
    from app.core.engine.llama_runtime import LlamaRuntime, Sampler

    path_text, threads_text, flash_text = sys.argv[1:] if arguments is None else arguments
    flash_attn = {text: value for value, text in _FLASH_ATTN_ARGS.items()}[flash_text]
    try:
        runtime = LlamaRuntime(Path(path_text), n_ctx=PROBE_CONTEXT_TOKENS,
                               n_threads=int(threads_text), n_gpu_layers=0,
                               n_batch=PROBE_CONTEXT_TOKENS, flash_attn=flash_attn, use_mmap=True)
    except ModelLoadError as error:
        print(error, file=sys.stderr)
        return EXIT_REFUSED
    try:
        tokens = runtime.tokenize(PROBE_TEXT, add_bos=runtime.adds_bos, parse_special=True)
        runtime.evaluate_prompt(tokens)
        with Sampler(n_vocab=runtime.n_vocab, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
                     repeat_penalty=1.0, repeat_last_n=0, seed=0) as sampler:
            token = runtime.sample(sampler)
        runtime.piece(token)
        runtime.decode_token(token)
    except (GenerationError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_REFUSED
    finally:
        runtime.close()
    return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
