"""What the chat view costs: CPU while a reply streams, and how long the window takes to appear.

1. **Streaming at 100 tok/s.** A scripted Fin-R1-style reply (reasoning, then an answer with
   headings, lists, tables, inline and display math, boxed results and code blocks) is replayed into
   the real chat view (offscreen Qt WebEngine) at 100 tokens a second, flushed at the view's
   frame rate (``FRAME_RATE_HZ``, or ``--hz``) as the app does. CPU time is counted for this
   process (all its threads) and for every Chromium process it started (renderer, GPU/utility),
   read from /proc. Reported as % of one
   core over the stream's duration, for 4,000 and 8,000 tokens, with their ratio (linear cost:
   8,000 ≈ 2 × 4,000), and against the baseline of the same page sitting idle for the same time.
2. **Flat out.** The same 4,000 tokens as fast as the view takes them (a frame every 3 tokens):
   CPU per token, i.e. the token rate one core could render.
3. **Cold start.** ``python -m app --quit-when-shown`` (the real window) against a bare PySide6
   ``QMainWindow`` script, both started as fresh processes offscreen, timed from launch until the
   window's first paint is reported; median of ``--starts`` runs, and their ratio. One untimed
   start of each comes first, so both run from compiled bytecode as an installed app does.

Run: ``.venv/bin/python -m bench.render [--tokens 4000] [--starts 5] [--skip-stream] [--hz N]
[--threads]`` (``--threads``: where the CPU goes, per thread of the app and of Chromium)
(Linux: reads /proc). Offscreen by default; with ``QT_QPA_PLATFORM=xcb`` it draws into a real X
window, e.g. under ``xvfb-run`` (where Qt composites through Mesa's software OpenGL: dearer still).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.ui.platform_setup import prepare_qt_environment

prepare_qt_environment(offscreen="QT_QPA_PLATFORM" not in os.environ)

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402  (Qt must be prepared first)
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.chat.reply_document import ReplyDocument, ReplyOutcome  # noqa: E402
from app.core.chat.rich_text import RichTextRenderer  # noqa: E402
from app.core.engine.scripted_stream import CHARS_PER_TOKEN, scripted_chunks  # noqa: E402
from app.core.reasoning.parser import ParsedReply  # noqa: E402
from app.ui.chat.controller import FRAME_RATE_HZ  # noqa: E402
from app.ui.chat.view import ChatView  # noqa: E402
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli  # noqa: E402

QUICK_ARGS = ("--tokens", "1000", "--starts", "3")
TOKENS_PER_SECOND = 100
TARGET_STREAM_CPU_PERCENT = 5
TARGET_DOUBLE_TOKENS_CPU_RATIO = 2.2
TARGET_COLD_START_RATIO = 1.5
_frame_rate = [FRAME_RATE_HZ]  # frames per second of the replay; --hz changes it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

THINK_PARAGRAPH = (
    "Step {i}: the monthly rate is $r_{{{i}}} = {rate}\\% / 12$ and there are $n = {n}$ payments. "
    "The growth factor $(1+r)^n \\approx {growth}$ follows, so the payment is about {pay} yuan; "
    "checking against the zero-rate case ({flat} yuan) confirms the order of magnitude.\n\n"
)
ANSWER_SECTION = """### Scenario {i}

1. **Rate.** $r = {rate}\\% / 12$, compounded monthly.
2. **Term.** $n = {n}$ monthly payments.
3. **Check.** Interest must be positive: ${pay} \\times {n} > 100{{,}}000$.

| Item | Value |
|---|---:|
| Monthly rate | {rate}% / 12 |
| Payments | {n} |
| Payment | {pay} |

$$PMT_{{{i}}} = 100{{,}}000 \\cdot \\frac{{r(1+r)^{{{n}}}}}{{(1+r)^{{{n}}} - 1}} \\approx {pay}$$

```python
def payment_{i}(principal=100_000, rate={rate} / 1200, periods={n}):
    factor = (1 + rate) ** periods
    return principal * rate * factor / (factor - 1)  # about {pay}
```

The payment for scenario {i} is \\boxed{{{pay}\\text{{ yuan}}}}.

