"""The About box (offscreen): the version and llama.cpp build, every component with its licence,
each licence's text on selection, and the details copied for a bug report."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app import __version__
from app.core.installation.about import about_info
from app.ui.window.about_dialog import AboutDialog


def test_the_about_box_shows_the_build_and_every_licence(qapp: Any) -> None:
    info = about_info()
    dialog = AboutDialog(info)
    try:
        assert __version__ in dialog.title_label.text()
        assert "llama.cpp" in dialog.llama_label.text()
        table = dialog.notices_table
        names = [table.item(row, 0).text() for row in range(table.rowCount())]
        assert names == [notice.name for notice in info.notices]
        assert any("llama.cpp" in name for name in names) and any("Qt" in name for name in names)
        table.selectRow(0)
        assert info.notices[0].license_text()[:200] in dialog.licence_text.toPlainText()
        dialog.copy_button.click()
        assert QGuiApplication.clipboard().text() == info.as_text()
    finally:
        dialog.deleteLater()
