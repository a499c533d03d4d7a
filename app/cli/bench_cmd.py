"""``finr1 bench [--quick] [--only NAME…]``: run the benchmark suite of a source checkout."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from foundation.errors import FinR1Error

_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand (the options of ``python -m bench``)."""
    parser = subparsers.add_parser(
        "bench", help="run the benchmark suite (source checkout only)",
        description="Run every benchmark of bench/ and write a JSON file and a markdown table "
                    "of their figures (ratios against baselines measured in the same run), with "
                    "a row for each benchmark skipped or failed.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", metavar="NAME", help="leave these out")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where to write the results")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="per benchmark (default 3600)")
    parser.add_argument("--extra", nargs=2, action="append", metavar=("NAME", "ARGS"),
                        help="more arguments for one benchmark, e.g. --extra finr1_shape "
                             "'--workdir DIR'")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``python -m bench`` in the checkout with the same options; returns its exit status
    (1 when a benchmark failed or missed a target)."""
    if not (_CHECKOUT_ROOT / "bench" / "__main__.py").is_file():
        raise FinR1Error("The benchmark suite ships only with the source checkout of Fin-R1 "
                         "Studio; run it from a clone of the repository.")
    command = [sys.executable, "-m", "bench"]
    if args.quick:
        command.append("--quick")
    if args.list:
        command.append("--list")
    for option, values in (("--only", args.only), ("--skip", args.skip)):
        if values:
            command += [option, *values]
    if args.out is not None:
        command += ["--out", str(args.out.resolve())]
    if args.timeout is not None:
        command += ["--timeout", str(args.timeout)]
    for name, extra in args.extra or []:
        command += ["--extra", name, extra]
    return subprocess.call(command, cwd=_CHECKOUT_ROOT)
