"""The ``Depends:`` line of the .deb: the system packages whose libraries the bundle needs.

    python packaging/linux/deb_depends.py APP_DIR

PyInstaller bundles most libraries the app links to, but leaves out those every system must
provide itself (glibc, libGL/EGL, the GPU driver's). This reads the ``NEEDED`` entries of every
ELF file under APP_DIR (``readelf -d``), drops those the bundle holds, finds the rest through
``ldconfig -p`` and asks dpkg which package owns each (or, for a few libraries of Qt's platform
plugins that a build machine may lack, names the package from the app's table of them,
``app.core.installation.display_libraries.DEBIAN_PACKAGES``, which the app's start-up check reads too).
``libc6`` gets a lower bound: the glibc the bundle was built against. Prints the
comma-separated list on stdout; a library that cannot be resolved is named on stderr and makes
the exit status 1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: app.core
from app.core.installation.display_libraries import DEBIAN_PACKAGES  # (needs the path above)

ELF_MAGIC = b"\x7fELF"
_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[(.+?)\]")
# the GPU driver's libraries come with the driver, never from a package the .deb can name; the
# Vulkan loader is only recommended (make_deb.sh): without it ggml skips its Vulkan module and the
# app runs on the CPU
_DRIVER_LIBRARIES = ("libcuda.so", "libnvidia-", "libvulkan.so")


def elf_files(app_dir: Path) -> list[Path]:
    """Regular files under ``app_dir`` that start with the ELF magic (symlinks skipped)."""
    found = []
    for path in sorted(app_dir.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            if handle.read(4) == ELF_MAGIC:
                found.append(path)
    return found


def needed_libraries(path: Path) -> set[str]:
    """The ``NEEDED`` sonames of one ELF file."""
    output = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                            check=False).stdout
    return set(_NEEDED.findall(output))


def system_library_paths() -> dict[str, str]:
    """soname → path of the 64-bit libraries the dynamic linker knows (``ldconfig -p``)."""
    paths: dict[str, str] = {}
    output = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in output.splitlines()[1:]:
        match = re.match(r"\s*(\S+) \((.+?)\) => (\S+)", line)
        if match and "x86-64" in match[2]:
            paths.setdefault(match[1], match[3])
    return paths


def owning_package(path: str) -> str | None:
    """The Debian package holding ``path`` (symlinks resolved), or None."""
    for candidate in dict.fromkeys((path, str(Path(path).resolve()))):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                check=False)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
    return None


def glibc_lower_bound() -> str:
    """The build machine's glibc version (``2.36`` of ``2.36-9+deb12u4``)."""
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True,
                             text=True, check=True).stdout
    return version.split("-", 1)[0]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    app_dir = Path(argv[0])
    files = elf_files(app_dir)
    bundled = {path.name for path in app_dir.rglob("*")}
    wanted = set().union(*(needed_libraries(path) for path in files)) - bundled
    wanted = {name for name in wanted if not name.startswith(_DRIVER_LIBRARIES)}
    known = system_library_paths()
    packages: set[str] = set()
    unresolved = 0
    for soname in sorted(wanted):
        package = owning_package(known[soname]) if soname in known else None
        package = package or DEBIAN_PACKAGES.get(soname)
        if package is None:
            print(f"deb_depends: no package found for {soname}", file=sys.stderr)
            unresolved += 1
        else:
            packages.add(package)
    packages.discard("libc6")
    print(", ".join([f"libc6 (>= {glibc_lower_bound()})", *sorted(packages)]))
    return 1 if unresolved else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
