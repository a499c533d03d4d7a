"""``python -m bench``: run the benchmark suite and write a JSON file and a markdown table of ratios.

Each benchmark is a script in bench/ that measures the app against a baseline in the same run and
prints its ratios. This runner starts each one in its own process (so one's memory or threads do
not colour the next), reads the ratios from its output, and writes ``bench-<time>.json`` and
``bench-<time>.md`` to ``--out`` (default: a ``finr1-bench`` folder in the system's temp folder).
Scripts it has no reader for still run; their output is kept, without ratios.

    .venv/bin/python -m bench [--quick] [--only imatrix quantize] [--out DIR]

``--quick`` passes each benchmark smaller sizes and fewer rounds (minutes instead of an hour on
two cores); quote figures from a full run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
NOT_BENCHMARKS = {"__init__.py", "__main__.py", "models.py", "ui_screenshots.py"}
_TAIL_CHARS = 4000

Ratio = dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    """How to run one script and read its ratios from what it prints."""

    name: str
    quick_args: tuple[str, ...] = ()
    read_ratios: Callable[[str], list[Ratio]] = field(default=lambda _output: [])
    json_output: bool = False
    needs: str | None = None  # arguments it cannot run without (given with --extra)


def _ratio(name: str, value: str | float, target: str | None = None,
           met: bool | None = None) -> Ratio:
    return {"name": name, "value": float(value), "target": target, "met": met}


def _convert_ratios(output: str) -> list[Ratio]:
    ratios = []
    if found := re.search(r"throughput ratio convert/cp: ([\d.]+) \(target ≥ ([\d.]+)\)", output):
        ratios.append(_ratio("convert throughput / cp", found[1], f">= {found[2]}",
                             float(found[1]) >= float(found[2])))
    if found := re.search(r"= largest tensor \+ (-?[\d.]+) GB \(target ≤ largest tensor \+ ([\d.]+)",
                          output):
        ratios.append(_ratio("convert peak RSS above largest tensor (GB)", found[1],
                             f"<= {found[2]}", float(found[1]) <= float(found[2])))
    return ratios


def _parser_ratios(output: str) -> list[Ratio]:
    ratios = []
    if found := re.search(r"parser cost per chunk = ([\d.]+) x plain concatenation", output):
        ratios.append(_ratio("parser cost per chunk / str concatenation", found[1]))
    if found := re.search(r"^parser:.*per-chunk time\s+([\d.]+)", output, re.MULTILINE):
        ratios.append(_ratio("parser per-chunk time, last 10% / first 10%", found[1]))
    return ratios


def _gguf_check_ratios(output: str) -> list[Ratio]:
    ratios, label = [], ""
    for line in output.splitlines():
        if header := re.match(r"^(\S.*?): [\d.]+ GB, ", line):
            label = header[1]
        elif found := re.match(r"^\s+validate_gguf\s*:.*=\s*([\d.]+)× baseline", line):
            ratios.append(_ratio(f"validate_gguf / read 1 MiB ({label})", found[1]))
    return ratios


def _engine_ratios(output: str) -> list[Ratio]:
    found = re.search(r"engine/bare ratio: median of pairs ([\d.]+).*target >= ([\d.]+)", output)
    if not found:
        return []
    return [_ratio("engine decode speed / bare llama-cpp-python loop", found[1],
                   f">= {found[2]}", float(found[1]) >= float(found[2]))]


def _download_ratios(output: str) -> list[Ratio]:
    return [_ratio(f"download {found[1].strip()} / raw socket", found[2]) for found in
            re.finditer(r"^\s+(\S.*?)\s+[\d.]+ MB/s\s+([\d.]+) × raw socket", output, re.MULTILINE)]


def _startup_ratios(output: str) -> list[Ratio]:
    found = re.search(r"installed / source: ([\d.]+)", output)
    return [_ratio("GUI start, installed / from source", found[1])] if found else []


def _render_ratios(output: str) -> list[Ratio]:
    ratios = []
    if found := re.search(r"^\d+ tok/s: \d+ tokens[^\n]*= ([\d.]+) % of one core", output, re.MULTILINE):
        ratios.append(_ratio("chat view rendering at 100 tok/s (% of one core)", found[1], "<= 5",
                             float(found[1]) <= 5))
    if found := re.search(r"CPU ratio \d+ / \d+ tokens: ([\d.]+)", output):
        ratios.append(_ratio("render cost, 2x tokens / 1x tokens", found[1], "<= 2.2",
                             float(found[1]) <= 2.2))
    if found := re.search(r"cold start to first paint.*ratio ([\d.]+)", output):
        ratios.append(_ratio("GUI cold start / bare PySide6 window", found[1], "<= 1.5",
                             float(found[1]) <= 1.5))
    return ratios


def _fit_ratios(output: str) -> list[Ratio]:
    found = re.search(r"largest error: ([\d.]+)%", output)
    if not found:
        return []
    return [_ratio("fit estimate, largest error (%)", found[1], "<= 15", float(found[1]) <= 15)]


def _serve_ratios(output: str) -> list[Ratio]:
    ratios = []
    if found := re.search(r"http/in-process ratio: median of pairs ([\d.]+).*target >= ([\d.]+)",
                          output):
        ratios.append(_ratio("HTTP streamed decode speed / in-process engine", found[1],
                             f">= {found[2]}", float(found[1]) >= float(found[2])))
    if found := re.search(r"^TTFB p99 / ideal FIFO wait .*: ([\d.]+)$", output, re.MULTILINE):
        ratios.append(_ratio("time to first byte p99, queued clients / ideal FIFO wait", found[1]))
    return ratios


def _finr1_shape_ratios(output: str) -> list[Ratio]:
    ratios = []
    if found := re.search(r"predicted/measured decode: median ([\d.]+)", output):
        ratios.append(_ratio("Fin-R1-shaped decode, predicted / measured (median)", found[1]))
    if found := re.search(r"decode share of the probe's bandwidth: median ([\d.]+)", output):
        ratios.append(_ratio("Fin-R1-shaped decode bandwidth / probe bandwidth", found[1]))
    return ratios


def _kv_cache_ratios(output: str) -> list[Ratio]:
    if found := re.search(r"KV cache against llama.cpp's report: largest error ([\d.]+)%", output):
        return [_ratio("KV cache estimate vs llama.cpp's report, largest error (%)", found[1],
                       "<= 1", float(found[1]) <= 1)]
    return []


BENCHMARKS = (
    Benchmark("engine_overhead", ("--tokens", "64", "--runs", "5"), _engine_ratios),
    Benchmark("serve", ("--tokens", "64", "--runs", "3", "--rounds", "1"), _serve_ratios),
    Benchmark("convert", ("--gb", "0.5", "--rounds", "1"), _convert_ratios),
    Benchmark("quantize", ("--types", "q4_k_m", "--rounds", "1"), json_output=True),
    Benchmark("imatrix", ("--chunks", "2", "--rounds", "1"), json_output=True),
    Benchmark("quant_quality", ("--imatrix-chunks", "8", "--eval-chunks", "4", "--ctx", "256"),
              json_output=True),
    Benchmark("gguf_check", ("--repeats", "5"), _gguf_check_ratios),
    Benchmark("parser", ("--tokens", "2000", "--repeats", "5", "--no-naive"), _parser_ratios),
    Benchmark("download", ("--mb", "64", "--rounds", "1"), _download_ratios),
    Benchmark("fit_memory", (), _fit_ratios),
    Benchmark("kv_cache", ("--ctx", "2048", "--fill", "1024", "--tokens", "16"), _kv_cache_ratios),
    Benchmark("finr1_shape", ("--layers", "1", "--scale", "0.5", "--types", "q4_k_m", "--threads",
                              "1"), _finr1_shape_ratios,
              needs="--workdir DIR-WITH-40GB-FREE (the full run; --quick still needs a workdir)"),
    Benchmark("render", ("--tokens", "1000", "--starts", "3"), _render_ratios),
    Benchmark("installer_startup", ("--runs", "3"), _startup_ratios,
              needs="--installed PATH-TO-finr1-studio"),
)


def suite() -> list[Benchmark]:
    """The known benchmarks present in bench/, then any other script there, by name."""
    present = {path.stem for path in BENCH_DIR.glob("*.py") if path.name not in NOT_BENCHMARKS}
    known = [benchmark for benchmark in BENCHMARKS if benchmark.name in present]
    others = sorted(present - {benchmark.name for benchmark in BENCHMARKS})
    return known + [Benchmark(name) for name in others]


def run_one(benchmark: Benchmark, quick: bool, timeout_s: float,
            extra_args: list[str] | None = None) -> dict[str, Any]:
    """Run one benchmark script in a fresh interpreter; returns its record."""
    args = [*(benchmark.quick_args if quick else ()), *(extra_args or [])]
    if benchmark.needs and not extra_args:
        return {"benchmark": benchmark.name, "args": args, "returncode": None, "seconds": 0.0,
                "ratios": [], "output_tail": f"skipped: needs --extra {benchmark.name} "
                                              f"'{benchmark.needs}'"}
    if benchmark.json_output:
        command = [sys.executable, "-c",
                   f"import json; from bench.{benchmark.name} import measure; "
                   f"print(json.dumps(measure({args!r})))"]
    else:
        command = [sys.executable, str(BENCH_DIR / f"{benchmark.name}.py"), *args]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])))
    start = time.perf_counter()
    try:
        finished = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
        output, status = finished.stdout + finished.stderr, finished.returncode
    except subprocess.TimeoutExpired as expired:
        output = f"{_text(expired.stdout)}{_text(expired.stderr)}\n(stopped after {timeout_s:.0f} s)"
        status = -1
    seconds = time.perf_counter() - start
    ratios = _json_ratios(output) if benchmark.json_output else benchmark.read_ratios(output)
    return {"benchmark": benchmark.name, "args": args, "returncode": status,
            "seconds": round(seconds, 1), "ratios": ratios, "output_tail": output[-_TAIL_CHARS:]}


def _text(captured: str | bytes | None) -> str:
    # a timed-out run's captured output can be bytes even in text mode
    if isinstance(captured, bytes):
        return captured.decode("utf-8", errors="replace")
    return captured or ""


def _json_ratios(output: str) -> list[Ratio]:
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)["ratios"]
    return []


def markdown(report: dict[str, Any]) -> str:
    """The report's ratios as a markdown table."""
    lines = [f"# Benchmarks {report['created']}{' (quick)' if report['quick'] else ''}", "",
             f"{report['machine']}", "",
             "| benchmark | measure | ratio | target | met |", "| --- | --- | --- | --- | --- |"]
    for result in report["results"]:
        if not result["ratios"]:
            state = ("skipped" if result["output_tail"].startswith("skipped") else
                     "failed" if result["returncode"] != 0 else "no ratio read")
            lines.append(f"| {result['benchmark']} | ({state}; see the JSON) | | | |")
        for ratio in result["ratios"]:
            met = {True: "yes", False: "**no**", None: ""}[ratio["met"]]
            lines.append(f"| {result['benchmark']} | {ratio['name']} | {ratio['value']:.3f} "
                         f"| {ratio['target'] or ''} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "finr1-bench")
    parser.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                        help="per benchmark (default 3600)")
    parser.add_argument("--extra", nargs=2, action="append", default=[], metavar=("NAME", "ARGS"),
                        help="more arguments for one benchmark, e.g. --extra installer_startup "
                             "'--installed /path/to/finr1-studio'")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    chosen = [benchmark for benchmark in suite()
              if (not args.only or benchmark.name in args.only) and benchmark.name not in args.skip]
    if args.list or not chosen:
        print("\n".join(benchmark.name for benchmark in suite()))
        return 0 if chosen or args.list else 2
    report: dict[str, Any] = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"), "quick": args.quick,
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "results": [],
    }
    for benchmark in chosen:
        print(f"running {benchmark.name}…", file=sys.stderr, flush=True)
        extra = [arg for name, text in args.extra if name == benchmark.name
                 for arg in shlex.split(text)]
        report["results"].append(run_one(benchmark, args.quick, args.timeout, extra))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"bench-{report['created'].replace(':', '')}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False),
                                         encoding="utf-8")
    table = markdown(report)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    print(f"written: {stem}.json and {stem}.md", file=sys.stderr)
    # None: skipped for want of arguments, not a failure
    return 0 if all(result["returncode"] in (0, None) for result in report["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
