"""``finr1 chat MODEL.gguf [PROMPT]``: ask a model one question and stream its reply.

``finr1 chat --server URL [--api-key KEY] [--server-model NAME] [PROMPT]`` asks the model on an
OpenAI-compatible server instead (vLLM, llama.cpp's server, Ollama, ``finr1 serve``): no model file
is loaded, and every other option works the same. When the server fails in the middle of the
reply, what it sent is kept: printed as it came, or with ``--json`` as the object with
``finish_reason`` ``"error"`` and ``error`` (the sentence); the exit status is then 2.

The question is PROMPT, a scenario's prompt (``--scenario ID`` with ``--example N`` and/or
``--field NAME=VALUE``), or standard input (UTF-8, whatever the locale). On a terminal the
reasoning is shown dimmed and the answer plainly; when standard output is not a terminal the
reasoning is wrapped in ``<think>…</think>`` instead. ``--json`` prints only one JSON object at the
end. Ctrl-C stops the reply within one token and keeps what was generated (finish reason
``cancelled``, exit status 130); a second Ctrl-C aborts at once.

``--cache-type-k`` / ``--cache-type-v`` (f16, q8_0, q4_0) choose the KV cache's types, which the
context's memory check counts; ``--flash-attn on|off|auto``: a quantized V cache is refused with
``off`` (llama.cpp needs flash attention for it) and turns it on with ``auto``.

``--draft FILE`` decodes speculatively with a small draft model sharing the model's vocabulary
(for Fin-R1: Qwen2.5-0.5B-Instruct), ``--lookup`` with drafts taken from the conversation itself;
the reply is the same, and the metrics line says how many draft tokens were accepted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli.arg_types import at_least
from app.cli.ctrl_c import ctrl_c_cancels
from app.cli.server_option import add_server_options
from app.cli.text_input import read_stdin
from app.core.engine.api import Engine
from app.core.engine.config import (
    DEFAULT_KV_CACHE_TYPE,
    FLASH_ATTN_CHOICES,
    KV_CACHE_TYPES,
    MIN_CONTEXT,
    EngineConfig,
    GenerationSettings,
    parse_flash_attn,
    parse_gpu_layers,
)
from app.core.engine.local_engine import ChatEngine, TokenChunk, TurnResult
from app.core.engine.remote_engine import RemoteEngine
from app.core.engine.server_connection import ServerConnection
from app.core.engine.turn_metrics import TurnMetrics
from app.core.errors import InvalidFieldValueError, RemoteEngineError
from app.core.hardware.fit import choose_context
from app.core.hardware.machine import detect_machine
from app.core.reasoning.parser import AnswerText, Done, ThinkEnded, ThinkStarted, ThinkText, parse_text
from app.core.reasoning.readers import read_reply
from app.core.scenarios.scenario import Scenario
from app.core.scenarios.scenario_file import get_scenario
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError, TextInputError
from foundation.jobs import CancelToken
from quant.gguf_check import validate_gguf

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
    parser.add_argument("model", nargs="?", metavar="MODEL.gguf",
                        help="the GGUF model file (none with --server)")
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
    parser.add_argument("--device", metavar="NAME",
                        help="the llama.cpp device for the GPU layers, as `finr1 doctor` lists "
                             "it (Vulkan0, CUDA1, CPU); default: every GPU it finds")
    parser.add_argument("--ctx", type=at_least(MIN_CONTEXT), metavar="N",
                        help=f"context size in tokens (default {EngineConfig.n_ctx}); capped at "
                             "the length the model was trained for, and refused when its cache "
                             "does not fit in free memory")
    parser.add_argument("--ctx-beyond-trained", action="store_true",
                        help="allow a context longer than the model was trained for")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all)")
    parser.add_argument("--cache-type-k", choices=KV_CACHE_TYPES, default=DEFAULT_KV_CACHE_TYPE,
                        help="the K cache's type: q8_0 halves its memory, q4_0 quarters it "
                             f"(default {DEFAULT_KV_CACHE_TYPE})")
    parser.add_argument("--cache-type-v", choices=KV_CACHE_TYPES, default=DEFAULT_KV_CACHE_TYPE,
                        help="the V cache's type; q8_0 and q4_0 need flash attention "
                             f"(default {DEFAULT_KV_CACHE_TYPE})")
    parser.add_argument("--flash-attn", choices=tuple(FLASH_ATTN_CHOICES), default="auto",
                        help="flash attention: auto (llama.cpp decides, and turns it on for a "
                             "quantized V cache), on or off (default auto)")
    speculation = parser.add_mutually_exclusive_group()
    speculation.add_argument("--draft", type=Path, metavar="FILE",
                             help="speculative decoding with this small GGUF as draft model; it "
                                  "must share the model's vocabulary (for Fin-R1: "
                                  "Qwen2.5-0.5B-Instruct)")
    speculation.add_argument("--lookup", action="store_true",
                             help="speculative decoding with drafts looked up in the "
                                  "conversation (pays where the answer quotes the question)")
    parser.add_argument("--think-budget", type=at_least(1), metavar="N",
                        help="close the reasoning after N tokens and let the model answer "
                             "(default: the scenario's budget, else no limit)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the reply and metrics at the end")
    add_server_options(parser, "a model on a server",
                       "ask the model of this OpenAI-compatible server (e.g. "
                       "http://127.0.0.1:8000/v1) instead of loading MODEL.gguf")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Answer one question; returns 0, or 130 when stopped with Ctrl-C. Raises ``FinR1Error``
    subclasses for bad input (prompt, scenario fields, settings, model file) and a server's
    failures."""
    _check_positionals(args)
    scenario = get_scenario(args.scenario) if args.scenario else None
    prompt = _prompt(args, scenario)
    think_budget = args.think_budget or (scenario.think_budget if scenario else None)
    settings = GenerationSettings(max_new_tokens=args.max_tokens, seed=args.seed,
                                  temperature=args.temperature, think_budget=think_budget)
    engine: Engine
    server: RemoteEngine | None = None
    local: ChatEngine | None = None
    if args.server is not None:
        engine = server = RemoteEngine(ServerConnection(args.server, args.api_key,
                                                        args.server_model))
    else:
        config = EngineConfig(n_threads=args.threads,
                              n_gpu_layers=parse_gpu_layers(args.n_gpu_layers),
                              flash_attn=parse_flash_attn(args.flash_attn),
                              cache_type_k=args.cache_type_k, cache_type_v=args.cache_type_v,
                              device=args.device, draft_model=args.draft,
                              prompt_lookup=args.lookup)
        config = dataclasses.replace(config, n_ctx=_context_size(args, config))
        engine = local = ChatEngine(args.model, config)
    with engine:
        for warning in engine.info.warnings:
            print(f"finr1: warning: {warning}", file=sys.stderr)
        cancel = CancelToken()
        printer = None if args.json else ReplyPrinter(sys.stdout)
        with ctrl_c_cancels(cancel):
            stream = engine.stream_chat([ChatMessage("user", prompt)], settings, cancel)
            try:
                for chunk in stream:
                    if printer is not None:
                        printer.show(chunk)
            except RemoteEngineError as error:
                _keep_partial_reply(error, printer)
                raise
        result = stream.result
    verdict = _verdict(scenario, result)
    if args.json:
        reply = result_json(result, verdict)
        if server is not None:
            reply["server"] = server.info.provenance().as_record()
        if local is not None:  # where llama.cpp reported the layers to be, not where asked
            report = local.info.gpu_report
            reply["metrics"]["device"] = report.device if report else "CPU"
            reply["metrics"]["gpu_layers"] = report.gpu_layers if report else 0
        print(json.dumps(reply, ensure_ascii=False))
    else:
        if verdict is not None:
            print(f"verdict: {json.dumps(verdict, ensure_ascii=False)}")
        print(_metrics_line(result, local is not None and local.info.speculation != "off"),
              file=sys.stderr)
    return EXIT_CANCELLED if result.stopped else 0


