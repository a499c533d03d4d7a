"""Running the server: uvicorn on a socket bound up front, on a thread or on the caller's.

``ApiServer.start()`` binds (so a taken port fails at once with ``ServerStartError``, and port 0
yields its real number), runs uvicorn on a daemon thread and returns once it accepts connections;
``stop()`` cancels the turns in progress and waits for it to finish. That is what a window does.
``serve_forever()`` runs on the calling (main) thread and returns on Ctrl-C or SIGTERM, stopping
the turns in progress first; that is what ``finr1 serve`` does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from app.core.engine.turn_queue import EngineQueue, QueueStatus
from app.core.serve.config import ServeConfig, ServerStartError
from app.core.serve.http_app import build_app
from app.core.serve.request_log import RequestLogCallback
from app.core.serve.turn_response import ActiveTurns

# How long a stop waits for open connections (streams ending after their cancel) before closing
# them anyway.
_GRACEFUL_SHUTDOWN_S = 3


class _Uvicorn(uvicorn.Server):
    """uvicorn that says when it is serving and stops our turns when asked to exit."""

    def __init__(self, config: uvicorn.Config, turns: ActiveTurns,
                 on_serving: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.serving = threading.Event()
        self._turns = turns
        self._on_serving = on_serving

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.serving.set()
            if self._on_serving is not None:
                self._on_serving()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._turns.cancel_all()
        super().handle_exit(sig, frame)


class ApiServer:
    """The OpenAI-compatible server of one loaded model (``queue.engine``).

    ``on_request`` receives a ``RequestRecord`` per request, from the server's thread. A server
    runs once: create another to serve again.
    """

    def __init__(self, queue: EngineQueue, config: ServeConfig,
                 on_request: RequestLogCallback | None = None) -> None:
        self.queue = queue
        self.config = config
        self._turns = ActiveTurns()
        self._app = build_app(queue, config, self._turns, on_request)
        self._socket: socket.socket | None = None
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    # -- where and how ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port listened on (the real one when the config asked for 0); 0 before binding."""
        return self._socket.getsockname()[1] if self._socket is not None else 0

    @property
    def url(self) -> str:
        """The base URL clients use (``http://HOST:PORT/v1``)."""
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.serving.is_set() \
            and not self._server.should_exit

    @property
    def queue_status(self) -> QueueStatus:
        """Whether the model is generating and how many requests wait (``EngineQueue.status``)."""
        return self.queue.status

    # -- running ----------------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Bind and serve on a daemon thread; returns once connections are accepted.

        Raises ``ServerStartError`` when the address cannot be bound or uvicorn does not start.
        """
        server = self._prepare()
        self._thread = threading.Thread(target=self._run, args=(server,), daemon=True,
                                        name="finr1-serve")
        self._thread.start()
        if not server.serving.wait(timeout_s) or not self._thread.is_alive():
            self.stop()
            raise ServerStartError(f"the server did not start on {self.url}; see the log above")

    def serve_forever(self, on_serving: Callable[[], None] | None = None) -> None:
        """Bind and serve on this thread until Ctrl-C (then return) or SIGTERM (then the process
        ends as that signal asks, after the shutdown); ``on_serving()`` is called once
        connections are accepted. Raises ``ServerStartError``."""
        # uvicorn passes the Ctrl-C on once it has shut down: here that is the normal end
        with contextlib.suppress(KeyboardInterrupt):
            self._run(self._prepare(on_serving))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel the turns in progress or waiting, stop accepting, and wait for the thread."""
        self._turns.cancel_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _prepare(self, on_serving: Callable[[], None] | None = None) -> _Uvicorn:
        if self._server is not None:
            raise RuntimeError("this server has already run; create a new ApiServer")
        self._socket = _bind(self.config.host, self.config.port)
        config = uvicorn.Config(self._app, log_level="warning", access_log=False, lifespan="off",
                                ws="none", server_header=False,
                                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S)
        self._server = _Uvicorn(config, self._turns, on_serving)
        return self._server

    def _run(self, server: _Uvicorn) -> None:
        assert self._socket is not None
        try:
            server.run(sockets=[self._socket])
        finally:
            self._turns.cancel_all()
            self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port``; ``ServerStartError`` with the reason if not."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name such as localhost
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let it take a port in use
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ServerStartError(
            f"cannot listen on {host}:{port}: {error.strerror or error}. Another program may use "
            "the port (choose another with --port) or the address is not this computer's"
        ) from None
    sock.set_inheritable(True)
    return sock
