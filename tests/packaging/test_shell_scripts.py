"""The shell scripts of scripts/, packaging/ and .ci/: they run under ``set -euo pipefail``.

Under pipefail a pipeline whose reader exits early (``| head``, ``| grep -q``) fails whenever the
writer is still writing: it dies of SIGPIPE, at random, and ``set -e`` ends the script silently.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT_FOLDERS = ("scripts", "packaging", ".ci")

# a pipe into a reader that can stop reading before its writer is done
EARLY_EXIT_READER = re.compile(
    r"\|\s*(head\b|tail\s+-n?\s*\+|grep\s+-\w*[qm]|grep\s+--(quiet|silent|max-count)|sed\s+-n\s+'?\d*q)")


def _pipefail_scripts() -> list[Path]:
    scripts = []
    for folder in SCRIPT_FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            if not path.is_file() or path.suffix in {".py", ".ps1", ".md", ".desktop", ".spec"}:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.startswith("#!") and "pipefail" in text:
                scripts.append(path)
    return scripts


def test_no_pipefail_script_pipes_into_a_reader_that_exits_early() -> None:
    scripts = _pipefail_scripts()
    offending = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in scripts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#") and EARLY_EXIT_READER.search(line)
    ]

    assert len(scripts) >= 5, scripts  # the scan found the scripts it is meant to check
    assert offending == []


@pytest.mark.skipif(platform.system() != "Linux" or not platform.libc_ver()[1],
                    reason="the portable tarball is built on glibc Linux")
def test_make_portable_packs_the_folder_and_states_the_build_machines_glibc(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    (app_dir / "_internal").mkdir(parents=True)
    (app_dir / "finr1-studio").write_text("#!/bin/sh\n", encoding="utf-8")
    out = tmp_path / "dist" / "portable.tar.gz"

    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "linux" / "make_portable.sh"), str(app_dir), "9.9", str(out)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "LC_ALL": "C"})

    assert result.returncode == 0, result.stderr
    with tarfile.open(out) as tarball:
        top = "fin-r1-studio-9.9-linux-x86_64-portable"
        names = set(tarball.getnames())
        assert {f"{top}/finr1-studio", f"{top}/finr1", f"{top}/finr1-portable"} <= names
        readme = tarball.extractfile(f"{top}/README.txt").read().decode()
    assert f"Needs glibc {platform.libc_ver()[1]} or newer" in readme
