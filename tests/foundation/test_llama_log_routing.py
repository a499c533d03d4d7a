"""Where llama.cpp's own log goes (``foundation.llama_log.LLAMA_LOG``): the app's log file, the terminal
only with ``--verbose``, and llama.cpp's errors into the error message a person reads.

Checked on real llama.cpp output: a tiny GGUF loaded with a context longer than it was trained
for (llama.cpp warns), one whose architecture llama.cpp does not know (it logs errors), and the
real ``finr1 chat`` on SmolLM2 in a subprocess, whose stderr is the terminal a person sees."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from app.core.engine.llama_runtime import LlamaRuntime
from foundation.errors import ModelLoadError
from foundation.llama_log import LLAMA_LOG
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.llm_support import THREADS

TINY_TRAINED_CONTEXT = 4096  # tests/support/tiny_checkpoint.py MAX_POSITIONS
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO |WARN |ERROR) ")


def load(gguf: Path, n_ctx: int) -> None:
    LlamaRuntime(gguf, n_ctx=n_ctx, n_threads=THREADS, n_gpu_layers=0, n_batch=64,
                 flash_attn=None, use_mmap=True).close()


def logged_messages(log_file: Path) -> list[str]:
    """The log file's lines without their time and level."""
    return [_LOG_PREFIX.sub("", line) for line in log_file.read_text(encoding="utf-8").splitlines()]


def test_a_llama_cpp_warning_goes_to_the_log_file_and_not_the_terminal(
        tiny_bf16_gguf: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "logs" / "finr1.log"
    with LLAMA_LOG.sending_to(log_file):
        load(tiny_bf16_gguf, TINY_TRAINED_CONTEXT + 256)  # llama.cpp warns: beyond training
    terminal = capfd.readouterr().err  # file descriptor 2: what llama.cpp itself wrote there too
    warnings = [line for line in log_file.read_text(encoding="utf-8").splitlines()
                if " WARN  " in line and "n_ctx_train" in line]
    assert warnings, "llama.cpp's warning is in the log file, with its level"
    assert "n_ctx_train" not in terminal
    assert "llama_model_loader" not in terminal


def test_llama_cpps_reason_for_refusing_a_file_is_in_the_error_message(
        tiny_bf16_gguf: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    unknown = tmp_path / "unknown-architecture.gguf"
    unknown.write_bytes(tiny_bf16_gguf.read_bytes().replace(b"qwen2", b"qwen9"))
    with pytest.raises(ModelLoadError) as refused:
        load(unknown, 256)
    assert "llama.cpp said:" in str(refused.value)
    assert "unknown model architecture: 'qwen9'" in str(refused.value)
    assert "qwen9" not in capfd.readouterr().err  # said once, in the sentence, not as log lines


def run_chat(model: Path, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        finr1_command("chat", *extra, str(model), "Hi", "--max-tokens", "2", "--threads",
                      str(THREADS), "--ctx", "512", "--seed", "1"),
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
        env={**os.environ, "FINR1_HOME": str(home)})


def test_finr1_chat_writes_llama_cpps_log_to_the_log_file_and_only_verbose_shows_it(
        smollm2_gguf: Path, tmp_path: Path) -> None:
    quiet = run_chat(smollm2_gguf, tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr
    logged = set(logged_messages(tmp_path / "quiet" / "finr1.log"))
    assert any(message.startswith("llama_model_loader: ") for message in logged)
    assert [line for line in quiet.stderr.splitlines() if line in logged] == []
    assert "llama_model_loader" not in quiet.stderr

    verbose = run_chat(smollm2_gguf, tmp_path / "verbose", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "llama_model_loader: " in verbose.stderr
    assert (tmp_path / "verbose" / "finr1.log").is_file()
