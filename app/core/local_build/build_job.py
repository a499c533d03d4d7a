"""Building quants locally, as ONE job: checkpoint → BF16 GGUF → [importance matrix] → quantize →
verify → library. The wizard, the model manager and ``finr1 build`` all call this module.

``plan_build`` checks the checkpoint folder (the converter's own planning), the quant types and
the importance-matrix choice, and says how much disk the build needs before anything is written.
``run_build`` carries the plan out in a private work folder inside the library's download area
(same disk, so finished files enter the library by rename), reporting each stage's progress with
its stage name (``convert``, ``imatrix``, ``quantize q4_k_m``, ``verify q4_k_m``…); the plan's
``overall_fraction`` places a report within the whole build. On cancel, error or a crash of the
process, the work folder with the BF16 intermediate and any half-made quant is removed (a killed
build's folder is removed by the next build); models already added stay in the library,
complete and verified.

An importance matrix is computed (on the bundled finance calibration text) when a chosen type
gains much from one, ``IMATRIX_BY_DEFAULT``, or cannot be made without one; it is then used for
every chosen type it helps.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import __version__
from app.core.errors import InvalidModelNameError
from app.core.library.file_digest import sha256_file
from app.core.library.model_library import Library, ModelEntry
from app.core.local_build.calibration import calibration_set
from foundation.disk_space import human_bytes, require_free_space
from foundation.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, ignore_progress
from foundation.processes import left_by_dead_writer
from quant.convert import ConversionPlan, convert_checkpoint, plan_conversion
from quant.errors import ImatrixRequiredError
from quant.formats import QUANTIZE_TYPES, ImatrixNeed, QuantType, quant_type
from quant.imatrix import build_imatrix
from quant.quantize import quantize_gguf

JOB_NAME = "build"
WORK_DIR_PREFIX = "build-"
# Types that lose much without an importance matrix (the brief's KLD table): one is computed for
# them unless the caller says otherwise.
IMATRIX_BY_DEFAULT = frozenset({"q4_k_s", "iq3_m", "iq3_s", "iq3_xs"})
BUILDABLE_TYPES: tuple[str, ...] = ("bf16", "f16", *QUANTIZE_TYPES)
IMATRIX_FILE_BYTES = 64 << 20  # generous: Fin-R1's matrix is about 20 MB

# Relative cost of each stage, for the overall progress bar only: they set how far the bar moves
# per stage, never a time shown to a person (times come from each stage's measured speed, see
# foundation.job_rate). Rough, unmeasured guesses: converting runs at disk speed, quantizing is
# slower, and the importance matrix (forward passes over the calibration text) is the slowest
# stage on a CPU.
_CONVERT_COST = 1.0
_IMATRIX_COST = 3.0
_QUANTIZE_COST = 1.5
_VERIFY_COST = 0.2


@dataclass(frozen=True)
class BuildStage:
    """One step of a build. ``kind``: ``convert``, ``imatrix``, ``quantize`` or ``verify``;
    ``quant``: the type it makes or checks (None for the importance matrix); ``weight``: its
    share of the whole build's work (the weights sum to 1)."""

    kind: str
    quant: QuantType | None
    weight: float

    @property
    def name(self) -> str:
        """The stage name its progress reports carry (``quantize q4_k_m``)."""
        if self.quant is None or (self.kind == "convert" and self.quant.name == "bf16"):
            return self.kind
        return f"{self.kind} {self.quant.name}"


@dataclass(frozen=True)
class BuildPlan:
    """Everything decided before a byte is written.

    ``model_name`` names the outputs (``{model_name}.{LABEL}.gguf``). ``needed_disk_bytes``: the
    BF16 intermediate plus every output (estimated from the parameter count and the table's bits
    per weight) plus the importance matrix. ``source``: recorded with each model in the library.
    """

    checkpoint_dir: Path
    model_name: str
    quant_types: tuple[QuantType, ...]
    imatrix: bool
    imatrix_chunks: int | None
    conversion: ConversionPlan
    stages: tuple[BuildStage, ...]
    needed_disk_bytes: int
    work_parent: Path
    source: dict[str, Any]

    @property
    def parameter_count(self) -> int:
        return self.conversion.parameter_count

    def output_bytes(self, quant: QuantType) -> int:
        """Expected size of the ``quant`` output."""
        return output_bytes(self.conversion, quant)

    def stage_index(self, stage_name: str) -> int | None:
        """Position of the stage a progress report names, or None for an unknown name."""
        return next((index for index, stage in enumerate(self.stages)
                     if stage.name == stage_name), None)

    def overall_fraction(self, progress: Progress) -> float | None:
        """Where ``progress`` (a report of ``run_build``) stands in the whole build, in [0, 1];
        None for a report of no known stage."""
        index = self.stage_index(progress.stage)
        if index is None:
            return None
        before = sum(stage.weight for stage in self.stages[:index])
        within = progress.fraction or 0.0
        return min(1.0, before + self.stages[index].weight * within)

    def describe(self) -> str:
        """One line for a person: what will be built, from what, and the disk it needs."""
        types = ", ".join(quant.label for quant in self.quant_types)
        matrix = " with an importance matrix" if self.imatrix else ""
        return (f"{self.model_name} ({self.parameter_count / 1e9:.2f} B parameters) → {types}"
                f"{matrix}; needs {human_bytes(self.needed_disk_bytes)} of free disk space")