def _check_positionals(args: argparse.Namespace) -> None:
    """Sort out the positionals: with ``--server`` there is no model file, so the one given is
    PROMPT; without it MODEL.gguf is required. Server options need ``--server``."""
    if args.server is None:
        if args.server_model:
            raise InvalidSettingError("--server-model needs --server URL")
        if args.model is None:
            raise InvalidSettingError("give MODEL.gguf, or --server URL to ask a model on a server")
        args.model = Path(args.model)
        return
    if args.prompt is not None:
        raise InvalidSettingError("with --server the server's model answers: give only PROMPT, "
                                  "no MODEL.gguf")
    args.model, args.prompt = None, args.model
    ignored = [option for option, given in (
        ("--ctx", args.ctx is not None), ("--ctx-beyond-trained", args.ctx_beyond_trained),
        ("--threads", args.threads is not None), ("--n-gpu-layers", args.n_gpu_layers != "auto"),
        ("--device", args.device is not None),
        ("--cache-type-k", args.cache_type_k != DEFAULT_KV_CACHE_TYPE),
        ("--cache-type-v", args.cache_type_v != DEFAULT_KV_CACHE_TYPE),
        ("--flash-attn", args.flash_attn != "auto"),
        ("--think-budget", args.think_budget is not None),
        ("--draft", args.draft is not None), ("--lookup", args.lookup),
    ) if given]
    if ignored:
        print(f"finr1: warning: {', '.join(ignored)} set how a model file is loaded; with --server "
              "the server's own settings apply", file=sys.stderr)


