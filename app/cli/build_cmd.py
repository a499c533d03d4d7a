"""``finr1 build CHECKPOINT_DIR --type q4_k_m [--type …] [--imatrix|--no-imatrix]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.arg_types import at_least
from app.cli.library_option import add_library_option, open_library
from app.cli.progress_bar import ProgressBar
from app.core.local_build.build_job import BUILDABLE_TYPES, IMATRIX_BY_DEFAULT, plan_build, run_build


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build`` subcommand."""
    parser = subparsers.add_parser(
        "build", help="build quants from a checkpoint folder into the library",
        description="Convert a Hugging Face checkpoint folder to BF16, compute an importance "
                    f"matrix when a chosen type needs one (by default for "
                    f"{', '.join(sorted(IMATRIX_BY_DEFAULT))}), quantize to each chosen type, "
                    "verify the results and add them to the model library. Free disk space is "
                    "checked first; Ctrl-C stops and leaves no temporary files.",
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT_DIR")
    parser.add_argument("--type", dest="types", action="append", required=True,
                        choices=BUILDABLE_TYPES, metavar="TYPE",
                        help=f"a quant type to build (repeatable): {', '.join(BUILDABLE_TYPES)}")
    matrix = parser.add_mutually_exclusive_group()
    matrix.add_argument("--imatrix", dest="imatrix", action="store_const", const=True,
                        help="compute an importance matrix even where it is not the default")
    matrix.add_argument("--no-imatrix", dest="imatrix", action="store_const", const=False,
                        help="never compute one (refused for types that need it)")
    parser.add_argument("--imatrix-chunks", type=at_least(1), metavar="N",
                        help="use at most N chunks of the calibration text (default: all)")
    parser.add_argument("--name", metavar="NAME",
                        help="model name in the output file names (default: the folder's name)")
    parser.add_argument("--threads", type=at_least(1), metavar="N",
                        help="threads for llama.cpp (default: all cores)")
    add_library_option(parser)
    parser.set_defaults(handler=run, imatrix=None)


def run(args: argparse.Namespace) -> int:
    """Plan, say what will happen, build with a progress bar, print each added model."""
    with open_library(args) as library:
        plan = plan_build(library, args.checkpoint, args.types, imatrix=args.imatrix,
                          imatrix_chunks=args.imatrix_chunks, model_name=args.name)
        print(plan.describe(), file=sys.stderr)
        result = run_build(plan, library, on_progress=ProgressBar(), threads=args.threads)
    for entry in result.entries:
        print(f"{entry.id}\t{entry.quant_label}\t{entry.path}")
    return 0
