"""The benchmark suite (``python -m bench`` / ``finr1 bench``) and the one contract its benchmarks
keep (bench/contract.py). The real benchmarks are slow and timed, so they are not run here, but
for one cheap one; the suite's handling of a benchmark that is skipped, raises, crashes or hangs
is shown on small benchmark modules written for the test, run in real child processes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from app.cli import main as cli_main
from bench.__main__ import (
    NOT_BENCHMARKS,
    Benchmark,
    exit_status,
    markdown,
    run_one,
    run_suite,
    suite,
)
from bench.contract import (
    RATIO,
    BenchFailed,
    BenchResult,
    BenchRun,
    Figure,
    Status,
    cli,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Imports every benchmark module in a fresh interpreter (some prepare Qt or load llama.cpp on
# import) and prints what each exposes of the contract.
_INSPECT_MODULES = """
import importlib, inspect, json, sys
report = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(f"bench.{name}")
    except Exception as error:
        report[name] = {"import_error": f"{type(error).__name__}: {error}"}
        continue
    measure = getattr(module, "measure", None)
    parameters = inspect.signature(measure).parameters if callable(measure) else {}
    report[name] = {
        "measure": [(p.name, p.kind.name) for p in parameters.values()],
        "main": callable(getattr(module, "main", None)),
        "quick_args": getattr(module, "QUICK_ARGS", None),
    }
