"""The chat view widget: a web page that applies the operations of ``app.core.chat.reply_document``.

``ChatView.apply(ops)`` sends operations to the page in one small script call (the callers batch
them at the frame rate, see ``chat_controller``); operations sent before the page has loaded wait
in a queue. ``action_requested(name, message_id, payload)`` carries the page's clicks (edit,
regenerate, continue, copy, save). ``inspect`` reads back what the page shows, for tests and the
self-test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from app.core.chat.labels import ChatLabels
from app.core.chat.reply_document import Op
from app.ui.chat.page import ChatPage, PageBridge, build_page_html, page_base_url, private_profile

PAGE_BACKGROUNDS = {"light": QColor("#f6f7f9"), "dark": QColor("#17191d")}


class ChatView(QWebEngineView):
    """The conversation, rendered by Qt WebEngine, offline (see ``app.ui.chat.page``)."""

    ready = Signal()
    action_requested = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None, theme: str = "light") -> None:
        super().__init__(parent)
        profile, self.network_blocker = private_profile()
        page = ChatPage(profile, self)
        self.setPage(page)
        self._bridge = PageBridge(self)
        self._bridge.action_requested.connect(self.action_requested)
        channel = QWebChannel(page)
        channel.registerObject("bridge", self._bridge)
        page.setWebChannel(channel)
        self._channel = channel
        self._queue: list[Op] = []
        self._is_ready = False
        self.ops_sent = 0
        self.set_theme(theme)
        page.loadFinished.connect(self._page_loaded)
        page.setHtml(build_page_html(), page_base_url())

    @property
    def is_ready(self) -> bool:
        return self._is_ready

    def _page_loaded(self, ok: bool) -> None:
        if not ok or self._is_ready:
            return
        self._is_ready = True
        queued, self._queue = self._queue, []
        self.apply(queued)
        self.ready.emit()

    def apply(self, ops: Sequence[Op]) -> None:
        """Send ``ops`` to the page (queued until it has loaded). Returns at once."""
        if not ops:
            return
        if not self._is_ready:
            self._queue.extend(ops)
            return
        self.ops_sent += len(ops)
        self.page().runJavaScript(f"fr.apply({json.dumps(ops, ensure_ascii=False)})", 0)

    def set_theme(self, theme: str) -> None:
        """Switch the page between "light" and "dark"."""
        self.page().setBackgroundColor(PAGE_BACKGROUNDS.get(theme, PAGE_BACKGROUNDS["light"]))
        self.apply([["theme", theme]])

    def set_labels(self, labels: ChatLabels) -> None:
        """The page's own texts (buttons, "Final answer"…) in ``labels``' language."""
        self.apply([["labels", labels.page_texts(), labels.language]])

    def evaluate(self, script: str, callback: Callable[[Any], None]) -> None:
        """Run ``script`` in the page after every operation sent so far; ``callback`` gets its
        value on the GUI thread."""
        self.page().runJavaScript(script, 0, callback)

    def inspect(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Read back what the page shows: one dict per reply (see ``inspect`` in chat.js)."""
        self.evaluate("fr.inspect()", lambda text: callback(json.loads(text) if text else []))
