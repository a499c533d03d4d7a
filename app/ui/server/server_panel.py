"""The local server's panel and status line: start/stop, address, busy state, request log.

``ServerPanel(server)`` edits where the server listens (address, port, API key, whether prompts
are logged), starts and stops it through ``LocalServer`` and lists its requests: time, method,
path, status, tokens, duration, and the prompt only when the person turned prompt logging on.
``ServerStatusLabel(server)`` is the one-line state for the window's status bar ("Server:
answering 1, 2 waiting"), shown while the server runs. Every setting is checked by the core's
``ServeConfig``: a refusal (another address without an API key…) shows its sentence.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.retranslate import Retranslating
from app.ui.server.local_server import LocalServer
from app.ui.window.model_host import CHAT_QUEUE_LABEL
from foundation.errors import FinR1Error

if TYPE_CHECKING:
    from app.core.serve.config import ServeConfig
    from app.core.serve.request_log import RequestRecord

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_LOG_ROWS = 1000  # the oldest rows go first; the server's log file is not the panel's job
LOG_COLUMNS = ("time", "method", "path", "status", "tokens", "duration", "prompt")
PROMPT_COLUMN = LOG_COLUMNS.index("prompt")
_PROMPT_CHARS = 200


def status_text(server: LocalServer) -> str:
    """The server's state in one line: off, starting, ready at its address, or how busy the
    model is ("Server: answering 1, 2 waiting")."""
    if server.state == "starting":
        return QCoreApplication.translate("ServerPanel", "Server: starting…")
    if server.state == "stopping":
        return QCoreApplication.translate("ServerPanel", "Server: stopping…")
    if server.state != "serving":
        return QCoreApplication.translate("ServerPanel", "Server: off")
    status = server.status
    if not status.busy:
        return QCoreApplication.translate("ServerPanel", "Server: ready at {0}").format(server.url)
    if status.holder == "server":
        return QCoreApplication.translate(
            "ServerPanel", "Server: answering 1, {0} waiting").format(status.waiting)
    if status.holder == CHAT_QUEUE_LABEL:
        return QCoreApplication.translate(
            "ServerPanel", "Server: the window's chat has the model, {0} waiting").format(
            status.waiting)
    return QCoreApplication.translate("ServerPanel", "Server: busy, {0} waiting").format(
        status.waiting)


class ServerPanel(Retranslating, QWidget):
    """The local server's controls and request log (see the module docstring)."""

    def __init__(self, server: LocalServer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.server = server
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.host_edit = QLineEdit(DEFAULT_HOST)
        self.port_box = QSpinBox()
        self.port_box.setRange(0, 65535)
        self.port_box.setValue(DEFAULT_PORT)
        where = QHBoxLayout()
        where.addWidget(self.host_edit, 1)
        self._port_label = QLabel()
        where.addWidget(self._port_label)
        where.addWidget(self.port_box)
        self._where_label = QLabel()
        form.addRow(self._where_label, where)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self._key_label = QLabel()
        form.addRow(self._key_label, self.api_key)
        self.log_prompts = QCheckBox()
        form.addRow("", self.log_prompts)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.start_button = QPushButton()
        self.start_button.clicked.connect(self.toggle)
        row.addWidget(self.start_button)
        self.status_label = QLabel()
        row.addWidget(self.status_label, 1)
        layout.addLayout(row)
        self.address_label = QLabel("")
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.address_label)
        self.error_label = QLabel("")
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_label)
        self.log_table = QTableWidget(0, len(LOG_COLUMNS))
        self.log_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.log_table.verticalHeader().hide()
        self.log_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.log_table.horizontalHeader().setStretchLastSection(True)
        self.log_table.setColumnHidden(PROMPT_COLUMN, True)
        layout.addWidget(self.log_table, 1)
        server.state_changed.connect(self._state_changed)
        server.status_changed.connect(lambda _status: self._show_status())
        server.request_logged.connect(self.add_record)
        server.failed.connect(self.error_label.setText)
        self.retranslate()
        self._state_changed()

    def retranslate(self) -> None:
        self._where_label.setText(self.tr("Listen on"))
        self._port_label.setText(self.tr("port"))
        self.port_box.setSpecialValueText(self.tr("any free port"))
        self._key_label.setText(self.tr("API key"))
        self.api_key.setPlaceholderText(
            self.tr("needed to listen beyond this computer (clients send it as a bearer token)"))
        self.log_prompts.setText(
            self.tr("Log prompt and reply texts (they may be confidential)"))
        self.log_table.setHorizontalHeaderLabels([
            self.tr("Time"), self.tr("Method"), self.tr("Path"), self.tr("Status"),
            self.tr("Tokens"), self.tr("Duration"), self.tr("Prompt")])
        self._state_changed()

    def config(self) -> ServeConfig:
        """The server's settings as the panel shows them. Raises ``InvalidSettingError`` and
        ``InsecureBindError`` (another address without an API key), from the core."""
        from app.core.serve.config import ServeConfig

        return ServeConfig(host=self.host_edit.text().strip(), port=self.port_box.value(),
                           api_key=self.api_key.text() or None,
                           log_prompts=self.log_prompts.isChecked())

    def toggle(self) -> None:
        """Start the server as configured, or stop it when it runs."""
        if self.server.running:
            self.server.stop()
            return
        self.error_label.clear()
        try:
            config = self.config()
        except FinR1Error as error:
            self.error_label.setText(str(error))
            return
        if self.server.start(config):
            self.log_table.setColumnHidden(PROMPT_COLUMN, not config.log_prompts)

    def add_record(self, record: RequestRecord) -> None:
        """Append one request to the log (the newest at the bottom)."""
        if self.log_table.rowCount() >= MAX_LOG_ROWS:
            self.log_table.removeRow(0)
        tokens = (f"{record.prompt_tokens} + {record.completion_tokens}"
                  if record.prompt_tokens is not None else "")
        prompt = (record.prompt or "")[:_PROMPT_CHARS]
        cells = (time.strftime("%H:%M:%S", time.localtime(record.at)), record.method,
                 record.path, str(record.status), tokens, f"{record.duration_s * 1000:.0f} ms",
                 prompt)
        row = self.log_table.rowCount()
        self.log_table.insertRow(row)
        for column, text in enumerate(cells):
            self.log_table.setItem(row, column, QTableWidgetItem(text))
        self.log_table.scrollToBottom()

    def logged_rows(self) -> list[tuple[str, ...]]:
        """The log as shown, one tuple of cell texts per request (hidden columns included)."""
        table = self.log_table

        def cell_text(row: int, column: int) -> str:
            item = table.item(row, column)
            return item.text() if item is not None else ""

        return [tuple(cell_text(row, column) for column in range(table.columnCount()))
                for row in range(table.rowCount())]

    def _state_changed(self) -> None:
        running = self.server.running
        self.start_button.setText(self.tr("Stop server") if running else self.tr("Start server"))
        self.start_button.setEnabled(self.server.state != "stopping")
        for widget in (self.host_edit, self.port_box, self.api_key, self.log_prompts):
            widget.setEnabled(not running)
        self._show_status()

    def _show_status(self) -> None:
        self.status_label.setText(status_text(self.server))
        config = self.server.config
        if self.server.state == "serving" and config is not None:
            text = (self.tr("Clients use base URL {0}, model name {1} and the API key.")
                    if config.api_key else
                    self.tr("Clients use base URL {0} and model name {1}; no API key needed."))
            self.address_label.setText(text.format(self.server.url, config.model_name))
        else:
            self.address_label.clear()


class ServerStatusLabel(Retranslating, QLabel):
    """The server's state for the window's status bar; hidden while the server is off."""

    def __init__(self, server: LocalServer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.server = server
        server.state_changed.connect(self.retranslate)
        server.status_changed.connect(lambda _status: self.retranslate())
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(status_text(self.server))
        self.setVisible(self.server.state != "stopped")
