"""The one contract every benchmark in bench/ keeps, so the suite reads every figure the same way.

A benchmark is a module ``bench/NAME.py`` that exposes

    QUICK_ARGS: tuple[str, ...]  # its smaller sizes for ``--quick`` (minutes, not an hour)

    def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
        # argv: the benchmark's own command-line options (None: sys.argv[1:]); quick: QUICK_ARGS
        # go first, so options in argv still win. It may print its detailed report as it goes.

    def main(argv: Sequence[str] | None = None) -> int:
        return cli(measure, argv)

and is written like this:

    def measure(argv=None, *, quick=False):
        run = BenchRun("NAME", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
        if nothing_to_run_on:
            return run.skipped("needs a GPU device: run it with the Vulkan build (.venv-gpu)")
        ...  # measure app and baseline in the same run; raise BenchFailed("…") if the run is void
        return run.result([Figure("app / baseline", ratio, RATIO, better="higher", target=0.95)],
                          details={...})

The first figure is the headline. A ratio against a baseline measured in the same run has the
unit ``RATIO``. Whatever ``measure`` raises fails the benchmark: the suite reports it as failed
with the error's message, never drops it; ``BenchFailed`` is for a run that is void (the paths
compared produced different tokens, a request was refused). ``python -m bench`` calls
``measure`` in a fresh interpreter per benchmark (``run_child``); ``python -m bench.NAME
[--quick] [OPTIONS]`` runs one from the command line (``cli``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[1]
RATIO = "×"
Better = Literal["higher", "lower"]


class Status(str, Enum):
    OK = "ok"
    SKIPPED = "skipped"  # something it needs is absent here (a GPU, an argument, disk space)
    FAILED = "failed"  # it raised, crashed, or ran out of time


class BenchFailed(Exception):
    """The measurement is void; the message says why (and, where it can, what to do)."""


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``better`` says which way is an improvement (None: neither, e.g. a
    ratio that should stay near 1); ``target`` is met when the value is at least it (better
    "higher") or at most it (better "lower"), so a target needs a direction."""

    name: str
    value: float
    unit: str
    better: Better | None = None
    target: float | None = None

    def __post_init__(self) -> None:
        if self.target is not None and self.better is None:
            raise ValueError(f"figure {self.name!r}: a target needs better='higher' or 'lower'")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.better == 'higher' else '<='} {self.target:g}"

    @property
    def value_text(self) -> str:
        """Three decimals; three significant digits for values under 0.01."""
        small = 0 < abs(self.value) < 0.01
        return f"{self.value:{'.3g' if small else '.3f'}} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": float(self.value), "unit": self.unit,
                "better": self.better, "target": self.target, "met": self.met}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls(data["name"], float(data["value"]), data["unit"], data.get("better"),
                   data.get("target"))


@dataclass(frozen=True)
class BenchResult:
    """What one run of a benchmark measured, or why it did not (``reason``, for skipped and
    failed). ``command`` reproduces the run from the checkout's root; ``details`` holds the
    figures behind the headline ones (JSON-serialisable)."""

    name: str
    status: Status
    command: str
    figures: tuple[Figure, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def headline(self) -> Figure | None:
        return self.figures[0] if self.figures else None

    @property
    def missed(self) -> list[Figure]:
        """The figures whose target was not met."""
        return [figure for figure in self.figures if figure.met is False]

    @property
    def exit_status(self) -> int:
        """0: measured and every target met; 1: failed or a target missed; 2: skipped."""
        if self.status is Status.SKIPPED:
            return 2
        return 1 if self.status is Status.FAILED or self.missed else 0

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.name, "status": self.status.value, "reason": self.reason,
                "command": self.command, "figures": [figure.to_dict() for figure in self.figures],
                "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        return cls(data["benchmark"], Status(data["status"]), data["command"],
                   tuple(Figure.from_dict(figure) for figure in data["figures"]),
                   data.get("details") or {}, data.get("reason", ""))

    @classmethod
    def failed(cls, name: str, command: str, reason: str) -> BenchResult:
        return cls(name, Status.FAILED, command, reason=reason)


def command_line(name: str, argv: Sequence[str]) -> str:
    """The shell command that runs benchmark ``name`` with ``argv`` from the checkout's root."""
    python = Path(sys.executable)
    if REPO_ROOT in python.parents:
        python = python.relative_to(REPO_ROOT)
    return shlex.join([str(python), "-m", f"bench.{name}", *argv])


