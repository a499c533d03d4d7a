"""The model manager's "Build" tab: from a checkpoint folder (downloaded or imported into the
library, or any folder) to quantized models in the library, through ``app.core.local_build.build_job``.

Choosing a checkpoint reads its shape (off the GUI thread, through the ``QuantChooser``) so the
table shows this model's sizes and fits; the free disk space and the space the build needs are
shown before it starts. The build reports each step with its own progress and measured time
left; Cancel stops it and leaves no temporary files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.library.model_library import Library, ModelEntry, ModelKind, ModelStatus
from app.core.local_build.build_job import (
    BuildPlan,
    BuildResult,
    needed_disk_bytes,
    plan_build,
    run_build,
    wants_imatrix,
)
from app.ui.formats import parameters_text, size_text, stage_text
from app.ui.job_bridge import BackgroundJob, JobContext, JobSlot
from app.ui.job_progress import JobProgress
from app.ui.models.quant_chooser import QuantChooser
from app.ui.retranslate import Retranslating
from foundation.disk_space import free_bytes
from foundation.jobs import JobCancelled, Progress
from quant.formats import quant_type


def build_step_text(plan: BuildPlan, progress: Progress) -> str:
    """"Step 2 of 4: Quantizing to Q4_K_M" for a build's progress report."""
    index = plan.stage_index(progress.stage)
    if index is None:
        return progress.stage
    stage = plan.stages[index]
    label = stage.quant.label if stage.quant is not None else None
    return QCoreApplication.translate("BuildTab", "Step {0} of {1}: {2}").format(
        index + 1, len(plan.stages), stage_text(stage.kind, label))


def report_build(bar: JobProgress, plan: BuildPlan, progress: Progress) -> None:
    """Show a build's ``progress`` on ``bar``: the whole build's fraction and its step."""
    bar.report(plan.overall_fraction(progress), build_step_text(plan, progress), progress.stage)