@dataclass(frozen=True)
class BuildResult:
    """The models the build added (in the order of the plan's types), as the library holds
    them; each one's source names the importance matrix's dataset when one was used."""

    entries: tuple[ModelEntry, ...]


def wants_imatrix(quant_types: tuple[QuantType, ...] | list[QuantType]) -> bool:
    """Whether the default is to compute an importance matrix for these types."""
    return any(quant.name in IMATRIX_BY_DEFAULT or quant.imatrix is ImatrixNeed.REQUIRED
               for quant in quant_types)


def plan_build(library: Library, checkpoint_dir: Path, quant_types: list[str] | tuple[str, ...],
               *, imatrix: bool | None = None, imatrix_chunks: int | None = None,
               model_name: str | None = None,
               source_model_id: str | None = None) -> BuildPlan:
    """Check a checkpoint folder and decide the build of ``quant_types`` (names, e.g.
    ``["q4_k_m"]``; each at most once, in the table's order).

    ``imatrix`` None follows ``wants_imatrix``; ``imatrix_chunks`` caps the calibration chunks
    (all by default). ``model_name`` defaults to the folder's name; ``source_model_id`` records
    the library's checkpoint the build came from.

    Raises ``ValueError`` for no types, an unknown type or one that cannot be built;
    ``InvalidModelNameError`` (also a ``ValueError``) for a ``model_name`` that is not a plain
    file name; ``ImatrixRequiredError`` when a type needs an importance matrix and ``imatrix``
    is False; the ``CheckpointError`` family for a folder the converter cannot build from. Writes nothing.
    """
    checkpoint_dir = Path(checkpoint_dir)
    chosen = _chosen_types(quant_types)
    use_imatrix = wants_imatrix(chosen) if imatrix is None else imatrix
    required = [quant.label for quant in chosen if quant.imatrix is ImatrixNeed.REQUIRED]
    if required and not use_imatrix:
        raise ImatrixRequiredError(
            f"{', '.join(required)} cannot be built without an importance matrix; allow one "
            "(it is computed on the bundled finance text) or choose a larger type such as IQ3_S")
    if imatrix_chunks is not None and imatrix_chunks < 1:
        raise ValueError(f"imatrix_chunks must be at least 1, not {imatrix_chunks}")
    if model_name:
        _check_model_name(model_name)
    conversion = plan_conversion(checkpoint_dir, "bf16")
    name = model_name or checkpoint_dir.resolve().name
    stages = _stages(chosen, use_imatrix)
    needed = needed_disk_bytes(conversion, chosen, use_imatrix)
    source = {"type": "build", "checkpoint": str(checkpoint_dir.resolve()),
              "checkpoint_model_id": source_model_id, "app_version": __version__}
    return BuildPlan(checkpoint_dir, name, chosen, use_imatrix, imatrix_chunks, conversion,
                     stages, needed, library.downloads_dir, source)


def output_bytes(conversion: ConversionPlan, quant: QuantType) -> int:
    """Expected size of the ``quant`` output built from ``conversion``'s checkpoint."""
    if quant.name in ("bf16", "f16"):
        return conversion.tensor_bytes
    return int(conversion.parameter_count * quant.bits_per_weight / 8)


def needed_disk_bytes(conversion: ConversionPlan, quants: Iterable[QuantType],
                      use_imatrix: bool) -> int:
    """Disk a build of ``quants`` needs at its peak: the BF16 intermediate (which is also the
    BF16 result), every other output, and the importance matrix when one is computed."""
    outputs = sum(output_bytes(conversion, quant) for quant in quants if quant.name != "bf16")
    return conversion.tensor_bytes + outputs + (IMATRIX_FILE_BYTES if use_imatrix else 0)


def _check_model_name(model_name: str) -> None:
    if model_name in (".", "..") or any(mark in model_name for mark in ("/", "\\", "\0")):
        raise InvalidModelNameError(
            f"the model name {model_name!r} cannot be used in file names; choose one without "
            "/ or \\, such as Fin-R1")


def _chosen_types(names: list[str] | tuple[str, ...]) -> tuple[QuantType, ...]:
    if not names:
        raise ValueError("choose at least one quant type to build")
    wanted = set()
    for name in names:
        try:
            quant = quant_type(name)
        except KeyError as error:
            raise ValueError(str(error.args[0])) from None
        if quant.name not in BUILDABLE_TYPES:
            raise ValueError(f"{quant.label} is not built here; choose from "
                             f"{', '.join(BUILDABLE_TYPES)}")
        wanted.add(quant.name)
    return tuple(quant_type(name) for name in BUILDABLE_TYPES if name in wanted)


