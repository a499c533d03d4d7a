"""``finr1`` run in a child process, as a terminal runs it: ``finr1_command(*arguments)`` is the
argument list for ``subprocess``; run it with ``cwd=REPO_ROOT`` so that ``app`` is imported from
this checkout."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_CODE = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
"""Python code that runs the CLI on its arguments (for ``python -c``, or ``steered_python``)."""


def finr1_command(*arguments: str) -> list[str]:
    """``finr1 ARGUMENTS`` as a child process's argument list: this Python running ``CLI_CODE``."""
    return [sys.executable, "-c", CLI_CODE, *arguments]