"""


def _values(index: int) -> dict[str, object]:
    rate = 3 + (index % 7) * 0.5
    periods = 12 * (3 + index % 5)
    monthly = rate / 1200
    growth = (1 + monthly) ** periods
    payment = 100_000 * monthly * growth / (growth - 1)
    return {"i": index, "rate": rate, "n": periods, "growth": f"{growth:.4f}",
            "pay": f"{payment:,.2f}", "flat": f"{100_000 / periods:,.2f}"}


def scripted_reply(tokens: int) -> str:
    """A Fin-R1-style reply of about ``tokens`` tokens: a third reasoning, the rest answer."""
    target = tokens * CHARS_PER_TOKEN
    think, answer, index = [], [], 0
    while sum(map(len, think)) < target // 3:
        think.append(THINK_PARAGRAPH.format(**_values(index)))
        index += 1
    while sum(map(len, think)) + sum(map(len, answer)) < target - 40:
        answer.append(ANSWER_SECTION.format(**_values(index)))
        index += 1
    text = "<think>\n" + "".join(think) + "</think>\n<answer>\n" + "".join(answer)
    return text[:target - len("\n</answer>")] + "\n</answer>"


# -- CPU accounting -------------------------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _process_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def thread_cpu_seconds() -> Counter[tuple[str, str]]:
    """CPU seconds so far of every thread of this process ("app") and of the Chromium processes
    it started, keyed by (process name, thread name): where a frame's cost goes."""
    seconds: Counter[tuple[str, str]] = Counter()
    for pid in (os.getpid(), *_descendants(os.getpid())):
        try:
            process = "app" if pid == os.getpid() else Path(f"/proc/{pid}/comm").read_text().strip()
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            seconds[(process, name)] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def report_threads(before: Counter[tuple[str, str]], after: Counter[tuple[str, str]],
                   wall: float) -> None:
    used = after.copy()
    used.subtract(before)
    for (process, thread), cpu in used.most_common(8):
        if cpu > 0:
            print(f"    {process} / {thread}: {100 * cpu / wall:.2f} % of one core", flush=True)


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by the Chromium processes it started."""
    own = time.process_time()
    return own, sum(_process_cpu_s(pid) for pid in _descendants(os.getpid()))


# -- streaming ------------------------------------------------------------------------------------


def stream(view: ChatView, text: str, rate: float | None) -> tuple[float, float, float, int]:
    """Replay ``text`` into ``view`` at ``rate`` tokens/s (None: flat out). Returns wall seconds,
    CPU seconds of this process and of Chromium, and the tokens streamed."""
    view.apply([["clear"], ["user", "t1", "Benchmark"]])
    QTest.qWait(300)
    document = ReplyDocument("t1", RichTextRenderer(), time.perf_counter())
    chunks = list(scripted_chunks(text))
    events: list[object] = []
    own_start, chromium_start = cpu_seconds()
    started = time.perf_counter()
    if rate is None:
        for count, chunk in enumerate(chunks):
            document.add(chunk.events, time.perf_counter(), token=chunk.token)
            events.extend(chunk.events)
            if count % 3 == 0:
                view.apply(document.flush(time.perf_counter()))
    else:
        position = 0

        def frame() -> None:
            nonlocal position
            due = min(len(chunks), int((time.perf_counter() - started) * rate) + 1)
            now = time.perf_counter()
            for chunk in chunks[position:due]:
                document.add(chunk.events, now, token=chunk.token)
                events.extend(chunk.events)
            position = due
            view.apply(document.flush(now))

        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(frame)
        timer.timeout.connect(lambda: loop.quit() if position >= len(chunks) else None)
        timer.start(1000 // _frame_rate[0])
        loop.exec()
        timer.stop()
    outcome = ReplyOutcome(ParsedReply.from_events(events), "stop")  # type: ignore[arg-type]
    view.apply(document.finish(outcome, time.perf_counter()))
    box: list[object] = []
    view.evaluate("document.querySelectorAll('.block').length", box.append)
    while not box:
        QTest.qWait(5)
    wall = time.perf_counter() - started
    QTest.qWait(200)  # the last frame's layout and paint belong to the stream
    own_end, chromium_end = cpu_seconds()
    return wall, own_end - own_start, chromium_end - chromium_start, len(chunks) - 1


def frame_floor(view: ChatView, seconds: float) -> tuple[float, float]:
    """CPU of the least a visible frame costs: one short line of text changed per frame, at the
    view's frame rate (the web engine's own cost of producing a frame on this machine)."""
    view.apply([["clear"], ["user", "t1", "0"]])
    QTest.qWait(300)
    count = 0
    loop = QEventLoop()

    def frame() -> None:
        nonlocal count
        count += 1
        view.page().runJavaScript(
            f"document.querySelector('#t1 .bubble-text').textContent = '{count}'", 0)
        if count >= seconds * _frame_rate[0]:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(frame)
    own_start, chromium_start = cpu_seconds()
    timer.start(1000 // _frame_rate[0])
    loop.exec()
    timer.stop()
    QTest.qWait(200)
    own_end, chromium_end = cpu_seconds()
    return own_end - own_start, chromium_end - chromium_start


def idle(view: ChatView, seconds: float) -> tuple[float, float]:
    own_start, chromium_start = cpu_seconds()
    QTest.qWait(int(seconds * 1000))
    own_end, chromium_end = cpu_seconds()
    return own_end - own_start, chromium_end - chromium_start


def report_stream(label: str, wall: float, own: float, chromium: float, tokens: int) -> float:
    total = own + chromium
    print(f"{label}: {tokens} tokens in {wall:.1f} s; CPU {total:.2f} s "
          f"(Python+Qt {own:.2f} s, Chromium {chromium:.2f} s) = {100 * total / wall:.1f} % of one "
          f"core", flush=True)
    return total


# -- cold start -----------------------------------------------------------------------------------

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 820)
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print("window painted", flush=True)
            QTimer.singleShot(0, app.quit)
            watched.removeEventFilter(self)
        return False
watcher = FirstPaint()
window.installEventFilter(watcher)
window.show()
sys.exit(app.exec())
"""


