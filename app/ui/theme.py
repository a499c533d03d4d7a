"""Light and dark: follow the system's colour scheme unless the theme setting fixes one.

``ThemeController`` reads ``QStyleHints.colorScheme()`` and listens to its changes; it applies a
matching palette to the widgets (drawn in the Fusion style that ``platform_setup`` chooses, so both
schemes look the same everywhere) and emits ``changed("light" | "dark")`` for the chat view.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_DARK_COLOURS = {
    QPalette.ColorRole.Window: "#202329",
    QPalette.ColorRole.WindowText: "#e4e6eb",
    QPalette.ColorRole.Base: "#17191d",
    QPalette.ColorRole.AlternateBase: "#262a31",
    QPalette.ColorRole.ToolTipBase: "#2b2f36",
    QPalette.ColorRole.ToolTipText: "#e4e6eb",
    QPalette.ColorRole.PlaceholderText: "#7d8590",
    QPalette.ColorRole.Text: "#e4e6eb",
    QPalette.ColorRole.Button: "#2a2e35",
    QPalette.ColorRole.ButtonText: "#e4e6eb",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#3d6fd1",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6ea0ff",
    QPalette.ColorRole.Mid: "#3b4049",
    QPalette.ColorRole.Dark: "#111316",
    QPalette.ColorRole.Light: "#3b4049",
}
_LIGHT_COLOURS = {
    QPalette.ColorRole.Window: "#eef0f3",
    QPalette.ColorRole.WindowText: "#1d2330",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f5f6f8",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d2330",
    QPalette.ColorRole.PlaceholderText: "#8a909b",
    QPalette.ColorRole.Text: "#1d2330",
    QPalette.ColorRole.Button: "#f7f8fa",
    QPalette.ColorRole.ButtonText: "#1d2330",
    QPalette.ColorRole.BrightText: "#c62828",
    QPalette.ColorRole.Highlight: "#2f6fde",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#2f6fde",
}
_DISABLED_TEXT = {"dark": "#6b7280", "light": "#a0a6b0"}


def system_theme() -> str:
    """"dark" when the system asks for a dark colour scheme, else "light"."""
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def palette_for(theme: str) -> QPalette:
    """The widget palette of ``theme`` ("light" or "dark")."""
    palette = QPalette()
    for role, colour in (_DARK_COLOURS if theme == "dark" else _LIGHT_COLOURS).items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED_TEXT[theme]))
    return palette


class ThemeController(QObject):
    """Keeps the app's theme in line with the setting ("system", "light" or "dark")."""

    changed = Signal(str)

    def __init__(self, application: QApplication, setting: str = "system") -> None:
        super().__init__(application)
        self._application = application
        self._setting = setting
        self.current = ""
        application.styleHints().colorSchemeChanged.connect(lambda _scheme: self._update())
        self._update()

    def set_setting(self, setting: str) -> None:
        """Follow the system ("system") or fix the theme ("light"/"dark")."""
        self._setting = setting
        self._update()

    def _update(self) -> None:
        theme = system_theme() if self._setting == "system" else self._setting
        if theme == self.current:
            return
        self.current = theme
        self._application.setPalette(palette_for(theme))
        self.changed.emit(theme)
