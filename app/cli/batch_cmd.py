"""``finr1 batch --scenario ID --input FILE -o results.xlsx|results.csv``: a scenario's question for
every row of a CSV or XLSX table, answered by one or more models, scored and exported.

The table's columns fill the scenario's fields, matched by their header names (Chinese or
English, ``app.core.batch.mapping``); ``--map FIELD=COLUMN`` changes a match, ``--expected
COLUMN`` names the expected answers (found by name too: "expected", "标准答案"…; ``--expected ""``
scores nothing), which turns the run into an evaluation. ``--preview`` prints the mapping and the
first row's question and stops. Each ``--model FILE.gguf`` and ``--server URL`` answers every
row, one engine loaded after the other, so two quants (or a local model and a server) are
compared: accuracy and tokens per second for each, how often they agree.

Each finished row is a conversation in the history at once (``finr1 history list``, ``finr1 export
ID``). Ctrl-C stops within a token; the same command with ``--resume`` continues the run from its
first unfinished row, as it does after a crash or a kill. The results file is written when every
row is answered (and again by ``--resume`` on a finished run).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.cli.arg_types import at_least
from app.cli.ctrl_c import ctrl_c_cancels
from app.cli.progress_bar import ProgressBar
from app.cli.server_option import add_server_options
from app.core.batch.mapping import (
    ColumnMapping,
    check_mapping,
    parse_assignments,
    suggest_mapping,
)
from app.core.batch.results_export import RESULT_FORMATS, provenance_path, write_results
from app.core.batch.runner import BatchOutcome, BatchPlan, EngineChoice, open_run, run_batch
from app.core.batch.scoring import DEFAULT_TOLERANCE
from app.core.batch.store import BatchStore
from app.core.batch.table_reader import InputTable, read_table
from app.core.engine.api import Engine
from app.core.engine.config import MIN_CONTEXT, EngineConfig, GenerationSettings, parse_gpu_layers
from app.core.engine.local_engine import ChatEngine
from app.core.engine.remote_engine import RemoteEngine
from app.core.engine.server_connection import ServerConnection
from app.core.errors import ExportError
from app.core.hardware.fit import choose_context
from app.core.hardware.machine import detect_machine
from app.core.history.provenance import identify_model
from app.core.scenarios.scenario import Scenario
from app.core.scenarios.scenario_file import get_scenario
from foundation.errors import InvalidSettingError
from foundation.job_rate import RateMeter
from foundation.jobs import CancelToken, Progress, ProgressCallback
from quant.gguf_check import validate_gguf

EXIT_STOPPED = 130
_DEFAULTS = GenerationSettings()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand."""
    parser = subparsers.add_parser(
        "batch", help="run a scenario over every row of a CSV/XLSX table, score and export",
        description="Ask a scenario's question for every row of a CSV or XLSX table, with one "
                    "or more models; each row is saved to the history as it finishes, and the "
                    "results (reading, score, reasoning, answer) go to an XLSX or CSV file.")
    parser.add_argument("--scenario", required=True, metavar="ID", help="the scenario to run")
    parser.add_argument("--input", required=True, type=Path, metavar="FILE",
                        help="the table: .csv (UTF-8 or GBK) or .xlsx")
    parser.add_argument("--sheet", metavar="NAME", help="the workbook's sheet (default: first)")
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                        help="fill scenario field FIELD from column COLUMN (repeatable; "
                             "overrides the match by header names)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="give field FIELD the value VALUE in every row (repeatable), e.g. "
                             "--set scale=level for the risk scenario")
    parser.add_argument("--expected", metavar="COLUMN",
                        help='the column of expected answers, to score the replies ("" for none; '
                             "default: a column named like expected/answer/标准答案)")
    parser.add_argument("--model", action="append", default=[], type=Path, metavar="FILE.gguf",
                        help="a GGUF model to answer every row (repeatable: models run one "
                             "after the other and are compared)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="RESULTS",
                        help="the results file: .xlsx or .csv")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run made by the same command (after Ctrl-C, a crash "
                             "or a kill) instead of starting a new one")
    parser.add_argument("--preview", action="store_true",
                        help="print the column mapping and the first row's question, then stop")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help="language of the scenario's prompt (default zh)")
    parser.add_argument("--max-tokens", type=at_least(1), default=_DEFAULTS.max_new_tokens,
                        metavar="N", help=f"longest reply in tokens (default "
                                          f"{_DEFAULTS.max_new_tokens})")
    parser.add_argument("--seed", type=int, metavar="N", help="fixed seed: reproducible replies")
    parser.add_argument("--temperature", type=float, default=_DEFAULTS.temperature, metavar="X",
                        help=f"sampling temperature, 0 = greedy (default {_DEFAULTS.temperature})")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, metavar="X",
                        help="how close numbers must be to count as the same answer: relative "
                             f"(default {DEFAULT_TOLERANCE} = 1%%; ESG scores: of the scale)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all)")
    parser.add_argument("--ctx", type=at_least(MIN_CONTEXT), metavar="N",
                        help=f"context size in tokens (default {EngineConfig.n_ctx}, capped at "
                             "the model's trained length and at what fits in memory)")
    parser.add_argument("--n-gpu-layers", default="auto", metavar="N|auto",
                        help="layers on the GPU: auto (as many as fit), 0 (CPU), -1 (all) or N")
    add_server_options(parser, "a model on a server (answers after the --model files)",
                       "an OpenAI-compatible server whose model answers every row")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run (or continue) the batch and write the results; 0 when every row is answered, 130
    when stopped with Ctrl-C. Raises ``FinR1Error`` subclasses for bad input, settings, models
    and a server's failures."""
    if args.output.suffix.lower() not in RESULT_FORMATS:
        raise ExportError(f"the results are written as .xlsx or .csv, not {args.output.name!r}")
    if args.server is None and args.server_model:
        raise InvalidSettingError("--server-model needs --server URL")
    scenario = get_scenario(args.scenario)
    table = read_table(args.input, args.sheet)
    mapping = _mapping(args, scenario, table)
    settings = GenerationSettings(max_new_tokens=args.max_tokens, seed=args.seed,
                                  temperature=args.temperature)
    _print_mapping(scenario, table, mapping)
    check_mapping(scenario, table, mapping)  # before any model is hashed or loaded
    if args.preview:
        print(BatchPlan(scenario, table, mapping, settings, (), args.lang).prompt(0))
        return 0
    plan = BatchPlan(scenario, table, mapping, settings, _engines(args), args.lang,
                     args.tolerance)
    with BatchStore.open_default() as store:
        run_id = open_run(store, plan, resume=args.resume)
        print(f"batch run {run_id}: {len(table)} rows × {len(plan.engines)} engine(s); every "
              f"finished row is saved to {store.path}", file=sys.stderr)
        cancel = CancelToken()
        with ctrl_c_cancels(cancel):
            outcome = run_batch(store, plan, run_id, cancel=cancel,
                                on_progress=_progress_with_time_left(ProgressBar()))
    if outcome.stopped:
        done = sum(row.finished for row in outcome.rows)
        print(f"finr1: stopped with {done} of {len(table) * len(plan.engines)} rows answered; "
              "the same command with --resume continues the run", file=sys.stderr)
        return EXIT_STOPPED
    write_results(args.output, outcome, table, scenario)
    _print_summary(outcome, plan, args.output)
    return 0


