"""One engine, many clients: the server's queue under load, clients that vanish, a stop while
streaming, and the window's own chat sharing the model with the server. Real server on
127.0.0.1, real llama.cpp on the tiny GGUF, real processes killed with SIGKILL. Where the order
of events matters the test holds the engine itself (a lease), so nothing rests on timing."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.engine.turn_queue import EngineQueue, QueueStatus
from app.core.templates.chat_template import ChatMessage
from tests.support.serve_support import Reply, assert_openai_error, call, serving, sse_payloads

WAIT_S = 30  # bounds for things that take milliseconds; reaching one is a failure
CLIENTS = 16
MAX_WAITING = 4


@pytest.fixture(scope="module")
def engine(tiny_gguf_factory: Callable[..., Path]) -> Iterator[ChatEngine]:
    with ChatEngine(tiny_gguf_factory("bf16"),
                    EngineConfig(n_ctx=4096, n_threads=1, n_gpu_layers=0)) as loaded:
        yield loaded


def stream_body(max_tokens: int) -> dict[str, Any]:
    return {"model": "Fin-R1", "messages": [{"role": "user", "content": "hello there"}],
            "max_tokens": max_tokens, "stream": True, "temperature": 0, "seed": 1}


def reached(queue: EngineQueue, condition: Callable[[QueueStatus], bool],
            timeout_s: float = WAIT_S) -> bool:
    """Whether the queue's status satisfies ``condition`` within ``timeout_s`` (observed)."""
    event = threading.Event()
    unsubscribe = queue.subscribe(lambda status: event.set() if condition(status) else None)
    try:
        return condition(queue.status) or event.wait(timeout_s)
    finally:
        unsubscribe()


def raw_request(url: str, body: bytes) -> socket.socket:
    """A connection that has sent a streaming chat request and reads nothing yet."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    connection = socket.create_connection((host, int(port)))
    connection.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
                       "Content-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return connection


def test_sixteen_streaming_clients_are_each_answered_or_refused(engine: ChatEngine) -> None:
    with serving(engine, max_waiting=MAX_WAITING) as served:
        replies: list[Reply] = []
        refusals = threading.Semaphore(0)

        def client() -> None:
            reply = call(served.url, "POST", "/chat/completions", stream_body(8))
            replies.append(reply)
            if reply.status == 429:
                refusals.release()

        with served.queue.lease(label="test"):  # the model is busy: requests must wait
            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for _ in range(CLIENTS - MAX_WAITING):
                assert refusals.acquire(timeout=WAIT_S)
            assert reached(served.queue, lambda status: status.waiting == MAX_WAITING)
        for thread in threads:
            thread.join(WAIT_S)
        after = call(served.url, "POST", "/chat/completions", stream_body(2))

    assert len(replies) == CLIENTS
    answered = [reply for reply in replies if reply.status == 200]
    refused = [reply for reply in replies if reply.status == 429]
    assert (len(answered), len(refused)) == (MAX_WAITING, CLIENTS - MAX_WAITING)
    for reply in answered:
        events = sse_payloads(reply.raw)
        assert events[-1] == "[DONE]"
        assert events[-2]["choices"][0]["finish_reason"] in ("stop", "length")
    for reply in refused:
        assert_openai_error(reply, 429, "rate_limit_exceeded")
        assert int(reply.headers["retry-after"]) >= 1
    assert after.status == 200
    assert sorted(record.status for record in served.records) == [200] * 5 + [429] * 12


def test_a_client_killed_mid_stream_frees_the_engine_within_a_second(engine: ChatEngine) -> None:
    with serving(engine) as served:
        client = subprocess.Popen([sys.executable, "-c", _STREAMING_CLIENT, served.url],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "streaming"
            assert served.queue.status.busy, "the reply ended before the client was killed"
            freed = threading.Event()
            served.queue.subscribe(lambda status: freed.set() if not status.busy else None)
            killed_at = time.perf_counter()
            client.kill()
            assert freed.wait(WAIT_S)
            elapsed = time.perf_counter() - killed_at
        finally:
            client.kill()
            client.wait()
        served.wait_for_records(1)
    assert elapsed < 1.0, f"the engine was freed {elapsed:.2f} s after the client died"
    record = served.records[-1]
    assert record.finish_reason == "cancelled"
    assert record.completion_tokens is not None and record.completion_tokens < 4000


_STREAMING_CLIENT = r"""
import json, socket, sys
host, port = sys.argv[1].split("//")[1].split("/")[0].rsplit(":", 1)
body = json.dumps({"model": "Fin-R1", "messages": [{"role": "user", "content": "hello"}],
                   "max_tokens": 4000, "stream": True, "temperature": 0}).encode()
connection = socket.create_connection((host, int(port)))
connection.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   "Content-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
received = b""
while b"data: " not in received:
    data = connection.recv(65536)
    received += data
    if not data or (len(received) >= 12 and not received.startswith(b"HTTP/1.1 200")):
        print(received.split(b"\r\n")[0].decode(), flush=True)
        sys.exit(1)
print("streaming", flush=True)
while connection.recv(65536):
    pass
"""


def test_a_waiting_client_that_leaves_gives_up_its_place(engine: ChatEngine) -> None:
    with serving(engine) as served:
        with served.queue.lease(label="test"):
            connection = raw_request(served.url, _json(stream_body(8)))
            assert reached(served.queue, lambda status: status.waiting == 1)
            connection.close()
            assert reached(served.queue, lambda status: status.waiting == 0)
        served.wait_for_records(1)
    assert served.records[-1].finish_reason == "cancelled"


def test_stopping_the_server_ends_its_streams_and_frees_the_engine(engine: ChatEngine) -> None:
    replies: list[Reply] = []
    with serving(engine) as served:
        thread = threading.Thread(target=lambda: replies.append(
            call(served.url, "POST", "/chat/completions", stream_body(4000))))
        thread.start()
        assert reached(served.queue, lambda status: status.holder == "server")
        served.server.stop()
        thread.join(WAIT_S)
        assert not served.server.running
    assert not served.queue.status.busy
    events = sse_payloads(replies[0].raw)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "server_shutting_down"


def test_the_windows_chat_and_the_server_take_turns_on_one_engine(engine: ChatEngine) -> None:
    holders: list[str | None] = []
    with serving(engine) as served:
        served.queue.subscribe(lambda status: holders.append(status.holder))
        replies: list[Reply] = []
        request = threading.Thread(target=lambda: replies.append(
            call(served.url, "POST", "/chat/completions", stream_body(300))))
        request.start()
        assert reached(served.queue, lambda status: status.holder == "server")

        settings = GenerationSettings(temperature=0.0, max_new_tokens=4, system_prompt=None)
        window_turn = served.queue.submit(
            lambda leased: leased.stream_chat([ChatMessage("user", "hi")], settings),
            label="chat")
        chunks = list(window_turn)  # waits for the server's reply, then runs
        request.join(WAIT_S)

    assert replies[0].status == 200 and sse_payloads(replies[0].raw)[-1] == "[DONE]"
    assert chunks[-1].token is None and window_turn.result.finish_reason in ("stop", "length")
    turns = [holder for holder, _ in itertools.groupby(holders) if holder is not None]
    assert turns == ["server", "chat"]


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()
