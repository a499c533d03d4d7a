"""Helpers for the server's tests: a real ``ApiServer`` on 127.0.0.1 and plain HTTP calls to it.

``serving(engine, **config)`` starts the server on a free port (a thread of this process) and
stops it after; ``call(server, method, path, body)`` sends one request with http.client and
returns status, headers and the parsed JSON body; ``sse_payloads`` splits a streamed body into
its events. The official ``openai`` client is used where a test is about client compatibility.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core.engine.local_engine import ChatEngine
from app.core.engine.turn_queue import EngineQueue
from app.core.serve.config import ServeConfig
from app.core.serve.request_log import RequestRecord
from app.core.serve.server import ApiServer

ERROR_KEYS = {"message", "type", "param", "code"}


class Served:
    """A running server, its queue and the request log it writes (``records``)."""

    def __init__(self, server: ApiServer, queue: EngineQueue) -> None:
        self.server = server
        self.queue = queue
        self.records: list[RequestRecord] = []
        self._logged = threading.Condition()

    @property
    def url(self) -> str:
        return self.server.url

    def log(self, record: RequestRecord) -> None:
        with self._logged:
            self.records.append(record)
            self._logged.notify_all()

    def wait_for_records(self, count: int, timeout_s: float = 30) -> list[RequestRecord]:
        """The log once it holds ``count`` records (a record is written just after its response
        is sent, so a client may see the response first)."""
        with self._logged:
            assert self._logged.wait_for(lambda: len(self.records) >= count, timeout_s), \
                f"{len(self.records)} records instead of {count}"
            return list(self.records)


@contextlib.contextmanager
def serving(engine: ChatEngine, max_waiting: int = 8, **config: Any) -> Iterator[Served]:
    """An ``ApiServer`` for ``engine`` on 127.0.0.1 and a free port, stopped afterwards."""
    queue = EngineQueue(engine, max_waiting)
    logs_to: list[Served] = []
    server = ApiServer(queue, ServeConfig(port=0, max_waiting=max_waiting, **config),
                       lambda record: logs_to[0].log(record))
    served = Served(server, queue)
    logs_to.append(served)
    server.start()
    try:
        yield served
    finally:
        server.stop()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


def call(url: str, method: str, path: str, body: bytes | dict[str, Any] | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> Reply:
    """One HTTP request to the server at base ``url`` (``…/v1``); ``path`` is relative to it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent_headers = {"content-type": "application/json", **(headers or {})}
    try:
        connection.request(method, parts.path + path, body=data, headers=sent_headers)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())
    finally:
        connection.close()


def sse_payloads(raw: bytes) -> list[Any]:
    """The events of a streamed body: parsed JSON objects, and the final ``"[DONE]"``."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        payload = block[len("data: "):]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def assert_openai_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """``reply`` is an HTTP ``status`` error carrying exactly OpenAI's error object."""
    assert reply.status == status, (reply.status, reply.raw)
    error = reply.json()["error"]
    assert set(error) == ERROR_KEYS
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error
