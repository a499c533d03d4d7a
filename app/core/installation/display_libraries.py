"""Whether Qt's X11 platform plugin can load on this Linux: the libraries it lacks, and the
packages that hold them.

Qt ends the process with 'Could not load the Qt platform plugin "xcb" even though it was found'
when a library of its xcb plugin (PySide6's ``Qt/plugins/platforms/libqxcb.so``) is missing, as
on minimal installs and in containers, which lack ``libxcb-icccm4`` and ``libxcb-keysyms1``.
``check_display_libraries`` asks the dynamic linker (``ldd``, which resolves the plugin's
libraries as loading it would, RPATH and ``LD_LIBRARY_PATH`` included) before Qt starts;
``startup_problem`` says whether a window start should stop and print the one command that
installs what is missing. Qt-free: finding PySide6's folder does not import it.

``DEBIAN_PACKAGES`` is the one table of these libraries' Debian/Ubuntu packages; the .deb's
``Depends:`` line (packaging/linux/deb_depends.py) reads it too.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

XCB_PLUGIN = Path("Qt", "plugins", "platforms", "libqxcb.so")
LDD_TIMEOUT_S = 20.0
# soname → Debian/Ubuntu package, for the libraries of Qt's X11/Wayland platform plugins that a
# desktop has but a minimal system (or a build machine) may lack
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


@dataclass(frozen=True)
class DisplayLibraries:
    """What ``ldd`` said about Qt's xcb ``plugin``: the sonames it could not find (``missing``,
    sorted), the Debian packages holding them (``packages``) and those no package is known for
    (``unknown``)."""

    plugin: Path
    missing: tuple[str, ...]
    packages: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    def install_command(self) -> str:
        """The command that installs ``packages`` ("" when none is known): apt-get, with sudo
        unless this process is root."""
        if not self.packages:
            return ""
        sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
        return f"{sudo}apt-get install -y {' '.join(self.packages)}"

    def advice(self) -> str:
        """What is missing and what to do, as sentences for a person ("" when nothing is)."""
        if self.complete:
            return ""
        text = (f"Qt cannot open a window: its X11 platform plugin needs "
                f"{_and_list(self.missing)}, which this system lacks.")
        command = self.install_command()
        if command and shutil.which("apt-get"):
            text += f" Install {'it' if len(self.packages) == 1 else 'them'} with:\n    {command}"
        elif self.packages:
            text += (" Install your distribution's packages for them (on Debian and Ubuntu: "
                     f"{' '.join(self.packages)}).")
        if self.unknown and self.packages:
            text += f"\nNo package is known for {_and_list(self.unknown)}; install it as well."
        elif self.unknown:
            text += " Install the packages that provide them."
        return text


def _and_list(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def xcb_plugin_path() -> Path | None:
    """PySide6's xcb platform plugin, None when PySide6 or the plugin is not installed."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        plugin = Path(folder) / XCB_PLUGIN
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(plugin: Path, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The sonames the dynamic linker cannot find for ``plugin`` and everything it loads
    (``ldd``, run with ``environ``: ``LD_LIBRARY_PATH`` counts), sorted. () when ``ldd`` is not
    there to ask."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ()
    completed = subprocess.run([ldd, str(plugin)], capture_output=True, text=True,
                               errors="replace", timeout=LDD_TIMEOUT_S, check=False,
                               env=dict(os.environ if environ is None else environ))
    return tuple(sorted(set(_NOT_FOUND.findall(completed.stdout))))


def check_display_libraries(plugin: Path | None = None,
                            environ: Mapping[str, str] | None = None) -> DisplayLibraries | None:
    """The state of Qt's xcb plugin (``plugin``, default PySide6's) on Linux; None elsewhere or
    when there is no such plugin."""
    if not sys.platform.startswith("linux"):
        return None
    plugin = plugin or xcb_plugin_path()
    if plugin is None:
        return None
    missing = missing_libraries(plugin, environ)
    packages = tuple(sorted({DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES}))
    unknown = tuple(name for name in missing if name not in DEBIAN_PACKAGES)
    return DisplayLibraries(plugin, missing, packages, unknown)


def qt_will_use_xcb(environ: Mapping[str, str] | None = None) -> bool:
    """True when Qt on this Linux will open its windows through X11: ``QT_QPA_PLATFORM`` names
    xcb first, or it is unset, a ``DISPLAY`` is set and the session is not Wayland (where Qt
    tries its Wayland plugin first). False offscreen, on Wayland and without a display."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "").strip()
    if platform:
        return platform.split(";")[0].split(":")[0].strip() == "xcb"
    wayland_session = (environ.get("XDG_SESSION_TYPE") == "wayland"
                       and bool(environ.get("WAYLAND_DISPLAY")))
    return bool(environ.get("DISPLAY")) and not wayland_session


def startup_problem(environ: Mapping[str, str] | None = None,
                    plugin: Path | None = None) -> DisplayLibraries | None:
    """The missing libraries that would stop Qt from opening a window now, or None: when Qt
    will not use X11 (see ``qt_will_use_xcb``) nothing is checked."""
    if not qt_will_use_xcb(environ):
        return None
    found = check_display_libraries(plugin, environ)
    return found if found is not None and not found.complete else None

