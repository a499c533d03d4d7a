"""``finr1 quantize IN.gguf -o OUT.gguf --type TYPE [--imatrix FILE] [--threads N]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.progress_bar import ProgressBar
from quant.formats import QUANTIZE_TYPES, ImatrixNeed, quant_type
from quant.quantize import quantize_gguf


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``quantize`` subcommand."""
    type_help = "; ".join(
        f"{row.name} ≈{row.bits_per_weight} bits/weight ({row.note})"
        for row in map(quant_type, QUANTIZE_TYPES)
    )
    parser = subparsers.add_parser(
        "quantize", help="make a smaller GGUF (Q8_0 … IQ3_XS) from a bf16/f16/f32 GGUF",
        description="Quantize a bf16, f16 or f32 GGUF with llama.cpp. Ctrl-C stops at once and "
                    "leaves nothing behind.",
    )
    parser.add_argument("input", type=Path, metavar="IN.gguf")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.gguf")
    parser.add_argument("--type", dest="quant_type", required=True, type=str.lower,
                        choices=QUANTIZE_TYPES, metavar="TYPE",
                        help=f"the quant type: {type_help}")
    parser.add_argument("--imatrix", type=Path, metavar="FILE",
                        help="importance matrix (llama.cpp GGUF format, from `finr1 imatrix`); "
                             "required for iq3_xs, improves q4_k_* and iq3_*")
    parser.add_argument("--threads", type=_positive_int, metavar="N",
                        help="threads to quantize with (default: all cores)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Quantize with a progress bar, then print the output path (and a hint where an importance
    matrix would have helped)."""
    target = quant_type(args.quant_type)
    output = quantize_gguf(args.input, args.output, target.name, imatrix_path=args.imatrix,
                           threads=args.threads, on_progress=ProgressBar())
    if args.imatrix is None and target.imatrix is ImatrixNeed.HELPS:
        print(f"note: {target.label} comes out better with an importance matrix "
              "(`finr1 imatrix`, then --imatrix FILE)", file=sys.stderr)
    print(output)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