class BenchRun:
    """One call of a benchmark's ``measure``: its parsed options (``args``), the options in
    full (``argv``, the quick sizes included) and the command that reproduces it. Adds
    ``--quick`` to ``parser``; argparse's usage errors raise SystemExit as usual."""

    def __init__(self, name: str, parser: argparse.ArgumentParser,
                 argv: Sequence[str] | None, *, quick: bool = False,
                 quick_args: Sequence[str] = ()) -> None:
        parser.prog = f"python -m bench.{name}"
        parser.add_argument("--quick", action="store_true",
                            help=f"the suite's smaller sizes: {' '.join(quick_args) or 'none'}")
        given = list(sys.argv[1:] if argv is None else argv)
        quick = quick or "--quick" in given
        self.name = name
        self.argv = [*(quick_args if quick else ()), *(arg for arg in given if arg != "--quick")]
        self.args = parser.parse_args(self.argv)
        self.command = command_line(name, self.argv)

    def result(self, figures: Sequence[Figure], details: dict[str, Any] | None = None
               ) -> BenchResult:
        """A measured result; at least one figure (the headline first)."""
        if not figures:
            raise BenchFailed(f"{self.name} measured nothing to report")
        return BenchResult(self.name, Status.OK, self.command, tuple(figures), details or {})

    def skipped(self, reason: str, details: dict[str, Any] | None = None) -> BenchResult:
        """Not run here: ``reason`` names what is missing and how to supply it."""
        return BenchResult(self.name, Status.SKIPPED, self.command, (), details or {}, reason)


Measure = Callable[..., BenchResult]


def summary(result: BenchResult) -> str:
    """The result in a few lines, as the command line and the suite's log show it."""
    if result.status is not Status.OK:
        return f"{result.name}: {result.status.value}: {result.reason}"
    lines = [f"{result.name} ({result.command}):"]
    for figure in result.figures:
        target = (f"  (target {figure.target_text}: {'met' if figure.met else 'NOT met'})"
                  if figure.target is not None else "")
        lines.append(f"  {figure.name}: {figure.value_text}{target}")
    return "\n".join(lines)


def cli(measure: Measure, argv: Sequence[str] | None = None,
        show: Callable[[BenchResult], None] | None = None) -> int:
    """A benchmark's ``main``: run ``measure(argv)``, let ``show`` print its details, print the
    figures; returns ``BenchResult.exit_status`` (1 with the message for ``BenchFailed``)."""
    try:
        result = measure(argv)
    except BenchFailed as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    if show is not None and result.status is Status.OK:
        show(result)
    print(summary(result), file=sys.stdout if result.status is Status.OK else sys.stderr)
    return result.exit_status


def describe(error: BaseException) -> str:
    """One line for an exception a benchmark raised."""
    if isinstance(error, SystemExit):
        if isinstance(error.code, str) and error.code.strip():
            return error.code.strip().splitlines()[-1]
        return f"it exited with status {error.code} (see its output)"
    message = str(error).strip().splitlines()
    if isinstance(error, BenchFailed):
        return " ".join(message)
    return f"{type(error).__name__}: {message[-1] if message else ''}".rstrip(": ")


def run_child(argv: Sequence[str] | None = None) -> int:
    """The suite's child process: ``MODULE RESULT_JSON quick|full [OPTIONS…]``. Imports MODULE,
    calls its ``measure(OPTIONS, quick=…)`` and writes the ``BenchResult`` as JSON to RESULT_JSON;
    whatever it raises becomes a failed result (traceback on stderr). Returns the result's
    ``exit_status``."""
    module_name, result_path, mode, *options = sys.argv[1:] if argv is None else argv
    name = module_name.rsplit(".", 1)[-1]
    command = command_line(name, ["--quick", *options] if mode == "quick" else options)
    try:
        module = importlib.import_module(module_name)
        if mode == "quick":
            command = command_line(name, [*getattr(module, "QUICK_ARGS", ()), *options])
        measure = getattr(module, "measure", None)
        if not callable(measure):
            raise BenchFailed(f"{module_name} has no measure(argv, *, quick) function; see "
                              "bench/contract.py")
        result = measure(options, quick=mode == "quick")
        if not isinstance(result, BenchResult):
            raise BenchFailed(f"{module_name}.measure returned {type(result).__name__}, not a "
                              "BenchResult; see bench/contract.py")
    except (Exception, SystemExit) as error:
        traceback.print_exc()
        result = BenchResult.failed(name, command, describe(error))
    Path(result_path).write_text(json.dumps(result.to_dict(), ensure_ascii=False, default=str),
                                 encoding="utf-8")
    return result.exit_status


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``action``, after one untimed call that warms
    the page cache and the imports."""
    action()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
