"""This machine's facts, probed once for the whole app and handed to the widgets still open."""

from __future__ import annotations

from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QWidget

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.hardware.machine import MachineInfo
from app.ui.models import machine_info
from tests.support.qt_wait import wait_until


@pytest.mark.parametrize("known_already", [False, True])
def test_a_widget_closed_before_the_answer_is_skipped_and_the_others_get_it(
        qapp: Any, monkeypatch: pytest.MonkeyPatch, known_already: bool) -> None:
    if not known_already:
        monkeypatch.setattr(machine_info, "_cached", None)  # as at the app's start
    else:
        answered: list[MachineInfo] = []
        first = QWidget()
        machine_info.request_machine(first, answered.append)
        wait_until(lambda: answered, 60, "the first detection")
    closed, still_open = QWidget(), QWidget()
    calls: list[str] = []
    machine_info.request_machine(closed, lambda _machine: calls.append("closed"))
    machine_info.request_machine(still_open, lambda _machine: calls.append("open"))
    shiboken6.delete(closed)  # the person closed that window before the probe ended
    wait_until(lambda: calls, 60, "the machine's facts")
    assert calls == ["open"]
