"""llama-cpp-python's own OpenAI-compatible server (``python -m llama_cpp.server``) run as a child
process on 127.0.0.1, for the remote engine's tests against a real third-party server.

``LlamaServer(gguf)`` starts it on a free port with one thread and a 1024-token context, waits
until ``GET /v1/models`` answers, and ends it (by its PID, with SIGTERM then SIGKILL) on
``stop()`` or when the ``with`` block ends. ``kill()`` ends it at once, as a crash would.

The server evaluates one token per micro-batch (``--n_ubatch 1``): llama.cpp's AMX kernel for
batched matrix products crashes (SIGSEGV in ``ggml_backend_amx_mul_mat``) in llama-cpp-python
0.3.36 built natively on a CPU with AMX (Sapphire Rapids), and a single-token batch never takes
that path. SmolLM2 still reads a short prompt in well under a second.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

START_LIMIT_S = 120.0


def free_port() -> int:
    """A port nothing listens on now (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """See the module docstring. ``url`` is the API base (``…/v1``); ``model_id`` the id it
    reports for its model."""

    def __init__(self, gguf: Path, api_key: str | None = None, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.api_key = api_key
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
                   "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "1024",
                   "--n_threads", "1", "--n_threads_batch", "1", "--n_ubatch", "1",
                   "--verbose", "False"]
        if api_key is not None:
            command += ["--api_key", api_key]
        self._log = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        try:
            self.model_id = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _wait_until_ready(self) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with status {self.process.returncode}")
            with contextlib.suppress(httpx2.TransportError):
                response = httpx2.get(f"{self.url}/models", headers=headers, timeout=2.0)
                if response.status_code == 200:
                    return str(response.json()["data"][0]["id"])
            time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server did not answer within {START_LIMIT_S:g} s")

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self._log is not subprocess.DEVNULL:
            self._log.close()

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
