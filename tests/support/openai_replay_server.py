"""An OpenAI-compatible server on 127.0.0.1 that replays recorded chat-completion streams, for the
remote engine's tests (servers that cannot run here, such as vLLM, and faults on cue).

It serves ``GET /v1/models`` (the model ids given) and ``POST /v1/chat/completions``, which
answers each request with the next scripted ``Reply``: an HTTP error with a JSON body, or a
recorded server-sent-event body written one event at a time with chunked transfer encoding, as
uvicorn sends it. A reply can misbehave as real servers do: drop the connection after N events
(the chunked body left unfinished, as when the server process dies), or stall after N events
until ``release()`` (a server that hangs). Every request's JSON body is kept (``requests``);
``client_left`` is set when the client hung up while a reply stalled.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STALL_LIMIT_S = 30.0


@dataclass
class Reply:
    """One scripted answer: ``body`` (server-sent events separated by blank lines, as recorded)
    or, when ``status`` is not 200, ``error`` as the JSON body. ``drop_after`` / ``stall_after``:
    events sent before the connection is dropped / before the reply stalls."""

    body: str = ""
    status: int = 200
    error: dict[str, Any] | None = None
    drop_after: int | None = None
    stall_after: int | None = None

    def events(self) -> list[str]:
        return [event + "\n\n" for event in self.body.strip("\n").split("\n\n") if event]


class ReplayServer:
    """See the module docstring. Use as a context manager (starts and stops it)."""

    def __init__(self, models: tuple[str, ...] = ("Fin-R1",), api_key: str | None = None) -> None:
        self.models = models
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.client_left = threading.Event()
        self._replies: deque[Reply] = deque()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Answer the next chat requests with ``replies``, in order."""
        self._replies.extend(replies)

    def release(self) -> None:
        """Let stalled replies go on."""
        self._released.set()

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next_reply(self) -> Reply:
        if not self._replies:
            return Reply(status=500, error={"error": {"message": "no reply scripted"}})
        return self._replies.popleft()


def _handler_class(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path.rstrip("/") != "/v1/models":
                self._send_json(404, {"detail": "Not Found"})
                return
            self._send_json(200, {"object": "list", "data": [
                {"id": model, "object": "model", "created": 1736917204, "owned_by": "vllm",
                 "root": model, "parent": None, "max_model_len": 8192}
                for model in server.models]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if not self._authorized():
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json(404, {"detail": "Not Found"})
                return
            server.requests.append(json.loads(body))
            reply = server._next_reply()
            if reply.status != 200:
                self._send_json(reply.status, reply.error or {})
                return
            self._stream(reply)

        def _stream(self, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for sent, event in enumerate(reply.events()):
                if sent == reply.drop_after:
                    self._drop()
                    return
                if sent == reply.stall_after and not self._stall():
                    return
                self._write_chunk(event.encode("utf-8"))
            if reply.drop_after is not None:
                self._drop()
                return
            self._write_chunk(b"")

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _drop(self) -> None:
            """Close the connection in the middle of the body, as a dying server does."""
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def _stall(self) -> bool:
            """Wait for ``release()``; False (and ``client_left`` set) when the client hung up
            first."""
            waited = 0.0
            while not server._released.is_set() and waited < STALL_LIMIT_S:
                readable, _, _ = select.select([self.connection], [], [], 0.02)
                waited += 0.02
                if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    server.client_left.set()
                    self.close_connection = True
                    return False
            return True

        def _authorized(self) -> bool:
            if server.api_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._send_json(401, {"error": {"message": "Incorrect API key provided.",
                                            "type": "invalid_request_error", "code": 401}})
            return False

        def _send_json(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
