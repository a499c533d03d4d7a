"""``finr1 evaluate --reference REF.gguf MODEL.gguf… [--text FILE] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.arg_types import at_least
from app.cli.progress_bar import ProgressBar
from app.core.local_build.calibration import heldout_set, text_file_set
from foundation.output_path import check_output_file
from quant.evaluate import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DECODE_TOKENS,
    evaluate_models,
    format_table,
    sidecar_path,
    write_sidecar,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate", help="measure what quantization costs: perplexity, KL divergence, speed",
        description="Compare each MODEL with the reference (a bf16/f16/q8_0 GGUF of the same "
                    "model) on held-out finance text: perplexity, mean and 99th-percentile KL "
                    "divergence of the next-token distributions, top-1 agreement, file size, "
                    "bits per weight and decode speed on this machine. Each model's results "
                    "are saved beside it as MODEL.gguf.eval.json.",
    )
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL.gguf")
    parser.add_argument("--reference", type=Path, required=True, metavar="REF.gguf")
    parser.add_argument("--text", type=Path, metavar="FILE",
                        help="UTF-8 evaluation text (default: the bundled held-out finance text, "
                             "never used for importance matrices)")
    parser.add_argument("--chunks", type=at_least(1), metavar="N",
                        help="use at most N chunks of the text (default: all)")
    parser.add_argument("--ctx", type=at_least(16), default=DEFAULT_CHUNK_SIZE, metavar="TOKENS",
                        help=f"tokens per chunk; the second half of each is scored "
                             f"(default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--decode-tokens", type=at_least(0), default=DEFAULT_DECODE_TOKENS,
                        metavar="N", help="tokens decoded to time the speed (0: skip)")
    parser.add_argument("--threads", type=at_least(1), metavar="N",
                        help="threads for llama.cpp (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-save", action="store_true",
                        help="do not write MODEL.gguf.eval.json files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate with a progress bar, save each model's results, print the table or JSON."""
    if not args.no_save:
        for model in args.models:
            check_output_file(sidecar_path(model), f"the results of {model} (or pass --no-save)")
    text_set = text_file_set(args.text) if args.text is not None else heldout_set()
    report = evaluate_models(args.reference, args.models, text_set.text, dataset=text_set.name,
                             chunks=args.chunks, chunk_size=args.ctx,
                             decode_tokens=min(args.decode_tokens, args.ctx), threads=args.threads,
                             on_progress=ProgressBar())
    if not args.no_save:
        for score in report.models:
            saved = write_sidecar(report, score)
            print(f"saved {saved}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(report))
    return 0

