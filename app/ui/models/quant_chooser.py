"""The one way to choose a quant type, wherever a person picks one (the wizard's quant page,
"Get models", "Build"): a ``QuantTable`` filled for what the types are chosen from, with each
type's size, its fit on this machine and (unless turned off) its predicted speed here.

What the types are chosen from is one of:

- a hub repository of ready GGUF files (``show_repo``), as the chooser's catalog describes it;
  ``refresh_catalog`` asks the hub for the real file lists (quietly: nothing in offline mode).
  Showing a repository again, as after a refresh, keeps the person's pick when the repository
  still offers all of it;
- a checkpoint to build from (``read_checkpoint``): its shape is read off the GUI thread
  (``plan_build``), so the sizes, fits and speeds are this model's;
- Fin-R1 built here from the original (``show_build``), its sizes from the quant table.

This machine's facts are asked for once, when something is first shown; whatever was asked
before they are known is shown when they are. Each ``show_…``, ``read_checkpoint`` or ``clear``
replaces what was asked before: a checkpoint still being read then shows nothing when it ends,
and a catalog refresh only shows a repository still on view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.core.hardware.fit import (
    FIN_R1_DIMS,
    FitAdvice,
    advise,
    advise_for_build,
    advise_for_repo,
)
from app.core.hardware.llama_memory import ModelDims
from app.core.hardware.machine import MachineInfo
from app.core.hardware.speed_prediction import SpeedBasis, predict_quant_speeds
from app.core.hub.catalog import Catalog, load_catalog, refresh_quietly
from app.core.hub.client import HubConfig
from app.core.installation.paths import app_paths
from app.core.library.model_library import Library
from app.core.local_build.build_job import BuildPlan, plan_build
from app.ui.job_bridge import BackgroundJob, JobContext, JobSlot
from app.ui.models.machine_info import request_speed
from app.ui.models.quant_table import QuantTable
from quant.formats import QuantType, quant_type

BUILD_CHOICES = ("bf16", "q8_0", "q6_k", "q4_k_m", "q4_k_s", "iq3_m", "iq3_s", "iq3_xs")


@dataclass(frozen=True)
class _Repo:
    """Chosen from: a catalog repository's ready files."""

    repo_id: str


@dataclass(frozen=True)
class _Build:
    """Chosen from: the types a build can make, from a read checkpoint (None: Fin-R1's
    original, sized from the quant table)."""

    plan: BuildPlan | None


