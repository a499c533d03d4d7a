"""The desktop app's entry point (app/ui/main.py) as a process: it ends cleanly however it ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_quitting_as_soon_as_the_window_is_shown_ends_the_process_cleanly(tmp_path: Path) -> None:
    # jobs the window starts at once (library listing, GPU probe) are still running at this quit:
    # before app/ui/main.py waited for them, Qt aborted the process (exit 134, "QThread:
    # Destroyed while thread 'job: list library' is still running")
    env = {**os.environ, "FINR1_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox --disable-gpu"}
    done = subprocess.run(
        [sys.executable, "-c",
         "from app.ui.main import main; raise SystemExit(main(['--quit-when-shown']))"],
        capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "chat view ready" in done.stdout
    assert "QThread: Destroyed" not in done.stderr
