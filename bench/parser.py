"""How fast the reasoning parser eats a streamed reply, and proof that it never re-parses.

Feeds a long Fin-R1-style reply (about 4,000 tokens) one token-sized chunk at a time and reports:

* chunks/s of ``ReasoningParser.feed`` and of the baseline, plain ``str`` concatenation of the
  same chunks (what a UI that only shows raw text would do), and the ratio of their per-chunk cost;
* the ratio of per-chunk time over the last 10 % of chunks to the first 10 %: about 1 for a parser
  whose cost per chunk does not grow with the text already seen;
* the same ratio for a naive parser that re-parses the whole text at every chunk, to show what
  the measurement looks like when the cost does grow (skip with ``--no-naive``).

Per-chunk times are the minimum over ``--repeats`` runs, which filters out scheduler noise.

Run: ``.venv/bin/python bench/parser.py [--tokens 4000] [--repeats 15] [--no-naive]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.reasoning.parser import ReasoningParser, parse_text
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli

QUICK_ARGS = ("--tokens", "2000", "--repeats", "5", "--no-naive")

REASONING_SENTENCES = [
    "首先计算月利率：r = 6\\% / 12 = 0.5\\%，还款期数 n = 60。",
    "The equal-instalment formula is M = P \\cdot \\frac{r(1+r)^n}{(1+r)^n - 1}.",
    "代入数据：(1.005)^{60} \\approx 1.34885，因此分子为 0.005 \\times 1.34885。",
    "Portfolio variance is w_A^2 \\sigma_A^2 + w_B^2 \\sigma_B^2 + 2 w_A w_B \\rho \\sigma_A \\sigma_B.",
    "中间结果为 \\boxed{0.0067}，继续检查单位是否一致，避免遗漏手续费。",
    "Check: if the rate were 0 the payment would be 100000 / 60 = 1666.67 < 1933.28, consistent.",
    "根据《商业银行法》的规定，利益冲突必须披露，隐瞒属于违规行为。",
]
ANSWER = ("根据等额本息公式，每月还款额约为 1,933.28 元，总利息约为 15,996.80 元。\n\n"
          "\\boxed{1933.28}")


def long_reply(tokens: int, rng: random.Random) -> tuple[str, list[str]]:
    """A reply of about ``tokens`` token-sized chunks (1 to 4 characters each), and those chunks."""
    think_sentences: list[str] = []
    while sum(map(len, think_sentences)) < tokens * 2.3:
        think_sentences.append(rng.choice(REASONING_SENTENCES))
    text = "\n<think>\n" + "\n".join(think_sentences) + f"\n</think>\n<answer>\n{ANSWER}\n</answer>"
    chunks = []
    position = 0
    while position < len(text):
        size = rng.randint(1, 4)
        chunks.append(text[position:position + size])
        position += size
    return text, chunks


def per_chunk_ns(chunks: list[str], make_consumer: Callable[[], Callable[[str], object]],
                 repeats: int) -> list[int]:
    """The fastest time seen for each chunk, over ``repeats`` fresh consumers."""
    best = [1 << 62] * len(chunks)
    clock = time.perf_counter_ns
    for _ in range(repeats):
        consume = make_consumer()
        for index, chunk in enumerate(chunks):
            start = clock()
            consume(chunk)
            elapsed = clock() - start
            if elapsed < best[index]:
                best[index] = elapsed
    return best


def growth_ratio(times_ns: list[int]) -> float:
    """Mean time of the last 10 % of chunks over the mean time of the first 10 %."""
    tenth = max(1, len(times_ns) // 10)
    return (sum(times_ns[-tenth:]) / tenth) / (sum(times_ns[:tenth]) / tenth)


def parser_consumer() -> Callable[[str], object]:
    return ReasoningParser().feed


def concat_consumer() -> Callable[[str], object]:
    received = ""

    def append(chunk: str) -> None:
        nonlocal received
        received += chunk  # CPython extends a str in place here: the cheapest way to keep text
    return append


def naive_consumer() -> Callable[[str], object]:
    received = ""

    def reparse(chunk: str) -> object:
        nonlocal received
        received += chunk
        return parse_text(received)
    return reparse


def chunks_per_second(chunks: list[str], make_consumer: Callable[[], Callable[[str], object]],
                      repeats: int) -> float:
    """Best throughput of a whole stream over ``repeats`` runs, without per-chunk timers."""
    best_s = float("inf")
    for _ in range(repeats):
        consume = make_consumer()
        start = time.perf_counter()
        for chunk in chunks:
            consume(chunk)
        best_s = min(best_s, time.perf_counter() - start)
    return len(chunks) / best_s


def _parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--tokens", type=int, default=4000)
    arguments.add_argument("--repeats", type=int, default=15)
    arguments.add_argument("--no-naive", action="store_true", help="skip the re-parsing parser")
    return arguments


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("parser", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    options = run.args

    text, chunks = long_reply(options.tokens, random.Random(20250311))
    parser_rate = chunks_per_second(chunks, parser_consumer, options.repeats)
    concat_rate = chunks_per_second(chunks, concat_consumer, options.repeats)
    parser_times = per_chunk_ns(chunks, parser_consumer, options.repeats)
    concat_times = per_chunk_ns(chunks, concat_consumer, options.repeats)
    parser_growth, concat_growth = growth_ratio(parser_times), growth_ratio(concat_times)

    print(f"reply: {len(text):,} characters in {len(chunks):,} chunks")
    print(f"parser:        {parser_rate:12,.0f} chunks/s   "
          f"last/first 10% per-chunk time {parser_growth:5.2f}")
    print(f"str concat:    {concat_rate:12,.0f} chunks/s   "
          f"last/first 10% per-chunk time {concat_growth:5.2f}")
    print(f"parser cost per chunk = {concat_rate / parser_rate:.1f} x plain concatenation")
    details = {"characters": len(text), "chunks": len(chunks), "parser_chunks_per_s": parser_rate,
               "concat_chunks_per_s": concat_rate, "concat_growth": concat_growth}
    if not options.no_naive:
        naive_times = per_chunk_ns(chunks, naive_consumer, 1)
        naive_rate = len(chunks) / (sum(naive_times) / 1e9)
        details |= {"naive_chunks_per_s": naive_rate, "naive_growth": growth_ratio(naive_times)}
        print(f"naive re-parse:{naive_rate:12,.0f} chunks/s   "
              f"last/first 10% per-chunk time {growth_ratio(naive_times):5.2f}")
    return run.result([
        Figure("parser cost per chunk / str concatenation", concat_rate / parser_rate, RATIO,
               "lower"),
        Figure("parser per-chunk time, last 10% / first 10%", parser_growth, RATIO, "lower"),
    ], details)


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
