"""The one rule for loading models into llama.cpp (foundation.llama_model_params)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import llama_cpp

from foundation.llama_model_params import cpu_backend_has_amx, model_load_params


def test_extra_buffer_types_are_off_exactly_where_the_cpu_backend_uses_amx() -> None:
    llama_cpp.llama_backend_init()
    reports_amx = "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode()
    assert cpu_backend_has_amx() is reports_amx
    assert model_load_params().use_extra_bufts is (not reports_amx)


def test_the_given_layers_and_load_mode_are_kept() -> None:
    params = model_load_params(n_gpu_layers=7, use_mmap=False)
    assert params.n_gpu_layers == 7
    assert params.load_mode == llama_cpp.LLAMA_LOAD_MODE_NONE
    assert model_load_params().load_mode == llama_cpp.LLAMA_LOAD_MODE_MMAP


def test_a_quantized_model_decodes_a_batch_of_many_tokens(smollm2_gguf: Path) -> None:
    """On an AMX CPU a Q4_1 model in AMX buffers died of SIGSEGV on its first multi-token decode;
    run in a child process so that a crash fails this test instead of the suite."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.core.engine.llama_runtime import LlamaRuntime\n"
        "runtime = LlamaRuntime(Path(sys.argv[1]), n_ctx=128, n_threads=2, n_gpu_layers=0,\n"
        "                       n_batch=128, flash_attn=None, use_mmap=True)\n"
        "tokens = runtime.tokenize('The balance sheet of a bank lists its assets', add_bos=True,\n"
        "                          parse_special=False)\n"
        "assert len(tokens) > 4, tokens\n"
        "print(runtime.evaluate_prompt(tokens, None, reuse_cache=False))\n"
        "runtime.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(smollm2_gguf)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 4
