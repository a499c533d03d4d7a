"""The engines a batch started in the window can run on, and how each becomes the core's
``EngineChoice`` (``app.core.batch.runner``).

Three kinds are offered (``engine_options``, on the GUI thread, without I/O):

- ``WindowEngine``: the window's own engine (a GGUF loaded here, or the server it is connected
  to). It stays the host's: every row waits its turn in the host's ``EngineQueue``, in line with
  the chat and the local server (``QueuedEngine``), so they go on answering between rows. A row
  that finds the window's engine changed (another model loaded meanwhile) stops the run with a
  ``BatchError``; the run continues once that model is loaded again.
- ``LibraryModel``: a verified GGUF of the library other than the loaded one. The runner loads
  each when its turn comes and frees it before the next, while the window's model stays loaded
  for the chat: the batch view asks before two models share the memory (see its docstring).
- ``SettingsServer``: the OpenAI-compatible server named in the settings, when the window is not
  already connected to it.

``choices_for`` runs inside the batch job (off the GUI thread): it identifies each model (the
library's SHA-256, or the file hashed when it is not in the library) and returns the choices in
the order given. ``choices_for_run`` finds, for a recorded run, the offered engine behind each
of its engines (by SHA-256, or server and model), to continue it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.batch.runner import EngineChoice
from app.core.engine.model_summary import switcher_choices
from app.core.engine.turn_queue import EngineQueue, QueueFullError
from app.core.errors import BatchError, BatchResumeError
from app.core.history.provenance import ModelProvenance, identify_model
from foundation.closing import Closing
from foundation.errors import FinR1Error
from foundation.jobs import CancelToken, JobCancelled

if TYPE_CHECKING:
    from app.core.batch.store import BatchRun
    from app.core.engine.api import Engine
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import ChatEngine, ChatStream, EngineInfo, TokenChunk, TurnResult
    from app.core.engine.remote_engine import RemoteEngineInfo
    from app.core.engine.server_connection import ServerConnection
    from app.core.engine.turn_queue import QueuedStream
    from app.core.installation.settings import AppSettings
    from app.core.library.model_library import Library, ModelEntry
    from app.core.templates.chat_template import ChatMessage
    from app.ui.window.model_host import ModelHost

BATCH_QUEUE_LABEL = "batch"  # the batch's turns in the host's queue (the chat's: "chat")
_LINE_POLL_S = 0.05  # how often a batch row retries a full queue


@dataclass(frozen=True)
class WindowEngine:
    """The window's engine, shared through its queue. ``path``: the local GGUF (None for a
    server); ``server``: the server's info (None for a local model); ``size_bytes``: the
    model file's size (0 for a server)."""

    label: str
    queue: EngineQueue
    host: ModelHost
    path: Path | None
    server: RemoteEngineInfo | None
    size_bytes: int

    @property
    def key(self) -> str:
        return "window"


@dataclass(frozen=True)
class LibraryModel:
    """A verified GGUF of the library, loaded by the runner for its rows."""

    label: str
    entry: ModelEntry

    @property
    def key(self) -> str:
        return f"library:{self.entry.id}"

    @property
    def size_bytes(self) -> int:
        return self.entry.size_bytes


@dataclass(frozen=True)
class SettingsServer:
    """The server the settings name."""

    label: str
    connection: ServerConnection

    @property
    def key(self) -> str:
        return "server"

    @property
    def size_bytes(self) -> int:
        return 0


EngineOption = WindowEngine | LibraryModel | SettingsServer