def _keep_partial_reply(error: RemoteEngineError, printer: ReplyPrinter | None) -> None:
    """The server failed mid-reply: end the printed reply, or print the ``--json`` object with
    the reply so far (``finish_reason`` "error"); the error itself is reported by the caller."""
    if error.partial_text is None:
        return
    if printer is not None:
        printer.end()
        return
    partial = {**parse_text(error.partial_text).to_dict(), "finish_reason": "error",
               "error": str(error), "verdict": None, "metrics": None}
    print(json.dumps(partial, ensure_ascii=False))


def _context_size(args: argparse.Namespace, config: EngineConfig) -> int:
    """``--ctx`` as ``app.core.hardware.fit.choose_context`` allows it for this model and machine, with
    ``config``'s GPU layers and cache types; its notes are printed as warnings."""
    choice = choose_context(validate_gguf(args.model), args.ctx, detect_machine(),
                            beyond_trained=args.ctx_beyond_trained,
                            use_gpu=config.n_gpu_layers != 0, kv_types=config.kv_cache_types)
    for note in choice.notes:
        print(f"finr1: warning: {note}", file=sys.stderr)
    return choice.n_ctx


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

    def end(self) -> None:
        """End a reply that stopped without its closing events (the server failed)."""
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


def _metrics_line(result: TurnResult, speculating: bool = False) -> str:
    """The turn's figures for standard error; ``speculating``: with the draft acceptance."""
    metrics = result.metrics
    ttft = f"{metrics.ttft_s:.2f} s" if metrics.ttft_s is not None else "-"
    rate = f"{metrics.tokens_per_s:.1f} tok/s" if metrics.tokens_per_s is not None else "-"
    return (f"[{result.finish_reason}] prompt {metrics.prompt_tokens} tok · first token {ttft} · "
            f"{rate} · think {metrics.think_tokens} tok / {metrics.think_s:.1f} s · answer "
            f"{metrics.answer_tokens} tok / {metrics.answer_s:.1f} s · seed {metrics.seed}"
            + (f" · reasoning stopped at {metrics.reasoning_stopped_at} tokens"
               if metrics.reasoning_stopped_at is not None else "")
            + (_drafts_part(metrics) if speculating else ""))


def _drafts_part(metrics: TurnMetrics) -> str:
    rate = metrics.acceptance_rate
    return (f" · drafts accepted {metrics.accepted_tokens}/{metrics.draft_tokens}"
            + (f" ({rate:.0%})" if rate is not None else ""))

