"""The window's switch for the app's own OpenAI-compatible server (``app.core.serve``).

``LocalServer(host)`` starts an ``ApiServer`` on the host's loaded model and stops it. The server
runs inside one ``BackgroundJob`` for as long as it serves: the job starts it, reports its address,
its request log (``RequestRecord``s) and the engine queue's status (``QueueStatus``) as items,
and stops it when cancelled. So the window's own chat and the server's clients share the model
through the host's ``EngineQueue``, and nothing here starts a thread.

It stops by itself when the host starts changing its engine (the server would serve a model
being freed). Only a model loaded on this computer can be served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.engine.turn_queue import QueueStatus
from app.ui.job_bridge import BackgroundJob, JobContext

if TYPE_CHECKING:
    from app.core.serve.config import ServeConfig
    from app.ui.window.model_host import ModelHost

# How often the serving job checks that uvicorn is still up while it waits to be stopped.
_ALIVE_CHECK_S = 0.5


class _Serving:
    """The item the job emits once the server accepts connections at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url


class LocalServer(QObject):
    """Starts and stops the app's server (see the module docstring). GUI thread only.

    Signals: ``state_changed()`` (starting, serving or stopped; read ``state``, ``url``),
    ``status_changed(QueueStatus)``, ``request_logged(RequestRecord)``, ``failed(message)``
    (it could not start, stopped on an error, or stopped because the engine is changing).
    """

    state_changed = Signal()
    status_changed = Signal(object)
    request_logged = Signal(object)
    failed = Signal(str)

    def __init__(self, host: ModelHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._host = host
        self._job: BackgroundJob | None = None
        self.state = "stopped"  # "starting", "serving", "stopping", "stopped"
        self.url = ""
        self.config: ServeConfig | None = None
        self.status = QueueStatus(False, 0, None)
        host.loading.connect(lambda _name: self._engine_changing())
        host.connecting.connect(lambda _url: self._engine_changing())

    @property
    def running(self) -> bool:
        """True from ``start`` until the server has stopped."""
        return self._job is not None and self._job.running

    def refusal(self) -> str | None:
        """Why the server cannot start now (a sentence), or None when it can."""
        if self.running:
            return self.tr("The server is already running.")
        if self._host.kind != "local" or self._host.queue is None:
            return self.tr("Load a model on this computer first: the server answers with the "
                           "model loaded here.")
        return None

    def start(self, config: ServeConfig) -> bool:
        """Serve the loaded model under ``config`` in the background. False, with ``failed``
        emitted, when ``refusal()`` says it cannot; a bind failure arrives as ``failed``."""
        refused = self.refusal()
        if refused is not None:
            self.failed.emit(refused)
            return False
        queue = self._host.queue
        assert queue is not None

        def serve(context: JobContext) -> None:
            from app.core.serve.server import ApiServer

            server = ApiServer(queue, config, on_request=context.emit)
            unsubscribe = queue.subscribe(context.emit)
            try:
                server.start()
                context.emit(_Serving(server.url))
                while not context.cancel.wait(_ALIVE_CHECK_S):
                    if not server.running:
                        raise RuntimeError(f"the server at {server.url} stopped by itself; "
                                           "start it again")
            finally:
                unsubscribe()
                server.stop()

        self.config = config
        self.status = queue.status
        self._set_state("starting")
        self._job = BackgroundJob(self, serve, "local server")
        self._job.on_item(self._item).on_success(self._stopped).on_failure(self._failed)
        self._job.start()
        return True

    def stop(self) -> None:
        """Stop serving (the turns in progress are cancelled); returns at once, ``state_changed``
        follows when the port is free."""
        if self.running:
            assert self._job is not None
            self._job.cancel()
            self._set_state("stopping")

    def _engine_changing(self) -> None:
        if self.running and self.state != "stopping":
            self.stop()
            self.failed.emit(self.tr("The server stopped because the model is changing; start "
                                     "it again once the new one is ready."))

    def shutdown(self) -> None:
        """Stop and wait until the server has stopped (on quit, before the model is freed)."""
        if self._job is not None:
            self._job.stop()

    def _item(self, item: object) -> None:
        if isinstance(item, _Serving):
            self.url = item.url
            if self.state == "starting":
                self._set_state("serving")
        elif isinstance(item, QueueStatus):
            self.status = item
            self.status_changed.emit(item)
        else:
            self.request_logged.emit(item)

    def _stopped(self, _result: object) -> None:
        self._job = None
        self.status = QueueStatus(False, 0, None)
        self._set_state("stopped")

    def _failed(self, error: BaseException) -> None:
        self._stopped(None)
        self.failed.emit(str(error) or type(error).__name__)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit()
