"""``finr1 quantize IN.gguf -o OUT.gguf --type TYPE [--imatrix FILE] [--output-type TYPE]
[--embedding-type TYPE] [--threads N]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.progress_bar import ProgressBar
from quant.formats import MIX_TENSOR_TYPES, QUANTIZE_TYPES, ImatrixNeed, quant_type
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
    aliases = {alias: row.name for row in map(quant_type, QUANTIZE_TYPES) for alias in row.aliases}
    parser.add_argument("--type", dest="quant_type", required=True, type=str.lower,
                        choices=[*QUANTIZE_TYPES, *aliases], metavar="TYPE",
                        help=f"the quant type: {type_help}; as in llama-quantize, "
                             + ", ".join(f"{alias} means {name}" for alias, name in aliases.items()))
    parser.add_argument("--imatrix", type=Path, metavar="FILE",
                        help="importance matrix (llama.cpp GGUF format, from `finr1 imatrix`); "
                             "required for iq3_xs, improves q4_k_* and iq3_*")
    tensor_types = [tensor.name for tensor in MIX_TENSOR_TYPES]
    parser.add_argument("--output-type", type=str.lower, choices=tensor_types, metavar="TYPE",
                        help="keep output.weight at this tensor type instead of the quant "
                             f"type's choice ({', '.join(tensor_types)}), as llama-quantize's "
                             "--output-tensor-type")
    parser.add_argument("--embedding-type", type=str.lower, choices=tensor_types, metavar="TYPE",
                        help="keep token_embd.weight at this tensor type, as llama-quantize's "
                             "--token-embedding-type (e.g. --output-type bf16 --embedding-type "
                             "bf16 --type q8_0 makes a file like Fin-R1-bf16-q8_0.gguf)")
    parser.add_argument("--threads", type=_positive_int, metavar="N",
                        help="threads to quantize with (default: all cores)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Quantize with a progress bar, then print the output path (and a hint where an importance
    matrix would have helped)."""
    target = quant_type(args.quant_type)
    output = quantize_gguf(args.input, args.output, target.name, imatrix_path=args.imatrix,
                           threads=args.threads, output_type=args.output_type,
                           embedding_type=args.embedding_type, on_progress=ProgressBar())
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
