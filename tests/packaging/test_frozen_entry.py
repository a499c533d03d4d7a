"""The installed app's entry script (packaging/pyinstaller/entry.py): one executable that is also
the quantizer's child process and the ``finr1`` command line.

In an installer build ``sys.executable`` is the app itself, so these tests stand a small launcher
in for it: a script that runs entry.py the way the frozen executable does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from quant.formats import quant_type
from quant.gguf_check import validate_gguf
from quant.quantize import quantize_gguf

ENTRY = Path(__file__).resolve().parents[2] / "packaging" / "pyinstaller" / "entry.py"


@pytest.fixture
def frozen_executable(tmp_path: Path) -> Path:
    """A stand-in for the installed executable: runs entry.py with the arguments it gets."""
    launcher = tmp_path / "finr1-studio"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ENTRY}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    return launcher


@pytest.mark.skipif(os.name == "nt", reason="the stand-in launcher is a shell script")
def test_the_command_line_runs_when_asked_for_as_module_app_cli(frozen_executable: Path) -> None:
    result = subprocess.run([str(frozen_executable), "-m", "app.cli", "--version"],
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"finr1 {__version__}"


@pytest.mark.skipif(os.name == "nt", reason="the stand-in launcher is a shell script")
def test_quantizing_works_when_sys_executable_is_the_app(
        frozen_executable: Path, tiny_bf16_gguf: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # quant.quantize_runner starts `sys.executable -m quant.quantize_child`
    monkeypatch.setattr(sys, "executable", str(frozen_executable))

    output = quantize_gguf(tiny_bf16_gguf, tmp_path / "tiny-q8_0.gguf", "q8_0", threads=1)

    assert validate_gguf(output).file_type == quant_type("q8_0").llama_ftype
