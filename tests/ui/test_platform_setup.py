"""What the app tells Qt and Chromium before the application object exists."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.ui import platform_setup
from app.ui.platform_setup import CHROMIUM_FLAGS_VAR, STYLE_VAR, has_display, prepare_qt_environment


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is Linux's")
def test_a_display_is_a_server_or_an_explicit_platform() -> None:
    assert not has_display({})
    assert has_display({"DISPLAY": ":0"})
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert has_display({"QT_QPA_PLATFORM": "offscreen"})


def test_offscreen_turns_off_the_gpu_and_keeps_the_users_chromium_flags(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_setup, "_running_as_root", lambda: True)
    environ = {CHROMIUM_FLAGS_VAR: "--lang=zh-CN --no-sandbox"}
    prepare_qt_environment(offscreen=True, environ=environ)
    assert environ["QT_QPA_PLATFORM"] == "offscreen"
    assert environ[CHROMIUM_FLAGS_VAR].split() == ["--lang=zh-CN", "--no-sandbox", "--disable-gpu"]


def test_on_a_desktop_as_a_user_no_chromium_flags_are_added(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_setup, "_running_as_root", lambda: False)
    environ = {"DISPLAY": ":0"}
    prepare_qt_environment(environ=environ)
    assert CHROMIUM_FLAGS_VAR not in environ
    assert "QT_QPA_PLATFORM" not in environ


def test_the_widget_style_is_fusion_unless_the_user_chose_one() -> None:
    chosen: dict[str, str] = {}
    prepare_qt_environment(offscreen=True, environ=chosen)
    assert chosen[STYLE_VAR] == "Fusion"
    users = {STYLE_VAR: "Windows"}
    prepare_qt_environment(offscreen=True, environ=users)
    assert users[STYLE_VAR] == "Windows"


def test_qt_creates_the_application_in_the_style_the_environment_names() -> None:
    # Fusion is also this platform's default, so a user's choice shows that the variable set
    # by prepare_qt_environment is what decides (read when the application object is created).
    code = ("from app.ui.platform_setup import prepare_qt_environment\n"
            "prepare_qt_environment(offscreen=True)\n"
            "from PySide6.QtWidgets import QApplication\n"
            "application = QApplication(['finr1'])\n"
            "print(application.style().name())\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=120, check=True,
                               env={**os.environ, STYLE_VAR: "Windows"})
    assert completed.stdout.split()[-1].lower() == "windows"
