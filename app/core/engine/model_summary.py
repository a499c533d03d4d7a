"""What the window's header says about the loaded model: name, quant, size, where it runs.

``summarize_model(info, gguf)`` turns the engine's ``EngineInfo`` and the file's ``GGUFInfo`` into
a ``ModelSummary``: short texts, and where the model runs as facts (the window words those in its
language; ``ModelSummary.device`` is the English wording). Kept apart from the engine so the
header's facts have one home and a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from foundation.disk_space import human_bytes

if TYPE_CHECKING:
    from app.core.engine.local_engine import EngineInfo
    from app.core.library.model_library import ModelEntry
    from quant.gguf_check import GGUFInfo


Where = Literal["cpu", "gpu"]


@dataclass(frozen=True)
class ModelSummary:
    """``name``: the model's name (the file name when it has none). ``quant``: "Q4_K_M"…
    ``size``: "4.68 GB". Where the model runs, as facts (the window words them in its language):
    ``where`` "cpu" or "gpu"; ``threads``: the CPU threads; ``gpu_layers``: the layers on the GPU
    (-1 = all of them, where the file does not say how many there are; 0 on the CPU);
    ``total_layers``: the layers the model could put there (None when unknown); ``gpu_device``:
    the GPU as llama.cpp reported it after loading ("" = it did not report: the layers are the
    plan). ``note``: how the GPU layers were decided. ``warnings``: to show the person (e.g. no
    GPU support)."""

    name: str
    quant: str
    size: str
    where: Where
    threads: int
    gpu_layers: int
    total_layers: int | None
    gpu_device: str
    note: str
    warnings: tuple[str, ...]

    @property
    def device(self) -> str:
        """Where the model runs in English: "CPU · 8 threads", "GPU: 28/29 layers on NVIDIA
        H100" (reported by llama.cpp), or planned "GPU · 28/29 layers", "GPU · 12 layers",
        "GPU · all layers"."""
        if self.where == "cpu":
            return f"CPU · {self.threads} thread{'s' if self.threads != 1 else ''}"
        if self.gpu_device:
            total = "?" if self.total_layers is None else self.total_layers
            return f"GPU: {self.gpu_layers}/{total} layers on {self.gpu_device}"
        if self.total_layers is not None:
            return f"GPU · {self.gpu_layers}/{self.total_layers} layers"
        return "GPU · all layers" if self.gpu_layers < 0 else f"GPU · {self.gpu_layers} layers"

    @property
    def line(self) -> str:
        """One line for the header: "Fin-R1 · Q4_K_M · 4.68 GB · CPU · 8 threads"."""
        return " · ".join(part for part in (self.name, self.quant, self.size, self.device) if part)


def summarize_model(info: EngineInfo, gguf: GGUFInfo) -> ModelSummary:
    """The header's facts for a loaded model: where llama.cpp reported the layers to be, else
    where they were planned to go."""
    from app.core.hardware.llama_memory import read_gguf_shape  # imports numpy: kept off startup

    offload = info.offload
    report = info.gpu_report
    where: Where = "cpu"
    gpu_layers, total, gpu_device = 0, None, ""
    if report is not None:  # what llama.cpp reported after loading, not the plan
        if report.gpu_layers:
            where, gpu_layers, total, gpu_device = \
                "gpu", report.gpu_layers, report.total_layers, report.device
    elif offload.uses_gpu:
        shape = read_gguf_shape(gguf)
        total = shape.offloadable_layers if shape is not None else None
        where, gpu_layers = "gpu", offload.n_gpu_layers
        if total is not None:
            gpu_layers = total if gpu_layers < 0 else min(gpu_layers, total)
    return ModelSummary(
        name=info.model_name or gguf.path.name,
        quant=gguf.file_type_label or "",
        size=human_bytes(gguf.size_bytes),
        where=where,
        threads=info.n_threads,
        gpu_layers=gpu_layers,
        total_layers=total,
        gpu_device=gpu_device,
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