def _stages(chosen: tuple[QuantType, ...], use_imatrix: bool) -> tuple[BuildStage, ...]:
    costs: list[tuple[str, QuantType | None, float]] = [("convert", quant_type("bf16"),
                                                         _CONVERT_COST)]
    if use_imatrix:
        costs.append(("imatrix", None, _IMATRIX_COST))
    for quant in _work_order(chosen):
        share = quant.bits_per_weight / 16
        if quant.name == "f16":
            costs.append(("convert", quant, _CONVERT_COST))
        elif quant.name != "bf16":
            costs.append(("quantize", quant, _QUANTIZE_COST))
        costs.append(("verify", quant, _VERIFY_COST * share))
    total = sum(cost for _kind, _quant, cost in costs)
    return tuple(BuildStage(kind, quant, cost / total) for kind, quant, cost in costs)


def run_build(plan: BuildPlan, library: Library, *,
              on_progress: ProgressCallback = ignore_progress,
              cancel: CancelToken | None = None, threads: int | None = None) -> BuildResult:
    """Carry out ``plan``; returns the models added to ``library``.

    Raises ``NotEnoughDiskSpaceError`` (before any byte is written), ``JobCancelled``, and what
    the stages raise (``CheckpointError`` family, ``F16OverflowError``, ``ImatrixError``,
    ``QuantizeError``, ``DiskFullError``, ``ModelLoadError``, ``LibraryError``…). Whatever
    happens, the work folder is removed; a model is in the library only once verified.
    """
    require_free_space(plan.work_parent, plan.needed_disk_bytes,
                       f"building {', '.join(q.label for q in plan.quant_types)} from "
                       f"{plan.model_name}")
    remove_stale_work_dirs(plan.work_parent)
    work_dir = plan.work_parent / f"{WORK_DIR_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    work_dir.mkdir(parents=True)
    try:
        return _build(plan, library, work_dir, on_progress, cancel, threads)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _build(plan: BuildPlan, library: Library, work_dir: Path, on_progress: ProgressCallback,
           cancel: CancelToken | None, threads: int | None) -> BuildResult:
    def stage(name: str) -> ProgressCallback:
        def report(progress: Progress) -> None:
            on_progress(Progress(name, progress.done, progress.total, progress.unit,
                                 progress.message))
        return report

    bf16_path = work_dir / _file_name(plan.model_name, quant_type("bf16"))
    convert_checkpoint(plan.checkpoint_dir, bf16_path, "bf16", on_progress=stage("convert"),
                       cancel=cancel)
    _check(cancel)
    imatrix_path = None
    dataset = None
    if plan.imatrix:
        text = calibration_set()
        imatrix_path = build_imatrix(bf16_path, work_dir / "imatrix.gguf", text.text,
                                     dataset=text.name, chunks=plan.imatrix_chunks,
                                     threads=threads, on_progress=stage("imatrix"), cancel=cancel)
        dataset = text.name
    entries = {}
    for quant in _work_order(plan.quant_types):
        output = _make(plan, quant, bf16_path, imatrix_path, work_dir, stage, cancel, threads)
        verify = BuildStage("verify", quant, 0).name
        sha256 = sha256_file(output, on_progress=stage(verify), cancel=cancel, stage=verify)
        _check(cancel)
        used_matrix = imatrix_path is not None and quant.imatrix is not ImatrixNeed.NONE
        source = {**plan.source, "quant": quant.label,
                  "imatrix_dataset": dataset if used_matrix else None}
        entries[quant.name] = library.add_file(output, source=source, sha256=sha256,
                                               name=output.name)
    return BuildResult(tuple(entries[quant.name] for quant in plan.quant_types))


def _work_order(quant_types: tuple[QuantType, ...]) -> list[QuantType]:
    """The order types are made in: BF16 last, because adding it to the library moves away the
    intermediate every other type is made from."""
    return sorted(quant_types, key=lambda quant: quant.name == "bf16")


def _make(plan: BuildPlan, quant: QuantType, bf16_path: Path, imatrix_path: Path | None,
          work_dir: Path, stage: Callable[[str], ProgressCallback], cancel: CancelToken | None,
          threads: int | None) -> Path:
    """The finished file of ``quant`` in the work folder."""
    if quant.name == "bf16":
        return bf16_path
    output = work_dir / _file_name(plan.model_name, quant)
    if quant.name == "f16":
        return convert_checkpoint(plan.checkpoint_dir, output, "f16",
                                  on_progress=stage(BuildStage("convert", quant, 0).name),
                                  cancel=cancel)
    matrix = imatrix_path if quant.imatrix is not ImatrixNeed.NONE else None
    return quantize_gguf(bf16_path, output, quant.name, imatrix_path=matrix, threads=threads,
                         on_progress=stage(BuildStage("quantize", quant, 0).name), cancel=cancel)


def _file_name(model_name: str, quant: QuantType) -> str:
    return f"{model_name}.{quant.label}.gguf"


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.cancelled:
        raise JobCancelled(JOB_NAME)


def remove_stale_work_dirs(parent: Path) -> list[Path]:
    """Delete work folders of builds whose process no longer runs (killed, crashed); returns
    what was removed. Folders of running builds are kept."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for folder in parent.glob(f"{WORK_DIR_PREFIX}*"):
        pid = folder.name[len(WORK_DIR_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and left_by_dead_writer(folder, pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
