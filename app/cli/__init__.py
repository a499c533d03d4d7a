"""The ``finr1`` command line: the app's capabilities from a terminal.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` to a function ``(args) -> int``. Errors a person can cause
(``FinR1Error``) are printed as one line and exit with status 2; a cancelled job exits 130.
"""

from __future__ import annotations

import argparse
import sys

from app import __version__
from app.cli import (
    about_cmd,
    bench_cmd,
    build_cmd,
    chat_cmd,
    convert_cmd,
    doctor_cmd,
    download_cmd,
    evaluate_cmd,
    export_cmd,
    history_cmd,
    imatrix_cmd,
    inspect_cmd,
    models_cmd,
    parse_cmd,
    quantize_cmd,
    scenarios_cmd,
)
from quant.errors import FinR1Error
from quant.jobs import JobCancelled

COMMAND_MODULES = (convert_cmd, quantize_cmd, inspect_cmd, chat_cmd, parse_cmd, scenarios_cmd,
                   download_cmd, doctor_cmd, models_cmd, imatrix_cmd, evaluate_cmd, bench_cmd,
                   about_cmd, build_cmd, history_cmd, export_cmd)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="finr1", description="Fin-R1 Studio command line")
    parser.add_argument("--version", action="version", version=f"finr1 {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``finr1`` command; returns the process exit status."""
    write_utf8()
    args = build_parser().parse_args(argv)
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
