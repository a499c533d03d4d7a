"""Entry point of the desktop app: ``finr1-studio`` and ``python -m app``.

    finr1-studio [MODEL.gguf]
    finr1-studio --self-test --model PATH [--scenario ID] [--screenshot FILE.png]
                 [--max-tokens N] [--n-gpu-layers N|auto] [--device NAME] [--timeout SECONDS]

A normal start opens the window and loads MODEL.gguf (else the model loaded last). The self-test
(see ``app.ui.self_test``) runs offscreen when there is no display, never writes the settings
file, and exits 0 only when every step passed. ``--quit-when-shown`` exits as soon as the window
has been painted (for start-up benchmarks).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.installation.display_libraries import startup_problem
from app.ui.platform_setup import has_display, prepare_qt_environment

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.core.engine.config import GpuLayers
    from app.ui.window.main_window import MainWindow

EXIT_NO_DISPLAY = 2
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finr1-studio",
                                     description="Fin-R1 Studio: the Fin-R1 model on your machine.")
    parser.add_argument("model_file", nargs="?", type=Path, metavar="MODEL.gguf",
                        help="a GGUF model to load at start (default: the one loaded last)")
    parser.add_argument("--self-test", action="store_true",
                        help="load --model, run a scenario's first example through the window, "
                             "save a screenshot, exit 0 only if all of it worked")
    parser.add_argument("--model", type=Path, metavar="PATH", help="the GGUF for --self-test")
    parser.add_argument("--scenario", metavar="ID",
                        help="the scenario the self-test runs (default: compliance)")
    parser.add_argument("--screenshot", type=Path, metavar="FILE.png",
                        help="where the self-test saves its screenshot")
    parser.add_argument("--max-tokens", type=int, metavar="N",
                        help="longest reply during the self-test (default: the setting)")
    parser.add_argument("--n-gpu-layers", type=_gpu_layers, metavar="N|auto",
                        help="GPU layers during the self-test: auto, 0 (CPU), -1 (all) or N "
                             "(default: the setting)")
    parser.add_argument("--device", metavar="NAME",
                        help="the llama.cpp device for the self-test's GPU layers, as `finr1 "
                             "doctor` lists it (Vulkan0, CPU; default: the setting)")
    parser.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                        help="give up the self-test after this long (default 1800)")
    parser.add_argument("--quit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return parser


def _gpu_layers(text: str) -> GpuLayers:
    """``--n-gpu-layers`` as the setting reads it; a usage error for anything else."""
    from app.core.engine.config import parse_gpu_layers
    from foundation.errors import InvalidSettingError

    try:
        return parse_gpu_layers(text)
    except InvalidSettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the app with command-line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test and args.model is None:
        print("finr1-studio: --self-test needs --model PATH", file=sys.stderr)
        return EXIT_USAGE
    if not args.self_test and not has_display():
        print("finr1-studio: no display to show the window on (DISPLAY is not set). Run it on a "
              "desktop, or check an installation with --self-test --model PATH.", file=sys.stderr)
        return EXIT_NO_DISPLAY
    prepare_qt_environment(offscreen=args.self_test and not has_display())
    # Qt would end the process with a riddle ("could not load the Qt platform plugin") instead
    problem = startup_problem()
    if problem is not None:
        print(f"finr1-studio: {problem.advice()}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from app.core.installation.paths import app_paths
    from app.core.installation.settings import SettingsFileError, default_settings_file, load_settings
    from app.ui.theme import ThemeController
    from app.ui.window.main_window import MainWindow
    from foundation.llama_log import LLAMA_LOG

    LLAMA_LOG.send_to(app_paths().log_file)  # llama.cpp's own log: the file `finr1 doctor` names
    application = QApplication([sys.argv[0]])
    application.setApplicationName("Fin-R1 Studio")
    settings_path = default_settings_file()
    problem = None
    try:
        settings = load_settings(settings_path)
    except SettingsFileError as error:
        from app.core.installation.settings import AppSettings

        settings, problem = AppSettings(), str(error)
    theme = ThemeController(application, settings.theme)
    from app.ui.i18n import install_translations

    translations = install_translations(application, settings.ui_language)
    if args.self_test:
        from app.core.installation.self_test import DEFAULT_SCENARIO
        from app.ui.self_test import run_self_test

        if args.max_tokens:
            settings = settings.with_changes(max_new_tokens=args.max_tokens)
        if args.n_gpu_layers is not None:
            settings = settings.with_changes(n_gpu_layers=args.n_gpu_layers)
        if args.device is not None:
            settings = settings.with_changes(gpu_device=args.device)
        window = MainWindow(settings, None, theme, translations=translations)
        return _ended(run_self_test(application, window, args.model,
                                    args.scenario or DEFAULT_SCENARIO, args.screenshot,
                                    args.timeout))
    window = MainWindow(settings, settings_path, theme, translations=translations)
    if problem:
        window.statusBar().showMessage(f"{problem}; the defaults are used.", 20000)
    if args.quit_when_shown:
        return _ended(_quit_when_shown(application, window))
    window.show()
    model = args.model_file or (Path(settings.last_model) if settings.last_model else None)
    if settings.engine_kind == "server" and args.model_file is None:
        window.connect_server()
    elif model is not None and model.is_file():
        window.load_model(model)
    return _ended(application.exec())


def _ended(exit_code: int) -> int:
    """``exit_code``, once no job thread is left running. However the app ended (the window
    closed, ``QApplication.quit``, a self-test's verdict), a job started late, even while the
    window was shutting down, must not outlive the window: Qt aborts the whole process when a
    running QThread is destroyed."""
    from app.ui.job_bridge import BackgroundJob

    BackgroundJob.cancel_and_wait_all()
    return exit_code


def _quit_when_shown(application: QApplication, window: MainWindow) -> int:
    """Show the window; print when it is first painted and when its chat view is ready, then
    exit (for start-up benchmarks)."""
    from PySide6.QtCore import QEvent, QObject

    started = time.perf_counter()

    def say(what: str) -> None:
        print(f"{what} after {time.perf_counter() - started:.3f} s in Qt", flush=True)

    class _FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                say("window painted")
                watched.removeEventFilter(self)
            return False

    def chat_ready() -> None:
        say("chat view ready")
        application.quit()

    watcher = _FirstPaint()
    window.installEventFilter(watcher)
    window.chat_ready.connect(chat_ready)
    window.show()
    return application.exec()
