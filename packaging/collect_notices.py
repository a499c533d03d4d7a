"""Write THIRD-PARTY-NOTICES.txt into a built app: the licence of everything it bundles.

    python packaging/collect_notices.py APP_DIR LICENSES_DIR

Run with the build's virtual environment. Lists, with their full licence texts:

1. every Python distribution the app needs at run time (the requirement closure of
   ``fin-r1-studio``, evaluated for this platform), from its installed metadata;
2. on Debian/Ubuntu, the system libraries PyInstaller copied from the build machine into the
   bundle (``dpkg -S``), with each package's ``/usr/share/doc/<package>/copyright``.

The About box (``app.core.installation.about``) points to this file when it is present. Exit status 1 when a
bundled distribution has no licence information at all, so such a gap is seen at build time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

APP_DISTRIBUTION = "fin-r1-studio"
OUTPUT_NAME = "THIRD-PARTY-NOTICES.txt"
RULE = "=" * 78


def runtime_distributions(root: str = APP_DISTRIBUTION) -> list[metadata.Distribution]:
    """``root``'s installed run-time requirements, recursively, without ``root`` itself."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = _normalise(pending.pop())
        if name in seen:
            continue
        distribution = metadata.distribution(name)
        seen[name] = distribution
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    seen.pop(_normalise(root))
    return sorted(seen.values(), key=lambda dist: _normalise(dist.metadata["Name"]))


def distribution_notice(distribution: metadata.Distribution) -> tuple[str, bool]:
    """(The notice text of one distribution, whether any licence information was found)."""
    meta = distribution.metadata
    license_name = (meta.get("License-Expression") or _short_license(meta.get("License"))
                    or ", ".join(c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                                 if c.startswith("License ::")))
    texts = []
    for file in distribution.files or []:
        if _is_license_file(Path(str(file))):
            texts.append(f"--- {Path(str(file)).name} ---\n"
                         f"{Path(file.locate()).read_text('utf-8', 'replace').strip()}")
    header = f"{meta['Name']} {distribution.version}\nLicence: {license_name or 'unknown'}"
    if meta.get("Home-page") or meta.get("Project-URL"):
        header += f"\nProject: {meta.get('Home-page') or meta.get('Project-URL')}"
    return "\n\n".join([header, *texts]), bool(license_name or texts)


def bundled_system_packages(app_dir: Path) -> dict[str, str]:
    """Debian package → copyright text, for the shared libraries under ``app_dir`` that came
    from the build machine's system (outside any virtual environment). Empty without dpkg."""
    packages: dict[str, str] = {}
    venv_prefix = Path(sys.prefix).resolve()
    for library in sorted(app_dir.rglob("*.so*")):
        if library.is_symlink() or not library.is_file() or library.name.startswith("libpython"):
            continue  # (Python's own licence is in the About box's list)
        for candidate in _system_paths(library.name):
            if venv_prefix in candidate.resolve().parents:
                continue
            package = _dpkg_owner(candidate)
            if package and package not in packages:
                copyright_file = Path("/usr/share/doc") / package.split(":")[0] / "copyright"
                packages[package] = (copyright_file.read_text(encoding="utf-8", errors="replace")
                                     if copyright_file.is_file() else "(no copyright file)")
            break
    return packages


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: collect_notices.py APP_DIR LICENSES_DIR", file=sys.stderr)
        return 2
    app_dir, licenses_dir = Path(argv[0]), Path(argv[1])
    sections = ["Fin-R1 Studio bundles the software below. The main components and their "
                "licences are listed in the About box; this file holds every licence text."]
    missing = []
    for distribution in runtime_distributions():
        text, has_license = distribution_notice(distribution)
        sections.append(text)
        if not has_license:
            missing.append(distribution.metadata["Name"])
    sections.append("PyInstaller bootloader\nLicence: GPL-2.0-or-later WITH Bootloader-exception "
                    "(the exception allows distributing it with applications under any licence)")
    for package, copyright_text in bundled_system_packages(app_dir).items():
        sections.append(f"System library package {package} (Debian)\n\n{copyright_text.strip()}")
    output = licenses_dir / OUTPUT_NAME
    output.write_text(f"\n\n{RULE}\n\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {output} ({len(sections) - 1} components)")
    if missing:
        print(f"no licence information for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _is_license_file(path: Path) -> bool:
    """A licence file in a .dist-info folder (under licenses/, or named LICENSE, COPYING…)."""
    in_metadata = path.parts[0].endswith(".dist-info")
    named = re.match(r"(LICEN[CS]E|COPYING|NOTICE)", path.name, re.IGNORECASE) is not None
    return in_metadata and ("licenses" in path.parts or named)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _short_license(text: str | None) -> str | None:
    # some packages put the whole licence text in License:, keep its first line only
    return text.strip().splitlines()[0] if text and text.strip() else None


def _system_paths(name: str) -> list[Path]:
    return [Path(directory) / name for directory in
            ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib")
            if (Path(directory) / name).exists()]


def _dpkg_owner(path: Path) -> str | None:
    for candidate in dict.fromkeys((str(path), str(path.resolve()))):
        try:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                    check=False)
        except FileNotFoundError:
            return None
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
    return None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
