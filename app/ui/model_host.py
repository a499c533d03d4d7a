"""Holds the loaded model for the window and loads, switches and frees it off the GUI thread.

``load(path, config)`` runs as a ``BackgroundJob``: the previous model is freed first (two 5 GB
models rarely fit together), then the new one is validated and loaded. Signals: ``loading(name)``,
``loaded(ModelSummary)``, ``load_failed(message)``. The engine itself is imported inside the job,
so starting the window does not wait for llama.cpp to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.engine_config import EngineConfig
from app.core.model_summary import ModelSummary, library_model_path, summarize_model
from app.ui.job_bridge import BackgroundJob, JobContext

if TYPE_CHECKING:
    from app.core.engine import ChatEngine


class ModelHost(QObject):
    """The window's one loaded model (or none)."""

    loading = Signal(str)
    loaded = Signal(object)
    load_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: ChatEngine | None = None
        self.path: Path | None = None
        self.summary: ModelSummary | None = None
        self.config: EngineConfig | None = None
        self._job: BackgroundJob | None = None

    @property
    def busy(self) -> bool:
        """True while a model is being loaded."""
        return self._job is not None and self._job.running

    def load(self, path: Path | str, config: EngineConfig) -> bool:
        """Free the current model and load ``path`` with ``config`` in the background.

        Returns False (and does nothing) while another load is running.
        """
        return self._start(lambda: Path(path), Path(path).name, config)

    def load_from_library(self, model_id: str, library_setting: str, config: EngineConfig) -> bool:
        """Like ``load``, for the library's model ``model_id`` (refused unless verified)."""
        return self._start(lambda: library_model_path(model_id, library_setting), model_id, config)

    def reload(self, config: EngineConfig) -> bool:
        """Load the current model again with another configuration (threads, context, GPU)."""
        if self.path is None:
            return False
        return self.load(self.path, config)

    def _start(self, resolve: Any, name: str, config: EngineConfig) -> bool:
        if self.busy:
            return False
        previous, self.engine, self.summary = self.engine, None, None

        def work(_context: JobContext) -> tuple[ChatEngine, ModelSummary, Path]:
            if previous is not None:
                previous.close()
            from app.core.engine import ChatEngine

            path = resolve()
            engine = ChatEngine(path, config)
            return engine, summarize_model(engine.info, engine.gguf_info), path

        self.loading.emit(name)
        self._job = BackgroundJob(self, work, "load model")
        self._job.on_success(lambda result: self._loaded(result, config))
        self._job.on_failure(self._failed)
        self._job.start()
        return True

    def _loaded(self, result: tuple[ChatEngine, ModelSummary, Path], config: EngineConfig) -> None:
        self.engine, self.summary, self.path = result
        self.config = config
        self.loaded.emit(self.summary)

    def _failed(self, error: BaseException) -> None:
        self.path = None
        self.load_failed.emit(str(error) or type(error).__name__)

    def shutdown(self) -> None:
        """Wait for a running load and free the model (on quit)."""
        if self._job is not None:
            self._job.wait()
        if self.engine is not None:
            self.engine.close()
            self.engine = None
