"""Whether Qt's X11 platform plugin can load (``app.core.installation.display_libraries``), checked
against the
real plugin PySide6 installed: a copy whose ``DT_NEEDED`` names a library no system has, the
dynamic loader's own verdict on the real one, the app's start and ``finr1 doctor``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main as finr1
from app.core.installation.display_libraries import (
    DEBIAN_PACKAGES,
    check_display_libraries,
    qt_will_use_xcb,
    startup_problem,
    xcb_plugin_path,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is Linux's")
PRESENT = "libxcb-shape.so.0"  # a library the plugin needs, renamed in the copy to:
ABSENT = "libxcb-shapz.so.0"  # the same length, so the ELF's string table keeps its layout


@pytest.fixture(scope="module")
def real_plugin() -> Path:
    plugin = xcb_plugin_path()
    if plugin is None:
        pytest.skip("PySide6 has no xcb platform plugin here")
    return plugin


@pytest.fixture
def broken_plugin(real_plugin: Path, tmp_path: Path) -> Path:
    """A copy of the plugin that needs ``ABSENT``, beside a link to Qt's own libraries (the
    plugin finds them through its RUNPATH, ``$ORIGIN/../../lib``)."""
    copy = tmp_path / "plugins" / "platforms" / real_plugin.name
    copy.parent.mkdir(parents=True)
    binary = real_plugin.read_bytes()
    assert binary.count(PRESENT.encode()) == 1
    copy.write_bytes(binary.replace(PRESENT.encode(), ABSENT.encode()))
    (tmp_path / "lib").symlink_to(real_plugin.parents[2] / "lib")
    return copy


def loader_verdict(plugin: Path) -> str:
    """"" when the dynamic loader loads ``plugin`` in a fresh process, else its error."""
    completed = subprocess.run(
        [sys.executable, "-c", "import ctypes, sys\ntry:\n    ctypes.CDLL(sys.argv[1])\n"
         "except OSError as error:\n    print(error)", str(plugin)],
        capture_output=True, text=True, timeout=60, check=True)
    return completed.stdout.strip()


def test_a_library_the_plugin_needs_and_no_system_has_is_reported(broken_plugin: Path,
                                                                  real_plugin: Path) -> None:
    found = check_display_libraries(broken_plugin)
    assert found is not None and ABSENT in found.missing and ABSENT in found.unknown
    already = check_display_libraries(real_plugin)
    assert already is not None
    assert set(found.missing) == {*already.missing, ABSENT}
    assert ABSENT in found.advice() and not found.complete


def test_the_report_agrees_with_the_dynamic_loader_on_the_real_plugin(real_plugin: Path) -> None:
    found = check_display_libraries(real_plugin)
    verdict = loader_verdict(real_plugin)
    assert found is not None
    if not verdict:
        assert found.complete and found.advice() == ""
        return
    first_missing = re.match(r"(\S+?): cannot open shared object file", verdict)
    assert first_missing, verdict
    assert first_missing[1] in found.missing
    if first_missing[1] in DEBIAN_PACKAGES:
        assert DEBIAN_PACKAGES[first_missing[1]] in found.install_command()


def test_a_start_is_checked_only_when_qt_will_draw_through_x11(broken_plugin: Path) -> None:
    assert startup_problem({"DISPLAY": ":0"}, broken_plugin) is not None
    assert startup_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, broken_plugin) is not None
    assert startup_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, broken_plugin) is None
    assert startup_problem({}, broken_plugin) is None
    wayland = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    assert not qt_will_use_xcb(wayland)
    assert qt_will_use_xcb({**wayland, "QT_QPA_PLATFORM": "xcb;wayland"})


def test_the_app_names_the_missing_packages_instead_of_letting_qt_abort(
        real_plugin: Path, tmp_path: Path) -> None:
    found = check_display_libraries(real_plugin)
    if found is None or found.complete:
        pytest.skip("this machine has every library of Qt's xcb plugin")
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    completed = subprocess.run(
        [sys.executable, "-m", "app"], capture_output=True, text=True, timeout=120, check=False,
        env={**environment, "DISPLAY": ":99", "FINR1_HOME": str(tmp_path)})
    assert completed.returncode == 2
    assert "could not load the Qt platform plugin" not in completed.stderr.lower()
    for library in found.missing:
        assert library in completed.stderr
    assert found.install_command() in completed.stderr


def test_doctor_reports_the_plugins_libraries(real_plugin: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FINR1_HOME", str(tmp_path))
    assert finr1(["doctor", "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)["display_libraries"]
    found = check_display_libraries(real_plugin)
    assert found is not None
    assert reported == {"plugin": str(real_plugin), "missing": list(found.missing),
                        "packages": list(found.packages),
                        "install_command": found.install_command()}
    assert finr1(["doctor"]) == 0
    text = capsys.readouterr().out
    assert ("finds all its libraries" in text) == found.complete
    assert all(library in text for library in found.missing)


def test_the_debs_dependencies_read_the_same_table() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "packaging" / "linux"))
    try:
        import deb_depends
    finally:
        sys.path.pop(0)
    assert deb_depends.DEBIAN_PACKAGES is DEBIAN_PACKAGES
