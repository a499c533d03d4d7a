"""``finr1 convert HF_DIR -o OUT.gguf [--outtype bf16|f16|f32|q8_0]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.progress_bar import ProgressBar
from quant.convert import convert_checkpoint
from quant.formats import CONVERT_OUTTYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` subcommand."""
    parser = subparsers.add_parser(
        "convert", help="convert a Hugging Face checkpoint folder to GGUF",
        description="Convert a Hugging Face checkpoint (config.json, tokenizer files, safetensors) "
                    "to one GGUF file, streaming one tensor at a time.",
    )
    parser.add_argument("checkpoint_dir", type=Path, metavar="HF_DIR")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.gguf")
    parser.add_argument("--outtype", choices=CONVERT_OUTTYPES, default="bf16",
                        help="tensor type of the output (default: bf16, lossless for Fin-R1)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Convert and print the output path."""
    output = convert_checkpoint(args.checkpoint_dir, args.output, args.outtype,
                                on_progress=ProgressBar())
    print(output)
    return 0
