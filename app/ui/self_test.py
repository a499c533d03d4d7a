"""``finr1-studio --self-test``: the real window, driven from start to a finished answer.

Steps, each recorded in an ``app.core.installation.self_test.SelfTestReport``: the chat view starts; the model
loads; the scenario's panel is filled with its first worked example and Run is clicked; the reply
streams to its end; the page shows it finished; a screenshot of the window is saved. Any failure
or the overall time limit ends the run; the exit status is 0 only when every step passed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.core.chat.session import Turn
from app.core.installation.self_test import (
    SelfTestReport,
    check_model_file,
    check_rendered_reply,
    check_reply,
    check_screenshot,
)
from app.ui.window.main_window import MainWindow

if TYPE_CHECKING:
    from app.core.engine.local_engine import TurnResult

SETTLE_MS = 600  # lets the page finish its last layout before it is inspected and shot


class SelfTestRun(QObject):
    """Drives ``window`` through the self-test; ``report`` holds the outcome after ``exec``."""

    def __init__(self, application: QApplication, window: MainWindow, model: Path,
                 scenario_id: str, screenshot: Path | None, timeout_s: float) -> None:
        super().__init__(window)
        self.report = SelfTestReport()
        self._application = application
        self._window = window
        self._model = model
        self._scenario_id = scenario_id
        self._screenshot = screenshot
        self._started = time.perf_counter()
        self._step_started = self._started
        self._done = False
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(self._timed_out)
        self._timeout.start(int(timeout_s * 1000))

    def start(self) -> None:
        """Begin; the run ends by quitting the application."""
        if not self._record("model file", check_model_file(self._model), str(self._model)):
            return
        self._window.populate()
        if self._scenario_id not in self._window.scenarios:
            known = ", ".join(self._window.scenarios)
            self._record("scenario", f"unknown scenario {self._scenario_id!r}; known: {known}")
            return
        self._window.chat_ready.connect(self._chat_ready)
        self._window.show()

    def _elapsed(self) -> str:
        now = time.perf_counter()
        elapsed, self._step_started = now - self._step_started, now
        return f"{elapsed:.1f} s"

    def _record(self, name: str, problem: str | None, detail: str = "") -> bool:
        detail = f"{detail} ({self._elapsed()})" if detail else self._elapsed()
        passed = self.report.record(name, problem, detail)
        if not passed:
            self._finish()
        return passed

    def _chat_ready(self) -> None:
        self._record("chat view", None, "page loaded")
        self._window.host.loaded.connect(self._model_loaded)
        self._window.host.load_failed.connect(lambda message: self._record("model load", message))
        self._window.load_model(self._model)

    def _model_loaded(self) -> None:
        summary = self._window.host.summary
        # where llama.cpp put the layers, and the app's warnings (e.g. a GPU asked for but none
        # usable, so the CPU runs it): what an installer check reads from this line
        parts = [summary.line, *(f"warning: {text}" for text in summary.warnings)] if summary else []
        self._record("model load", None, "; ".join(parts))
        controller = self._window.controller
        assert controller is not None
        controller.turn_finished.connect(self._reply_finished)
        controller.turn_failed.connect(lambda _turn, message: self._record("reply", message))
        self._window.select_panel(self._scenario_id)
        panel = self._window.panels[self._scenario_id]
        panel.load_example(0)
        panel.run_button.click()
        if controller.streaming_turn is None:
            self._record("run", panel.error_label.text() or "Run did not start a reply")

    def _reply_finished(self, _turn: Turn, result: TurnResult) -> None:
        problem = check_reply(result.text, result.finish_reason)
        detail = f"{result.metrics.completion_tokens} tokens, finish reason {result.finish_reason}"
        if self._record("reply", problem, detail):
            QTimer.singleShot(SETTLE_MS, self._inspect)

    def _inspect(self) -> None:
        view = self._window.chat_view
        assert view is not None
        view.inspect(self._inspected)

    def _inspected(self, page: list[dict[str, object]]) -> None:
        if self._record("rendering", check_rendered_reply(page), "finished reply on the page"):
            self._shoot()

    def _shoot(self) -> None:
        target = self._screenshot or Path(tempfile.gettempdir()) / "finr1-self-test.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        saved = self._window.grab().save(str(target))
        problem = None if saved else f"the screenshot could not be written to {target}"
        if self._record("screenshot", problem or check_screenshot(target), str(target)):
            self._finish()

    def _timed_out(self) -> None:
        self.report.record("time limit", "the self-test did not finish in time", "")
        self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._timeout.stop()
        controller = self._window.controller
        if controller is not None:
            controller.stop()
        for line in self.report.lines():
            print(line, flush=True)
        self._application.exit(self.report.exit_code)


def run_self_test(application: QApplication, window: MainWindow, model: Path,
                  scenario_id: str, screenshot: Path | None, timeout_s: float) -> int:
    """Run the self-test in ``window``; returns the exit status (0 only when all passed)."""
    run = SelfTestRun(application, window, model, scenario_id, screenshot, timeout_s)
    QTimer.singleShot(0, run.start)
    status = application.exec()
    window.close()
    if not run.report.steps:
        print("self-test: FAILED (it did not run)", file=sys.stderr)
        return 1
    return status if run.report.passed else run.report.exit_code
