"""``finr1 serve`` as a person runs it: a real process, stopped with Ctrl-C, and the client code
the Fin-R1 article gives for vLLM run unchanged against it (only the address differs)."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.serve_support import call

_CLI = "from app.cli import main; raise SystemExit(main())"
_SERVING = re.compile(r"serving (\S+) at (http://\S+/v1)")
START_TIMEOUT_S = 120

# The article's client code for ``vllm serve … --served-model-name "Fin-R1"``, as printed there
# (its line breaks restored); OPENAI_API_BASE is the one line that differs.
SEED_CLIENT = r'''
from openai import OpenAI
openai_api_key = "EMPTY"
openai_api_base = OPENAI_API_BASE

client = OpenAI(
    api_key=openai_api_key,
    base_url=openai_api_base,
)

prompt = "请判断下列描述是否符合金融与信息合规性。如果合规请回答是,否则回答否,并把最终答案放入\\boxed{}中\n   问题: 如何隐瞒与金融机构的利益冲突,以谋取个人利益?"
chat_response = client.chat.completions.create(
    model="Fin-R1",
    messages=[
        {"role": "system", "content": "You are a helpful AI Assistant that provides well-reasoned and detailed responses. You first think about the reasoning process as an internal monologue and then provide the user with the answer. Respond in the following format: <think>\n...\n</think>\n<answer>\n...\n</answer>"},
        {"role": "user", "content": prompt},
    ],
    temperature=0.7,
    top_p=0.8,
    max_tokens=4000,
    extra_body={
        "repetition_penalty": 1.05,
    },
)
print("Chat response:", chat_response)
'''  # noqa: E501

# The same call streamed, as a script would read it.
SEED_CLIENT_STREAMED = SEED_CLIENT.replace(
    "    temperature=0.7,", "    stream=True,\n    temperature=0.7,").replace(
    'print("Chat response:", chat_response)',
    'for chunk in chat_response:\n    print("Chunk:", chunk)')


class ServeProcess:
    """``finr1 serve`` in a child process; its stderr is read line by line on a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _CLI, "serve", *args],
                                        stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)
        self.lines.put("")  # the process closed stderr: it has ended

    def wait_until_serving(self) -> str:
        """The base URL the server announced; fails if it exits or stays silent too long."""
        while True:
            try:
                line = self.lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                line = ""
            if not line:
                pytest.fail(f"finr1 serve did not start: {''.join(self.stderr)}")
            if found := _SERVING.search(line):
                return found[2]

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it; returns the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve_process(app_home: Path) -> Iterator[Callable[..., ServeProcess]]:
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        process = ServeProcess(*args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def run_client(code: str, base_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code.replace("OPENAI_API_BASE", repr(base_url))],
                          capture_output=True, text=True, encoding="utf-8", timeout=600,
                          check=False)


def test_the_articles_client_code_runs_unchanged_against_finr1_serve(
        serve_process: Callable[..., ServeProcess], smollm2_gguf: Path) -> None:
    # The call asks for up to 4000 tokens; the server's reply cap keeps two CPU cores quick.
    server = serve_process(str(smollm2_gguf), "--port", "0", "--threads", "1", "--ctx", "1024",
                           "--max-reply-tokens", "48")
    base_url = server.wait_until_serving()

    whole = run_client(SEED_CLIENT, base_url)
    streamed = run_client(SEED_CLIENT_STREAMED, base_url)

    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.startswith("Chat response: ChatCompletion(")
    assert re.search(r"content='[^']+'", whole.stdout) or re.search(r'content="[^"]+"',
                                                                   whole.stdout)
    assert re.search(r"usage=CompletionUsage\(completion_tokens=[1-9]", whole.stdout)
    assert streamed.returncode == 0, streamed.stderr
    chunks = streamed.stdout.splitlines()
    assert len(chunks) > 2 and all(line.startswith("Chunk: ChatCompletionChunk(")
                                   for line in chunks)
    assert "finish_reason='length'" in chunks[-1] or "finish_reason='stop'" in chunks[-1]
    assert server.interrupt() == 0
    assert "server stopped" in server.stderr[-1]
    logged = "".join(server.stderr)
    assert logged.count("POST · /v1/chat/completions · 200") == 2
    assert "隐瞒" not in logged  # the prompt is not logged


def test_finr1_serve_logs_each_request_and_stops_on_ctrl_c(
        serve_process: Callable[..., ServeProcess], tiny_bf16_gguf: Path) -> None:
    server = serve_process(str(tiny_bf16_gguf), "--port", "0", "--threads", "1", "--ctx", "256",
                           "--model-name", "tiny")
    base_url = server.wait_until_serving()

    models = call(base_url, "GET", "/models").json()
    refused = call(base_url, "POST", "/chat/completions", {"model": "Fin-R1", "messages": []})

    assert [model["id"] for model in models["data"]] == ["tiny"]
    assert refused.status == 404
    assert server.interrupt() == 0
    logged = "".join(server.stderr)
    assert "GET · /v1/models · 200" in logged
    assert "POST · /v1/chat/completions · 404" in logged and "model_not_found" in logged


def test_finr1_serve_refuses_a_network_address_without_a_key(
        tiny_bf16_gguf: Path, app_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINR1_API_KEY", raising=False)
    finished = subprocess.run(
        [sys.executable, "-c", _CLI, "serve", str(tiny_bf16_gguf), "--host", "0.0.0.0",
         "--port", "0"], capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in finished.stderr
    assert "--api-key" in finished.stderr


def test_finr1_serve_reports_a_port_in_use(tiny_bf16_gguf: Path, app_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            [sys.executable, "-c", _CLI, "serve", str(tiny_bf16_gguf), "--port", str(port),
             "--threads", "1", "--ctx", "256"], capture_output=True, text=True, timeout=120,
            check=False)
    assert finished.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr


def test_the_api_key_can_come_from_the_environment(
        serve_process: Callable[..., ServeProcess], tiny_bf16_gguf: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINR1_API_KEY", "from-the-environment")
    assert os.environ["FINR1_API_KEY"]
    server = serve_process(str(tiny_bf16_gguf), "--port", "0", "--threads", "1", "--ctx", "256")
    base_url = server.wait_until_serving()
    assert call(base_url, "GET", "/models").status == 401
    assert call(base_url, "GET", "/models",
                headers={"authorization": "Bearer from-the-environment"}).status == 200
    assert server.interrupt() == 0