class BuildTab(Retranslating, QWidget):
    """Checkpoint → quants (see the module docstring). ``built`` carries the new entries."""

    built = Signal(object)  # list[ModelEntry]

    def __init__(self, library_setting: Callable[[], str], n_ctx: Callable[[], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library_setting = library_setting
        self._plan: BuildPlan | None = None  # the chosen checkpoint's, once read
        self._folder: Path | None = None
        self._source_model_id: str | None = None
        self._model_name: str | None = None
        self._building = JobSlot(self)
        self._imatrix_touched = False
        layout = QVBoxLayout(self)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("panelHelp")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)
        source_row = QHBoxLayout()
        self.source_label = QLabel()
        self.source_box = QComboBox()
        self.source_box.currentIndexChanged.connect(lambda _index: self._source_chosen())
        self.browse_button = QPushButton()
        self.browse_button.clicked.connect(self._browse)
        source_row.addWidget(self.source_label)
        source_row.addWidget(self.source_box, 1)
        source_row.addWidget(self.browse_button)
        layout.addLayout(source_row)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)
        self.chooser = QuantChooser(n_ctx, multiple=True, predict_speed=False)
        self.table = self.chooser.table
        self.chooser.choice_changed.connect(self._choice_changed)
        self.chooser.checkpoint_read.connect(self._planned)
        self.chooser.reading_failed.connect(self.model_label.setText)
        layout.addWidget(self.chooser, 1)
        self.imatrix_box = QCheckBox()
        self.imatrix_box.clicked.connect(self._imatrix_clicked)
        layout.addWidget(self.imatrix_box)
        self.disk_label = QLabel()
        self.disk_label.setWordWrap(True)
        layout.addWidget(self.disk_label)
        run_row = QHBoxLayout()
        run_row.addStretch(1)
        self.build_button = QPushButton()
        self.build_button.setObjectName("runButton")
        self.build_button.clicked.connect(self.start_build)
        run_row.addWidget(self.build_button)
        layout.addLayout(run_row)
        self.progress = JobProgress()
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.retranslate()

    def retranslate(self) -> None:
        self.hint_label.setText(self.tr(
            "Make your own quants from the original checkpoint: convert it to BF16, compute an "
            "importance matrix where it helps, quantize and verify. The results go into the "
            "library; the temporary files are removed."))
        self.source_label.setText(self.tr("Checkpoint"))
        self.browse_button.setText(self.tr("Choose a folder…"))
        self.imatrix_box.setText(self.tr(
            "Compute an importance matrix on finance text (much better Q4_K_S and IQ3 quality; "
            "IQ3_XS needs it)"))
        self.build_button.setText(self.tr("Build"))
        self._show_plan_facts()

    # -- choosing the checkpoint ----------------------------------------------------------------

    def show_models(self, entries: list[ModelEntry]) -> None:
        """Offer the checkpoints in good order among ``entries`` (the library as listed)."""
        checkpoints = [entry for entry in entries
                       if entry.kind is ModelKind.CHECKPOINT and entry.status is ModelStatus.OK]
        current = self.source_box.currentData()
        self.source_box.blockSignals(True)
        self.source_box.clear()
        for entry in checkpoints:
            self.source_box.addItem(self.tr("{0} (in the library)").format(entry.name),
                                    (str(entry.path), entry.id, entry.name))
        if self._folder is not None and not any(str(self._folder) == str(e.path)
                                                for e in checkpoints):
            self.source_box.addItem(str(self._folder), (str(self._folder), None, None))
        index = self.source_box.findData(current) if current else 0
        self.source_box.setCurrentIndex(max(index, 0))
        self.source_box.blockSignals(False)
        self._source_chosen()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a checkpoint folder"))
        if folder:
            self.use_folder(Path(folder))

    def use_folder(self, folder: Path, source_model_id: str | None = None) -> None:
        """Build from ``folder`` (a checkpoint folder)."""
        self._folder = folder
        index = self.source_box.findData((str(folder), source_model_id, None))
        if index < 0:
            self.source_box.addItem(str(folder), (str(folder), source_model_id, None))
            index = self.source_box.count() - 1
        self.source_box.setCurrentIndex(index)
        self._source_chosen()

    def _source_chosen(self) -> None:
        data = self.source_box.currentData()
        self._plan = None
        if not data:
            self.model_label.setText(self.tr("No checkpoint yet: download the original in "
                                             "“Get models”, import a folder, or choose one."))
            self.chooser.clear()
            self._update_buttons()
            return
        folder, model_id, name = Path(data[0]), data[1], data[2]
        self._source_model_id, self._model_name = model_id, name
        self.model_label.setText(self.tr("Reading {0}…").format(folder.name))
        self.chooser.read_checkpoint(folder, self._library_setting(), model_id, name)

    def _planned(self, plan: BuildPlan) -> None:
        """The chosen checkpoint has been read (the chooser shows its types next)."""
        self._plan = plan
        self._show_plan_facts()

    def _show_plan_facts(self) -> None:
        if self._plan is None:
            return
        conversion = self._plan.conversion
        self.model_label.setText(self.tr("{0}: {1}, {2}, {3} layers").format(
            self._plan.model_name, conversion.architecture.gguf_arch_name,
            parameters_text(conversion.parameter_count), conversion.shape.layer_count))

    # -- choosing the types ---------------------------------------------------------------------

    def choose(self, names: list[str], imatrix: bool | None = None) -> None:
        """Check the types ``names``; ``imatrix`` None follows the default for them."""
        self.table.choose(names)
        if imatrix is not None:
            self._imatrix_touched = True
            self.imatrix_box.setChecked(imatrix)
        self._choice_changed()

    def _imatrix_clicked(self) -> None:
        self._imatrix_touched = True
        self._choice_changed()

    def _choice_changed(self) -> None:
        chosen = self.table.chosen()
        if not self._imatrix_touched:
            self.imatrix_box.setChecked(wants_imatrix(chosen))
        self._show_disk()
        self._update_buttons()

    def _needed_bytes(self) -> int:
        if self._plan is None:
            return 0
        return needed_disk_bytes(self._plan.conversion, self.table.chosen(),
                                 self.imatrix_box.isChecked())

    def _show_disk(self) -> None:
        if self._plan is None or not self.table.chosen():
            self.disk_label.setText("")
            return
        free = free_bytes(self._plan.work_parent)
        needed = self._needed_bytes()
        text = self.tr("Needs {0} of free disk space; {1} free on the library's disk.").format(
            size_text(needed), size_text(free))
        if free < needed:
            text += " " + self.tr("Free up {0} first.").format(size_text(needed - free))
        self.disk_label.setText(text)

    def _update_buttons(self) -> None:
        running = self._building.running
        self.build_button.setEnabled(self._plan is not None and bool(self.table.chosen())
                                     and not running)
        self.source_box.setEnabled(not running)
        self.browse_button.setEnabled(not running)

    # -- building -------------------------------------------------------------------------------

    def start_build(self) -> bool:
        """Build the checked types; False when nothing can be built now."""
        if self._plan is None or not self.table.chosen() or self._building.running:
            return False
        folder, model_id, name = self._plan.checkpoint_dir, self._source_model_id, \
            self._model_name
        names = [quant.name for quant in self.table.chosen()]
        imatrix = self.imatrix_box.isChecked()
        setting = self._library_setting()
        plans: list[BuildPlan] = []

        def work(context: JobContext) -> BuildResult:
            with Library.open_default(setting or None) as library:
                plan = plan_build(library, folder, names, imatrix=imatrix,
                                  source_model_id=model_id, model_name=name)
                context.emit(plan)
                return run_build(plan, library, on_progress=context.progress,
                                 cancel=context.cancel)

        self.progress.begin(self.tr("Building {0}").format(
            ", ".join(quant_type(name).label for name in names)))
        job = BackgroundJob(self, work, "build").on_item(plans.append)
        job.on_progress(lambda progress: self._progressed(plans, progress))
        self._building.start(job.on_success(self._finished).on_failure(self._failed))
        self._update_buttons()
        return True

    def _progressed(self, plans: list[BuildPlan], progress: Progress) -> None:
        if not plans:
            return
        report_build(self.progress, plans[0], progress)

    def _finished(self, result: BuildResult) -> None:
        self.progress.end(self.tr("Built and added to the library: {0}").format(
            ", ".join(entry.id for entry in result.entries)))
        self._update_buttons()
        self.built.emit(list(result.entries))

    def _failed(self, error: BaseException) -> None:
        self.progress.end(self.tr("Cancelled; the temporary files were removed.")
                          if isinstance(error, JobCancelled) else str(error))
        self._update_buttons()

    def cancel(self) -> None:
        self._building.cancel()

    @property
    def busy(self) -> bool:
        return self._building.running

    def stop(self) -> None:
        """Cancel a running build and wait for it (its temporary files are removed)."""
        self._building.stop()
