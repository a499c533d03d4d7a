"""``python -m bench``: run the benchmark suite and write a JSON file and a markdown table of
every figure.

Every benchmark is a module in bench/ keeping one contract (bench/contract.py): ``measure(argv,
*, quick)`` returns a ``BenchResult`` (its figures, each with unit, direction and target, the
command that reproduces it, details, or why it was skipped). This runner calls each one's
``measure`` in a fresh interpreter (so one's memory or threads do not colour the next, and a
crash or a hang costs only that row), and writes ``bench-<time>.json`` (every result, with the
tail of its output) and ``bench-<time>.md`` to ``--out`` (default: a ``finr1-bench`` folder in
the system's temp folder). The table has a row for every benchmark: its figures, or why it was
skipped, or how it failed.

    .venv/bin/python -m bench [--quick] [--only imatrix quantize] [--out DIR]

``--quick`` gives each benchmark its ``QUICK_ARGS`` (smaller sizes, fewer rounds: minutes instead
of an hour on two cores); quote figures from a full run. The exit status is 1 when a benchmark
failed or missed a target, else 0 (skipped ones do not count).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))
from bench.contract import BenchResult, Status, command_line  # noqa: E402
from foundation.atomic import atomic_output  # noqa: E402

# modules of bench/ that are not benchmarks: the runner, the contract, shared helpers, and the
# reference-screenshot tools (``python -m bench.ui_screenshots``), which measure nothing
NOT_BENCHMARKS = {"__init__", "__main__", "contract", "models", "ui_screenshots",
                  "setup_screenshots"}
_TAIL_CHARS = 4000
_CHILD = "from bench.contract import run_child; raise SystemExit(run_child())"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its name in the table and the module whose ``measure`` runs it."""

    name: str
    module: str


def suite() -> list[Benchmark]:
    """Every benchmark module in bench/, by name."""
    return [Benchmark(path.stem, f"bench.{path.stem}") for path in sorted(BENCH_DIR.glob("*.py"))
            if path.stem not in NOT_BENCHMARKS]


def run_one(benchmark: Benchmark, quick: bool, timeout_s: float,
            extra_args: list[str] | None = None) -> dict[str, Any]:
    """Run one benchmark's ``measure`` in a fresh interpreter; returns its record: the
    ``BenchResult`` as a dict plus ``returncode``, ``seconds`` and ``output_tail``. A benchmark
    that raises, crashes or runs past ``timeout_s`` (its whole process group is killed) is a
    failed result saying so."""
    extra_args = list(extra_args or [])
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])))
    with tempfile.TemporaryDirectory(prefix="finr1-bench-result-") as folder:
        result_file = Path(folder) / "result.json"
        command = [sys.executable, "-c", _CHILD, benchmark.module, str(result_file),
                   "quick" if quick else "full", *extra_args]
        start = time.perf_counter()
        output, status, timed_out = _run_child(command, environment, timeout_s)
        seconds = time.perf_counter() - start
        result = _read_result(result_file)
    if result is None:
        why = (f"stopped after {timeout_s:.0f} s (--timeout)" if timed_out else
               f"its process ended with status {status} before reporting a result")
        result = BenchResult.failed(benchmark.name, command_line(
            benchmark.name, ["--quick", *extra_args] if quick else extra_args), why)
    return {**result.to_dict(), "benchmark": benchmark.name, "returncode": status,
            "seconds": round(seconds, 1), "output_tail": output[-_TAIL_CHARS:]}


def _run_child(command: list[str], environment: dict[str, str],
               timeout_s: float) -> tuple[str, int, bool]:
    """(output, exit status, whether it timed out) of ``command`` in its own process group,
    which is killed on a timeout or an interrupt (a benchmark's own children go with it)."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace",
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout_s)
        return output, process.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return f"{output}\n(stopped after {timeout_s:.0f} s)", process.returncode, True
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _read_result(path: Path) -> BenchResult | None:
    try:
        return BenchResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table: a row per figure, one per benchmark skipped or failed."""
    lines = [f"# Benchmarks {report['created']}{' (quick)' if report['quick'] else ''}", "",
             f"{report['machine']}", "",
             "| benchmark | figure | value | better | target | met |",
             "| --- | --- | ---: | --- | --- | --- |"]
    for record in report["results"]:
        result = BenchResult.from_dict(record)
        if result.status is Status.SKIPPED:
            lines.append(f"| {result.name} | skipped: {_cell(result.reason)} | | | | |")
        elif result.status is Status.FAILED:
            lines.append(f"| {result.name} | **failed**: {_cell(result.reason)} | | | | |")
        for figure in result.figures:
            met = {True: "yes", False: "**no**", None: ""}[figure.met]
            lines.append(f"| {result.name} | {_cell(figure.name)} | {figure.value_text} "
                         f"| {figure.better or ''} | {figure.target_text} | {met} |")
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters (the JSON has it whole)."""
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[:limit - 1] + "…"
    return line.replace("|", "\\|")


def run_suite(benchmarks: list[Benchmark], quick: bool, timeout_s: float,
              extras: dict[str, list[str]]) -> dict[str, Any]:
    """Run ``benchmarks`` one after another; returns the report (``results``: one record each,
    see ``run_one``)."""
    report: dict[str, Any] = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"), "quick": quick,
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "results": [],
    }
    for benchmark in benchmarks:
        print(f"running {benchmark.name}…", file=sys.stderr, flush=True)
        record = run_one(benchmark, quick, timeout_s, extras.get(benchmark.name))
        print(f"  {record['status']} in {record['seconds']:.0f} s", file=sys.stderr, flush=True)
        report["results"].append(record)
    return report


def exit_status(report: dict[str, Any]) -> int:
    """1 when a benchmark failed or missed a target, else 0 (skipped ones do not count)."""
    results = [BenchResult.from_dict(record) for record in report["results"]]
    return 1 if any(result.exit_status == 1 for result in results) else 0


def write_report(report: dict[str, Any], out: Path) -> Path:
    """``bench-<time>.json`` and ``.md`` in ``out``; returns the JSON's path."""
    stem = out / f"bench-{report['created'].replace(':', '')}"
    for suffix, text in ((".json", json.dumps(report, indent=2, ensure_ascii=False, default=str)),
                         (".md", markdown(report))):
        with atomic_output(stem.with_suffix(suffix)) as partial:
            partial.write_text(text, encoding="utf-8")
    return stem.with_suffix(".json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME",
                        help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "finr1-bench")
    parser.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                        help="per benchmark (default 3600)")
    parser.add_argument("--extra", nargs=2, action="append", default=[], metavar=("NAME", "ARGS"),
                        help="more arguments for one benchmark, e.g. --extra installer_startup "
                             "'--installed /path/to/finr1-studio'")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    known = {benchmark.name for benchmark in suite()}
    unknown = sorted({*args.only, *args.skip, *(name for name, _ in args.extra)} - known)
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if args.list:
        print("\n".join(benchmark.name for benchmark in suite()))
        return 0
    chosen = [benchmark for benchmark in suite()
              if (not args.only or benchmark.name in args.only) and benchmark.name not in args.skip]
    extras: dict[str, list[str]] = {}
    for name, text in args.extra:
        extras.setdefault(name, []).extend(shlex.split(text))
    report = run_suite(chosen, args.quick, args.timeout, extras)
    path = write_report(report, args.out)
    print(markdown(report))
    print(f"written: {path} and {path.with_suffix('.md')}", file=sys.stderr)
    return exit_status(report)


if __name__ == "__main__":
    raise SystemExit(main())