def _mapping(args: argparse.Namespace, scenario: Scenario, table: InputTable) -> ColumnMapping:
    constants = parse_assignments(args.set, "--set")
    suggested = suggest_mapping(scenario, table.headers)
    mapping = ColumnMapping({name: column for name, column in suggested.fields.items()
                             if name not in constants}, suggested.expected, constants)
    mapping = mapping.with_changes(parse_assignments(args.map))
    if args.expected is not None:
        mapping = ColumnMapping(mapping.fields, args.expected or None, mapping.constants)
    return mapping


def _print_mapping(scenario: Scenario, table: InputTable, mapping: ColumnMapping) -> None:
    for field in scenario.fields:
        column = mapping.fields.get(field.name)
        if field.name in mapping.constants:
            shown = f"{mapping.constants[field.name]!r} in every row"
        else:
            shown = repr(column) if column is not None else "(no column: left empty)"
        print(f"  {field.name} ← {shown}", file=sys.stderr)
    if mapping.expected is not None:
        print(f"  expected answers ← {mapping.expected!r}", file=sys.stderr)
    unused = [h for h in table.headers
              if h not in mapping.fields.values() and h != mapping.expected]
    if unused:
        print(f"  columns carried to the results only: {', '.join(unused)}", file=sys.stderr)


