"""What Qt and its embedded Chromium must be told before the application object exists.

* Without a display (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) the self-test runs on Qt's
  ``offscreen`` platform; a normal start without a display is refused with a clear message.
* Chromium refuses to start its sandbox as root, so as root ``--no-sandbox`` is added; offscreen
  there is no GPU surface, so ``--disable-gpu`` too. Flags already in
  ``QTWEBENGINE_CHROMIUM_FLAGS`` are kept.
* The widget style is Fusion, so the light and dark palettes look the same on every system; it
  is named in ``QT_STYLE_OVERRIDE`` (unless the user set one), which the application reads when
  it is created — cheaper at start than ``QApplication.setStyle``, whose returned ``QStyle``
  makes PySide6 build that class's dozen enum types (~8 ms) before the first paint.
* Qt WebEngine needs ``AA_ShareOpenGLContexts`` set before the ``QApplication`` is created; its
  modules themselves are imported only when the chat view is built.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

CHROMIUM_FLAGS_VAR = "QTWEBENGINE_CHROMIUM_FLAGS"
STYLE_VAR = "QT_STYLE_OVERRIDE"
WIDGET_STYLE = "Fusion"


def has_display(environ: MutableMapping[str, str] | None = None) -> bool:
    """True when a window can be shown: always on Windows and macOS, with a display server
    (or an explicit ``QT_QPA_PLATFORM``) on Linux."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
                or environ.get("QT_QPA_PLATFORM"))


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def prepare_qt_environment(offscreen: bool = False,
                           environ: MutableMapping[str, str] | None = None) -> None:
    """Set the environment Qt and Chromium read at start-up (see the module docstring).

    ``offscreen`` forces Qt's offscreen platform (the self-test, tests, benchmarks). Call before
    the ``QApplication`` exists; later calls have no effect on a running application.
    """
    environ = os.environ if environ is None else environ
    if offscreen:
        environ["QT_QPA_PLATFORM"] = "offscreen"
    flags = environ.get(CHROMIUM_FLAGS_VAR, "").split()
    wanted = []
    if _running_as_root():
        wanted.append("--no-sandbox")
    if environ.get("QT_QPA_PLATFORM") == "offscreen":
        wanted.append("--disable-gpu")
    for flag in wanted:
        if flag not in flags:
            flags.append(flag)
    if flags:
        environ[CHROMIUM_FLAGS_VAR] = " ".join(flags)
    environ.setdefault(STYLE_VAR, WIDGET_STYLE)
    # Qt WebEngine needs shared OpenGL contexts set before the application object exists; setting
    # the attribute (instead of importing QtWebEngine now) lets the window appear before the
    # web engine's libraries are loaded.
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
