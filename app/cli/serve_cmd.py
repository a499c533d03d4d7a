"""``finr1 serve [MODEL] [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--model-name Fin-R1]``.

Loads MODEL (a GGUF file, a library model id, or by default the model the window loaded last) and
serves it as an OpenAI-compatible API until Ctrl-C, so scripts written for vLLM serving Fin-R1
(``OpenAI(base_url="http://127.0.0.1:8000/v1").chat.completions.create(model="Fin-R1", …)``) run
against it unchanged. It listens on 127.0.0.1 unless told otherwise, and any other address needs
an API key (``--api-key`` or ``$FINR1_API_KEY``). One line per request goes to stderr: method,
path, status, tokens and timings, never the prompt unless ``--log-prompts``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.arg_types import at_least
from app.cli.library_option import add_library_option, open_library
from app.core.engine.config import MIN_CONTEXT, EngineConfig, GpuLayers, parse_gpu_layers
from app.core.engine.local_engine import ChatEngine
from app.core.engine.turn_queue import EngineQueue
from app.core.hardware.fit import choose_context
from app.core.hardware.machine import detect_machine
from app.core.installation.settings import load_settings
from app.core.serve.config import REASONING_FORMATS, ServeConfig
from foundation.errors import InvalidSettingError
from quant.gguf_check import validate_gguf

if TYPE_CHECKING:
    from app.core.serve.request_log import RequestRecord
    from app.core.serve.server import ApiServer

_DEFAULTS = ServeConfig()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="serve a model as an OpenAI-compatible API (like vllm serve)",
        description="Serve MODEL as an OpenAI-compatible API: GET /v1/models, POST "
                    "/v1/chat/completions and POST /v1/completions, streamed or not. Requests "
                    "queue first come, first served on the one loaded model.",
    )
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="a .gguf file or a library model id (default: the model the window "
                             "loaded last)")
    parser.add_argument("--host", default=_DEFAULTS.host,
                        help=f"address to listen on (default {_DEFAULTS.host}, this computer "
                             "only; any other address needs --api-key)")
    parser.add_argument("--port", type=at_least(0), default=_DEFAULTS.port,
                        help=f"port (default {_DEFAULTS.port}; 0 = any free port)")
    parser.add_argument("--api-key", default=os.environ.get("FINR1_API_KEY") or None,
                        metavar="KEY", help="key clients must send as 'Authorization: Bearer "
                                            "KEY' (default: $FINR1_API_KEY, else none)")
    parser.add_argument("--model-name", default=_DEFAULTS.model_name, metavar="NAME",
                        help=f"the model name clients ask for (default {_DEFAULTS.model_name})")
    parser.add_argument("--reasoning-format", choices=REASONING_FORMATS,
                        default=_DEFAULTS.reasoning_format,
                        help="none: the reply's <think>…</think> stays in the content, as vLLM "
                             "returns it (default); deepseek: the reasoning comes apart in "
                             "reasoning_content. A request may ask with 'reasoning_format'.")
    parser.add_argument("--max-queue", type=at_least(0), default=_DEFAULTS.max_waiting,
                        metavar="N", help="requests that may wait behind the one generating; "
                                          f"more get HTTP 429 (default {_DEFAULTS.max_waiting})")
    parser.add_argument("--max-reply-tokens", type=at_least(1), metavar="N",
                        help="cap every reply at N tokens, whatever a request asks")
    parser.add_argument("--max-request-bytes", type=at_least(1024),
                        default=_DEFAULTS.max_request_bytes, metavar="N",
                        help=f"largest request body (default {_DEFAULTS.max_request_bytes})")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="let web pages from ORIGIN (https://host) call the API from a "
                             "browser (repeatable; default: none)")
    parser.add_argument("--log-prompts", action="store_true",
                        help="also log each request's prompt and reply texts (off by default: "
                             "prompts may be confidential)")
    engine = parser.add_argument_group("how the model is loaded")
    engine.add_argument("--ctx", type=at_least(MIN_CONTEXT), metavar="N",
                        help=f"context size in tokens (default {EngineConfig.n_ctx}), prompt and "
                             "reply together; capped at what the model was trained for")
    engine.add_argument("--ctx-beyond-trained", action="store_true",
                        help="allow a context longer than the model was trained for")
    engine.add_argument("--threads", type=at_least(1), metavar="N",
                        help="CPU threads (default: all)")
    engine.add_argument("--n-gpu-layers", default="auto", metavar="N|auto",
                        help="layers on the GPU: auto (as many as fit), 0 (CPU), -1 (all) or N")
    add_library_option(engine)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; returns 0. Raises ``FinR1Error`` subclasses for a bad model, setting,
    an address that needs a key, or a port that cannot be bound."""
    config = ServeConfig(
        host=args.host, port=args.port, api_key=args.api_key, model_name=args.model_name,
        max_waiting=args.max_queue, max_request_bytes=args.max_request_bytes,
        cors_origins=tuple(args.cors_origin), reasoning_format=args.reasoning_format,
        log_prompts=args.log_prompts, max_reply_tokens=args.max_reply_tokens,
    )
    model_path = _model_path(args)
    gpu_layers = parse_gpu_layers(args.n_gpu_layers)
    engine_config = EngineConfig(n_ctx=_context_size(args, model_path, gpu_layers),
                                 n_threads=args.threads, n_gpu_layers=gpu_layers)
    print(f"finr1: loading {model_path.name}…", file=sys.stderr, flush=True)
    with ChatEngine(model_path, engine_config) as engine:
        for warning in engine.info.warnings:
            print(f"finr1: warning: {warning}", file=sys.stderr)
        from app.core.serve.server import ApiServer  # the web stack, only for this command

        server = ApiServer(EngineQueue(engine, config.max_waiting), config, _print_record)
        server.serve_forever(lambda: print(announce(server), file=sys.stderr, flush=True))
    print("finr1: server stopped", file=sys.stderr)
    return 0


def announce(server: ApiServer) -> str:
    """The line saying where the server listens and how to call it."""
    key_note = "API key required" if server.config.api_key else "no API key"
    return (f"finr1: serving {server.config.model_name} at {server.url} ({key_note}); "
            "Ctrl-C stops")


def _print_record(record: RequestRecord) -> None:
    print(record.line(), file=sys.stderr, flush=True)


def _model_path(args: argparse.Namespace) -> Path:
    """MODEL as a file when it is one (or ends in .gguf), else as a library model id; without
    MODEL, the model the window loaded last."""
    if args.model is None:
        last = load_settings().last_model
        if not last:
            raise InvalidSettingError(
                "give MODEL: a .gguf file or a library model id (see finr1 models list)")
        return Path(last)
    candidate = Path(args.model)
    if candidate.suffix.lower() == ".gguf" or candidate.exists():
        return candidate
    with open_library(args) as library:
        return library.path_for_use(args.model)


def _context_size(args: argparse.Namespace, model_path: Path, gpu_layers: GpuLayers) -> int:
    choice = choose_context(validate_gguf(model_path), args.ctx, detect_machine(),
                            beyond_trained=args.ctx_beyond_trained, use_gpu=gpu_layers != 0)
    for note in choice.notes:
        print(f"finr1: warning: {note}", file=sys.stderr)
    return choice.n_ctx