def _engines(args: argparse.Namespace) -> tuple[EngineChoice, ...]:
    if not args.model and args.server is None:
        raise InvalidSettingError("give --model FILE.gguf (one or more) or --server URL to "
                                  "answer the rows")
    engines = [_local_engine(args, path) for path in args.model]
    if args.server is not None:
        connection = ServerConnection(args.server, args.api_key, args.server_model)
        engines.append(EngineChoice(
            args.server_model or f"server {connection.base_url}",
            {"engine": "server", "server_url": connection.base_url,
             "server_model": args.server_model},
            lambda: RemoteEngine(connection)))
    return tuple(engines)


def _local_engine(args: argparse.Namespace, path: Path) -> EngineChoice:
    gpu_layers = parse_gpu_layers(args.n_gpu_layers)
    choice = choose_context(validate_gguf(path), args.ctx, detect_machine(),
                            use_gpu=gpu_layers != 0)
    for note in choice.notes:
        print(f"finr1: warning: {path.name}: {note}", file=sys.stderr)
    config = EngineConfig(n_ctx=choice.n_ctx, n_threads=args.threads, n_gpu_layers=gpu_layers)
    print(f"finr1: identifying {path.name} (SHA-256)…", file=sys.stderr)
    provenance = identify_model(path)
    label = path.name if not provenance.quant else f"{path.name} ({provenance.quant})"

    def load() -> contextlib.AbstractContextManager[Engine]:
        engine = ChatEngine(path, config)
        for warning in engine.info.warnings:
            print(f"finr1: warning: {path.name}: {warning}", file=sys.stderr)
        return engine

    return EngineChoice(label, provenance.as_record(), load)


def _progress_with_time_left(bar: ProgressCallback) -> Callable[[Progress], None]:
    """``bar`` with the time left, measured from the rows' own rate, after each message."""
    meter = RateMeter()

    def report(progress: Progress) -> None:
        meter.observe(progress.done, progress.total)
        left = meter.seconds_left()
        if left is not None:
            seconds = int(left)
            progress = replace(progress, message=f"{progress.message}, {seconds // 3600}:"
                                                 f"{seconds // 60 % 60:02d}:{seconds % 60:02d} left")
        bar(progress)

    return report


def _print_summary(outcome: BatchOutcome, plan: BatchPlan, output: Path) -> None:
    written = str(output)
    if output.suffix.lower() == ".csv":
        written += f" (and {provenance_path(output).name})"
    print(f"batch run {outcome.run.id} done → {written}")
    for choice, figures in zip(plan.engines, outcome.scores, strict=True):
        parts = [f"{figures.rows_done} answered", f"{figures.rows_failed} failed"]
        if figures.accuracy is not None:
            parts.append(f"accuracy {figures.accuracy:.1%} ({figures.rows_correct}/"
                         f"{figures.rows_scored})")
        if figures.tokens_per_s is not None:
            parts.append(f"{figures.tokens_per_s:.1f} tok/s")
        print(f"  {choice.label}: {', '.join(parts)}")
    if len(plan.engines) > 1 and outcome.agreement.rate is not None:
        print(f"  agreement: {outcome.agreement.rate:.1%} of {len(outcome.agreement.per_row)} "
              "rows answered by every engine")
    print("each row is a conversation in the history: finr1 history list, finr1 export ID")
