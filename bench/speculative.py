"""Speculative decoding: decode speed with and without drafting, and how many drafts are kept.

The model is SmolLM2-135M as F16 (``bench.models.smollm2_f16``); each case runs one turn on an
engine that speculates and one on an engine that does not, alternately for ``--rounds`` rounds,
and reports the median of the rounds' speed ratios (decode tokens per second after the first
token, ``TurnMetrics.tokens_per_s``) with the share of draft tokens kept. The engines stay loaded
over the rounds, as in a chat, so the governor learns as it would there.

* ``draft``: SmolLM2's own Q4_1 drafts, greedy (target >= 1.3x);
* ``draft, sampled``: the same at temperature 1.5, where few drafts are kept (target >= 0.95x:
  speculation must switch itself off); both engines use the round's seed, so both draw the
  same tokens;
* ``lookup, quoting``: prompt lookup, the question asks for a rule copied word for word;
* ``lookup, story``: prompt lookup on a story, with little to quote (target >= 0.95x).

Where both engines decode greedily, or with one seed, their tokens must be the same: the details
record whether they were, and where they parted if not (a near-tie llama.cpp's batched and
one-token kernels round apart, see tests/core/engine/test_speculative.py).

The engines' governor stops drafting where it does not pay, so their acceptance may rest on few
drafts: the pair is also run with a decoder that drafts ``FORCED_LENGTH`` tokens at every step
(greedy, the engine's acceptance rule and SmolLM2's Q4_1 without its confidence cut-off), for the
share of draft tokens the model keeps and the speed speculation would have without switching off.

What a draft model can gain is bounded by what a draft token costs against a token of the model:
the benchmark also times one-token decodes of both (interleaved, median) and reports the ratio r,
with the ceiling it puts on the speed-up: a draft of k tokens, every one kept, writes k + 1 tokens
for k draft decodes and one check, counted as one decode of the model, so at most
max over k <= 16 of (k + 1) / (k·r + 1).

    .venv/bin/python -m bench.speculative [--tokens 128] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.engine.local_engine import ChatEngine
from app.core.engine.speculative import DraftGovernor, DraftModelDrafter, SpeculativeDecoder
from app.core.engine.turn_metrics import TurnMetrics
from app.core.templates.chat_template import ChatMessage
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_f16, smollm2_q4_1

QUICK_ARGS = ("--tokens", "64", "--rounds", "2")
FORCED_LENGTH = 4
MIN_DRAFTS_FOR_A_SHARE = 10
SPEED_TARGET = 1.3
FLOOR_TARGET = 0.95
RULE = ("Article 12. Before opening an account, a financial institution shall identify the "
        "customer and verify the customer's identity on the basis of documents, data or "
        "information obtained from a reliable and independent source. It shall identify the "
        "beneficial owner and take reasonable measures to verify the identity of the beneficial "
        "owner, so that it is satisfied that it knows who the beneficial owner is.")
STORY = "Write a short story about a fox who learns to fly."


@dataclass(frozen=True)
class Case:
    name: str
    engine: str  # "draft" or "lookup"
    question: str
    temperature: float
    target: float | None


CASES = (
    Case("draft", "draft", STORY, 0.0, SPEED_TARGET),
    Case("draft, sampled", "draft", STORY, 1.5, FLOOR_TARGET),
    Case("lookup, quoting", "lookup", f"Copy this rule word for word:\n\n{RULE}", 0.0, None),
    Case("lookup, story", "lookup", STORY, 0.0, FLOOR_TARGET),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128, help="the most tokens per reply")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    return parser


def _turn(engine: ChatEngine, case: Case, tokens: int, seed: int) -> tuple[list[int],
                                                                           TurnMetrics]:
    settings = GenerationSettings(system_prompt=None, temperature=case.temperature, top_k=0,
                                  top_p=1.0, repeat_penalty=1.0, max_new_tokens=tokens,
                                  seed=seed if case.temperature else None)
    stream = engine.stream_chat([ChatMessage("user", case.question)], settings)
    written = [chunk.token for chunk in stream if chunk.token is not None]
    return written, stream.result.metrics


def _first_difference(plain: list[int], speculated: list[int]) -> int | None:
    if plain == speculated:
        return None
    return next((index for index, (a, b) in enumerate(zip(plain, speculated, strict=False))
                 if a != b), min(len(plain), len(speculated)))


def _measure_cases(engines: dict[str, ChatEngine], tokens: int,
                   rounds: int) -> dict[str, dict[str, Any]]:
    measured: dict[str, dict[str, Any]] = {
        case.name: {"ratios": [], "plain_tok_s": [], "speculative_tok_s": [], "drafted": 0,
                    "accepted": 0, "parted_at": []} for case in CASES}
    for round_index in range(rounds):
        for case in CASES:
            record = measured[case.name]
            plain, plain_metrics = _turn(engines["plain"], case, tokens, seed=round_index + 1)
            speculated, metrics = _turn(engines[case.engine], case, tokens, seed=round_index + 1)
            if not plain_metrics.tokens_per_s or not metrics.tokens_per_s:
                raise BenchFailed(f"{case.name}: a reply of under two tokens has no decode speed")
            record["ratios"].append(metrics.tokens_per_s / plain_metrics.tokens_per_s)
            record["plain_tok_s"].append(plain_metrics.tokens_per_s)
            record["speculative_tok_s"].append(metrics.tokens_per_s)
            record["drafted"] += metrics.draft_tokens
            record["accepted"] += metrics.accepted_tokens
            record["parted_at"].append(_first_difference(plain, speculated))
            print(f"round {round_index + 1} {case.name:16s} {plain_metrics.tokens_per_s:6.1f} → "
                  f"{metrics.tokens_per_s:6.1f} tok/s ({len(speculated)} tokens, drafts kept "
                  f"{metrics.accepted_tokens}/{metrics.draft_tokens})", flush=True)
    return measured


def _figures(measured: dict[str, dict[str, Any]]) -> list[Figure]:
    figures = []
    for case in CASES:
        record = measured[case.name]
        record["ratio"] = statistics.median(record["ratios"])
        record["acceptance"] = (record["accepted"] / record["drafted"] if record["drafted"]
                                else None)
        figures.append(Figure(f"decode speed, speculative / plain ({case.name})", record["ratio"],
                              RATIO, "higher", case.target))
    for case in CASES:  # a share of a handful of drafts says little: those are in the details
        if measured[case.name]["drafted"] >= MIN_DRAFTS_FOR_A_SHARE:
            figures.append(Figure(f"draft tokens kept ({case.name})",
                                  100 * measured[case.name]["acceptance"], "%"))
    return figures


def _decode_cost_ratio(model: Path, draft: Path, threads: int, tokens: int = 32) -> float:
    """A one-token decode of ``draft`` over one of ``model``: medians, the two interleaved."""
    runtimes = [LlamaRuntime(path, n_ctx=256, n_threads=threads, n_gpu_layers=0, n_batch=64,
                             flash_attn=None, use_mmap=True, prefix_cache_bytes=0)
                for path in (model, draft)]
    try:
        prompt = runtimes[0].tokenize(STORY, add_bos=False, parse_special=False)
        times: list[list[float]] = [[], []]
        for runtime in runtimes:
            runtime.evaluate_prompt(prompt)
        for step in range(tokens):
            for runtime, seconds in zip(runtimes, times, strict=True):
                started = time.perf_counter()
                runtime.decode_token(prompt[step % len(prompt)])
                seconds.append(time.perf_counter() - started)
        return statistics.median(times[1]) / statistics.median(times[0])
    finally:
        for runtime in runtimes:
            runtime.close()


class _AlwaysDraft(DraftGovernor):
    def draft_length(self) -> int:
        return FORCED_LENGTH


def _forced_drafting(model: Path, draft: Path, threads: int, tokens: int) -> dict[str, float]:
    """Greedy decoding of ``tokens`` tokens with a draft at every step and without (see the
    module docstring): the share of draft tokens kept and both decode speeds."""
    def runtime(path: Path) -> LlamaRuntime:
        return LlamaRuntime(path, n_ctx=1024, n_threads=threads, n_gpu_layers=0, n_batch=64,
                            flash_attn=None, use_mmap=True, prefix_cache_bytes=0)

    target, drafting = runtime(model), runtime(draft)
    try:
        prompt = target.tokenize(f"<|im_start|>user\n{STORY}<|im_end|>\n<|im_start|>assistant\n",
                                 add_bos=False, parse_special=True)
        speeds: dict[str, float] = {}
        for name, drafter in (("plain", None),
                              ("forced", DraftModelDrafter(drafting, draft.name, 0.0))):
            target.evaluate_prompt(prompt)
            with Sampler(n_vocab=target.n_vocab, temperature=0, top_k=0, top_p=1.0, min_p=0.0,
                         repeat_penalty=1.0, repeat_last_n=0, seed=0) as sampler:
                decoder = SpeculativeDecoder(target, sampler, prompt, drafter, _AlwaysDraft())
                started, written = time.perf_counter(), 0
                while True:
                    token = decoder.sample()
                    written += 1
                    if written == tokens:
                        break
                    decoder.advance(token, max_draft=tokens - written - 1)
                speeds[name] = (tokens - 1) / (time.perf_counter() - started)
        return {"acceptance": decoder.accepted / max(decoder.drafted, 1),
                "ratio": speeds["forced"] / speeds["plain"], **speeds}
    finally:
        target.close()
        drafting.close()


def _speedup_ceiling(cost_ratio: float, longest: int = 16) -> float:
    """The most a draft model of this cost can speed decoding up (see the module docstring)."""
    return max((length + 1) / (length * cost_ratio + 1) for length in range(1, longest + 1))


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("speculative", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    with tempfile.TemporaryDirectory(prefix="finr1-bench-speculative-") as folder:
        model, draft = smollm2_f16(Path(folder)), smollm2_q4_1()
        base = EngineConfig(n_ctx=1024, n_threads=args.threads)
        configs = {"plain": base,
                   "draft": EngineConfig(n_ctx=1024, n_threads=args.threads, draft_model=draft),
                   "lookup": EngineConfig(n_ctx=1024, n_threads=args.threads, prompt_lookup=True)}
        cost_ratio = _decode_cost_ratio(model, draft, args.threads)
        print(f"a one-token decode of the draft model takes {cost_ratio:.2f} of the model's")
        forced = _forced_drafting(model, draft, args.threads, args.tokens)
        print(f"drafting {FORCED_LENGTH} at every step: {100 * forced['acceptance']:.0f}% of the "
              f"draft tokens kept, {forced['ratio']:.2f}x the plain decode speed")
        engines = {name: ChatEngine(model, config) for name, config in configs.items()}
        try:
            measured = _measure_cases(engines, args.tokens, args.rounds)
        finally:
            for engine in engines.values():
                engine.close()
    figures = _figures(measured)
    figures.append(Figure(f"draft tokens kept, drafting {FORCED_LENGTH} at every step (draft)",
                          100 * forced["acceptance"], "%"))
    figures.append(Figure(f"decode speed, drafting {FORCED_LENGTH} at every step / plain (draft)",
                          forced["ratio"], RATIO))
    figures.append(Figure("one-token decode, draft model / model", cost_ratio, RATIO, "lower"))
    figures.append(Figure("speed-up ceiling at that cost, every draft kept",
                          _speedup_ceiling(cost_ratio), RATIO))
    details = {"model": "SmolLM2-135M-Instruct F16", "draft": draft.name,
               "threads": args.threads, "tokens": args.tokens, "rounds": args.rounds,
               "draft_cost_ratio": cost_ratio, "forced_drafting": forced, "cases": measured}
    return run.result(figures, details)


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    sys.exit(main())
