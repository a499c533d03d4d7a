"""Free chat's input box: type, Ctrl+Enter (or Send) to ask, Stop while the reply streams.

``send_requested(text)`` carries the question; ``edit_mode`` shows that the text replaces an
earlier question (edit and resend), which the window resolves.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.ui.retranslate import Retranslating


class Composer(Retranslating, QWidget):
    """The free-chat input (see the module docstring)."""

    send_requested = Signal(str)
    stop_requested = Signal()
    new_chat_requested = Signal()
    edit_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 6, 14, 10)
        layout.setSpacing(4)
        self.edit_note = QLabel("")
        self.edit_note.setObjectName("editNote")
        self.edit_note.hide()
        layout.addWidget(self.edit_note)
        row = QHBoxLayout()
        self.text_box = QPlainTextEdit()
        self.text_box.setObjectName("composerText")
        self.text_box.setFixedHeight(72)
        buttons = QVBoxLayout()
        self.send_button = QPushButton()
        self.send_button.setObjectName("runButton")
        self.send_button.clicked.connect(self._send_or_stop)
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_chat_requested)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.new_button)
        row.addWidget(self.text_box, 1)
        row.addLayout(buttons)
        layout.addLayout(row)
        QShortcut(QKeySequence("Ctrl+Return"), self.text_box).activated.connect(self._send_or_stop)
        self.retranslate()

    def retranslate(self) -> None:
        """The texts in the window's language (again when it changes)."""
        self.text_box.setPlaceholderText(
            self.tr("Ask Fin-R1 anything about finance… (Ctrl+Enter to send)"))
        self.new_button.setText(self.tr("New chat"))
        self.edit_note.setText(self.tr("Editing an earlier question: sending replaces it and "
                                       "the replies after it. Clear the box to cancel."))
        self.set_busy(self._busy)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.setText(self.tr("Stop") if busy else self.tr("Send"))
        self.new_button.setEnabled(not busy)

    def begin_edit(self, text: str) -> None:
        """Put an earlier question in the box to edit and resend."""
        self.text_box.setPlainText(text)
        self.edit_note.show()
        self.text_box.setFocus()

    def end_edit(self) -> None:
        self.edit_note.hide()

    @property
    def editing(self) -> bool:
        return not self.edit_note.isHidden()

    def _send_or_stop(self) -> None:
        if self._busy:
            self.stop_requested.emit()
            return
        text = self.text_box.toPlainText().strip()
        if not text:
            if self.editing:
                self.end_edit()
                self.edit_cancelled.emit()
            return
        self.text_box.clear()
        self.send_requested.emit(text)
