"""Start-up time of the installed app vs the app run from source, to its first painted window.

Each run starts a fresh process with ``--quit-when-shown`` (the window is shown and the process
exits at its first paint) on Qt's offscreen platform and times it from outside, wall clock, to
the process's exit. Source: ``python -m app`` from this checkout's environment. Installed: the
executable given (e.g. the .deb's ``/usr/bin/finr1-studio`` unpacked with ``dpkg -x``, or the
portable folder's ``finr1-studio``).

Runs alternate (source, installed, installed, source, …) so load from other processes hits both
alike. ``--cold`` drops the kernel's page cache before every run (root only), so each start
reads its files from disk as the first start after boot does; otherwise the runs after the
first are warm starts. Reports the median of each and the ratio installed/source.

    .venv/bin/python bench/installer_startup.py --installed ROOT/usr/bin/finr1-studio [--runs 5] [--cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli

QUICK_ARGS = ("--runs", "3")


def time_start(command: list[str], home: Path, cold: bool) -> float:
    """Seconds from starting ``command`` to its exit; raises RuntimeError when it fails."""
    if cold:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
    environment = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                   "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    result = subprocess.run([*command, "--quit-when-shown"], env=environment, capture_output=True,
                            text=True, timeout=300, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--installed", type=Path, help="the installed executable")
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each run")
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py); skipped without
    ``--installed``."""
    run = BenchRun("installer_startup", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    if args.installed is None:
        return run.skipped("needs an installed app: --installed PATH-TO/finr1-studio (e.g. "
                           "python -m bench --extra installer_startup '--installed PATH')")
    if args.cold and os.geteuid() != 0:
        raise BenchFailed("--cold needs root (it writes /proc/sys/vm/drop_caches)")
    checkout = Path(__file__).resolve().parents[1]
    source = [sys.executable, "-m", "app"]
    installed = [str(args.installed)]
    times: dict[str, list[float]] = {"source": [], "installed": []}
    with tempfile.TemporaryDirectory() as home:
        os.chdir(checkout)
        for index in range(args.runs):
            order = [("source", source), ("installed", installed)]
            for name, command in order if index % 2 == 0 else reversed(order):
                times[name].append(time_start(command, Path(home), args.cold))
    kind = "cold (page cache dropped)" if args.cold else "warm"
    for name, values in times.items():
        print(f"{name:9}  median {statistics.median(values):6.2f} s  "
              f"({', '.join(f'{value:.2f}' for value in values)})  {kind}")
    ratio = statistics.median(times["installed"]) / statistics.median(times["source"])
    print(f"installed / source: {ratio:.2f}")
    return run.result([Figure(f"GUI start ({kind}), installed / from source", ratio, RATIO,
                              "lower")], {"seconds": times})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
