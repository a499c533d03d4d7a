"""The history sidebar: saved conversations, newest first, with search, rename, delete, export
(Markdown, HTML, PDF; the reasoning included or not) and reopen (``open_requested``; the window
redraws it exactly as it was shown, ``app.core.history.replay``).

Reading and writing the history runs off the GUI thread; the list refreshes when told
(``refresh``, e.g. after a reply was saved) and as the search text changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.history.export import export_text, write_export
from app.core.history.store import ConversationSummary, HistoryStore
from app.core.scenarios.scenario import Scenario
from app.ui.i18n import content_language
from app.ui.job_bridge import BackgroundJob, JobContext
from app.ui.retranslate import Retranslating

SEARCH_DELAY_MS = 250
_SUFFIXES = {"md": ".md", "html": ".html", "pdf": ".pdf"}


class HistoryPanel(Retranslating, QWidget):
    """The sidebar (see the module docstring). ``open_requested(conversation_id)``;
    ``status(message)`` reports what an action did."""

    open_requested = Signal(int)
    status = Signal(str)

    def __init__(self, store: HistoryStore, scenarios: Mapping[str, Scenario],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._scenarios = scenarios
        self._summaries: list[ConversationSummary] = []
        self._pdf_jobs: list[QObject] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 6, 8)
        self.title_label = QLabel()
        self.title_label.setObjectName("panelTitle")
        layout.addWidget(self.title_label)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("historySearch")
        self.search_box.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search_box.textChanged.connect(lambda _text: self._search_timer.start())
        layout.addWidget(self.search_box)
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setStyleSheet("#historyList::item { padding: 6px 4px; "
                                "border-bottom: 1px solid palette(midlight); }")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemActivated.connect(lambda _item: self.open_selected())
        self.list.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.list, 1)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("panelHelp")
        self.empty_label.setWordWrap(True)
        layout.addWidget(self.empty_label)
        buttons = QGridLayout()
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_selected)
        self.rename_button = QPushButton()
        self.rename_button.clicked.connect(self._rename)
        self.delete_button = QPushButton()
        self.delete_button.clicked.connect(self._delete)
        self.export_button = QToolButton()
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self)
        self.export_actions: dict[str, QAction] = {}
        for export_format in ("md", "html", "pdf"):
            action = self.export_menu.addAction("")
            action.triggered.connect(lambda _checked=False, f=export_format: self._export(f))
            self.export_actions[export_format] = action
        self.export_menu.addSeparator()
        self.include_think = self.export_menu.addAction("")
        self.include_think.setCheckable(True)
        self.include_think.setChecked(True)
        self.export_button.setMenu(self.export_menu)
        # two by two: a narrow dock (beside a wide window's rail) must not clip any of them
        for index, widget in enumerate((self.open_button, self.rename_button,
                                        self.delete_button, self.export_button)):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(widget, index // 2, index % 2)
        layout.addLayout(buttons)
        self.retranslate()
        self._update_buttons()

    def retranslate(self) -> None:
        self.title_label.setText(self.tr("History"))
        self.search_box.setPlaceholderText(self.tr("Search questions and answers"))
        self.open_button.setText(self.tr("Open"))
        self.rename_button.setText(self.tr("Rename"))
        self.delete_button.setText(self.tr("Delete"))
        self.export_button.setText(self.tr("Export"))
        self.export_actions["md"].setText(self.tr("Markdown…"))
        self.export_actions["html"].setText(self.tr("HTML…"))
        self.export_actions["pdf"].setText(self.tr("PDF…"))
        self.include_think.setText(self.tr("Include the reasoning"))
        self._fill()

    # -- listing --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the list again (with the current search text)."""
        store, search = self.store, self.search_box.text()
        job = BackgroundJob(self, lambda _context: store.conversations(search), "list history")
        job.on_success(self._listed)
        job.on_failure(lambda error: self.status.emit(str(error)))
        job.start()

    def _listed(self, summaries: list[ConversationSummary]) -> None:
        self._summaries = summaries
        self._fill()

    def _fill(self) -> None:
        selected = self.selected_id()
        self.list.clear()
        language = content_language()
        for summary in self._summaries:
            scenario = self._scenarios.get(summary.scenario_id or "")
            kind = scenario.title[language] if scenario is not None else self.tr("Free chat")
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated_at))
            item = QListWidgetItem(f"{summary.title}\n{kind} · {when}")
            item.setData(Qt.ItemDataRole.UserRole, summary.id)
            item.setToolTip(self.tr("Model SHA-256: {0}").format(summary.model_sha256 or "—"))
            self.list.addItem(item)
            if summary.id == selected:
                item.setSelected(True)
        searching = bool(self.search_box.text().strip())
        self.empty_label.setText("" if self._summaries else (
            self.tr("Nothing matches.") if searching else
            self.tr("Conversations are saved here as they happen.")))
        self._update_buttons()

    def selected_id(self) -> int | None:
        items = self.list.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def titles(self) -> list[str]:
        return [summary.title for summary in self._summaries]

    def _update_buttons(self) -> None:
        chosen = self.selected_id() is not None
        for widget in (self.open_button, self.rename_button, self.delete_button,
                       self.export_button):
            widget.setEnabled(chosen)

    def _context_menu(self, position: QPoint) -> None:
        if self.list.itemAt(position) is None:
            return
        menu = QMenu(self)
        menu.addAction(self.tr("Open"), self.open_selected)
        menu.addAction(self.tr("Rename…"), self._rename)
        menu.addMenu(self.export_menu).setText(self.tr("Export"))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), self._delete)
        menu.exec(self.list.mapToGlobal(position))

    # -- actions --------------------------------------------------------------------------------

    def open_selected(self) -> None:
        conversation_id = self.selected_id()
        if conversation_id is not None:
            self.open_requested.emit(conversation_id)

    def _rename(self) -> None:
        conversation_id = self.selected_id()
        if conversation_id is None:
            return
        current = next(s.title for s in self._summaries if s.id == conversation_id)
        title, ok = QInputDialog.getText(self, self.tr("Rename"), self.tr("New title:"),
                                         text=current)
        if ok and title.strip():
            self.rename(conversation_id, title)

    def rename(self, conversation_id: int, title: str) -> None:
        self._run(lambda: self.store.rename(conversation_id, title))

    def _delete(self) -> None:
        conversation_id = self.selected_id()
        if conversation_id is None:
            return
        answer = QMessageBox.question(self, self.tr("Delete"),
                                      self.tr("Delete this conversation from the history?"))
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(conversation_id)

    def delete(self, conversation_id: int) -> None:
        self._run(lambda: self.store.delete(conversation_id))

    def _run(self, change: Callable[[], object]) -> None:
        job = BackgroundJob(self, lambda _context: change(), "change history")
        job.on_success(lambda _result: self.refresh())
        job.on_failure(lambda error: self.status.emit(str(error)))
        job.start()

    def _export(self, export_format: str) -> None:
        conversation_id = self.selected_id()
        if conversation_id is not None:
            self.ask_and_export(conversation_id, export_format)

    def ask_and_export(self, conversation_id: int, export_format: str) -> None:
        """Ask where to save the conversation (named after its title), then ``export`` it."""
        title = next((s.title for s in self._summaries if s.id == conversation_id),
                     "conversation")
        filters = {"md": self.tr("Markdown (*.md)"), "html": self.tr("Web page (*.html)"),
                   "pdf": self.tr("PDF (*.pdf)")}
        suggested = "".join(c if c.isalnum() or c in " -_" else "_" for c in title)[:60]
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export conversation"), suggested + _SUFFIXES[export_format],
            filters[export_format])
        if path:
            self.export(conversation_id, export_format, Path(path))

    def export(self, conversation_id: int, export_format: str, path: Path) -> None:
        """Write the conversation to ``path`` as ``md``, ``html`` or ``pdf``; ``status`` says
        where it went (or why it failed)."""
        store, scenarios = self.store, self._scenarios
        include_think, language = self.include_think.isChecked(), content_language()

        def work(_context: JobContext) -> str | Path:
            conversation = store.conversation(conversation_id)
            text_format = "html" if export_format == "pdf" else export_format
            text = export_text(conversation, scenarios, text_format,
                               include_think=include_think, language=language)
            return text if export_format == "pdf" else write_export(text, path)

        job = BackgroundJob(self, work, "export")
        job.on_success(lambda result: self._exported(result, export_format, path))
        job.on_failure(lambda error: self.status.emit(str(error)))
        job.start()

    def _exported(self, result: str | Path, export_format: str, path: Path) -> None:
        if export_format != "pdf":
            self.status.emit(self.tr("Exported to {0}").format(result))
            return
        from app.ui.history.pdf_export import PdfPrintJob  # the web engine only when printing

        printer = PdfPrintJob(str(result), path, self)
        self._pdf_jobs.append(printer)
        printer.finished.connect(lambda done, error, job=printer: self._printed(job, done, error))
        printer.start()

    def _printed(self, printer: QObject, path: str, error: str) -> None:
        self._pdf_jobs.remove(printer)
        printer.deleteLater()
        self.status.emit(error or self.tr("Exported to {0}").format(path))


def translate_interrupted() -> str:
    """The note ending a reply whose writing was interrupted (the app closed or crashed)."""
    return QCoreApplication.translate(
        "HistoryPanel", "The app stopped before this reply finished; this is what had been "
                        "shown.")
