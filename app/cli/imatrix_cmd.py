"""``finr1 imatrix MODEL.gguf -o OUT.imatrix.gguf [--text FILE] [--chunks N] [--ctx 512]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.arg_types import at_least
from app.cli.progress_bar import ProgressBar
from app.core.local_build.calibration import calibration_set, text_file_set
from foundation.output_path import check_output_file
from quant.imatrix import DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, build_imatrix


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``imatrix`` subcommand."""
    parser = subparsers.add_parser(
        "imatrix", help="compute an importance matrix (for --imatrix of finr1 quantize)",
        description="Evaluate finance text with a bf16/f16/q8_0 GGUF and record which weights "
                    "matter most, in llama.cpp's GGUF imatrix format. Low-bit quant types "
                    "(q4_k_s, iq3_*) keep much more quality with one; iq3_xs needs one. Ctrl-C "
                    "stops and leaves nothing behind.",
    )
    parser.add_argument("model", type=Path, metavar="MODEL.gguf")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.imatrix.gguf")
    parser.add_argument("--text", type=Path, metavar="FILE",
                        help="UTF-8 calibration text (default: the bundled bilingual finance "
                             "calibration text)")
    parser.add_argument("--chunks", type=at_least(1), metavar="N",
                        help="use at most N chunks of the text (default: all)")
    parser.add_argument("--ctx", type=at_least(MIN_CHUNK_SIZE), default=DEFAULT_CHUNK_SIZE,
                        metavar="TOKENS",
                        help=f"tokens per chunk, each evaluated afresh (default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--threads", type=at_least(1), metavar="N",
                        help="threads for llama.cpp (default: all cores)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compute the importance matrix with a progress bar, then print the output path."""
    check_output_file(args.output, "the importance matrix", "model.imatrix.gguf")
    text_set = text_file_set(args.text) if args.text is not None else calibration_set()
    output = build_imatrix(args.model, args.output, text_set.text, dataset=text_set.name,
                           chunks=args.chunks, chunk_size=args.ctx, threads=args.threads,
                           on_progress=ProgressBar())
    print(output)
    return 0