def time_to_lines(command: list[str], environ: dict[str, str],
                  markers: tuple[str, ...]) -> list[float]:
    """Seconds from launching ``command`` until each of ``markers`` appears in its output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=environ)
    assert process.stdout is not None
    seen: list[float] = []
    for line in process.stdout:
        if len(seen) < len(markers) and markers[len(seen)] in line:
            seen.append(time.perf_counter() - started)
    process.wait(timeout=60)
    if len(seen) < len(markers):
        raise RuntimeError(f"{command} exited before printing {markers[len(seen)]!r}")
    return seen


def cold_start(starts: int) -> dict[str, float]:
    """Time the cold starts (see the module docstring) and print them; returns the medians:
    ``bare_s``, ``painted_s`` and ``ready_s``."""
    environ = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "FINR1_HOME": tempfile.mkdtemp(prefix="finr1-bench-")}
    # An installed app starts from compiled bytecode: let the untimed first start of each write
    # its .pyc files (with PYTHONDONTWRITEBYTECODE set, a checkout would compile every module it
    # changed on every start, ~10 ms the user never pays).
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    app_command = [sys.executable, "-m", "app", "--quit-when-shown"]
    bare_command = [sys.executable, "-c", BARE_WINDOW]
    time_to_lines(bare_command, environ, ("window painted",))
    time_to_lines(app_command, environ, ("window painted", "chat view ready"))
    painted, ready, bare_times = [], [], []
    for _ in range(starts):  # interleaved, so a busy moment hits both alike
        bare_times.extend(time_to_lines(bare_command, environ, ("window painted",)))
        app_paint, app_ready = time_to_lines(app_command, environ,
                                             ("window painted", "chat view ready"))
        painted.append(app_paint)
        ready.append(app_ready)
    bare, app, usable = (statistics.median(values) for values in (bare_times, painted, ready))
    print(f"cold start to first paint (median of {starts}): bare PySide6 window {bare:.3f} s, "
          f"Fin-R1 Studio {app:.3f} s, ratio {app / bare:.2f}", flush=True)
    print(f"Fin-R1 Studio with its panels built and the chat view loaded: {usable:.3f} s "
          f"({usable / bare:.2f} x the bare window)", flush=True)
    return {"bare_s": bare, "painted_s": app, "ready_s": usable}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Chat view CPU cost and window cold start.")
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--skip-start", action="store_true")
    parser.add_argument("--threads", action="store_true",
                        help="also show the CPU of each thread (app and Chromium) while streaming")
    parser.add_argument("--hz", type=int, default=FRAME_RATE_HZ,
                        help=f"frames per second while streaming (the app uses {FRAME_RATE_HZ})")
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("render", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    _frame_rate[0] = args.hz
    figures: list[Figure] = []
    details: dict[str, float] = {}
    if not args.skip_stream:
        figures += _measure_stream(args, details)
    if not args.skip_start:
        details |= cold_start(args.starts)
        figures.append(Figure("GUI cold start to first paint / bare PySide6 window",
                              details["painted_s"] / details["bare_s"], RATIO, "lower",
                              TARGET_COLD_START_RATIO))
    return run.result(figures, details)


def _measure_stream(args: argparse.Namespace, details: dict[str, float]) -> list[Figure]:
    """Parts 1 and 2 of the module docstring, printed; returns their figures and puts the
    measurements behind them in ``details``."""
    application = QApplication.instance() or QApplication([sys.argv[0]])
    view = ChatView()
    view.resize(1000, 760)
    view.show()
    while not view.is_ready:
        application.processEvents()
        QTest.qWait(10)
    base = scripted_reply(args.tokens)
    double = scripted_reply(2 * args.tokens)
    stream(view, scripted_reply(300), None)  # warm caches: lexers, fonts, JIT
    threads_before = thread_cpu_seconds()
    wall, own, chromium, tokens = stream(view, base, TOKENS_PER_SECOND)
    threads_after = thread_cpu_seconds()
    single = report_stream(f"{TOKENS_PER_SECOND} tok/s", wall, own, chromium, tokens)
    if args.threads:
        report_threads(threads_before, threads_after, wall)
    idle_own, idle_chromium = idle(view, wall)
    print(f"baseline, the same page idle for {wall:.1f} s: CPU {idle_own + idle_chromium:.2f} s "
          f"= {100 * (idle_own + idle_chromium) / wall:.1f} % of one core", flush=True)
    threads_before = thread_cpu_seconds()
    floor_own, floor_chromium = frame_floor(view, 20)
    threads_after = thread_cpu_seconds()
    floor = floor_own + floor_chromium
    print(f"baseline, one line of text changed per frame at {_frame_rate[0]} Hz (the engine's "
          f"cost of a frame): {100 * floor / 20:.1f} % of one core; the stream costs "
          f"{(single / wall) / (floor / 20):.2f} x that", flush=True)
    if args.threads:
        report_threads(threads_before, threads_after, 20)
    wall2, own2, chromium2, tokens2 = stream(view, double, TOKENS_PER_SECOND)
    doubled = report_stream(f"{TOKENS_PER_SECOND} tok/s", wall2, own2, chromium2, tokens2)
    print(f"CPU ratio {tokens2} / {tokens} tokens: {doubled / single:.2f}", flush=True)
    wall3, own3, chromium3, tokens3 = stream(view, base, None)
    total = own3 + chromium3
    print(f"flat out: {tokens3} tokens in {wall3:.1f} s, CPU {total:.2f} s = "
          f"{1000 * total / tokens3:.2f} ms per token (one core renders ≈ "
          f"{tokens3 / total:.0f} tok/s)", flush=True)
    view.close()
    details |= {"stream_cpu_percent": 100 * single / wall,
                "idle_cpu_percent": 100 * (idle_own + idle_chromium) / wall,
                "frame_floor_cpu_percent": 100 * floor / 20,
                "flat_out_ms_per_token": 1000 * total / tokens3}
    return [
        Figure(f"chat view rendering at {TOKENS_PER_SECOND} tok/s, CPU", 100 * single / wall,
               "% of one core", "lower", TARGET_STREAM_CPU_PERCENT),
        Figure("render cost, 2x tokens / 1x tokens", doubled / single, RATIO, "lower",
               TARGET_DOUBLE_TOKENS_CPU_RATIO),
        Figure("stream CPU / one changed line per frame (the engine's cost of a frame)",
               (single / wall) / (floor / 20), RATIO, "lower"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
