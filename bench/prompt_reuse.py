"""Time to first token with prompt reuse: a scenario's second question vs its first.

Fin-R1's system prompt and a scenario's fixed text are evaluated once per loaded model; a second
question of the scenario evaluates only its own words, also after a question of another scenario
came in between (the first scenario's KV state is restored from ``app.core.engine.prefix_cache``). For
each model this loads one engine and, per round, asks with ``max_new_tokens=1`` (greedy):

* ``first``: scenario A's first question, on an empty cache (what a fresh load costs);
* ``second``: A's second question straight after (the previous prompt's prefix is reused);
* ``after_other``: a question of scenario B, then A's third question: timed is A's;
* ``no_saved_states``: the same as ``after_other`` on an engine keeping no saved states
  (``prefix_cache_mib=0``), the baseline the restoring is measured against.

It prints the median TTFT of each and the ratios first/second and no_saved_states/after_other
(target >= 2 on a Fin-R1-sized model, where the prefix is most of the prompt's cost), with the
prompt tokens evaluated for each. Models: SmolLM2-135M Q4_1 and a tiny Qwen2 GGUF written by the
app's own converter.

    .venv/bin/python bench/prompt_reuse.py [--model X.gguf] [--threads 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.scenarios.scenario_file import get_scenario
from app.core.templates.chat_template import ChatMessage
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_q4_1
from quant.convert import convert_checkpoint
from tests.support.tiny_checkpoint import build_tiny_checkpoint

SCENARIO_A, SCENARIO_B = "calculation", "compliance"
QUESTIONS_A = ("A 100,000 yuan loan over 5 years at 6% a year, equal instalments: the monthly "
               "payment?", "The present value of 1,000 yuan a year for 10 years at 5%?",
               "A bond pays 4% a year for 3 years; its price at a 5% yield?")
QUESTION_B = "How to conceal conflicts of interest with financial institutions for personal gain?"
TARGET_RATIO = 2.0
QUICK_ARGS = ("--rounds", "2")


def tiny_gguf(folder: Path) -> Path:
    checkpoint = build_tiny_checkpoint(folder / "checkpoint")
    return convert_checkpoint(checkpoint, folder / "tiny-bf16.gguf", "bf16")


def scenario_prompt(scenario_id: str, question: str) -> list[ChatMessage]:
    scenario = get_scenario(scenario_id)
    return [ChatMessage("user", scenario.render_prompt({"question": question}, "en"))]


def ttft(engine: ChatEngine, messages: list[ChatMessage]) -> tuple[float, int]:
    """(seconds to the first token, prompt tokens evaluated) for ``messages``."""
    settings = GenerationSettings(temperature=0, max_new_tokens=1)  # Fin-R1's system prompt
    metrics = engine.chat(messages, settings).metrics
    return metrics.ttft_s or metrics.prompt_eval_s, metrics.prompt_eval_tokens


def measure_model(model: Path, threads: int, rounds: int) -> dict[str, tuple[float, int]]:
    """Median TTFT and the tokens evaluated, per case (see the module's docstring)."""
    times: dict[str, list[float]] = {"first": [], "second": [], "after_other": [],
                                     "no_saved_states": []}
    evaluated: dict[str, int] = {}
    a1, a2, a3 = (scenario_prompt(SCENARIO_A, question) for question in QUESTIONS_A)
    b = scenario_prompt(SCENARIO_B, QUESTION_B)
    for _round in range(rounds):
        for mib, cases in ((256, ("first", "second", "after_other")), (0, ("no_saved_states",))):
            with ChatEngine(model, EngineConfig(n_ctx=2048, n_threads=threads,
                                                prefix_cache_mib=mib)) as engine:
                first = ttft(engine, a1)
                second = ttft(engine, a2)
                ttft(engine, b)
                after_other = ttft(engine, a3)
            results = dict(zip(("first", "second", "after_other"), (first, second, after_other),
                               strict=True))
            if mib == 0:
                results = {"no_saved_states": after_other}
            for case in cases:
                times[case].append(results[case][0])
                evaluated[case] = results[case][1]
    return {case: (statistics.median(values), evaluated[case]) for case, values in times.items()}


def report(name: str, cases: dict[str, tuple[float, int]]) -> list[Figure]:
    """Print one model's TTFTs and ratios; returns the ratios as figures (both held to the
    target: the exit status was whether the smaller met it)."""
    print(f"{name}:")
    for case, (seconds, tokens) in cases.items():
        print(f"  {case:16s} TTFT {seconds * 1000:8.1f} ms  ({tokens} prompt tokens evaluated)")
    second_ratio = cases["first"][0] / cases["second"][0]
    restore_ratio = cases["no_saved_states"][0] / cases["after_other"][0]
    print(f"  first / second TTFT: {second_ratio:.2f}x; without / with saved states after "
          f"another scenario: {restore_ratio:.2f}x (target >= {TARGET_RATIO:g}x)")
    return [Figure(f"TTFT of a scenario's first question / its second ({name})", second_ratio,
                   RATIO, "higher", TARGET_RATIO),
            Figure(f"TTFT after another scenario, without / with saved states ({name})",
                   restore_ratio, RATIO, "higher", TARGET_RATIO)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="one GGUF (default: SmolLM2 and a tiny Qwen2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("prompt_reuse", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        models = [args.model] if args.model else [smollm2_q4_1(), tiny_gguf(Path(folder))]
        for model in models:
            cases = measure_model(model, args.threads, args.rounds)
            figures += report(model.name, cases)
            details[model.name] = {case: {"ttft_s": seconds, "prompt_tokens": tokens}
                                   for case, (seconds, tokens) in cases.items()}
    return run.result(figures, details)


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    sys.exit(main())
