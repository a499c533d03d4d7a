"""Download throughput from the local stand-in hub, against a raw socket read of the same bytes.

Publishes one GGUF of about ``--mb`` MB on tests/support/local_hub.py's server, then, interleaved
``--rounds`` times, times (a) a bare HTTP/1.1 GET on a plain socket that discards the body (the
baseline: what the server and loopback can deliver), (b) ``fetch_to_partial`` (the app's transfer:
streaming through huggingface_hub's HTTP client, writing the partial, hashing SHA-256), and (c)
``run_download`` of a plan made beforehand (transfer, verification, move into the library).

    .venv/bin/python bench/download.py --mb 256 --rounds 3

Reports each as MB/s and as a ratio to the baseline of the same round.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from gguf import GGUFWriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.hub.client import HubConfig
from app.core.hub.download import plan_download, run_download
from app.core.hub.http_transfer import PartialFile, RemoteBytes, fetch_to_partial
from app.core.library.model_library import Library
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from tests.support.local_hub import LocalHub

QUICK_ARGS = ("--mb", "64", "--rounds", "1")
REPO = "bench/Fin-R1-GGUF"
FILENAME = "Fin-R1.Q8_0.gguf"


def big_gguf(path: Path, megabytes: int) -> bytes:
    """A valid GGUF of about ``megabytes`` MB: one random f32 tensor."""
    rows = max(1, megabytes * 1_000_000 // (4 * 1024))
    writer = GGUFWriter(str(path), "llama")
    writer.add_tensor("token_embd.weight",
                      np.random.default_rng(0).standard_normal((rows, 1024), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def raw_socket_read(url: str) -> int:
    """GET ``url`` (following one redirect) on a bare socket; returns the body bytes read."""
    for _ in range(2):
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port)) as connection:
            connection.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                               "Connection: close\r\n\r\n".encode())
            reader = connection.makefile("rb", buffering=1 << 20)
            status = reader.readline().split()[1]
            headers = {}
            while (line := reader.readline().strip()):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            if status in (b"301", b"302"):
                url = headers["location"]
                continue
            total = 0
            while chunk := reader.read(1 << 20):
                total += len(chunk)
            return total
    raise RuntimeError("too many redirects")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("download", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    work = Path(tempfile.mkdtemp(prefix="finr1-bench-download-"))
    content = big_gguf(work / "source.gguf", args.mb)
    size = len(content)
    hub = LocalHub().start()
    try:
        repo = hub.add_repo(REPO, {FILENAME: content})
        config = HubConfig(endpoint=hub.endpoint)
        url = config.file_url(REPO, FILENAME, repo.commit)
        hub_file = repo.files[FILENAME]
        remote = RemoteBytes(REPO, FILENAME, repo.commit, size, hub_file.sha256, None)
        results: dict[str, list[float]] = {"raw socket": [], "fetch_to_partial": [],
                                           "run_download": []}
        for round_index in range(args.rounds):
            start = time.perf_counter()
            assert raw_socket_read(url) == size
            results["raw socket"].append(time.perf_counter() - start)

            partial = PartialFile(work / f"partials-{round_index}", FILENAME)
            start = time.perf_counter()
            with partial.locked():
                digest = fetch_to_partial(url, config.headers(), partial, remote)
            results["fetch_to_partial"].append(time.perf_counter() - start)
            assert digest == hub_file.sha256
            partial.discard()

            with Library(work / f"library-{round_index}") as library:
                plan = plan_download(library, config, repo_id=REPO, filename=FILENAME)
                start = time.perf_counter()
                run_download(plan, library, config)
                results["run_download"].append(time.perf_counter() - start)
    finally:
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    baseline = statistics.median(results["raw socket"])
    print(f"file {size / 1e6:.0f} MB, {args.rounds} rounds, medians:")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"  {name:<18} {size / median / 1e6:8.1f} MB/s   {baseline / median:5.2f} × raw socket")
    return run.result([Figure(f"download {name} / raw socket", baseline / statistics.median(times),
                              RATIO, "higher")
                       for name, times in results.items() if name != "raw socket"],
                      {"bytes": size, "seconds": results})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
