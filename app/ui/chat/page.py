"""The chat view's web page: its HTML, its link to Python, and the wall that keeps it offline.

* ``build_page_html`` assembles ``resources/chat/chat.html`` with the code-highlighting styles
  (Pygments, light and dark) and Qt's ``qwebchannel.js`` inlined, so nothing is fetched.
* ``NetworkBlocker`` refuses every request that is not a local file, inline data or Qt's own
  resources; the page's Content-Security-Policy forbids them too, and the private profile keeps
  no cache or cookies on disk.
* ``ChatPage`` opens no links: navigation away from the page is refused.
* ``PageBridge`` is the one object the page's script may call (``bridge.action(name, id,
  payload)``); it turns clicks into a Qt signal.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QCoreApplication, QFile, QIODevice, QObject, QUrl, Signal, Slot
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)

from app.core.installation.resources import resource_path

LOCAL_SCHEMES = frozenset({"file", "data", "qrc", "blob", "about"})
CODE_STYLE_LIGHT = "default"
CODE_STYLE_DARK = "github-dark"


class NetworkBlocker(QWebEngineUrlRequestInterceptor):
    """Blocks every request whose scheme is not local; counts what it blocked."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if url.scheme().lower() not in LOCAL_SCHEMES:
            self.blocked.append(url.toString())
            info.block(True)


class PageBridge(QObject):
    """Receives the page's actions (edit, regenerate, continue, copy, save…)."""

    action_requested = Signal(str, str, str)

    @Slot(str, str, str)
    def action(self, name: str, message_id: str, payload: str) -> None:
        self.action_requested.emit(name, message_id, payload)


class ChatPage(QWebEnginePage):
    """A page that loads its own HTML once and then never navigates anywhere else (a link in a
    model's answer opens nothing)."""

    def __init__(self, profile: QWebEngineProfile, parent: QObject | None = None) -> None:
        super().__init__(profile, parent)
        self._own_page_loaded = False
        self.loadFinished.connect(self._mark_loaded)

    def _mark_loaded(self, ok: bool) -> None:
        self._own_page_loaded = self._own_page_loaded or ok

    def acceptNavigationRequest(self, url: QUrl | str,
                                navigation_type: QWebEnginePage.NavigationType,
                                is_main_frame: bool) -> bool:
        return not self._own_page_loaded


_shared: tuple[QWebEngineProfile, NetworkBlocker] | None = None


def private_profile() -> tuple[QWebEngineProfile, NetworkBlocker]:
    """The app's one off-the-record web profile (nothing written to disk) with the network
    blocked, and its blocker. It belongs to the application object, so it outlives every page
    (Qt warns when a profile dies before its pages). Call after the application exists."""
    global _shared
    if _shared is None:
        application = QCoreApplication.instance()
        if application is None:
            raise RuntimeError("create the QApplication before the chat view")
        profile = QWebEngineProfile(application)
        blocker = NetworkBlocker(profile)
        profile.setUrlRequestInterceptor(blocker)
        profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        _shared = (profile, blocker)
    return _shared


def _code_styles() -> str:
    from pygments.formatters import HtmlFormatter

    rules = []
    for scope, style in ((":root", CODE_STYLE_LIGHT), (':root[data-theme="dark"]', CODE_STYLE_DARK)):
        for line in HtmlFormatter(style=style).get_style_defs(f"{scope} .highlight").splitlines():
            # The page draws the code box itself; error tokens (common in half-streamed code)
            # must not be framed in red.
            if line.startswith(f"{scope} .highlight {{") or " .err " in line or ".hll" in line:
                continue
            rules.append(line)
    return "\n".join(rules)


def _qwebchannel_script() -> str:
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("Qt's qwebchannel.js is missing from this PySide6 installation")
    try:
        return bytes(source.readAll().data()).decode("utf-8")
    finally:
        source.close()


@lru_cache(maxsize=1)
def build_page_html() -> str:
    """The page's HTML with its styles and scripts inlined (except chat.css/chat.js, read from
    ``resources/chat`` through the base URL)."""
    template = resource_path("chat", "chat.html").read_text(encoding="utf-8")
    return (template.replace("/*CODE_STYLES*/", _code_styles())
            .replace("/*QWEBCHANNEL*/", _qwebchannel_script()))


def page_base_url() -> QUrl:
    """The base URL the page's relative links (chat.css, chat.js) resolve against."""
    return QUrl.fromLocalFile(str(resource_path("chat")) + "/")