print(json.dumps(report))
"""


def test_the_suite_finds_every_benchmark_module() -> None:
    names = [benchmark.name for benchmark in suite()]
    modules = {path.stem for path in (REPO_ROOT / "bench").glob("*.py")}
    assert set(names) == modules - NOT_BENCHMARKS
    assert {"imatrix", "quantize", "engine_overhead", "extract", "batch", "serve", "gpu",
            "kv_cache", "finr1_shape", "prompt_reuse", "load_probe"} <= set(names)
    assert "setup_screenshots" not in names  # a screenshot tool, not a benchmark


def test_every_benchmark_module_exposes_measure_main_and_quick_args() -> None:
    names = [benchmark.name for benchmark in suite()]
    found = subprocess.run([sys.executable, "-c", _INSPECT_MODULES, *names], cwd=REPO_ROOT,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                                "PYTHONPATH": str(REPO_ROOT)},
                           capture_output=True, text=True, check=True, timeout=300)
    report = json.loads(found.stdout.strip().splitlines()[-1])
    broken = {name: entry for name, entry in report.items()
              if "import_error" in entry or entry["measure"][:1] != [["argv", "POSITIONAL_OR_KEYWORD"]]
              or ["quick", "KEYWORD_ONLY"] not in entry["measure"] or not entry["main"]
              or not isinstance(entry["quick_args"], list)}
    assert not broken, f"benchmarks that break bench/contract.py's contract: {broken}"


def test_a_figures_target_follows_its_direction() -> None:
    assert Figure("speed ratio", 0.98, RATIO, "higher", 0.97).met is True
    assert Figure("speed ratio", 0.96, RATIO, "higher", 0.97).met is False
    assert Figure("error", 16.0, "%", "lower", 15).met is False
    assert Figure("error", 15.0, "%", "lower", 15).target_text == "<= 15"
    assert Figure("ratio near 1", 1.2, RATIO).met is None
    assert Figure("remembered / first probe", 0.000123, RATIO).value_text == "0.000123 ×"
    with pytest.raises(ValueError, match="a target needs"):
        Figure("a target with no direction", 1.0, RATIO, None, 1.0)


def test_a_result_survives_its_json_form() -> None:
    result = BenchResult("serve", Status.OK, "python -m bench.serve --runs 3",
                         (Figure("HTTP / in-process", 0.98, RATIO, "higher", 0.95),
                          Figure("cost per token", 12.5, "µs", "lower")), {"tokens": 64})
    assert BenchResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert result.headline == result.figures[0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    return parser


def test_quick_sizes_go_first_so_given_options_win_and_the_command_says_so() -> None:
    run = BenchRun("serve", _parser(), ["--runs", "9"], quick=True,
                   quick_args=("--tokens", "64", "--runs", "3"))
    assert (run.args.tokens, run.args.runs) == (64, 9)
    assert run.command.endswith("-m bench.serve --tokens 64 --runs 3 --runs 9")
    from_the_command_line = BenchRun("serve", _parser(), ["--quick"], quick_args=("--tokens", "64"))
    assert from_the_command_line.args.tokens == 64
    assert "--quick" not in from_the_command_line.command
    assert BenchRun("serve", _parser(), [], quick_args=("--tokens", "64")).args.tokens == 128


def _measuring(figure: Figure | None = None, skip: str = "", fail: str = ""):
    def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
        run = BenchRun("example", _parser(), argv, quick=quick)
        if fail:
            raise BenchFailed(fail)
        return run.skipped(skip) if skip else run.result([figure] if figure else [])
    return measure


def test_a_benchmarks_command_line_exit_status_says_met_missed_skipped_or_failed(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(_measuring(Figure("ratio", 1.0, RATIO, "higher", 0.97)), []) == 0
    assert "ratio: 1.000 ×  (target >= 0.97: met)" in capsys.readouterr().out
    assert cli(_measuring(Figure("ratio", 0.5, RATIO, "higher", 0.97)), []) == 1
    assert cli(_measuring(skip="needs a GPU"), []) == 2
    assert "skipped: needs a GPU" in capsys.readouterr().err
    assert cli(_measuring(fail="the paths generated different tokens"), []) == 1
    assert "failed: the paths generated different tokens" in capsys.readouterr().err
    assert cli(_measuring(), []) == 1  # a result with no figure is a failure, not a silent row


_FAKE_BENCHMARKS = {
    "fake_measured": """
        def measure(argv=None, *, quick=False):
            run = BenchRun("fake_measured", argparse.ArgumentParser(), argv, quick=quick,
                           quick_args=QUICK_ARGS)
            return run.result([Figure("app / baseline", 0.99, RATIO, "higher", 0.95)])
    """,
    "fake_skipped": """
        def measure(argv=None, *, quick=False):
            return BenchRun("fake_skipped", argparse.ArgumentParser(), argv).skipped(
                "needs a GPU device")
    """,
    "fake_raises": """
        def measure(argv=None, *, quick=False):
            raise RuntimeError("decode failed at token 7")
    """,
    "fake_crashes": """
        def measure(argv=None, *, quick=False):
            os._exit(3)
    """,
    "fake_without_measure": """
        def main():
            return 0
    """,
    "fake_hangs": """
        def measure(argv=None, *, quick=False):
            # a child of its own, as benchmarks that measure in fresh processes have (not
            # holding the output pipe, so only killing the process group ends it)
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            Path(argv[0]).write_text(str(child.pid))
            time.sleep(600)
    """,
}


@pytest.fixture
def fake_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Benchmark]:
    """Benchmark modules written into ``tmp_path`` and put on the children's import path."""
    header = ("import argparse, os, subprocess, sys, time\nfrom pathlib import Path\n"
              "from bench.contract import RATIO, BenchRun, Figure\nQUICK_ARGS = ()\n")
    for name, body in _FAKE_BENCHMARKS.items():
        (tmp_path / f"{name}.py").write_text(header + textwrap.dedent(body), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return {name: Benchmark(name.removeprefix("fake_"), name) for name in _FAKE_BENCHMARKS}


def test_the_table_has_a_row_for_every_benchmark_and_a_failure_is_reported_not_dropped(
        fake_benchmarks: dict[str, Benchmark]) -> None:
    chosen = [fake_benchmarks[name] for name in ("fake_measured", "fake_skipped", "fake_raises",
                                                 "fake_crashes", "fake_without_measure")]
    report = run_suite(chosen, quick=True, timeout_s=120, extras={})
    statuses = {record["benchmark"]: record["status"] for record in report["results"]}
    assert statuses == {"measured": "ok", "skipped": "skipped", "raises": "failed",
                        "crashes": "failed", "without_measure": "failed"}
    table = markdown(report)
    assert "| measured | app / baseline | 0.990 × | higher | >= 0.95 | yes |" in table
    assert "| skipped | skipped: needs a GPU device | | | | |" in table
    assert "| raises | **failed**: RuntimeError: decode failed at token 7 | | | | |" in table
    assert "| crashes | **failed**: its process ended with status 3 before reporting" in table
    assert "| without_measure | **failed**: fake_without_measure has no measure(" in table
    records = {record["benchmark"]: record for record in report["results"]}
    assert "Traceback" in records["raises"]["output_tail"]
    assert records["crashes"]["command"].endswith("-m bench.crashes --quick")
    assert exit_status(report) == 1
    assert exit_status(run_suite(chosen[:2], quick=False, timeout_s=120, extras={})) == 0


def test_a_benchmark_past_its_time_is_failed_with_its_own_children(
        fake_benchmarks: dict[str, Benchmark], tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    record = run_one(fake_benchmarks["fake_hangs"], quick=False, timeout_s=5,
                     extra_args=[str(pid_file)])
    assert record["status"] == "failed" and record["reason"] == "stopped after 5 s (--timeout)"
    pid = int(pid_file.read_text())
    grandchild = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 10
    while grandchild.exists() and grandchild.read_text().split(")")[-1].split()[0] != "Z":
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # leave no orphan behind
            pytest.fail("the benchmark's own child outlived the timeout")
        time.sleep(0.05)


def test_a_real_benchmark_reports_through_the_contract() -> None:
    record = run_one(Benchmark("parser", "bench.parser"), quick=True, timeout_s=300,
                     extra_args=["--tokens", "300", "--repeats", "1"])
    assert record["status"] == "ok", record["output_tail"]
    assert [figure["name"] for figure in record["figures"]] == [
        "parser cost per chunk / str concatenation", "parser per-chunk time, last 10% / first 10%"]
    assert all(figure["value"] > 0 and figure["unit"] == RATIO for figure in record["figures"])
    assert record["command"].endswith("-m bench.parser --tokens 2000 --repeats 5 --no-naive "
                                      "--tokens 300 --repeats 1")


def test_finr1_bench_lists_the_suite(capfd: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--list"]) == 0
    assert "quant_quality" in capfd.readouterr().out.split()


def test_finr1_bench_refuses_a_benchmark_it_does_not_know(
        capfd: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--only", "no_such_bench"]) == 2
    assert "no benchmark named no_such_bench" in capfd.readouterr().err
