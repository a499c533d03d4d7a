"""PDF text extraction: the candidate libraries on a printed report, and the app's own path.

The numbers behind ``app.core.documents.pdf_reader``'s choice. A report of ``--pages`` pages
(300 by default: a heading, a Chinese paragraph, a table and a closing line per page) is printed
by Qt (QTextDocument → QPdfWriter, with a Chinese font when the machine has one); then, for each
library installed (pypdfium2, QtPdf, pypdf, pdfplumber), in a fresh process per run so imports
count alike:

* the time to import, open and extract every page, wall-clock and CPU (median of ``--rounds``,
  the libraries taking turns in each round), and the CPU time's ratio to pypdfium2, the
  baseline (CPU time moves less than wall time on a busy machine);
* how many pages come out as written (whitespace aside), and page 1's text;
* the peak resident memory;
* two hostile checks: a PDF whose page tree contains itself (within ``--hostile-timeout``
  seconds), and the report under a 1 GiB address-space limit (the extraction child's kind of
  limit).

Last, the app's own path (``extract_document``: a child process, limits, JSON frames) on the same
report, against pypdfium2 run directly.

    .venv/bin/python bench/extract.py [--pages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli  # noqa: E402
from tests.support.document_files import page_tree_loop_pdf, report_page_text  # noqa: E402

QUICK_ARGS = ("--pages", "60", "--rounds", "1")
LIBRARIES = ("pypdfium2", "qtpdf", "pypdf", "pdfplumber")
BASELINE = "pypdfium2"
MEMORY_LIMIT_BYTES = 1 << 30


def _pages_pypdfium2(path: str) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    return [document[index].get_textpage().get_text_range() for index in range(len(document))]


def _pages_qtpdf(path: str) -> list[str]:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtPdf import QPdfDocument

    application = QCoreApplication.instance() or QCoreApplication([])
    document = QPdfDocument()
    document.load(path)
    pages = [document.getAllText(index).text() for index in range(document.pageCount())]
    del application
    return pages


def _pages_pypdf(path: str) -> list[str]:
    import pypdf

    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _pages_pdfplumber(path: str) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as document:
        return [page.extract_text() or "" for page in document.pages]


def _worker(library: str, path: str, chinese: bool) -> None:
    """One run in this process: print ``{"seconds", "cpu_seconds", "pages", "as_written",
    "first_page", "rss_mb"}``."""
    started, cpu_started = time.perf_counter(), time.process_time()
    pages = globals()[f"_pages_{library}"](path)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    expected = [f"{report_page_text(number, chinese)} {number}"
                for number in range(1, len(pages) + 1)]
    as_written = sum(" ".join(text.split()) == want for text, want in zip(pages, expected, strict=True))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "pages": len(pages),
                      "as_written": as_written,
                      "first_page": " ".join(pages[0].split())[:90] if pages else "",
                      "rss_mb": _peak_rss_mb()}, ensure_ascii=False))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    process that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _installed(library: str) -> bool:
    module = {"qtpdf": "PySide6.QtPdf"}.get(library, library)
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                           check=False)
    return probe.returncode == 0


def _run_worker(library: str, path: Path, chinese: bool, timeout_s: float,
                memory_limit: int | None = None) -> dict[str, Any]:
    """One worker run; ``{"outcome": "ok"|"error"|"hung"|"crashed (SIG…)", …its figures}``."""
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    try:
        finished = subprocess.run(
            [sys.executable, __file__, "--worker", library, str(path),
             "--chinese" if chinese else "--english"],
            capture_output=True, text=True, timeout=timeout_s, check=False,
            preexec_fn=limit_memory if memory_limit else None)
    except subprocess.TimeoutExpired:
        return {"outcome": f"hung (> {timeout_s:g} s)"}
    if finished.returncode < 0:
        import signal
        return {"outcome": f"crashed ({signal.Signals(-finished.returncode).name})"}
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or [""])[-1]
        return {"outcome": f"error ({last.rsplit(': ', 1)[-1][:60]})"}
    return {"outcome": "ok", **json.loads(finished.stdout.strip().splitlines()[-1])}


def _print_report(path: Path, pages: int) -> bool:
    """Print the report with Qt; whether it holds Chinese (a Chinese font was found)."""
    from PySide6.QtGui import QGuiApplication

    from tests.support.document_files import cjk_font_family, print_report_pdf

    application = QGuiApplication.instance() or QGuiApplication([])
    family = cjk_font_family()
    print_report_pdf(path, pages, chinese=family is not None, font_family=family)
    del application
    return family is not None


def _app_path_seconds(path: Path, rounds: int) -> float:
    from app.core.documents.extraction import extract_document

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        extract_document(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hostile-timeout", type=float, default=10.0)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("extract", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    folder = Path(tempfile.mkdtemp(prefix="finr1-bench-extract-"))
    report, loop = folder / "report.pdf", folder / "loop.pdf"
    chinese = _print_report(report, args.pages)
    loop.write_bytes(page_tree_loop_pdf())
    details: dict[str, Any] = {"pages": args.pages, "chinese": chinese,
                               "report_bytes": report.stat().st_size, "libraries": {}}
    installed = [library for library in LIBRARIES if _installed(library)]
    details["libraries"] = {library: {"outcome": "not installed"} for library in LIBRARIES
                            if library not in installed}
    # rounds interleave the libraries, so a change in the machine's load touches them alike
    runs: dict[str, list[dict[str, Any]]] = {library: [] for library in installed}
    for _ in range(args.rounds):
        for library in installed:
            runs[library].append(_run_worker(library, report, chinese, 600))
    for library in installed:
        row = dict(runs[library][-1])
        if all(run["outcome"] == "ok" for run in runs[library]):
            for key in ("seconds", "cpu_seconds"):
                row[key] = statistics.median(run[key] for run in runs[library])
        row["page_tree_loop"] = _run_worker(library, loop, False,
                                            args.hostile_timeout)["outcome"]
        row["under_1_GiB_address_space"] = _run_worker(library, report, chinese, 600,
                                                       MEMORY_LIMIT_BYTES)["outcome"]
        details["libraries"][library] = row
    app_s = _app_path_seconds(report, args.rounds)
    details["app_extract_document_seconds"] = app_s
    baseline = details["libraries"][BASELINE].get("cpu_seconds")
    figures = []
    wall_baseline = details["libraries"][BASELINE].get("seconds")
    if wall_baseline:
        figures.append(Figure(f"app's extract_document (child process) / {BASELINE} in one "
                              "process, wall time", app_s / wall_baseline, RATIO, "lower"))
    figures += [Figure(f"{library} / {BASELINE}, CPU time for {args.pages} pages",
                       row["cpu_seconds"] / baseline, RATIO, "lower")
                for library, row in details["libraries"].items()
                if baseline and "cpu_seconds" in row and library != BASELINE]
    return run.result(figures, details)


def _show(result: BenchResult) -> None:
    details = result.details
    print(f"report: {details['pages']} pages printed by Qt, {details['report_bytes']:,} bytes, "
          f"{'Chinese' if details['chinese'] else 'English only (no Chinese font)'}")
    print(f"{'library':12s} {'wall s':>7s} {'CPU s':>6s} {'as written':>11s} {'RSS MB':>7s}  "
          "page-tree loop      1 GiB limit")
    for library, row in details["libraries"].items():
        if "seconds" not in row:
            print(f"{library:12s} {row['outcome']}")
            continue
        print(f"{library:12s} {row['seconds']:7.2f} {row['cpu_seconds']:6.2f} "
              f"{row['as_written']:>5d}/{row['pages']:<5d} "
              f"{row['rss_mb']:7.0f}  {row['page_tree_loop']:18s}  "
              f"{row['under_1_GiB_address_space']}")
        print(f"{'':12s} page 1: {row['first_page']}")
    print(f"app's extract_document: {details['app_extract_document_seconds']:.2f} s")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        _worker(argv[1], argv[2], argv[3] == "--chinese")
        return 0
    return cli(measure, argv, show=_show)


if __name__ == "__main__":
    raise SystemExit(main())
