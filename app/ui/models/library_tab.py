"""The model manager's "Library" tab: every model with its quant type, size, source, verified
state and measured quality; import (file dialog, or drag files and folders onto the list),
verify, remove, show in the file manager, use.

Every library operation runs off the GUI thread through the job bridge, with its progress shown
below the list and a Cancel button.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.library.model_library import ImportMode, Library, ModelEntry, ModelKind, ModelStatus
from app.ui.formats import quality_text, size_text, stage_text, status_text
from app.ui.job_bridge import BackgroundJob, JobContext, JobSlot
from app.ui.job_progress import JobProgress
from app.ui.retranslate import Retranslating
from foundation.jobs import JobCancelled, Progress
from quant.evaluate import read_sidecar


def measured_kld(entry: ModelEntry) -> float | None:
    """The model's mean KL divergence when ``finr1 evaluate`` measured it (its sidecar file)."""
    record = read_sidecar(entry.path)
    try:
        return float(record["kld_mean"]) if record is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def local_paths(urls: list[QUrl]) -> list[Path]:
    """The dropped URLs that are a GGUF file or a folder on this machine."""
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in paths if path.is_dir() or path.suffix.lower() == ".gguf"]


class LibraryTab(Retranslating, QWidget):
    """The library list and its actions (see the module docstring). ``use_requested(model_id)``
    asks the window to load a model; ``changed`` says an operation on the library ended (it may
    have changed: list it again). The list shows what ``show_models`` was last given."""

    use_requested = Signal(str)
    changed = Signal()

    def __init__(self, library_setting: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library_setting = library_setting
        self._entries: list[ModelEntry] = []
        self._operation = JobSlot(self)  # one library operation at a time
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("panelHelp")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("libraryTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._use())
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.import_file_button = QPushButton()
        self.import_file_button.clicked.connect(self._choose_file)
        self.import_folder_button = QPushButton()
        self.import_folder_button.clicked.connect(self._choose_folder)
        self.verify_button = QPushButton()
        self.verify_button.clicked.connect(self._verify)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self._remove)
        self.reveal_button = QPushButton()
        self.reveal_button.clicked.connect(self._reveal)
        self.use_button = QPushButton()
        self.use_button.setObjectName("runButton")
        self.use_button.clicked.connect(self._use)
        for button in (self.import_file_button, self.import_folder_button, self.verify_button,
                       self.remove_button, self.reveal_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout.addLayout(buttons)
        self.progress = JobProgress()
        self.progress.cancel_requested.connect(self._cancel)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.retranslate()
        self._update_buttons()

    def retranslate(self) -> None:
        self.hint_label.setText(self.tr(
            "Every model the app knows, checked against the hash recorded when it was added. "
            "Drop .gguf files or checkpoint folders here to import them."))
        self.table.setHorizontalHeaderLabels([
            self.tr("Model"), self.tr("Quant"), self.tr("Size"), self.tr("Source"),
            self.tr("State"), self.tr("Quality")])
        self.import_file_button.setText(self.tr("Import file…"))
        self.import_folder_button.setText(self.tr("Import folder…"))
        self.verify_button.setText(self.tr("Verify"))
        self.remove_button.setText(self.tr("Remove"))
        self.reveal_button.setText(self.tr("Show in folder"))
        self.use_button.setText(self.tr("Use this model"))
        self._fill()

    # -- listing ----------------------------------------------------------------------------------

    def show_models(self, entries: list[ModelEntry]) -> None:
        """List ``entries`` (the library as listed), keeping the selected model selected."""
        self._entries = entries
        self._fill()

    def show_listing_failure(self, message: str) -> None:
        """Say why the library could not be listed."""
        self.hint_label.setText(message)

    def _fill(self) -> None:
        selected = self.selected_entry()
        self.table.setRowCount(len(self._entries))
        for row, entry in enumerate(self._entries):
            quant = entry.quant_type
            kld = measured_kld(entry) if entry.kind is ModelKind.GGUF else None
            cells = [entry.name, entry.quant_label or "—", size_text(entry.size_bytes),
                     self.source_text(entry), status_text(entry.status),
                     quality_text(quant, kld) if quant is not None else "—"]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, entry.id)
                item.setToolTip(f"{entry.id}\n{entry.path}" + (f"\n{entry.problem}"
                                                               if entry.problem else ""))
                self.table.setItem(row, column, item)
            if selected is not None and selected.id == entry.id:
                self.table.selectRow(row)
        self._update_buttons()

    def source_text(self, entry: ModelEntry) -> str:
        """Where a model came from, for a person."""
        source = entry.source
        kind = source.get("type")
        if kind == "hub":
            return self.tr("downloaded from {0}").format(source.get("repo", ""))
        if kind == "build":
            checkpoint = Path(str(source.get("checkpoint", ""))).name
            return self.tr("built here from {0}").format(checkpoint)
        if kind == "import" and source.get("mode") == "link":
            return self.tr("used where it is: {0}").format(source.get("original_path", ""))
        if kind == "import":
            return self.tr("imported from {0}").format(source.get("original_path", ""))
        return str(kind)

    def selected_entry(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._entries):
            return None
        return self._entries[rows[0].row()]

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        busy = self._operation.running
        for button in (self.import_file_button, self.import_folder_button):
            button.setEnabled(not busy)
        self.verify_button.setEnabled(entry is not None and not busy)
        self.remove_button.setEnabled(entry is not None and not busy)
        self.reveal_button.setEnabled(entry is not None)
        self.use_button.setEnabled(entry is not None and entry.kind is ModelKind.GGUF
                                   and entry.status is ModelStatus.OK and not busy)

    # -- actions ----------------------------------------------------------------------------------

    def _choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Import a model file"), "", self.tr("GGUF models (*.gguf)"))
        if path:
            self.import_paths([Path(path)])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Import a checkpoint folder"))
        if folder:
            self.import_paths([Path(folder)])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt's name
        if event.mimeData().hasUrls() and local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # Qt's name
        paths = local_paths(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def import_paths(self, paths: list[Path]) -> bool:
        """Copy GGUF files or checkpoint folders into the library, one after another; False
        while another operation runs."""
        def work(context: JobContext, library: Library) -> list[ModelEntry]:
            return [library.import_path(path, ImportMode.COPY, on_progress=context.progress,
                                        cancel=context.cancel) for path in paths]

        title = self.tr("Importing {0}").format(", ".join(path.name for path in paths))
        return self._start(work, title, "import")

    def _verify(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        self.verify(entry.id)

    def verify(self, model_id: str) -> bool:
        """Hash a model again and compare (the list shows the outcome)."""
        def work(context: JobContext, library: Library) -> Any:
            return library.verify(model_id, on_progress=context.progress, cancel=context.cancel)

        return self._start(work, self.tr("Verifying {0}").format(model_id), "hash")

    def _remove(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        question = (self.tr("Remove {0} and delete its file ({1})?") if entry.owned else
                    self.tr("Forget {0}? Its file stays where it is ({1})."))
        answer = QMessageBox.question(self, self.tr("Remove model"),
                                      question.format(entry.name, size_text(entry.size_bytes)))
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(entry.id)

    def remove(self, model_id: str) -> bool:
        return self._start(lambda _context, library: library.remove(model_id),
                           self.tr("Removing {0}").format(model_id), "remove")

    def _reveal(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            folder = entry.path if entry.path.is_dir() else entry.path.parent
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _use(self) -> None:
        entry = self.selected_entry()
        if entry is not None and self.use_button.isEnabled():
            self.use_requested.emit(entry.id)

    # -- running an operation -------------------------------------------------------------------

    def _start(self, work: Callable[[JobContext, Library], Any], title: str, kind: str) -> bool:
        if self._operation.running:
            return False
        setting = self._library_setting()

        def run(context: JobContext) -> Any:
            with Library.open_default(setting or None) as library:
                return work(context, library)

        self.progress.begin(title)
        job = BackgroundJob(self, run, kind).on_success(self._succeeded)
        job.on_progress(lambda progress: self._progressed(progress, kind))
        self._operation.start(job.on_failure(lambda error: self._failed(error, kind)))
        self._update_buttons()
        return True

    def _progressed(self, progress: Progress, kind: str) -> None:
        self.progress.report_progress(progress, stage_text(kind, None))

    def _succeeded(self, result: Any) -> None:
        message = self.tr("Done.")
        if isinstance(result, list) and result and hasattr(result[0], "ok"):
            message = "; ".join(f"{item.entry.id}: " + (self.tr("intact") if item.ok
                                                         else item.message) for item in result)
        self._ended(message)

    def _failed(self, error: BaseException, kind: str) -> None:
        if not isinstance(error, JobCancelled):
            self._ended(str(error))
        elif kind == "import":
            self._ended(self.tr("Cancelled; nothing was added."))
        else:
            self._ended(self.tr("Cancelled; nothing was changed."))

    def _ended(self, message: str) -> None:
        self.progress.end(message)
        self.changed.emit()

    def _cancel(self) -> None:
        self._operation.cancel()

    @property
    def busy(self) -> bool:
        return self._operation.running

    def stop(self) -> None:
        """Cancel a running operation and wait for it (it leaves nothing partial)."""
        self._operation.stop()
