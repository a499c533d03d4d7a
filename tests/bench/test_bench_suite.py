"""The benchmark runner (``python -m bench`` / ``finr1 bench``): what it finds and how it reads
each benchmark's ratios. The benchmarks themselves are not run here (they are slow and timed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from app.cli import main as cli_main
from bench.__main__ import BENCHMARKS, markdown, suite


def test_the_suite_finds_every_benchmark_script() -> None:
    names = [benchmark.name for benchmark in suite()]
    scripts = {path.stem for path in (Path(__file__).resolve().parents[2] / "bench").glob("*.py")}
    assert set(names) == scripts - {"__init__", "__main__", "models", "ui_screenshots"}
    assert {"imatrix", "quantize", "quant_quality", "convert", "engine_overhead"} <= set(names)


@pytest.mark.parametrize(("name", "output", "expected"), [
    ("convert", "throughput ratio convert/cp: 0.81 (target ≥ 0.5)\n"
                "peak RSS: 1.20 GB = largest tensor + 0.42 GB (target ≤ largest tensor + 1 GB)",
     [("convert throughput / cp", 0.81, True), ("convert peak RSS above largest tensor (GB)",
                                               0.42, True)]),
    ("engine_overhead", "engine/bare ratio: median of pairs 0.950 (pairs: 0.9); target >= 0.97",
     [("engine decode speed / bare llama-cpp-python loop", 0.95, False)]),
    ("serve", "http/in-process ratio: median of pairs 0.981 (pairs: 0.9); target >= 0.95\n"
              "TTFB p99 / ideal FIFO wait (7 turns + unloaded first byte = 2.0 s): 1.020",
     [("HTTP streamed decode speed / in-process engine", 0.981, True),
      ("time to first byte p99, queued clients / ideal FIFO wait", 1.02, None)]),
    ("gguf_check", "SmolLM2-135M Q4_1: 0.10 GB, 272 tensors, 49152 tokens\n"
                   "  validate_gguf    :      2.50 ms =      3.1× baseline",
     [("validate_gguf / read 1 MiB (SmolLM2-135M Q4_1)", 3.1, None)]),
])
def test_ratios_are_read_from_each_scripts_own_words(name: str, output: str,
                                                     expected: list[tuple]) -> None:
    reader = next(benchmark for benchmark in BENCHMARKS if benchmark.name == name).read_ratios
    assert [(ratio["name"], ratio["value"], ratio["met"]) for ratio in reader(output)] == expected


def test_the_table_marks_missed_targets_and_failed_runs() -> None:
    report = {"created": "2026-01-01T00:00:00", "quick": True, "machine": "test", "results": [
        {"benchmark": "imatrix", "returncode": 0, "output_tail": "", "ratios": [
            {"name": "imatrix job / plain evaluation", "value": 1.8, "target": "<= 1.5",
             "met": False}]},
        {"benchmark": "convert", "returncode": 1, "output_tail": "Traceback", "ratios": []},
    ]}
    table = markdown(report)
    assert "| imatrix | imatrix job / plain evaluation | 1.800 | <= 1.5 | **no** |" in table
    assert "| convert | (failed; see the JSON) | | | |" in table


def test_finr1_bench_lists_the_suite(capfd: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--list"]) == 0
    assert "quant_quality" in capfd.readouterr().out.split()
