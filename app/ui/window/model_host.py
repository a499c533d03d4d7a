"""Holds the window's engine, loads, connects, switches and frees it off the GUI thread.

The engine is either a GGUF loaded on this computer (``load``, ``load_from_library``) or a model
on an OpenAI-compatible server (``connect_server``: a ``RemoteEngine``). Each runs as a
``BackgroundJob``: the previous engine is freed first (two 5 GB models rarely fit together), once
the turn using it has ended, then the new one is loaded or connected. Signals: ``loading(name)``
/ ``connecting(url)`` when it starts, ``loaded(ModelSummary)`` / ``connected(RemoteEngineInfo)``
when it is ready, ``load_failed(message)`` otherwise. The engines are imported inside the job, so
starting the window waits for neither llama.cpp nor the HTTP client.

Every turn, the window's chat and the local server's alike, goes through ``queue`` (an
``EngineQueue`` on the engine): one reply at a time, first come first served.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QObject, Signal

from app.core.engine.config import EngineConfig
from app.core.engine.model_summary import ModelSummary, library_model_path, summarize_model
from app.core.engine.turn_queue import EngineQueue, QueueFullError
from app.ui.job_bridge import BackgroundJob, JobContext

if TYPE_CHECKING:
    from app.core.engine.api import Engine
    from app.core.engine.remote_engine import RemoteEngineInfo
    from app.core.engine.server_connection import ServerConnection
    from foundation.jobs import CancelToken

HostKind = Literal["local", "server"]
CHAT_QUEUE_LABEL = "chat"  # the window's turns in the queue (the local server's: "server")
_LINE_POLL_S = 0.05  # how often freeing an engine retries a full queue (its turns are ending)


class ModelHost(QObject):
    """The window's one engine (or none) and the queue in front of it.

    ``engine``/``queue``: None while nothing is ready. ``kind``: what the last load or
    connection asked for ("local" or "server"). ``path``/``summary``/``config``: the local model
    loaded; ``server``: the server's ``RemoteEngineInfo`` when one answers.
    """

    loading = Signal(str)
    connecting = Signal(str)
    loaded = Signal(object)
    connected = Signal(object)
    load_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: Engine | None = None
        self.queue: EngineQueue | None = None
        self.kind: HostKind = "local"
        self.path: Path | None = None
        self.summary: ModelSummary | None = None
        self.config: EngineConfig | None = None
        self.server: RemoteEngineInfo | None = None
        self._job: BackgroundJob | None = None

    @property
    def busy(self) -> bool:
        """True while a model is being loaded or a server connected."""
        return self._job is not None and self._job.running

    def load(self, path: Path | str, config: EngineConfig) -> bool:
        """Free the current engine and load the GGUF at ``path`` with ``config`` in the
        background. Returns False (and does nothing) while another load is running."""
        return self._start_local(lambda: Path(path), Path(path).name, config)

    def load_from_library(self, model_id: str, library_setting: str, config: EngineConfig) -> bool:
        """Like ``load``, for the library's model ``model_id`` (refused unless verified)."""
        return self._start_local(lambda: library_model_path(model_id, library_setting), model_id,
                                 config)

    def reload(self, config: EngineConfig) -> bool:
        """Load the current local model again with another configuration (threads, context,
        GPU); False when none is loaded."""
        if self.path is None:
            return False
        return self.load(self.path, config)

    def connect_server(self, connection: ServerConnection) -> bool:
        """Free the current engine and connect to the server ``connection`` names, in the
        background (``connected`` or ``load_failed`` follows). False while a load is running."""
        def open_server(_context: JobContext) -> tuple[Engine, RemoteEngineInfo]:
            from app.core.engine.remote_engine import RemoteEngine

            engine = RemoteEngine(connection)
            return engine, engine.info

        if not self._replace("server", open_server, self._connected):
            return False
        self.path = None
        self.connecting.emit(connection.base_url)
        return True

    def unload(self) -> bool:
        """Free the current engine in the background and keep none. False while a load runs."""
        if not self._replace(self.kind, lambda _context: (None, None), lambda _result: None):
            return False
        self.path = None
        return True

    def _start_local(self, resolve: Callable[[], Path], name: str, config: EngineConfig) -> bool:
        def open_model(_context: JobContext) -> tuple[Engine, tuple[ModelSummary, Path]]:
            from app.core.engine.local_engine import ChatEngine

            path = resolve()
            engine = ChatEngine(path, config)
            return engine, (summarize_model(engine.info, engine.gguf_info), path)

        if not self._replace("local", open_model, lambda result: self._loaded(result, config)):
            return False
        self.loading.emit(name)
        return True

    def _replace(self, kind: HostKind, open_engine: Callable[[JobContext], tuple[Any, Any]],
                 ready: Callable[[Any], None]) -> bool:
        """Free the current engine, then ``open_engine(context)`` → (engine, facts) and
        ``ready(facts)`` on the GUI thread once the engine is in place; all off the GUI
        thread."""
        if self.busy:
            return False
        previous, previous_queue = self.engine, self.queue
        self.engine, self.queue, self.summary, self.server = None, None, None, None
        self.kind = kind

        def work(context: JobContext) -> tuple[Any, Any]:
            if previous is not None and previous_queue is not None:
                _close_when_free(previous, previous_queue, context.cancel)
            return open_engine(context)

        def succeeded(result: tuple[Any, Any]) -> None:
            engine, facts = result
            self.engine = engine
            self.queue = EngineQueue(engine) if engine is not None else None
            ready(facts)

        self._job = BackgroundJob(self, work, f"open a {kind} engine")
        self._job.on_success(succeeded)
        self._job.on_failure(self._failed)
        self._job.start()
        return True

    def _loaded(self, facts: tuple[ModelSummary, Path], config: EngineConfig) -> None:
        self.summary, self.path = facts
        self.config = config
        self.loaded.emit(self.summary)

    def _connected(self, info: RemoteEngineInfo) -> None:
        self.server = info
        self.connected.emit(info)

    def _failed(self, error: BaseException) -> None:
        self.path = None
        self.load_failed.emit(str(error) or type(error).__name__)

    def shutdown(self) -> None:
        """Wait for a running load and free the engine (on quit; stop the local server and the
        chat's reply first)."""
        if self._job is not None:
            self._job.wait()
        if self.engine is not None:
            self.engine.close()
            self.engine, self.queue = None, None


def _close_when_free(engine: Engine, queue: EngineQueue, cancel: CancelToken) -> None:
    """Close ``engine`` once the turn using it (and those waiting) are done: takes the last place
    in its queue, retrying while the line is full (the server's turns are being stopped).
    Raises ``JobCancelled`` when ``cancel`` is set meanwhile."""
    while True:
        try:
            lease = queue.lease(cancel, label="unload")
            break
        except QueueFullError:
            if cancel.wait(_LINE_POLL_S):
                cancel.raise_if_cancelled("freeing the model")
    with lease:
        engine.close()
