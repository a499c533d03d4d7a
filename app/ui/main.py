"""Entry point of the desktop app (``finr1-studio``).

A placeholder window until the desktop-app issue lands: it states what works today (the
``finr1`` command line) so a person who starts it is not left guessing.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Show the main window and run the Qt event loop; returns the process exit code."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    from app import __version__

    application = QApplication(sys.argv if argv is None else argv)
    window = QMainWindow()
    window.setWindowTitle(f"Fin-R1 Studio {__version__}")
    label = QLabel(
        "Fin-R1 Studio\n\nThe desktop window is under construction.\n"
        "Convert, quantize and inspect models today with the `finr1` command line."
    )
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    window.setCentralWidget(label)
    window.resize(720, 480)
    window.show()
    return application.exec()
