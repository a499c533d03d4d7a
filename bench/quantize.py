"""Quantize time through the app's job against a direct libllama call on the same file.

The app's ``quantize_gguf`` validates the input, starts a child process, relays libllama's log as
progress, and reads the output back before naming it; the baseline is one bare in-process
``llama_model_quantize`` call (what llama.cpp's own quantize tool does). Both quantize the SmolLM2
F16 file (or ``--model``) to each ``--types`` entry, interleaved ``--rounds`` times; the best time
of each is compared, as a ratio and as the fixed cost in seconds (child start, validation,
read-back), which weighs more on the 135M-parameter SmolLM2 than it will on Fin-R1's 7.6B.

    .venv/bin/python bench/quantize.py [--model F16.gguf] [--types q8_0 q4_k_m] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_f16
from quant.quantize import quantize_gguf
from tests.support.direct_quantize import direct_quantize

# the job's fixed cost (child start, validation, read-back); on Fin-R1 it is lost in minutes
TARGET_OVERHEAD_S = 2.0
QUICK_ARGS = ("--types", "q4_k_m", "--rounds", "1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="bf16/f16 GGUF (default: SmolLM2 as F16)")
    parser.add_argument("--types", nargs="+", default=["q8_0", "q4_k_m"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("quantize", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    with tempfile.TemporaryDirectory(prefix="finr1-bench-quantize-") as folder:
        workdir = Path(folder)
        model = args.model or smollm2_f16(workdir)
        figures: list[Figure] = []
        details: dict[str, Any] = {"model": model.name, "threads": args.threads}
        for type_name in args.types:
            direct_times, app_times = [], []
            for _ in range(args.rounds):
                direct_times.append(_time_direct(model, workdir / "direct.gguf", type_name,
                                                 args.threads))
                app_times.append(_time_app(model, workdir / "app.gguf", type_name, args.threads))
            direct, app = min(direct_times), min(app_times)
            details[type_name] = {"direct_s": direct, "app_s": app}
            figures.append(Figure(f"quantize {type_name}: app job / direct libllama call",
                                  app / direct, RATIO, "lower"))
            figures.append(Figure(f"quantize {type_name}: app job - direct call", app - direct,
                                  "s", "lower", TARGET_OVERHEAD_S))
    return run.result(figures, details)


def _time_direct(model: Path, output: Path, type_name: str, threads: int) -> float:
    start = time.perf_counter()
    status = direct_quantize(model, output, type_name, threads=threads)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"libllama failed to quantize {model.name} to {type_name}")
    output.unlink()
    return elapsed


def _time_app(model: Path, output: Path, type_name: str, threads: int) -> float:
    start = time.perf_counter()
    quantize_gguf(model, output, type_name, threads=threads)
    elapsed = time.perf_counter() - start
    output.unlink()
    return elapsed


def _show(result: BenchResult) -> None:
    print(f"model {result.details['model']}, {result.details['threads']} thread(s)")
    for type_name, times in result.details.items():
        if isinstance(times, dict):
            print(f"{type_name:>7}: direct {times['direct_s']:6.2f} s, app {times['app_s']:6.2f} s, "
                  f"app/direct {times['app_s'] / times['direct_s']:.3f}, fixed cost "
                  f"{times['app_s'] - times['direct_s']:.2f} s (target <= {TARGET_OVERHEAD_S} s)")


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv, show=_show)


if __name__ == "__main__":
    raise SystemExit(main())
