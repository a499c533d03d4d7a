"""The About box: the version, the llama.cpp build in use and the licence of every component.

It shows ``app.core.installation.about.about_info()`` (the same content as ``finr1 about``): which
llama.cpp CPU
variant and GPU back-end this installation runs, so a support question can be answered from one
screenshot, and the third-party components with their licences, each licence's full text one click
away. "Copy details" puts the plain-text version on the clipboard for a bug report.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AboutDataError
from app.core.installation.about import AboutInfo


class AboutDialog(QDialog):
    """Shows ``info`` (see the module docstring)."""

    def __init__(self, info: AboutInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setWindowTitle(self.tr("About {0}").format(info.app_name))
        self.resize(760, 520)
        layout = QVBoxLayout(self)

        build = self.tr("installer build") if info.frozen else self.tr("running from source")
        self.title_label = QLabel(f"<b>{info.app_name} {info.version}</b>")
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.details_label = QLabel(
            f"{build} · Python {info.python_version} · {info.platform}\n"
            f"{info.copyright}. " + self.tr("Licensed under {0}.").format(info.license))
        self.llama_label = QLabel(info.llama_text if info.llama else
                                  self.tr("llama.cpp is not available: {0}")
                                  .format(info.llama_error or ""))
        self.llama_label.setWordWrap(True)
        self.llama_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.title_label, self.details_label, self.llama_label):
            layout.addWidget(label)

        self.notices_table = QTableWidget(len(info.notices), 4)
        self.notices_table.setHorizontalHeaderLabels(
            [self.tr("Component"), self.tr("Version"), self.tr("Licence"), self.tr("Used for")])
        self.notices_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.notices_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.notices_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.notices_table.verticalHeader().hide()
        for row, notice in enumerate(info.notices):
            for column, text in enumerate((notice.name, notice.version or "", notice.license,
                                           notice.role)):
                item = QTableWidgetItem(text)
                item.setToolTip(notice.url)
                self.notices_table.setItem(row, column, item)
        self.notices_table.resizeColumnsToContents()
        self.notices_table.horizontalHeader().setStretchLastSection(True)
        self.notices_table.itemSelectionChanged.connect(self._show_selected_licence)
        layout.addWidget(self.notices_table, 1)

        self.licence_text = QPlainTextEdit()
        self.licence_text.setReadOnly(True)
        self.licence_text.setPlaceholderText(self.tr("Select a component to read its licence."))
        layout.addWidget(self.licence_text, 1)

        button_row = QHBoxLayout()
        self.copy_button = QPushButton(self.tr("Copy details"))
        self.copy_button.clicked.connect(self.copy_details)
        button_row.addWidget(self.copy_button)
        button_row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        button_row.addWidget(buttons)
        layout.addLayout(button_row)

    def copy_details(self) -> None:
        """Put the plain-text About content on the clipboard."""
        QGuiApplication.clipboard().setText(self.info.as_text())

    def _show_selected_licence(self) -> None:
        rows = {index.row() for index in self.notices_table.selectedIndexes()}
        if not rows:
            return
        notice = self.info.notices[min(rows)]
        try:
            text = notice.license_text()
        except AboutDataError as error:
            text = str(error)
        self.licence_text.setPlainText(f"{notice.name} — {notice.license}\n{notice.url}\n\n{text}")
