"""Child process: load a GGUF the way the engine does, run a full prompt batch, and print how much
the process's resident memory grew (JSON ``{"rss_growth": bytes}``).

Usage: ``python tests/support/rss_probe.py MODEL.gguf N_CTX N_BATCH``. Used by
tests/core/hardware/test_machine.py and
bench/fit_memory.py to hold the fit estimate against real memory use. Linux only (/proc).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.core.engine.llama_runtime import LlamaRuntime

PROMPT = "The quarterly report shows revenue growth of 12 percent over the prior year. " * 300


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(model: Path, n_ctx: int, n_batch: int) -> int:
    import llama_cpp

    llama_cpp.llama_backend_init()
    before = rss_bytes()
    runtime = LlamaRuntime(model, n_ctx=n_ctx, n_threads=2, n_gpu_layers=0, n_batch=n_batch,
                           flash_attn=None, use_mmap=True)
    tokens = runtime.tokenize(PROMPT, add_bos=True, parse_special=False)
    # One full batch touches every activation buffer a long prompt needs, then a few decodes.
    runtime.evaluate_prompt(tokens[:min(n_ctx - 16, n_batch)])
    for _ in range(4):
        runtime.decode_token(tokens[3])
    print(json.dumps({"rss_growth": rss_bytes() - before}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
