"""A scenario's Batch view: its question for every row of a CSV or XLSX table, answered, scored,
exported.

The person chooses the table; its columns are matched to the scenario's fields by their header
names (``app.core.batch.mapping``: Chinese and English) and shown as one drop-down per field,
plus the column of expected answers (which turns the run into an evaluation). The first row's
question is previewed as the model will get it. Then one or more models answer every row
(``app.ui.batch.engines``): the window's own engine, taking its turns in the window's
``EngineQueue`` between the chat's and the local server's; verified models of the library, loaded
one after the other by the core's runner; the server in the settings. The window's model stays
loaded for the chat while library models run, so two models share the memory: the view says so,
with their sizes, and runs only when the person confirms.

The run is the core's job (``app.core.batch.runner.run_batch``) on the job bridge: every finished
row is committed to the history at once by the core and appears in the table (status, the
reading, tokens, time); progress and an honest time left come from ``JobProgress``. Pause stops
the job (the row being answered is dropped and answered again) and Resume continues the run;
Cancel stops it and returns to the setup, the run kept: choosing the same file again offers
"Continue" for its unfinished run, as after a crash or a kill. With an expected column each
model's accuracy is shown, with several models how often they agree, and each model's speed.
Export writes XLSX or CSV through ``results_export`` (atomically). A finished row opens like any
conversation (``open_requested(conversation_id)``, which the window's history opens).

GUI only: reading, matching, running, scoring and writing are the core's, each off the GUI
thread through ``BackgroundJob``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.batch.mapping import ColumnMapping, suggest_mapping
from app.core.batch.runner import BatchOutcome, BatchPlan, EngineChoice, open_run, outcome_of, run_batch
from app.core.batch.runner import summarize as summarize_rows
from app.core.batch.scoring import Agreement, ModelScore
from app.core.batch.store import BatchRow
from app.core.chat.labels import chat_labels
from app.core.errors import InvalidFieldValueError, MissingFieldsError
from app.ui.batch.engines import (
    EngineOption,
    LibraryModel,
    choices_for,
    choices_for_run,
    engine_options,
)
from app.ui.batch.mapping import ColumnMappingBox
from app.ui.batch.table_model import COLUMNS, BatchTableModel
from app.ui.formats import size_text
from app.ui.i18n import content_language
from app.ui.job_bridge import BackgroundJob, JobContext
from app.ui.job_progress import JobProgress
from app.ui.retranslate import Retranslating
from foundation.errors import FinR1Error
from foundation.jobs import JobCancelled

if TYPE_CHECKING:
    from app.core.batch.store import BatchRun, BatchStore
    from app.core.batch.table_reader import InputTable
    from app.core.engine.local_engine import TokenChunk
    from app.core.installation.settings import AppSettings
    from app.core.library.model_library import Library
    from app.core.scenarios.scenario import Scenario
    from app.ui.models.library_listing import LibraryListing
    from app.ui.window.model_host import ModelHost
    from foundation.jobs import Progress

ViewState = Literal["setup", "running", "paused", "finished"]


@dataclass(frozen=True)
class UnfinishedRun:
    """A run of the chosen file that has rows left: the run and how many rows it finished."""

    run: BatchRun
    finished: int


@dataclass(frozen=True)
class _Started:
    """The job's first item: the run it answers, its plan, the rows it had finished."""

    run_id: int
    plan: BatchPlan
    records: tuple[BatchRow, ...]


class _Token:
    """The item for one streamed token of the row being answered."""


_TOKEN = _Token()


