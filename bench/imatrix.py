"""Importance-matrix time per 1,000 tokens against plain evaluation of the same chunks.

The baseline is what the text costs to evaluate anyway: the same model, context and chunks
decoded with every logit requested (as the imatrix job does) but no ``cb_eval`` callback. The
imatrix job adds the callback, which splits llama.cpp's graph at every weight multiplication and
sums the squared activations in numpy. With ``--llama-imatrix PATH`` (a ``llama-imatrix`` binary
built from the same llama.cpp) its wall time on the same text and chunks is shown too. Every
figure includes loading the model once; rounds are interleaved and the best of each is kept.

    .venv/bin/python bench/imatrix.py [--model F16.gguf] [--chunks 4] [--ctx 512] [--rounds 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_f16

CALIBRATION = Path(__file__).resolve().parents[1] / "resources" / "calibration" / "calibration"
TARGET_RATIO = 1.5
QUICK_ARGS = ("--chunks", "2", "--rounds", "1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="GGUF to compute on (default: SmolLM2 F16)")
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--llama-imatrix", type=Path, help="a llama-imatrix binary to compare")
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("imatrix", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(CALIBRATION.glob("*.md")))
    with tempfile.TemporaryDirectory(prefix="finr1-bench-imatrix-") as folder:
        workdir = Path(folder)
        model = args.model or smollm2_f16(workdir)
        text_file = workdir / "calibration.txt"
        text_file.write_text(text, encoding="utf-8")
        timings: dict[str, list[float]] = {"plain_decode": [], "imatrix": [], "llama_imatrix": []}
        for _ in range(args.rounds):
            timings["plain_decode"].append(_time_plain(model, text, args))
            timings["imatrix"].append(_time_imatrix(model, text, args))
            if args.llama_imatrix:
                timings["llama_imatrix"].append(
                    _time_llama_imatrix(args.llama_imatrix, model, text_file, workdir, args))
    tokens = args.chunks * args.ctx
    best = {name: min(values) for name, values in timings.items() if values}
    per_1000 = {name: seconds * 1000 / tokens for name, seconds in best.items()}
    ratio = best["imatrix"] / best["plain_decode"]
    figures = [Figure("imatrix job / plain evaluation of the same chunks", ratio, RATIO, "lower",
                      TARGET_RATIO)]
    if "llama_imatrix" in best:
        figures.append(Figure("imatrix job / llama-imatrix",
                              best["imatrix"] / best["llama_imatrix"], RATIO, "lower"))
    return run.result(figures, {"model": model.name, "tokens": tokens, "threads": args.threads,
                                "seconds_per_1000_tokens": per_1000})


def _time_plain(model: Path, text: str, args: argparse.Namespace) -> float:
    from quant.chunk_runner import ChunkRunner, split_chunks

    start = time.perf_counter()
    with ChunkRunner(model, chunk_size=args.ctx, threads=args.threads) as runner:
        for chunk in split_chunks(runner.tokenize(text), args.ctx, args.chunks):
            runner.decode_chunk(chunk, first_output=0)
    return time.perf_counter() - start


def _time_imatrix(model: Path, text: str, args: argparse.Namespace) -> float:
    from quant.imatrix import compute_imatrix

    start = time.perf_counter()
    compute_imatrix(model, text, dataset="bench", chunks=args.chunks, chunk_size=args.ctx,
                    threads=args.threads)
    return time.perf_counter() - start


def _time_llama_imatrix(binary: Path, model: Path, text_file: Path, workdir: Path,
                        args: argparse.Namespace) -> float:
    command = [str(binary), "-m", str(model), "-f", str(text_file), "-o",
               str(workdir / "llama.imatrix.gguf"), "-c", str(args.ctx), "-b", str(args.ctx),
               "--chunks", str(args.chunks), "-t", str(args.threads), "--no-ppl"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _show(result: BenchResult) -> None:
    details = result.details
    print(f"model {details['model']}, {details['tokens']} tokens, {details['threads']} thread(s)")
    for name, seconds in details["seconds_per_1000_tokens"].items():
        print(f"  {name:<14}: {seconds:6.2f} s per 1,000 tokens")


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv, show=_show)


if __name__ == "__main__":
    raise SystemExit(main())
