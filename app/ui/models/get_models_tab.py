"""The model manager's "Get models" tab: the catalog's ready quants with their size, a fit badge
for this machine, the predicted speed here (``app.core.hardware.speed_prediction``, from the machine's
bandwidth probe or a measured decode) and the expected quality, the recommended one highlighted
and pre-selected; downloads with progress, speed and time left, pause, resume and cancel.

The table is a ``QuantChooser`` on the chosen repository; its catalog is the cached (or shipped)
one, refreshed from the hub (sizes, hashes) in the background unless offline mode is on.
Downloads belong to the app's ``DownloadQueue``: they go on when this tab or the whole manager
is closed, and an interrupted one resumes at the next start.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.hub.catalog import CatalogRepo, RepoKind
from app.core.hub.client import HubConfig
from app.core.hub.pending_downloads import DownloadRequest
from app.ui.formats import size_text, speed_text, time_left_text
from app.ui.i18n import content_language
from app.ui.models.download_queue import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    QUEUED,
    RUNNING,
    DownloadItem,
    DownloadQueue,
)
from app.ui.models.quant_chooser import QuantChooser
from app.ui.retranslate import Retranslating

_PROGRESS_STEPS = 1000


class DownloadRow(Retranslating, QWidget):
    """One download: name, bar, bytes, speed, time left, Pause/Resume and Cancel."""

    def __init__(self, item: DownloadItem, queue: DownloadQueue,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self._queue = queue
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        column = QVBoxLayout()
        self.name_label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, _PROGRESS_STEPS)
        self.detail_label = QLabel()
        self.detail_label.setObjectName("jobDetail")
        self.detail_label.setWordWrap(True)
        column.addWidget(self.name_label)
        column.addWidget(self.bar)
        column.addWidget(self.detail_label)
        layout.addLayout(column, 1)
        self.pause_button = QPushButton()
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(lambda: self._queue.cancel(self.item))
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        item.changed.connect(lambda _item: self.retranslate())
        self.retranslate()

    def retranslate(self) -> None:
        item = self.item
        self.name_label.setText(item.name)
        if item.state == RUNNING and item.fraction is None:
            self.bar.setRange(0, 0)  # busy until the hub has told the size
        else:
            self.bar.setRange(0, _PROGRESS_STEPS)
            self.bar.setValue(int((item.fraction or 0.0) * _PROGRESS_STEPS))
        amounts = (f"{size_text(item.done_bytes)} / {size_text(item.total_bytes)}"
                   if item.total_bytes else "")
        states = {QUEUED: self.tr("waiting"), PAUSED: self.tr("paused"),
                  DONE: self.tr("finished: in the library"), CANCELLED: self.tr("cancelled"),
                  FAILED: self.tr("failed: {0}").format(item.error)}
        if item.state == RUNNING:
            parts = [amounts, speed_text(item.bytes_per_second()),
                     time_left_text(item.seconds_left()) if item.total_bytes else
                     self.tr("asking the hub…")]
        else:
            parts = [states[item.state], amounts]
        self.detail_label.setText(" · ".join(part for part in parts if part))
        self.pause_button.setText(self.tr("Pause") if item.state == RUNNING else self.tr("Resume"))
        self.pause_button.setVisible(item.state in (RUNNING, PAUSED, FAILED))
        self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.setVisible(item.state in (RUNNING, PAUSED, FAILED, QUEUED))

    def _pause_or_resume(self) -> None:
        if self.item.state == RUNNING:
            self._queue.pause(self.item)
        else:
            self._queue.resume(self.item)


class GetModelsTab(Retranslating, QWidget):
    """The catalog and the downloads (see the module docstring)."""

    download_started = Signal(object)  # the DownloadItem

    def __init__(self, queue: DownloadQueue, hub_config: Callable[[], HubConfig],
                 n_ctx: Callable[[], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._hub_config = hub_config
        self._refreshed = False
        layout = QVBoxLayout(self)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("panelHelp")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)
        repo_row = QHBoxLayout()
        self.repo_label = QLabel()
        self.repo_box = QComboBox()
        self.repo_box.currentIndexChanged.connect(lambda _index: self._show_repo())
        repo_row.addWidget(self.repo_label)
        repo_row.addWidget(self.repo_box, 1)
        layout.addLayout(repo_row)
        self.chooser = QuantChooser(n_ctx)
        self.table = self.chooser.table
        self.chooser.choice_changed.connect(self._update_buttons)
        self.chooser.catalog_refreshed.connect(lambda _catalog: self._fill_repos())
        layout.addWidget(self.chooser, 1)
        buttons = QHBoxLayout()
        self.checkpoint_button = QPushButton()
        self.checkpoint_button.clicked.connect(self.download_checkpoint)
        self.download_button = QPushButton()
        self.download_button.setObjectName("runButton")
        self.download_button.clicked.connect(self.download_chosen)
        buttons.addWidget(self.checkpoint_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        layout.addLayout(buttons)
        self.downloads_label = QLabel()
        self.downloads_label.setObjectName("panelTitle")
        layout.addWidget(self.downloads_label)
        self._rows_box = QWidget()
        self._rows = QVBoxLayout(self._rows_box)
        self._rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._rows_box)
        scroll.setMinimumHeight(160)
        layout.addWidget(scroll, 1)
        for item in queue.items:
            self._add_row(item)
        queue.item_added.connect(self._add_row)
        self._fill_repos()
        self.retranslate()

    def retranslate(self) -> None:
        self.hint_label.setText(self.tr(
            "Ready-made GGUF files of Fin-R1. The badge says whether each fits this machine; "
            "the recommended one is pre-selected. Downloads continue in the background and "
            "resume after a restart."))
        self.repo_label.setText(self.tr("Repository"))
        self.checkpoint_button.setText(self.tr("Download the original (to build your own)"))
        self.download_button.setText(self.tr("Download"))
        self.downloads_label.setText(self.tr("Downloads"))
        for index in range(self.repo_box.count()):  # the repositories' descriptions too
            repo = self.chooser.catalog.repo(self.repo_box.itemData(index))
            if repo is not None:
                self.repo_box.setItemText(index, _repo_label(repo))

    def showEvent(self, event: object) -> None:  # Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        if not self._refreshed:
            self._refreshed = True
            self.refresh_catalog()

    # -- catalog ----------------------------------------------------------------------------------

    def refresh_catalog(self) -> None:
        """Ask the hub for the repositories' real file lists (skipped in offline mode)."""
        self.chooser.refresh_catalog(self._hub_config())

    def _fill_repos(self) -> None:
        """List the catalog's GGUF repositories, keeping the chosen one (the chooser shows a
        repository again itself after a refresh)."""
        catalog, current = self.chooser.catalog, self.repo_box.currentData()
        self.repo_box.blockSignals(True)
        self.repo_box.clear()
        for repo in catalog.repos:
            if repo.kind is RepoKind.GGUF:
                self.repo_box.addItem(_repo_label(repo), repo.repo_id)
        index = self.repo_box.findData(current or catalog.default_gguf_repo)
        self.repo_box.setCurrentIndex(max(index, 0))
        self.repo_box.blockSignals(False)
        if self.repo_box.currentData() != current:
            self._show_repo()

    def current_repo(self) -> CatalogRepo | None:
        repo_id = self.repo_box.currentData()
        return self.chooser.catalog.repo(repo_id) if repo_id else None

    def _show_repo(self) -> None:
        repo_id = self.repo_box.currentData()
        if repo_id:
            self.chooser.show_repo(repo_id)

    def _update_buttons(self) -> None:
        self.download_button.setEnabled(bool(self.table.chosen()))

    # -- downloading ------------------------------------------------------------------------------

    def download_chosen(self) -> DownloadItem | None:
        repo, chosen = self.current_repo(), self.table.chosen()
        if repo is None or not chosen:
            return None
        item = self._queue.start(DownloadRequest(repo.repo_id, quant=chosen[0].name))
        self.download_started.emit(item)
        return item

    def download_checkpoint(self) -> DownloadItem:
        item = self._queue.start(DownloadRequest(self.chooser.catalog.checkpoint_repo,
                                                 build_quant="q4_k_m"))
        self.download_started.emit(item)
        return item

    def _add_row(self, item: DownloadItem) -> None:
        self._rows.insertWidget(self._rows.count() - 1, DownloadRow(item, self._queue))

    def rows(self) -> list[DownloadRow]:
        items = (self._rows.itemAt(index) for index in range(self._rows.count() - 1))
        return [row for item in items if item is not None
                and isinstance(row := item.widget(), DownloadRow)]


def _repo_label(repo: CatalogRepo) -> str:
    """"owner/name — what it offers", the description in the window's language."""
    return f"{repo.repo_id} — {repo.title_in(content_language())}"