class BatchView(Retranslating, QWidget):
    """The Batch view of one scenario (see the module docstring); a window of its own.

    ``store``: the history (the window's, a ``BatchStore``); ``host``: the window's engine;
    ``settings()``: the window's settings now; ``library``: the library as last listed (None:
    none offered). Signals: ``open_requested(conversation_id)``, ``history_changed()`` (rows were
    recorded). Closing the view only hides it: a run goes on. Closing ``parent`` (the main
    window) stops the run first, before the window frees its engine.
    """

    open_requested = Signal(int)
    history_changed = Signal()

    def __init__(self, scenario: Scenario, store: BatchStore, host: ModelHost,
                 settings: Callable[[], AppSettings], library: LibraryListing | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.scenario = scenario
        self.store = store
        self._host = host
        self._settings = settings
        self._library = library
        self.table: InputTable | None = None
        self.unfinished: UnfinishedRun | None = None
        self.state: ViewState = "setup"
        self.run_id: int | None = None
        self.plan: BatchPlan | None = None
        self.outcome: BatchOutcome | None = None
        self.confirm_box: QMessageBox | None = None
        self._job: BackgroundJob | None = None
        self._stopping: Literal["pause", "cancel"] | None = None
        self._options: list[EngineOption] = []
        self._cursor = 0  # the runner's position: engine × rows + row
        self.resize(1040, 780)
        self._build()
        self.retranslate()
        self._connect_sources(parent)
        self.refresh_engines()
        self._update_controls()

    # -- building --------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.title_label = QLabel()
        self.title_label.setObjectName("panelTitle")
        layout.addWidget(self.title_label)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._build_setup())
        splitter.addWidget(self._build_results())
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)

    def _build_setup(self) -> QWidget:
        setup = QWidget()
        column = QVBoxLayout(setup)
        column.setContentsMargins(0, 0, 0, 0)
        file_row = QHBoxLayout()
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.choose_button = QPushButton()
        self.choose_button.clicked.connect(self.choose_file)
        file_row.addWidget(self.file_label, 1)
        file_row.addWidget(self.choose_button)
        column.addLayout(file_row)
        self.unfinished_box = QWidget()
        unfinished_row = QHBoxLayout(self.unfinished_box)
        unfinished_row.setContentsMargins(0, 0, 0, 0)
        self.unfinished_label = QLabel()
        self.unfinished_label.setWordWrap(True)
        self.continue_button = QPushButton()
        self.continue_button.clicked.connect(self.continue_unfinished)
        unfinished_row.addWidget(self.unfinished_label, 1)
        unfinished_row.addWidget(self.continue_button)
        self.unfinished_box.hide()
        column.addWidget(self.unfinished_box)
        middle = QHBoxLayout()
        self.mapping_box = ColumnMappingBox(self.scenario)
        self.mapping_box.changed.connect(self._mapping_changed)
        middle.addWidget(self.mapping_box, 1)
        middle.addWidget(self._build_run_settings(), 1)
        column.addLayout(middle)
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        column.addWidget(self.error_label)
        return setup

    def _build_run_settings(self) -> QGroupBox:
        self.models_group = QGroupBox()
        column = QVBoxLayout(self.models_group)
        self.engine_list = QListWidget()
        self.engine_list.itemChanged.connect(lambda _item: self._update_controls())
        column.addWidget(self.engine_list, 1)
        form = QFormLayout()
        self.max_tokens_label = QLabel()
        self.max_tokens_box = QSpinBox()
        self.max_tokens_box.setRange(1, 131072)
        self.max_tokens_box.setValue(self._settings().max_new_tokens)
        self.language_label = QLabel()
        self.language_box = QComboBox()
        self.language_box.addItem("English", "en")
        self.language_box.addItem("中文", "zh")
        self.language_box.setCurrentIndex(
            self.language_box.findData(self._settings().prompt_language))
        self.language_box.currentIndexChanged.connect(lambda _index: self._mapping_changed())
        form.addRow(self.max_tokens_label, self.max_tokens_box)
        form.addRow(self.language_label, self.language_box)
        column.addLayout(form)
        buttons = QHBoxLayout()
        self.run_button = QPushButton()
        self.run_button.setObjectName("runButton")
        self.run_button.clicked.connect(self.start)
        self.pause_button = QPushButton()
        self.pause_button.clicked.connect(self.pause_or_resume)
        self.export_button = QPushButton()
        self.export_button.clicked.connect(self.choose_export)
        for button in (self.run_button, self.pause_button, self.export_button):
            buttons.addWidget(button)
        column.addLayout(buttons)
        return self.models_group

    def _build_results(self) -> QWidget:
        results = QWidget()
        column = QVBoxLayout(results)
        column.setContentsMargins(0, 0, 0, 0)
        self.progress = JobProgress()
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.hide()
        column.addWidget(self.progress)
        self.rows = BatchTableModel(chat_labels(content_language()), self)
        self.table_view = QTableView()
        self.table_view.setModel(self.rows)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.verticalHeader().hide()
        header = self.table_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("final"), QHeaderView.ResizeMode.Stretch)
        self.table_view.doubleClicked.connect(lambda index: self.open_line(index.row()))
        self.table_view.selectionModel().selectionChanged.connect(
            lambda _selected, _deselected: self._update_controls())
        column.addWidget(self.table_view, 1)
        bottom = QHBoxLayout()
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self._open_selected)
        bottom.addWidget(self.summary_label, 1)
        bottom.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(bottom)
        return results

    def _connect_sources(self, parent: QWidget | None) -> None:
        self._host.loaded.connect(lambda _summary: self.refresh_engines())
        self._host.connected.connect(lambda _info: self.refresh_engines())
        self._host.load_failed.connect(lambda _message: self.refresh_engines())
        if self._library is not None:
            self._library.listed.connect(lambda _entries: self.refresh_engines())
        if parent is not None:
            parent.installEventFilter(self)

    def retranslate(self) -> None:
        """Every text in the window's language (again when it changes)."""
        language = content_language()
        title = self.tr("Batch: {0}").format(self.scenario.title[language])
        self.setWindowTitle(title)
        self.title_label.setText(title)
        self.choose_button.setText(self.tr("Choose file…"))
        self.continue_button.setText(self.tr("Continue"))
        self.models_group.setTitle(self.tr("Models"))
        self.max_tokens_label.setText(self.tr("Longest reply (tokens)"))
        self.language_label.setText(self.tr("Prompt language"))
        self.run_button.setText(self.tr("Run"))
        self.export_button.setText(self.tr("Export…"))
        self.open_button.setText(self.tr("Open as conversation"))
        self.rows.set_labels(chat_labels(language))
        self.rows.headerDataChanged.emit(Qt.Orientation.Horizontal, 0,
                                         self.rows.columnCount() - 1)
        self._show_file()
        self._show_unfinished()
        self._show_summary()
        self._update_controls()

    # -- the input table -------------------------------------------------------------------------

    def choose_file(self) -> None:
        """Ask for the table (CSV or XLSX), then ``load_file`` it."""
        from app.core.batch.table_reader import TABLE_SUFFIXES

        patterns = " ".join(f"*{suffix}" for suffix in TABLE_SUFFIXES)
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Choose a table"), "",
            self.tr("Tables ({0})").format(patterns) + ";;" + self.tr("All files (*)"))
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> BackgroundJob:
        """Read the table at ``path`` off the GUI thread, then match its columns and look for
        an unfinished run of it; the error label says why a file cannot be read."""
        store, scenario_id = self.store, self.scenario.id

        def work(_context: JobContext) -> tuple[InputTable, UnfinishedRun | None]:
            from app.core.batch.table_reader import read_table

            table = read_table(path)
            return table, _unfinished_run(store, scenario_id, table)

        self.error_label.setText(self.tr("Reading {0}…").format(path.name))
        job = BackgroundJob(self, work, "read batch table")
        job.on_success(self._table_read).on_failure(self._show_error)
        return job.start()

    def _table_read(self, result: tuple[InputTable, UnfinishedRun | None]) -> None:
        self.table, self.unfinished = result
        self.error_label.clear()
        self.run_id, self.plan, self.outcome, self.state = None, None, None, "setup"
        self.rows.reset((), ())
        self.progress.hide()
        self._show_file()
        self._show_unfinished()
        self.mapping_box.fill(self.table.headers,
                              suggest_mapping(self.scenario, self.table.headers))
        self._show_summary()

    def _show_file(self) -> None:
        if self.table is None:
            self.file_label.setText(self.tr("Choose a CSV or Excel table: one question per "
                                            "row, one column per field."))
            return
        self.file_label.setText(self.tr("{0}: {1} rows, columns: {2}").format(
            self.table.path.name, len(self.table), ", ".join(self.table.headers)))

    def _show_unfinished(self) -> None:
        unfinished = self.unfinished
        if unfinished is None or self.state != "setup":
            self.unfinished_box.hide()
            return
        run = unfinished.run
        models = ", ".join(str(engine.get("label", "?")) for engine in run.engines)
        self.unfinished_label.setText(self.tr(
            "This file has an unfinished run ({0} of {1} rows answered, with {2}). Continue it, "
            "or set up a new run below.").format(unfinished.finished,
                                                 run.row_count * len(run.engines), models))
        self.unfinished_box.show()

    # -- the mapping -----------------------------------------------------------------------------

    def mapping(self) -> ColumnMapping:
        """The mapping the drop-downs show."""
        return self.mapping_box.mapping()

    def mapping_problem(self) -> str | None:
        """Why the mapping cannot run (a sentence), None when it can."""
        if self.table is None:
            return self.tr("Choose a table first.")
        return self.mapping_box.problem(self.table)

    def _mapping_changed(self) -> None:
        problem = self.mapping_problem() if self.table is not None else None
        self.error_label.setText(problem or "")
        self.mapping_box.set_preview(self.preview_text() if problem is None else "")
        self._update_controls()

    def preview_text(self) -> str:
        """The first row's question as the model gets it, or why that row cannot be asked."""
        if self.table is None:
            return ""
        try:
            return self._plan(()).prompt(0)
        except (MissingFieldsError, InvalidFieldValueError) as error:
            return self.tr("Row {0} cannot be asked: {1}").format(self.table.source_rows[0],
                                                                  error)

    def _plan(self, engines: tuple[EngineChoice, ...]) -> BatchPlan:
        assert self.table is not None
        settings = dataclasses.replace(self._settings().generation_settings(),
                                       max_new_tokens=self.max_tokens_box.value())
        return BatchPlan(self.scenario, self.table, self.mapping(), settings, engines,
                         self.language_box.currentData())

    # -- engines ---------------------------------------------------------------------------------

    def refresh_engines(self) -> None:
        """List what can answer now (the window's engine, the library, the settings' server),
        keeping what was ticked."""
        ticked = {option.key for option in self.chosen_options()}
        first_listing = not self._options
        self._options = engine_options(self._host, self._library.entries if self._library
                                       else None, self._settings())
        self.engine_list.blockSignals(True)
        self.engine_list.clear()
        for option in self._options:
            item = QListWidgetItem(self._option_text(option))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            chosen = option.key in ticked or (first_listing and option.key == "window")
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
            self.engine_list.addItem(item)
        self.engine_list.blockSignals(False)
        self._update_controls()

    def _option_text(self, option: EngineOption) -> str:
        if option.key == "window":
            return self.tr("This window's model: {0}").format(option.label)
        if isinstance(option, LibraryModel):
            return self.tr("Library: {0}").format(option.label)
        return self.tr("Server: {0}").format(option.label)

    def chosen_options(self) -> list[EngineOption]:
        """The ticked engines, in the list's order."""
        return [option for row, option in enumerate(self._options)
                if row < self.engine_list.count()
                and self.engine_list.item(row).checkState() == Qt.CheckState.Checked]

    def choose_engines(self, keys: Sequence[str]) -> None:
        """Tick exactly the engines whose ``key`` is in ``keys`` ("window", "library:<id>",
        "server")."""
        for row, option in enumerate(self._options):
            self.engine_list.item(row).setCheckState(
                Qt.CheckState.Checked if option.key in keys else Qt.CheckState.Unchecked)

    def _memory_question(self, library_models: Sequence[LibraryModel]) -> str | None:
        """What to confirm before library models load beside the window's model; None when no
        local model is loaded in the window."""
        if not library_models or self._host.path is None or self._host.engine is None:
            return None
        loaded = next((o for o in self._options if o.key == "window"), None)
        largest = max(model.size_bytes for model in library_models)
        return self.tr(
            "The window keeps {0} ({1}) loaded for the chat while the batch loads {2} one "
            "after the other (the largest: {3}). Both must fit in memory at once. Run the "
            "batch?"
        ).format(loaded.label if loaded is not None else self._host.path.name,
                 size_text(loaded.size_bytes if loaded is not None else None),
                 ", ".join(model.entry.name for model in library_models), size_text(largest))

    def _confirm_then(self, question: str | None, go: Callable[[], None]) -> None:
        if question is None:
            go()
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Two models in memory"), question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(button: QPushButton) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                go()

        def closed(_result: int) -> None:
            self.confirm_box = None
            box.deleteLater()

        box.buttonClicked.connect(answered)
        box.finished.connect(closed)
        self.confirm_box = box
        box.open()

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Run a new batch with the ticked engines (asking first when a library model would
        load beside the window's model)."""
        if self.confirm_box is not None:  # already asking
            return
        problem = self.mapping_problem()
        options = self.chosen_options()
        if problem is None and not options:
            problem = self.tr("Tick at least one model to answer the rows.")
        if problem is not None:
            self.error_label.setText(problem)
            return
        library_models = [option for option in options if isinstance(option, LibraryModel)]
        self._confirm_then(self._memory_question(library_models),
                           lambda: self._start_new(options))

    def _start_new(self, options: list[EngineOption]) -> None:
        plan_without_engines = self._plan(())
        self.run_id, self.plan, self.outcome = None, None, None
        settings, store = self._settings(), self.store

        def work(context: JobContext) -> BatchOutcome:
            with _library(settings) as library:
                engines = choices_for(options, settings, library, context.cancel)
            plan = dataclasses.replace(plan_without_engines, engines=engines)
            run_id = open_run(store, plan)
            context.emit(_Started(run_id, plan, ()))
            return _answer(context, store, plan, run_id)

        self._run(work)

    def continue_unfinished(self) -> None:
        """Continue the unfinished run of the chosen file (with its own mapping and settings),
        asking first when it loads library models beside the window's model."""
        if self.unfinished is None or self.confirm_box is not None:
            return
        run = self.unfinished.run
        wanted = {str(engine.get("model_sha256")) for engine in run.engines}
        library_models = [option for option in self._options
                          if isinstance(option, LibraryModel) and option.entry.sha256 in wanted]
        self._confirm_then(self._memory_question(library_models),
                           lambda: self._continue(run.id))

    def _continue(self, run_id: int) -> None:
        table, scenario, store = self.table, self.scenario, self.store
        settings, options = self._settings(), list(self._options)
        assert table is not None
        self.run_id, self.plan, self.outcome = None, None, None

        def work(context: JobContext) -> BatchOutcome:
            run = store.run(run_id)
            with _library(settings) as library:
                engines = choices_for_run(run, options, settings, library, context.cancel)
            plan = BatchPlan.for_run(run, scenario, table, engines)
            context.emit(_Started(run_id, plan, tuple(store.rows(run_id))))
            return _answer(context, store, plan, run_id)

        self._run(work)

    def _run(self, work: Callable[[JobContext], BatchOutcome]) -> None:
        self._stopping = None
        self.error_label.clear()
        self.state = "running"
        self.progress.begin(self.tr("Preparing the models…"))
        self.progress.report(None)
        self._job = BackgroundJob(self, work, "batch run")
        self._job.on_item(self._item).on_progress(self._progressed)
        self._job.on_success(self._ended).on_failure(self._failed)
        self._job.start()
        self._update_controls()

    def pause_or_resume(self) -> None:
        """Pause a running batch (the row being answered is answered again), or resume a
        paused one."""
        if self.state == "running" and self._job is not None:
            self._stopping = "pause"
            self._job.cancel()
            self._update_controls()
        elif self.state == "paused" and self.run_id is not None:
            self._continue(self.run_id)

    def cancel(self) -> None:
        """Stop the batch and return to the setup; the run is kept, and choosing its file again
        offers to continue it."""
        if self.state == "running" and self._job is not None:
            self._stopping = "cancel"
            self._job.cancel()
            self._update_controls()
        elif self.state == "paused":
            self._back_to_setup()

    def shutdown(self) -> None:
        """Stop a running batch and wait until its thread has ended (before the window frees
        its engine and closes the history)."""
        if self._job is not None and self._job.running:
            self._stopping = "cancel"
            self._job.stop()

    def _item(self, item: object) -> None:
        if item is _TOKEN:
            self.rows.add_tokens(1)
            return
        if isinstance(item, _Started):
            self.run_id, self.plan = item.run_id, item.plan
            self.unfinished = None
            self._show_unfinished()
            self._show_run_mapping(item.plan)
            self.rows.reset(item.plan.table.source_rows,
                            [engine.label for engine in item.plan.engines], item.records)
            self._cursor = 0
            self.progress.begin(self.tr("Answering {0} rows with {1} model(s)").format(
                len(item.plan.table), len(item.plan.engines)))
        elif isinstance(item, BatchRow):  # a finished row
            self.rows.set_row(item)
        self._mark_next()
        self._show_rows_done()
        self._show_summary()

    def _show_rows_done(self) -> None:
        """The bar and the time left after each finished row (the job's own progress reports
        are thinned out to a few a second; the rows are not)."""
        if self.plan is None:
            return
        total = len(self.plan.table) * len(self.plan.engines)
        done = len(self.rows.records())
        self.progress.report(done / total, self.tr("{0} of {1} rows answered").format(done, total),
                             "answering")

    def _show_run_mapping(self, plan: BatchPlan) -> None:
        """Show the mapping and settings a continued run was made with."""
        assert self.table is not None
        self.mapping_box.fill(self.table.headers, plan.mapping)
        self.max_tokens_box.setValue(plan.settings.max_new_tokens)
        self.language_box.setCurrentIndex(self.language_box.findData(plan.lang))

    def _next_place(self) -> tuple[int, int] | None:
        """(engine, row) the runner answers next: engine by engine, rows in order, skipping
        the finished ones (``_cursor`` only moves forward, as the runner does)."""
        plan = self.plan
        if plan is None or self.state != "running":
            return None
        row_count = len(plan.table)
        while self._cursor < row_count * len(plan.engines):
            place = divmod(self._cursor, row_count)
            if self.rows.record_at(place) is None:
                return place
            self._cursor += 1
        return None

    def _mark_next(self) -> None:
        self.rows.set_answering(self._next_place())

    def _progressed(self, progress: Progress) -> None:
        """The job's stages: while a library model loads, say so (rows are shown as they
        finish, ``_show_rows_done``)."""
        place = self._next_place()
        if progress.stage == "loading" and place is not None and self.plan is not None:
            self.progress.report(None, self.tr("Loading {0}…").format(
                self.plan.engines[place[0]].label), "loading")

    def _ended(self, outcome: BatchOutcome) -> None:
        self._job = None
        self.outcome = outcome
        self.rows.set_answering(None)
        if not outcome.stopped:
            self.state = "finished"
            self.progress.end(self.tr("Done: {0} rows answered.").format(
                sum(row.finished for row in outcome.rows)))
        elif self._stopping == "cancel":
            self.progress.end(self.tr("Cancelled. The answered rows are kept."))
            self._back_to_setup()
        else:
            self.state = "paused"
            self.progress.end(self.tr("Paused: {0} of {1} rows answered. Resume continues "
                                      "from the next row.").format(
                sum(row.finished for row in outcome.rows),
                len(outcome.run.engines) * outcome.run.row_count))
        self._stopping = None
        self._show_summary()
        self._update_controls()
        self.history_changed.emit()

    def _failed(self, error: BaseException) -> None:
        """The run stopped on an error (an engine failed, a model changed): Resume tries
        again. An error before the run began (a model that cannot be identified, a run that
        cannot be continued) returns to the setup."""
        self._job = None
        self.rows.set_answering(None)
        asked_to_stop = self._stopping is not None and isinstance(error, JobCancelled)
        self.progress.end(self.tr("Cancelled. The answered rows are kept.") if asked_to_stop
                          else self.tr("Stopped: {0}").format(error))
        self._stopping = None
        if self.run_id is None:
            self._back_to_setup()
        else:
            self.state = "paused"
        if not asked_to_stop:
            self._show_error(error)
        self._update_controls()
        self.history_changed.emit()

    def _back_to_setup(self) -> None:
        """The run stays recorded; the setup is editable again and offers to continue it."""
        self.state = "setup"
        self._update_controls()
        if self.table is not None:
            self._refresh_unfinished()

    def _refresh_unfinished(self) -> None:
        store, scenario_id, table = self.store, self.scenario.id, self.table
        assert table is not None
        job = BackgroundJob(self, lambda _context: _unfinished_run(store, scenario_id, table),
                            "find unfinished batch runs")
        job.on_success(self._unfinished_found).on_failure(self._show_error)
        job.start()

    def _unfinished_found(self, unfinished: UnfinishedRun | None) -> None:
        self.unfinished = unfinished
        self._show_unfinished()
        self._update_controls()

    # -- results ---------------------------------------------------------------------------------

    def _show_summary(self) -> None:
        plan = self.plan
        if plan is None:
            self.summary_label.clear()
            return
        scores, agreed = summarize_rows(self.rows.records(), len(plan.engines), plan.tolerance)
        lines = [self._score_line(engine.label, figures)
                 for engine, figures in zip(plan.engines, scores, strict=True)]
        if len(plan.engines) > 1:
            lines.append(self._agreement_line(agreed))
        self.summary_label.setText("\n".join(lines))

    def _score_line(self, label: str, figures: ModelScore) -> str:
        parts = [self.tr("{0} answered").format(figures.rows_done)]
        if figures.rows_failed:
            parts.append(self.tr("{0} failed").format(figures.rows_failed))
        if figures.accuracy is not None:
            parts.append(self.tr("accuracy {0:.0%} ({1} of {2})").format(
                figures.accuracy, figures.rows_correct, figures.rows_scored))
        if figures.tokens_per_s is not None:
            parts.append(self.tr("{0:.1f} tokens/s").format(figures.tokens_per_s))
        return f"{label}: " + " · ".join(parts)

    def _agreement_line(self, agreed: Agreement) -> str:
        if agreed.rate is None:
            return self.tr("Agreement: shown once every model has answered a row.")
        return self.tr("The models agree on {0:.0%} of the {1} rows all of them answered.").format(
            agreed.rate, len(agreed.per_row))

    def choose_export(self) -> None:
        """Ask where to save the results (XLSX or CSV), then ``export_to`` there."""
        if self.table is None or self.run_id is None:
            return
        xlsx, csv = self.tr("Excel workbook (*.xlsx)"), self.tr("CSV (*.csv)")
        path, chosen = QFileDialog.getSaveFileName(
            self, self.tr("Export the results"), f"{self.table.path.stem}-results.xlsx",
            f"{xlsx};;{csv}")
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in (".xlsx", ".csv"):
            target = target.with_name(target.name + (".csv" if chosen == csv else ".xlsx"))
        self.export_to(target)

    def export_to(self, path: Path) -> BackgroundJob | None:
        """Write the run's results as they stand to ``path`` (.xlsx or .csv, written under a
        temporary name and renamed by the core) off the GUI thread; the label below the table
        says where they went, or why they could not be written. None without a run."""
        from app.core.batch.results_export import write_results

        plan, run_id, store, scenario = self.plan, self.run_id, self.store, self.scenario
        if plan is None or run_id is None:
            return None

        def work(_context: JobContext) -> Path:
            return write_results(path, outcome_of(store, plan, run_id), plan.table, scenario)

        job = BackgroundJob(self, work, "export batch results")
        job.on_success(lambda written: self.error_label.setText(
            self.tr("Results saved to {0}").format(written)))
        job.on_failure(self._show_error)
        return job.start()

    def open_line(self, line: int) -> bool:
        """Open table line ``line``'s row as a conversation (``open_requested``); False while
        it has none (not answered yet, or a row that could not be asked)."""
        record = self.rows.record(line)
        if record is None or record.conversation_id is None:
            return False
        self.open_requested.emit(record.conversation_id)
        return True

    def _open_selected(self) -> None:
        selected = self.table_view.selectionModel().selectedRows()
        if selected:
            self.open_line(selected[0].row())

    # -- state -----------------------------------------------------------------------------------

    def _update_controls(self) -> None:
        setup = self.state in ("setup", "finished")
        running = self.state == "running"
        for widget in (self.choose_button, self.mapping_box, self.engine_list,
                       self.max_tokens_box, self.language_box):
            widget.setEnabled(setup)
        ready = setup and self.table is not None and self.mapping_problem() is None \
            and bool(self.chosen_options())
        self.run_button.setEnabled(ready)
        self.continue_button.setEnabled(setup and self.unfinished is not None)
        self.pause_button.setText(self.tr("Resume") if self.state == "paused" else
                                  self.tr("Pause"))
        self.pause_button.setEnabled((running and self._stopping is None)
                                     or self.state == "paused")
        self.progress.cancel_button.setEnabled((running and self._stopping is None)
                                               or self.state == "paused")
        self.export_button.setEnabled(self.run_id is not None and not running)
        selected = self.table_view.selectionModel().selectedRows()
        record = self.rows.record(selected[0].row()) if selected else None
        self.open_button.setEnabled(record is not None and record.conversation_id is not None)

    def _show_error(self, error: BaseException) -> None:
        self.error_label.setText(str(error) or type(error).__name__)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
        if watched is self.parent() and event.type() == QEvent.Type.Close:
            self.shutdown()  # before the window frees the engine the run may be using
        return False


def _unfinished_run(store: BatchStore, scenario_id: str,
                    table: InputTable) -> UnfinishedRun | None:
    """The latest run of ``scenario_id`` over this very file (same path and SHA-256) that has
    rows left, with how many it finished; None when there is none. Blocking."""
    for run in store.runs():
        if (run.scenario_id, run.input_path, run.input_sha256) == \
                (scenario_id, str(table.path), table.sha256) and run.state != "done":
            return UnfinishedRun(run, sum(row.finished for row in store.rows(run.id)))
    return None


@contextlib.contextmanager
def _library(settings: AppSettings) -> Iterator[Library | None]:
    """The library of ``settings``, open for the block, or None when there is none (nothing is
    created) or it cannot be read: a model is then identified by hashing its file."""
    from app.core.installation.paths import app_paths
    from app.core.library.manifest import MANIFEST_NAME
    from app.core.library.model_library import Library

    if not (app_paths().library_dir(settings.library_dir) / MANIFEST_NAME).exists():
        yield None
        return
    try:
        opened = Library.open_default(settings.library_dir or None)
    except FinR1Error:
        yield None
        return
    with opened:
        yield opened


def _answer(context: JobContext, store: BatchStore, plan: BatchPlan,
            run_id: int) -> BatchOutcome:
    """Run ``run_batch`` for the view: finished rows and tokens as items, progress as progress.
    Stopped while waiting for the window's model counts as stopped, like a stop mid-row."""
    def token(chunk: TokenChunk) -> None:
        if chunk.token is not None:
            context.emit(_TOKEN)

    try:
        return run_batch(store, plan, run_id, cancel=context.cancel,
                         on_progress=context.progress, on_row=context.emit, on_token=token)
    except JobCancelled:
        if not context.cancel.cancelled:
            raise
        store.set_state(run_id, "stopped")
        return outcome_of(store, plan, run_id)