def engine_options(host: ModelHost, entries: Sequence[ModelEntry] | None,
                   settings: AppSettings) -> list[EngineOption]:
    """What a batch can run on now (see the module docstring): the window's engine when one is
    ready, the library's verified GGUFs other than the loaded one (``entries``: the library as
    last listed, None before the first listing), and the settings' server unless the window is
    connected to it. GUI thread; no I/O."""
    options: list[EngineOption] = []
    if host.queue is not None:
        options.append(_window_engine(host, host.queue))
    loaded = host.path.resolve() if host.path is not None else None
    by_id = {entry.id: entry for entry in entries or ()}
    for model_id, label in switcher_choices(list(entries or ())):
        entry = by_id[model_id]
        if loaded is None or entry.path.resolve() != loaded:
            options.append(LibraryModel(label, entry))
    if settings.server_url.strip():
        with contextlib.suppress(FinR1Error):  # the settings dialog says what is wrong with it
            connection = settings.server_connection()
            if host.server is None or host.server.url.rstrip("/") != \
                    connection.base_url.rstrip("/"):
                options.append(SettingsServer(
                    f"{connection.model or 'server'} @ {connection.base_url}", connection))
    return options


def _window_engine(host: ModelHost, queue: EngineQueue) -> WindowEngine:
    if host.server is not None:
        return WindowEngine(f"{host.server.model_id} @ {host.server.url}", queue, host, None,
                            host.server, 0)
    name = host.path.name if host.path is not None else "model"
    quant = host.summary.quant if host.summary is not None else ""
    label = f"{name} ({quant})" if quant else name  # as the results name it
    gguf_info = getattr(host.engine, "gguf_info", None)  # a ChatEngine's file facts
    size = gguf_info.size_bytes if gguf_info is not None else 0
    return WindowEngine(label, queue, host, host.path, None, size)


# -- in the batch job ------------------------------------------------------------------------------


def choices_for(options: Sequence[EngineOption], settings: AppSettings, library: Library | None,
                cancel: CancelToken | None = None) -> tuple[EngineChoice, ...]:
    """The runner's engines for ``options``, in order. Hashes a window model that the library
    does not know (seconds per gigabyte). Raises ``JobCancelled``, ``GGUFValidationError``,
    OSError."""
    return tuple(_choice(option, settings, library, cancel) for option in options)


def choices_for_run(run: BatchRun, options: Sequence[EngineOption], settings: AppSettings,
                    library: Library | None,
                    cancel: CancelToken | None = None) -> tuple[EngineChoice, ...]:
    """The engines of recorded run ``run``, in its order, each found among ``options`` by its
    identity (SHA-256, or server and model). Raises ``BatchResumeError`` naming an engine of the
    run that is not offered now."""
    offered = [_choice(option, settings, library, cancel) for option in options]
    found = []
    for record in run.engines:
        wanted = {key: record.get(key) for key in ("model_sha256", "server_url", "server_model")}
        match = next((choice for choice in offered if choice.identity() == wanted), None)
        if match is None:
            raise BatchResumeError(
                f"batch run {run.id} was answered by {record.get('label', 'a model')}, which is "
                "neither the window's model nor a verified model of the library (nor the "
                "server in the settings); load it or import it, then continue the run")
        found.append(match)
    return tuple(found)


def _choice(option: EngineOption, settings: AppSettings, library: Library | None,
            cancel: CancelToken | None) -> EngineChoice:
    if isinstance(option, WindowEngine):
        return _window_choice(option, library, cancel)
    if isinstance(option, LibraryModel):
        return _library_choice(option.entry, settings)
    return _server_choice(option.connection)


def _label(provenance: ModelProvenance) -> str:
    return provenance.file_name if not provenance.quant else \
        f"{provenance.file_name} ({provenance.quant})"


def _window_choice(option: WindowEngine, library: Library | None,
                   cancel: CancelToken | None) -> EngineChoice:
    queue, host = option.queue, option.host
    engine = QueuedEngine(queue, lambda: host.queue is queue, option.label)
    if option.server is not None:
        return EngineChoice(option.server.model_id, option.server.provenance().as_record(),
                            lambda: contextlib.nullcontext(engine))
    assert option.path is not None
    provenance = identify_model(option.path, library, cancel)
    return EngineChoice(_label(provenance), provenance.as_record(),
                        lambda: contextlib.nullcontext(engine))


