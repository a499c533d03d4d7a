"""Exported conversations to PDF, printed by Qt WebEngine: the math (MathML), highlighted code and
reading badges come out as the HTML export shows them.

``PdfPrintJob(html, path)`` loads the document (from a temporary file, as ``setHtml`` is limited
to 2 MB) in an off-the-record page with the network blocked (``app.ui.chat.page``), prints it to
a temporary name beside ``path`` and renames it when complete; ``finished(path, error)`` reports
the outcome on the GUI thread ("" error on success). ``print_pdf`` does the same and waits, for
the command line and tests; ``ensure_application`` gives it a Qt application where none exists.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QEventLoop,
    QMarginsF,
    QObject,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QPageLayout, QPageSize
from PySide6.QtWebEngineCore import QWebEnginePage

from app.core.errors import ExportError
from foundation.atomic import partial_path_for, remove_stale_partials

PRINT_TIMEOUT_S = 120.0
_MARGINS_MM = QMarginsF(14, 16, 14, 16)


class PdfPrintJob(QObject):
    """Prints one HTML document to ``output_path`` (see the module docstring)."""

    finished = Signal(str, str)  # output path, error ("" on success)

    def __init__(self, html: str, output_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from app.ui.chat.page import private_profile

        self.output_path = Path(output_path)
        self._scratch = tempfile.TemporaryDirectory(prefix="finr1-pdf-")
        self._source = Path(self._scratch.name) / "conversation.html"
        self._source.write_text(html, encoding="utf-8")
        self._partial = partial_path_for(self.output_path)
        profile, _blocker = private_profile()
        self._page = QWebEnginePage(profile, self)
        self._page.loadFinished.connect(self._loaded)
        self._page.pdfPrintingFinished.connect(self._printed)
        self._done = False

    def start(self) -> None:
        """Begin loading and printing; returns at once."""
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(self.output_path)
        self._page.load(QUrl.fromLocalFile(str(self._source)))

    def _loaded(self, ok: bool) -> None:
        if not ok:
            self._finish("the document could not be laid out for printing")
            return
        layout = QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                             _MARGINS_MM, QPageLayout.Unit.Millimeter)
        self._page.printToPdf(str(self._partial), layout)

    def _printed(self, file_path: str, success: bool) -> None:
        if not success:
            self._finish(f"printing to {self.output_path} failed; check that the folder is "
                         "writable and has space")
            return
        try:
            os.replace(file_path, self.output_path)
        except OSError as error:
            self._finish(f"cannot write {self.output_path}: {error.strerror or error}")
            return
        self._finish("")

    def _finish(self, error: str) -> None:
        if self._done:
            return
        self._done = True
        Path(self._partial).unlink(missing_ok=True)
        self._scratch.cleanup()
        self.finished.emit(str(self.output_path), error)


def ensure_application() -> QCoreApplication:
    """The running Qt application, or a new offscreen-capable one (for the command line)."""
    existing = QCoreApplication.instance()
    if existing is not None:
        return existing
    from app.ui.platform_setup import has_display, prepare_qt_environment

    prepare_qt_environment(offscreen=not has_display())
    from PySide6.QtWidgets import QApplication

    return QApplication([sys.argv[0] if sys.argv else "finr1"])


def print_pdf(html: str, output_path: Path, timeout_s: float = PRINT_TIMEOUT_S) -> Path:
    """Print ``html`` to ``output_path`` and wait; returns the path. Raises ExportError when it
    fails or takes longer than ``timeout_s`` (nothing is left at ``output_path`` then)."""
    ensure_application()
    job = PdfPrintJob(html, output_path)
    loop = QEventLoop()
    outcome: list[str] = []

    def finished(_path: str, error: str) -> None:
        outcome.append(error)
        loop.quit()

    job.finished.connect(finished)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    job.start()
    if not outcome:
        loop.exec()
    job.deleteLater()  # the page must go before the web profile does
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if not outcome:
        raise ExportError(f"printing {Path(output_path).name} took longer than {timeout_s:.0f} s")
    if outcome[0]:
        raise ExportError(outcome[0])
    return Path(output_path)