class QuantChooser(QWidget):
    """The quant table for a repository, a checkpoint or Fin-R1's build (see the module
    docstring).

    ``n_ctx()`` gives the context the fit is judged for, read at each showing. ``multiple``:
    several types can be checked (a build) instead of one selected. ``predict_speed`` False
    keeps the speed column hidden. Signals: ``choice_changed`` when the chosen types or the
    rows change; ``checkpoint_read(plan)`` and ``reading_failed(message)`` for the checkpoint
    of ``read_checkpoint`` (never for one it replaced); ``catalog_refreshed(catalog)``.
    """

    choice_changed = Signal()
    checkpoint_read = Signal(object)  # BuildPlan
    reading_failed = Signal(str)
    catalog_refreshed = Signal(object)  # Catalog

    def __init__(self, n_ctx: Callable[[], int], multiple: bool = False,
                 predict_speed: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._n_ctx = n_ctx
        self._predict_speed = predict_speed
        self._catalog: Catalog | None = None
        self._subject: _Repo | _Build | None = None
        self._machine: MachineInfo | None = None
        self._speed: SpeedBasis | None = None
        self._machine_asked = False
        self._refresh = JobSlot(self)
        self._reading = JobSlot(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QuantTable(multiple)
        self.table.choice_changed.connect(self.choice_changed)
        layout.addWidget(self.table)

    # -- what is shown ----------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The catalog repositories are shown from: the cached one (the shipped one before any
        refresh), then each refresh's answer."""
        if self._catalog is None:
            self._catalog = load_catalog(app_paths().catalog_cache_file)
        return self._catalog

    def clear(self) -> None:
        """Show no types until the next ``show_…`` or reading."""
        self._show(None)
        self.table.clear_rows()

    def show_repo(self, repo_id: str) -> None:
        """Show the ready files of the catalog's repository ``repo_id`` (nothing changes when the
        catalog does not know it)."""
        self._show(_Repo(repo_id))

    def show_build(self) -> None:
        """Show the types a build of Fin-R1's original can make (``BUILD_CHOICES``)."""
        self._show(_Build(None))

    def read_checkpoint(self, folder: Path, library_setting: str,
                        source_model_id: str | None = None,
                        model_name: str | None = None) -> BackgroundJob:
        """Read the checkpoint ``folder`` off the GUI thread, then show the types a build of it
        can make; returns the reading job. ``checkpoint_read(plan)`` comes before the rows, or
        ``reading_failed(message)`` (the rows shown before stay until then)."""
        def read(_context: JobContext) -> BuildPlan:
            with Library.open_default(library_setting or None) as library:
                return plan_build(library, folder, ["q4_k_m"], source_model_id=source_model_id,
                                  model_name=model_name)

        self._show(None)
        self._ask_machine()  # while the checkpoint is read
        job = BackgroundJob(self, read, "read checkpoint")
        job.on_success(self._checkpoint_read)
        job.on_failure(lambda error: self.reading_failed.emit(str(error)))
        return self._reading.start(job)

    def refresh_catalog(self, config: HubConfig,
                        repo_ids: Sequence[str] | None = None) -> BackgroundJob:
        """Ask the hub for the real file lists of ``repo_ids`` (default: every repository) off
        the GUI thread, unless ``config`` is offline; a repository on view is shown again from
        the answer, then ``catalog_refreshed`` carries it. Replaces a refresh still running;
        returns the refresh job."""
        catalog, cache_file = self.catalog, app_paths().catalog_cache_file
        wanted = list(repo_ids) if repo_ids is not None else None
        job = BackgroundJob(self, lambda context: refresh_quietly(
            catalog, config, wanted, cache_file=cache_file, cancel=context.cancel),
            "refresh catalog")
        job.on_success(self._catalog_refreshed)
        return self._refresh.start(job)

    def _show(self, subject: _Repo | _Build | None) -> None:
        self._reading.abandon()
        self._subject = subject
        self._render()

    def _ask_machine(self) -> None:
        if not self._machine_asked:
            self._machine_asked = True
            request_speed(self, self._machine_known)

    def _checkpoint_read(self, plan: BuildPlan) -> None:
        self._subject = _Build(plan)
        self.checkpoint_read.emit(plan)
        self._render()

    def _catalog_refreshed(self, catalog: Catalog) -> None:
        self._catalog = catalog
        if isinstance(self._subject, _Repo):
            self._render()
        self.catalog_refreshed.emit(catalog)

    def _machine_known(self, machine: MachineInfo, speed: SpeedBasis | None) -> None:
        self._machine, self._speed = machine, speed
        self._render()

    # -- filling the table ------------------------------------------------------------------------

    def _render(self) -> None:
        subject, machine = self._subject, self._machine
        if subject is None:
            return
        if machine is None:
            self._ask_machine()  # shown when known
            return
        if isinstance(subject, _Repo):
            repo = self.catalog.repo(subject.repo_id)
            if repo is None:
                return
            chosen = [quant.name for quant in self.table.chosen()]
            self._fill(advise_for_repo(machine, repo, self._n_ctx()), repo.quant_types)
            if chosen and set(chosen) <= {quant.name for quant in repo.quant_types}:
                self.table.choose(chosen)  # else the recommended one stays chosen
        else:
            offered = [quant_type(name) for name in BUILD_CHOICES]
            plan = subject.plan
            if plan is None:
                self._fill(advise(machine, self._n_ctx()), offered)
            else:
                self._fill(advise_for_build(machine, plan, offered, self._n_ctx()), offered,
                           ModelDims.from_checkpoint(plan.conversion.shape,
                                                     plan.conversion.parameter_count))
        self.choice_changed.emit()

    def _fill(self, advice: FitAdvice, offered: Sequence[QuantType],
              dims: ModelDims = FIN_R1_DIMS) -> None:
        """The table's rows, and their predicted speed once the machine's is known."""
        self.table.set_advice(advice, offered)
        if self._predict_speed:
            self.table.set_speeds(None if self._speed is None else predict_quant_speeds(
                advice, self._speed, dims))