def _library_choice(entry: ModelEntry, settings: AppSettings) -> EngineChoice:
    provenance = ModelProvenance(str(entry.path.resolve()), entry.path.name, entry.sha256,
                                 entry.quant_label, entry.size_bytes, entry.id)

    def load() -> contextlib.AbstractContextManager[Engine]:
        from app.core.engine.local_engine import ChatEngine
        from app.core.engine.model_summary import library_model_path
        from app.core.hardware.fit import choose_context
        from app.core.hardware.machine import detect_machine
        from quant.gguf_check import validate_gguf

        path = library_model_path(entry.id, settings.library_dir)  # refused unless verified
        config = settings.engine_config()
        fitted = choose_context(validate_gguf(path), config.n_ctx, detect_machine(),
                                use_gpu=config.n_gpu_layers != 0)
        return ChatEngine(path, replace(config, n_ctx=fitted.n_ctx))

    return EngineChoice(_label(provenance), provenance.as_record(), load)


def _server_choice(connection: ServerConnection) -> EngineChoice:
    def connect() -> contextlib.AbstractContextManager[Engine]:
        from app.core.engine.remote_engine import RemoteEngine

        return RemoteEngine(connection)

    return EngineChoice(connection.model or f"server {connection.base_url}",
                        {"engine": "server", "server_url": connection.base_url,
                         "server_model": connection.model}, connect)


# -- the window's engine, one turn at a time -------------------------------------------------------


class QueuedEngine(Closing):
    """The window's engine as a batch's ``Engine``: each ``stream_chat`` waits its turn in
    ``queue`` (first come, first served with the chat and the local server) and holds the
    engine for that one reply. ``is_current()`` says whether the queue is still the window's:
    a turn that finds it is not raises ``BatchError`` (the model was changed meanwhile).
    ``close`` does nothing: the window's host owns the engine."""

    def __init__(self, queue: EngineQueue, is_current: Callable[[], bool], label: str) -> None:
        self._queue = queue
        self._is_current = is_current
        self._label = label

    @property
    def info(self) -> EngineInfo | RemoteEngineInfo:
        return self._queue.engine.info

    def stream_chat(self, conversation: Sequence[ChatMessage],
                    settings: GenerationSettings | None = None,
                    cancel: CancelToken | None = None,
                    on_token: Callable[[TokenChunk], None] | None = None,
                    reply_prefix: str = "") -> _QueuedTurn:
        """The turn, once the queue hands over the engine; iterating it (or ``run``) raises
        ``JobCancelled`` when ``cancel`` is set while it waits."""
        def start(engine: ChatEngine) -> ChatStream:
            if not self._is_current():
                raise BatchError(f"the window's model ({self._label}) was changed while the "
                                 "batch ran on it; load it again and continue the run")
            return engine.stream_chat(conversation, settings, cancel, on_token, reply_prefix)

        return _QueuedTurn(self._submit(start, cancel))

    def _submit(self, start: Callable[[ChatEngine], ChatStream],
                cancel: CancelToken | None) -> QueuedStream:
        waiting = cancel or CancelToken()
        while True:
            try:
                return self._queue.submit(start, cancel=cancel, label=BATCH_QUEUE_LABEL)
            except QueueFullError:  # the chat and the server's clients fill the line: wait
                if waiting.wait(_LINE_POLL_S):
                    raise JobCancelled("waiting for the model") from None

    def chat(self, conversation: Sequence[ChatMessage],
             settings: GenerationSettings | None = None,
             cancel: CancelToken | None = None) -> TurnResult:
        return self.stream_chat(conversation, settings, cancel).run()

    def close(self) -> None:
        """Nothing to free: the engine stays the window's."""


class _QueuedTurn:
    """A ``QueuedStream`` with the ``run`` of a ``ChatStream``."""

    def __init__(self, queued: QueuedStream) -> None:
        self._queued = queued

    def __iter__(self) -> Iterator[TokenChunk]:
        return iter(self._queued)

    @property
    def result(self) -> TurnResult:
        return self._queued.result

    def run(self) -> TurnResult:
        for _chunk in self._queued:
            pass
        return self._queued.result

    def close(self) -> None:
        self._queued.close()
