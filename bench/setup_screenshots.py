"""Reference screenshots of the setup wizard and the model manager in English and Chinese, to look
at after changing them (not a benchmark).

    python -m bench.setup_screenshots [--out DIR]

Builds the tests' tiny Qwen2 model, publishes it on the tests' stand-in hub (127.0.0.1) under
Fin-R1's repository names, and drives the real widgets offscreen in an empty app home: each
wizard page (welcome, this machine, source, quant, progress caught half-way through a throttled
download, ready), then the model manager's three tabs with the downloaded model in the library.
Writes ``wizard-N-PAGE-LANG.png`` and ``manager-TAB-LANG.png`` into ``--out`` (default
/tmp/setup_shots).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

import tests.support.ui_support  # noqa: E402, F401  (prepares Qt for offscreen use first)
from app.core.hub.client import HubConfig  # noqa: E402
from quant.convert import convert_checkpoint  # noqa: E402
from quant.quantize import quantize_gguf  # noqa: E402
from tests.support.app_setup_support import CHECKPOINT_REPO, GGUF_REPO, checkpoint_repo_files  # noqa: E402
from tests.support.local_hub import LocalHub  # noqa: E402
from tests.support.tiny_checkpoint import build_tiny_checkpoint  # noqa: E402

N_CTX = 2048
THROTTLE_BYTES_PER_S = 150_000  # the tiny F16 file then takes ~20 s: the progress page is caught


def wait(condition: Callable[[], object], timeout_s: float = 60.0) -> None:
    """Run the event loop until ``condition()`` holds (a QEventLoop lets worker threads run)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting after {timeout_s:.0f} s")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def shoot(widget: QWidget, out: Path, name: str) -> None:
    wait(lambda: True)  # let the last changes lay out and paint
    widget.grab().save(str(out / f"{name}.png"))
    print(f"saved {out / name}.png", flush=True)


def publish(work: Path) -> LocalHub:
    """The tiny model as Fin-R1's two repositories: ready GGUFs, and the original checkpoint."""
    checkpoint = build_tiny_checkpoint(work / "Fin-R1")
    bf16 = convert_checkpoint(checkpoint, work / "tiny-bf16.gguf", "bf16")
    files = {
        "Fin-R1.F16.gguf": convert_checkpoint(checkpoint, work / "tiny-f16.gguf", "f16"),
        "Fin-R1.Q8_0.gguf": convert_checkpoint(checkpoint, work / "tiny-q8_0.gguf", "q8_0"),
        "Fin-R1.Q4_K_M.gguf": quantize_gguf(bf16, work / "tiny-q4_k_m.gguf", "q4_k_m"),
    }
    hub = LocalHub().start()
    hub.add_repo(GGUF_REPO, {name: path.read_bytes() for name, path in files.items()}
                 | {"README.md": b"# Fin-R1 GGUF\n"})
    hub.add_repo(CHECKPOINT_REPO, checkpoint_repo_files(checkpoint))
    return hub


def shoot_wizard(hub: LocalHub, language: str, out: Path) -> None:
    from app.ui.models.setup_wizard import MACHINE, PROGRESS, QUANT, READY, SetupWizard, Source

    config = HubConfig(endpoint=hub.endpoint)
    wizard = SetupWizard(lambda: "", lambda: config, lambda: N_CTX, language, offline_files=[])
    wizard.resize(820, 600)
    wizard.show()
    shoot(wizard, out, f"wizard-1-welcome-{language}")
    wizard.next()
    assert wizard.currentId() == MACHINE
    wait(wizard.machine_page.isComplete)
    shoot(wizard, out, f"wizard-2-machine-{language}")
    wizard.next()
    wizard.source_page.choose(Source.DOWNLOAD_GGUF)
    shoot(wizard, out, f"wizard-3-source-{language}")
    wizard.next()
    assert wizard.currentId() == QUANT
    table = wizard.quant_page.table
    wait(lambda: "f16" in table.row_names())
    shoot(wizard, out, f"wizard-4-quant-{language}")
    table.choose(["f16"])
    hub.throttle(THROTTLE_BYTES_PER_S)
    wizard.next()
    assert wizard.currentId() == PROGRESS
    bar = wizard.progress_page.progress.bar
    wait(lambda: bar.value() >= 30)
    shoot(wizard, out, f"wizard-5-progress-{language}")
    hub.throttle(None)
    wait(lambda: wizard.currentId() == READY, 120)
    shoot(wizard, out, f"wizard-6-ready-{language}")
    wizard.progress_page.stop()
    wizard.close()
    wizard.deleteLater()


def shoot_manager(hub: LocalHub, language: str, out: Path) -> None:
    from app.core.hub.pending_downloads import PendingDownloads
    from app.ui.models.download_queue import DownloadQueue
    from app.ui.models.model_manager import ModelManager

    config = HubConfig(endpoint=hub.endpoint)
    queue = DownloadQueue(lambda: "", lambda: config, PendingDownloads())
    manager = ModelManager(queue, lambda: "", lambda: config, lambda: N_CTX)
    manager.show()
    wait(lambda: manager.library_tab.table.rowCount() >= 1)
    shoot(manager, out, f"manager-library-{language}")
    manager.tabs.setCurrentWidget(manager.get_tab)
    wait(lambda: "q4_k_m" in manager.get_tab.table.row_names()
         and "≈" not in manager.get_tab.table.item(0, 1).text())
    shoot(manager, out, f"manager-get-{language}")
    manager.tabs.setCurrentWidget(manager.build_tab)
    shoot(manager, out, f"manager-build-{language}")
    manager.close()
    manager.deleteLater()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/setup_shots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="finr1-shots-"))
    application = QApplication.instance() or QApplication([sys.argv[0]])
    hub = publish(work)
    from app.ui.i18n import install_translations

    try:
        for language in ("en", "zh_CN"):
            os.environ["FINR1_HOME"] = str(work / f"home-{language}")  # an empty app each time
            install_translations(application, language)
            shoot_wizard(hub, language, args.out)
            shoot_manager(hub, language, args.out)
    finally:
        from app.ui.job_bridge import BackgroundJob

        BackgroundJob.cancel_and_wait_all()  # e.g. a catalog refresh still running
        hub.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
