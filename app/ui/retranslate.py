"""Widgets that set their texts in ``retranslate()`` and redo it when the language changes."""

from __future__ import annotations

from PySide6.QtCore import QEvent


class Retranslating:
    """Mix into a QWidget subclass (before the Qt class) that defines ``retranslate()``: it is
    called again on every ``LanguageChange`` event (sent by Qt when a translator is installed)."""

    def retranslate(self) -> None:
        raise NotImplementedError

    def changeEvent(self, event: QEvent) -> None:  # Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)  # type: ignore[misc]
