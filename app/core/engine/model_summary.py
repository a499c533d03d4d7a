"""What the window's header says about the loaded model: name, quant, size, where it runs.

``summarize_model(info, gguf)`` turns the engine's ``EngineInfo`` and the file's ``GGUFInfo`` into
short texts. Kept apart from the engine so the header's wording has one home and a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.disk_space import human_bytes

if TYPE_CHECKING:
    from app.core.engine.local_engine import EngineInfo
    from app.core.library.model_library import ModelEntry
    from quant.gguf_check import GGUFInfo


@dataclass(frozen=True)
class ModelSummary:
    """``name``: the model's name (the file name when it has none). ``quant``: "Q4_K_M"…
    ``size``: "4.68 GB". ``device``: "CPU · 8 threads" or, as llama.cpp reported it after loading,
    "GPU: 28/29 layers on NVIDIA H100" ("GPU · 29/29 layers", planned, where it did not report).
    ``note``: how the GPU layers were decided. ``warnings``: to show the person (e.g. no GPU support)."""

    name: str
    quant: str
    size: str
    device: str
    note: str
    warnings: tuple[str, ...]

    @property
    def line(self) -> str:
        """One line for the header: "Fin-R1 · Q4_K_M · 4.68 GB · CPU · 8 threads"."""
        return " · ".join(part for part in (self.name, self.quant, self.size, self.device) if part)


def summarize_model(info: EngineInfo, gguf: GGUFInfo) -> ModelSummary:
    """The header's texts for a loaded model."""
    from app.core.hardware.llama_memory import read_gguf_shape  # imports numpy: kept off startup

    name = info.model_name or gguf.path.name
    offload = info.offload
    report = info.gpu_report
    if report is not None:  # what llama.cpp reported after loading, not the plan
        device = report.summary if report.gpu_layers else \
            f"CPU · {info.n_threads} thread{'s' if info.n_threads != 1 else ''}"
    elif offload.uses_gpu:
        shape = read_gguf_shape(gguf)
        total = shape.offloadable_layers if shape is not None else None
        if total is None:
            device = "GPU · all layers" if offload.n_gpu_layers < 0 else \
                f"GPU · {offload.n_gpu_layers} layers"
        else:
            layers = total if offload.n_gpu_layers < 0 else min(offload.n_gpu_layers, total)
            device = f"GPU · {layers}/{total} layers"
    else:
        device = f"CPU · {info.n_threads} thread{'s' if info.n_threads != 1 else ''}"
    return ModelSummary(
        name=name,
        quant=gguf.file_type_label or "",
        size=human_bytes(gguf.size_bytes),
        device=device,
        note=offload.note,
        warnings=info.warnings,
    )


def read_library(location_setting: str = "") -> list[ModelEntry]:
    """Every model of the library at ``location_setting`` ("" = the default folder), oldest
    first, each with its state checked on disk now. Empty when there is no library yet (nothing
    is created). Raises ``LibraryError`` subclasses when the library exists but cannot be read.
    Blocking: the GUI calls it off its thread (``app.ui.models.library_listing``)."""
    from app.core.installation.paths import app_paths
    from app.core.library.manifest import MANIFEST_NAME
    from app.core.library.model_library import Library  # a heavy import: kept off the window's start

    if not (app_paths().library_dir(location_setting) / MANIFEST_NAME).exists():
        return []
    with Library.open_default(location_setting) as library:
        return library.models()


def switcher_choices(entries: list[ModelEntry]) -> list[tuple[str, str]]:
    """The GGUF models in good order among ``entries``, as ``(model_id, label)`` for the model
    switcher ("name · quant · size"): the models the window can load."""
    from app.core.library.model_library import ModelKind, ModelStatus

    return [
        (entry.id, " · ".join(part for part in (entry.name, entry.quant_label or "",
                                                  human_bytes(entry.size_bytes)) if part))
        for entry in entries
        if entry.kind is ModelKind.GGUF and entry.status is ModelStatus.OK
    ]


def library_model_path(model_id: str, location_setting: str = "") -> Path:
    """The file of library model ``model_id``, only when it is as verified (the library raises
    ``UnknownModelError`` / ``ModelChangedError`` otherwise)."""
    from app.core.library.model_library import Library

    with Library.open_default(location_setting) as library:
        return library.path_for_use(model_id)
