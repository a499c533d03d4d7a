"""The command line writes UTF-8 whatever the locale, as it reads UTF-8."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The plain C locale, without Python's coercion to C.UTF-8 or its UTF-8 mode: stdout is ASCII.
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
CLI = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"


def test_chinese_output_is_written_as_utf8_under_the_c_locale() -> None:
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONIOENCODING"}
    finished = subprocess.run([sys.executable, "-c", CLI, "scenarios", "--lang", "zh"],
                              capture_output=True, env={**environ, **C_LOCALE}, cwd=REPO_ROOT,
                              timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr.decode("utf-8", "replace")
    assert "合规" in finished.stdout.decode("utf-8")
