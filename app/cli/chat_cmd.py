"""``finr1 chat MODEL.gguf [PROMPT]``: ask a model one question and stream its reply.

The question is PROMPT, a scenario's prompt (``--scenario ID`` with ``--example N`` and/or
``--field NAME=VALUE``), or standard input (UTF-8, whatever the locale). On a terminal the
reasoning is shown dimmed and the answer plainly; when standard output is not a terminal the
reasoning is wrapped in ``<think>…</think>`` instead. ``--json`` prints only one JSON object at the
end. Ctrl-C stops the reply within one token and keeps what was generated (finish reason
``cancelled``, exit status 130); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from app.cli.text_input import read_stdin
from app.core.answer_readers import read_reply
from app.core.chat_template import ChatMessage
from app.core.engine import ChatEngine, TokenChunk, TurnResult
from app.core.engine_config import EngineConfig, GenerationSettings, parse_gpu_layers
from app.core.errors import InvalidFieldValueError
from app.core.reasoning import AnswerText, Done, ThinkEnded, ThinkStarted, ThinkText
from app.core.scenarios import Scenario, get_scenario
from quant.errors import InvalidSettingError, TextInputError
from quant.jobs import CancelToken

DIM = "\x1b[2m"
RESET = "\x1b[0m"
EXIT_CANCELLED = 130
_DEFAULTS = GenerationSettings()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``chat`` subcommand."""
    parser = subparsers.add_parser(
        "chat",
        help="ask a GGUF model a question and stream its reply",
        description="Ask a GGUF model one question (PROMPT, a scenario, or standard input) and "
                    "stream its reasoning and answer.",
    )
    parser.add_argument("model", type=Path, metavar="MODEL.gguf", help="the GGUF model file")
    parser.add_argument("prompt", nargs="?", metavar="PROMPT",
                        help="the question (default: a scenario's prompt, else standard input)")
    parser.add_argument("--scenario", metavar="ID", help="build the prompt from this scenario")
    parser.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                        help="a scenario form value (repeatable; overrides --example)")
    parser.add_argument("--example", type=int, metavar="N",
                        help="start from the scenario's worked example N (1, 2…)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help="language of the scenario form and prompt (default zh)")
    parser.add_argument("--max-tokens", type=int, default=_DEFAULTS.max_new_tokens, metavar="N",
                        help=f"longest reply in tokens (default {_DEFAULTS.max_new_tokens})")
    parser.add_argument("--seed", type=int, metavar="N", help="fixed seed: reproducible replies")
    parser.add_argument("--temperature", type=float, default=_DEFAULTS.temperature, metavar="X",
                        help=f"sampling temperature, 0 = greedy (default {_DEFAULTS.temperature})")
    parser.add_argument("--n-gpu-layers", default="auto", metavar="N|auto",
                        help="layers on the GPU: auto (as many as fit), 0 (CPU), -1 (all) or N")
    parser.add_argument("--ctx", type=int, default=EngineConfig.n_ctx, metavar="N",
                        help=f"context size in tokens (default {EngineConfig.n_ctx})")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the reply and metrics at the end")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Answer one question; returns 0, or 130 when stopped with Ctrl-C. Raises ``FinR1Error``
    subclasses for bad input (prompt, scenario fields, settings, model file)."""
    scenario = get_scenario(args.scenario) if args.scenario else None
    prompt = _prompt(args, scenario)
    settings = GenerationSettings(max_new_tokens=args.max_tokens, seed=args.seed,
                                  temperature=args.temperature)
    config = EngineConfig(n_ctx=args.ctx, n_threads=args.threads,
                          n_gpu_layers=parse_gpu_layers(args.n_gpu_layers))
    with ChatEngine(args.model, config) as engine:
        for warning in engine.info.warnings:
            print(f"finr1: warning: {warning}", file=sys.stderr)
        cancel = CancelToken()
        printer = None if args.json else ReplyPrinter(sys.stdout)
        with _ctrl_c_cancels(cancel):
            stream = engine.stream_chat([ChatMessage("user", prompt)], settings, cancel)
            for chunk in stream:
                if printer is not None:
                    printer.show(chunk)
        result = stream.result
    verdict = _verdict(scenario, result)
    if args.json:
        print(json.dumps(result_json(result, verdict), ensure_ascii=False))
    else:
        if verdict is not None:
            print(f"verdict: {json.dumps(verdict, ensure_ascii=False)}")
        print(_metrics_line(result), file=sys.stderr)
    return EXIT_CANCELLED if result.stopped else 0


def _prompt(args: argparse.Namespace, scenario: Scenario | None) -> str:
    if scenario is None:
        if args.field or args.example is not None:
            raise InvalidSettingError("--field and --example need --scenario ID")
        prompt = args.prompt if args.prompt is not None else _read_stdin()
    else:
        if args.prompt is not None:
            raise InvalidSettingError("give either PROMPT or --scenario, not both")
        prompt = scenario.render_prompt(_scenario_values(args, scenario), args.lang)
    if not prompt.strip():
        raise TextInputError("the prompt is empty; give PROMPT, --scenario or text on stdin")
    return prompt


def _scenario_values(args: argparse.Namespace, scenario: Scenario) -> dict[str, str]:
    values: dict[str, str] = {}
    if args.example is not None:
        count = len(scenario.examples)
        if not 1 <= args.example <= count:
            raise InvalidSettingError(
                f"scenario {scenario.id} has examples 1 to {count}, not {args.example}"
            )
        values.update(scenario.example_values(args.example - 1, args.lang))
    known = [field.name for field in scenario.fields]
    for assignment in args.field:
        name, separator, value = assignment.partition("=")
        name = name.strip()
        if not separator:
            raise InvalidFieldValueError(f"--field takes NAME=VALUE, not {assignment!r}", name)
        if name not in known:
            raise InvalidFieldValueError(
                f"scenario {scenario.id} has no field {name!r}; its fields are: "
                f"{', '.join(known)}", name,
            )
        values[name] = value
    return values


def _read_stdin() -> str:
    if sys.stdin.isatty():
        print("finr1: type the question, then Ctrl-D:", file=sys.stderr)
    return read_stdin()


@contextlib.contextmanager
def _ctrl_c_cancels(cancel: CancelToken) -> Iterator[None]:
    """While active, the first Ctrl-C sets ``cancel``; the second interrupts as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        if cancel.cancelled:
            signal.default_int_handler(signum, frame)
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class ReplyPrinter:
    """Writes a streamed reply from its parser events: reasoning dimmed on a terminal, wrapped in
    ``<think>…</think>`` elsewhere; the answer plainly."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._terminal = stream.isatty()
        self._in_think = False

    def show(self, chunk: TokenChunk) -> None:
        for event in chunk.events:
            if isinstance(event, ThinkStarted):
                self._in_think = True
                self._write(DIM if self._terminal else "<think>\n")
            elif isinstance(event, (ThinkText, AnswerText)):
                self._write(event.text)
            elif isinstance(event, ThinkEnded):
                self._close_think()
            elif isinstance(event, Done):
                self._close_think()
                self._write("\n")

    def _close_think(self) -> None:
        if self._in_think:
            self._in_think = False
            self._write(f"{RESET}\n\n" if self._terminal else "\n</think>\n\n")

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _verdict(scenario: Scenario | None, result: TurnResult) -> dict[str, Any] | None:
    reading = read_reply(scenario, result.reply)
    return reading.as_dict() if reading is not None else None


def result_json(result: TurnResult, verdict: dict[str, Any] | None) -> dict[str, Any]:
    """The ``--json`` object: the parsed reply, finish reason, scenario verdict and metrics (every
    ``TurnMetrics`` field, under the names the history stores them by)."""
    return {
        **result.reply.to_dict(),
        "finish_reason": result.finish_reason,
        "verdict": verdict,
        "metrics": result.metrics.to_dict(),
    }


def _metrics_line(result: TurnResult) -> str:
    metrics = result.metrics
    ttft = f"{metrics.ttft_s:.2f} s" if metrics.ttft_s is not None else "-"
    rate = f"{metrics.tokens_per_s:.1f} tok/s" if metrics.tokens_per_s is not None else "-"
    return (f"[{result.finish_reason}] prompt {metrics.prompt_tokens} tok · first token {ttft} · "
            f"{rate} · think {metrics.think_tokens} tok / {metrics.think_s:.1f} s · answer "
            f"{metrics.answer_tokens} tok / {metrics.answer_s:.1f} s · seed {metrics.seed}")

