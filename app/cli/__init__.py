"""The ``finr1`` command line: the app's capabilities from a terminal.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` to a function ``(args) -> int``. Errors a person can cause
(``FinR1Error``) are printed as one line and exit with status 2; a cancelled job exits 130.
llama.cpp's own log goes to the app's log file (``AppPaths.log_file``), and with ``--verbose``
(before or after the command's name) to the terminal too.
"""

from __future__ import annotations

import argparse
import sys

from app import __version__
from app.cli import (
    about_cmd,
    batch_cmd,
    bench_cmd,
    build_cmd,
    chat_cmd,
    convert_cmd,
    doctor_cmd,
    download_cmd,
    evaluate_cmd,
    export_cmd,
    extract_cmd,
    history_cmd,
    imatrix_cmd,
    inspect_cmd,
    models_cmd,
    parse_cmd,
    quantize_cmd,
    scenarios_cmd,
    serve_cmd,
)
from app.core.installation.paths import app_paths
from foundation.errors import FinR1Error
from foundation.jobs import JobCancelled
from foundation.llama_log import LLAMA_LOG

COMMAND_MODULES = (convert_cmd, quantize_cmd, inspect_cmd, chat_cmd, parse_cmd, scenarios_cmd,
                   download_cmd, doctor_cmd, models_cmd, imatrix_cmd, evaluate_cmd, bench_cmd,
                   about_cmd, build_cmd, history_cmd, export_cmd, serve_cmd,
                   extract_cmd, batch_cmd)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="finr1", description="Fin-R1 Studio command line")
    parser.add_argument("--version", action="version", version=f"finr1 {__version__}")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    _accept_verbose_after_the_command(subparsers)
    return parser


_VERBOSE_HELP = "show llama.cpp's own log on stderr too (it always goes to the app's log file)"


def _accept_verbose_after_the_command(subparsers: argparse._SubParsersAction) -> None:
    """Let ``--verbose`` follow a command's name too (``finr1 chat --verbose …``); given
    there, it sets the same ``verbose`` as before the name (SUPPRESS keeps it when absent)."""
    for command_parser in dict.fromkeys(subparsers.choices.values()):
        command_parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                                    help=_VERBOSE_HELP)
        for action in command_parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_verbose_after_the_command(action)


def main(argv: list[str] | None = None) -> int:
    """Run one ``finr1`` command; returns the process exit status."""
    write_utf8()
    args = build_parser().parse_args(argv)
    with LLAMA_LOG.sending_to(app_paths().log_file, echo=sys.stderr if args.verbose else None):
        try:
            return args.handler(args)
        except FinR1Error as error:
            print(f"finr1: error: {error}", file=sys.stderr)
            return 2
        except (JobCancelled, KeyboardInterrupt):
            print("finr1: cancelled; nothing was written", file=sys.stderr)
            return 130


def write_utf8() -> None:
    """Write standard output and error as UTF-8 whatever the locale says, as standard input is
    read (``app.cli.text_input``): replies, scenarios and history are Chinese, and a pipe under a
    legacy code page (Windows) or the plain C locale would fail at the first Chinese character."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
